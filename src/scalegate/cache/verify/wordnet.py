"""A reader for the Princeton WordNet 3.0 database files, as Debian's ``wordnet-base`` ships them.

Why not nltk's ``WordNetCorpusReader``: it needs a ``lexnames`` file that Debian does not
ship, and nltk ≥ 3.10 refuses to open a directory that is not on its process-wide
``nltk.data.path``; five transitive dependencies for a parser of a line format that fits on
a screen did not pay. The format (``wndb(5WN)``) is stable since 1998:

* ``index.<pos>``: one line per lemma, sorted bytewise — ``lemma pos n_synsets n_ptrs
  [ptr…] n_senses n_tagged offset…``, offsets by sense frequency (most frequent first);
* ``data.<pos>``: one line per synset at byte ``offset`` — ``offset lexfile type n_words(hex)
  [word lex_id]… n_ptrs [symbol offset pos source/target(hex)]… | gloss``;
* ``<pos>.exc``: irregular inflections — ``form base…``.

Files are memory-mapped and searched in place (no start-up parse, shared between worker
processes by the page cache); a lookup is a binary search, cached by :mod:`.lexicon`.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
POSES = ("n", "v", "a", "r")


@dataclass(frozen=True, slots=True)
class Pointer:
    symbol: str  # "!" antonym, "&" similar to, "+" derivationally related, "@" hypernym, …
    pos: str
    offset: int
    source: int  # 1-based word number in the source synset; 0: the whole synset
    target: int


@dataclass(frozen=True, slots=True)
class Synset:
    pos: str  # n v a s r
    offset: int
    words: tuple[str, ...]  # lower case, "_" for spaces, adjective markers "(a)" removed
    pointers: tuple[Pointer, ...]
    lexfile: int = 0  # the lexicographer file: 18 noun.person, 5 noun.animal, …


class WordNetFiles:
    """The database in ``root``; :class:`OSError` from the constructor when files are missing."""

    def __init__(self, root: Path) -> None:
        self._maps: dict[str, mmap.mmap] = {}
        for name in (*(f"index.{p}" for p in POS_FILES.values()), *_data_names()):
            with open(root / name, "rb") as fh:
                self._maps[name] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.exceptions: dict[str, dict[str, tuple[str, ...]]] = {}
        for pos in POSES:
            table: dict[str, tuple[str, ...]] = {}
            for line in (root / f"{POS_FILES[pos]}.exc").read_text("utf-8").splitlines():
                form, *bases = line.split()
                table[form] = tuple(bases)
            self.exceptions[pos] = table

    def offsets(self, lemma: str, pos: str) -> tuple[int, ...]:
        """The synsets of ``lemma`` as ``pos``, most frequent sense first; () if absent."""
        line = _search(self._maps[f"index.{POS_FILES[pos]}"], lemma.encode("utf-8"))
        if line is None:
            return ()
        fields = line.split()
        n_synsets, n_ptrs = int(fields[2]), int(fields[3])
        start = 4 + n_ptrs + 2
        return tuple(int(x) for x in fields[start : start + n_synsets])

    def tagged(self, lemma: str, pos: str) -> int:
        """How often ``lemma`` was seen as ``pos`` in WordNet's sense-tagged corpus
        (``tagsense_cnt``): which part of speech a word usually is."""
        line = _search(self._maps[f"index.{POS_FILES[pos]}"], lemma.encode("utf-8"))
        if line is None:
            return 0
        fields = line.split()
        return int(fields[4 + int(fields[3]) + 1])

    def synset(self, pos: str, offset: int) -> Synset:
        data = self._maps[f"data.{POS_FILES[pos]}"]
        end = data.find(b"\n", offset)
        fields = data[offset:end].split(b" | ", 1)[0].decode("utf-8").split()
        n_words = int(fields[3], 16)
        words = tuple(w.split("(")[0].lower() for w in fields[4 : 4 + 2 * n_words : 2])
        at = 4 + 2 * n_words
        n_ptrs = int(fields[at])
        pointers = []
        for i in range(at + 1, at + 1 + 4 * n_ptrs, 4):
            symbol, target_offset, target_pos, st = fields[i : i + 4]
            pointers.append(
                Pointer(symbol, target_pos, int(target_offset), int(st[:2], 16), int(st[2:], 16))
            )
        return Synset(fields[2], offset, words, tuple(pointers), int(fields[1]))

    def close(self) -> None:
        for m in self._maps.values():
            m.close()


def _data_names() -> tuple[str, ...]:
    return tuple(f"data.{name}" for name in sorted(set(POS_FILES.values())))


def _search(data: mmap.mmap, key: bytes) -> bytes | None:
    """The line of a sorted index file that starts with ``key`` and a space (binary search)."""
    target = key + b" "
    lo, hi = 0, len(data)
    while lo < hi:
        mid = (lo + hi) // 2
        start = data.rfind(b"\n", 0, mid) + 1
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        line = data[start:end]
        if line.startswith(target):
            return line
        if line.startswith(b"  ") or line < target:
            lo = end + 1
        else:
            hi = start
    return None
