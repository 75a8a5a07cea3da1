"""The lexicon: lemmas (simplemma), WordNet synonyms, antonyms and inflections, all cached.

Two words *align* when they share a lemma or a WordNet synset, and *oppose* when WordNet
links them as antonyms — directly ("possible"/"impossible"), through a synonym of either
("large"/"little": "little" shares a synset with "small"), through the similar-to clusters
of adjectives ("huge" is similar to "large", "tiny" to "small"), or through a
derivationally related word ("increase" the noun and "decrease" the verb). Strictness sets
how many of a word's senses count (``senses``): a word's rare senses make odd synonyms
("bad" is a sense of "big" in "a big storm").

Every answer is cached on the object (a prompt's words repeat across lookups), so after
warm-up a verification costs microseconds. When the WordNet files are missing the lexicon
says so (:attr:`Lexicon.available` is false, logged once) and the verifier refuses every
semantic hit rather than guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar

import simplemma

from scalegate.cache.verify import multiword
from scalegate.cache.verify import senses as relate
from scalegate.cache.verify.units import UNITS
from scalegate.cache.verify.wordnet import POSES, Synset, WordNetFiles

logger = logging.getLogger(__name__)

DEFAULT_ROOTS = (Path("/usr/share/wordnet"), Path("/usr/local/share/wordnet"))
# Morphy's detachment rules (WordNet's own lemmatiser), by part of speech.
_RULES = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
          ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip
T = TypeVar("T")
LIGHT_SENSES = 8
_ANIMATE = frozenset({5, relate.NOUN_PERSON})  # noun.animal, noun.person


def _cached(fn: Callable[[str], T]) -> Callable[[str], T]:
    return lru_cache(maxsize=1 << 16)(fn)


class Lexicon:
    """WordNet in ``root`` (the first of :data:`DEFAULT_ROOTS` that exists when not given)."""

    def __init__(self, root: Path | None = None, *, senses: int = 3) -> None:
        self.senses = senses
        self._files: WordNetFiles | None = None
        for candidate in (root,) if root is not None else DEFAULT_ROOTS:
            try:
                self._files = WordNetFiles(candidate)
                break
            except OSError as exc:
                missing = exc
        if self._files is None:
            logger.warning(
                "WordNet not found (%s): the semantic cache will refuse every semantic hit; "
                "install Debian's wordnet-base (scripts/system-deps.sh)",
                missing,
            )
        self.keys = _cached(self._keys)
        self.synonyms = _cached(self._synonyms)
        self.all_synonyms = _cached(self._all_synonyms)
        self.antonyms = _cached(self._antonyms)
        self.is_past = _cached(self._is_past)
        self.degree = _cached(self._degree)
        self.plural = _cached(self._plural)
        self.poses = _cached(self._poses)
        self.verbal = _cached(self._verbal)
        self.may_be_verb = _cached(self._may_be_verb)
        self.light_verb = _cached(self._light_verb)
        self.adjectival = _cached(self._adjectival)
        self.broader = _cached(self._broader)
        self.animate = _cached(self._animate)
        self.named = _cached(self._named)
        self.seldom_verb = _cached(self._seldom_verb)
        self.unknown = _cached(self._unknown)
        self.main_sense = _cached(self._main_sense)
        self._synset = lru_cache(maxsize=1 << 16)(self._read_synset)
        # Relations between two words (:mod:`.senses`), cached here: every key pair aligned
        # asks them.
        self.agents = _cached(partial(relate.agents, self))
        self.attributes = _cached(partial(relate.attributes, self))
        self.split_sense = lru_cache(maxsize=1 << 16)(partial(relate.split_sense, self))
        self.converse = lru_cache(maxsize=1 << 16)(partial(relate.converse, self))
        self.kind_of = lru_cache(maxsize=1 << 16)(partial(relate.kind_of, self))
        self.verbs_only = lru_cache(maxsize=1 << 16)(partial(relate.verbs_only, self))
        self.nouns_only = lru_cache(maxsize=1 << 16)(partial(relate.nouns_only, self))
        self.verb_link_only = lru_cache(maxsize=1 << 16)(partial(relate.verb_link_only, self))
        self.names_apart = lru_cache(maxsize=1 << 16)(partial(relate.names_apart, self))
        self.late_sense = lru_cache(maxsize=1 << 16)(partial(relate.late_sense, self))
        self.side_sense = lru_cache(maxsize=1 << 16)(partial(relate.side_sense, self))
        self.phrasal = lru_cache(maxsize=1 << 16)(partial(multiword.phrasal, self))
        self.collocation = lru_cache(maxsize=1 << 16)(partial(multiword.collocation, self))

    @property
    def available(self) -> bool:
        return self._files is not None

    @property
    def files(self) -> WordNetFiles | None:
        """The WordNet database, ``None`` when it is missing."""
        return self._files

    def synset(self, key: str) -> Synset:
        """The synset at ``key`` (``"<pos>:<offset>"``), cached."""
        return self._synset(key)

    # -- forms -------------------------------------------------------------------------
    def _poses(self, word: str) -> frozenset[str]:
        """The parts of speech ``word`` is a WordNet lemma of, as written."""
        if self._files is None:
            return frozenset()
        return frozenset(p for p in POSES if self._files.offsets(word, p))

    def _verbal(self, word: str) -> bool:
        """``word`` is usually a verb: tagged as a verb more often than as a noun in WordNet's
        corpus ("shoot", "fix"; not "flat", "checking") — no role for the role rule."""
        if self._files is None:
            return False
        files = self._files
        forms = (word,) if self.poses(word) else tuple(self.keys(word))  # "checking": a noun
        return any(files.tagged(f, "v") > max(files.tagged(f, "n"), 0) for f in forms)

    def _may_be_verb(self, word: str) -> bool:
        """``word`` is a form of some WordNet verb ("ignored", "took"), however rarely."""
        if self._files is None:
            return False
        files = self._files
        return any(files.offsets(f, "v") for f in (word, *self.keys(word)))

    def _light_verb(self, word: str) -> bool:
        """A verb of :data:`LIGHT_SENSES` senses or more ("make", "take", "get", "go",
        "feel"): so general that a prompt adds or drops it without asking anything new
        ("What makes the sky blue?" / "Why is the sky blue?")."""
        if self._files is None or not self.verbal(word):
            return False
        return any(len(self._files.offsets(k, "v")) >= LIGHT_SENSES for k in self.keys(word))

    def _adjectival(self, word: str) -> bool:
        """``word`` (a lemma of it) is an adjective in WordNet's corpus at least half as
        often as a verb: "free", "open", "clean" (not "make", "keep")."""
        if self._files is None:
            return False
        files = self._files
        return any(2 * files.tagged(k, "a") >= files.tagged(k, "v") > 0 for k in self.keys(word))

    def _animate(self, word: str) -> bool:
        """``word``'s most frequent noun sense is a person or an animal ("teenager",
        "patient", "dog"; not "book", "talk")."""
        if self._files is None:
            return False
        files = self._files
        singular = (word[:-1], word[:-2]) if len(word) > 3 and word.endswith("s") else ()
        firsts = [o[0] for f in (word, *self.keys(word), *singular) if (o := files.offsets(f, "n"))]
        # A plural read as someone's name is its singular ("scopes" is not John Scopes, v96).
        common = [o for o in firsts if not self._instance(o)]
        return any(self._synset(f"n:{o}").lexfile in _ANIMATE for o in (common or firsts)[:1])

    def _instance(self, offset: int) -> bool:
        """The synset at ``offset`` is one named thing, an instance of a kind."""
        return any(p.symbol == "@i" for p in self._synset(f"n:{offset}").pointers)

    def _seldom_verb(self, word: str) -> bool:
        """``word`` is a noun WordNet's corpus never showed as a verb ("gum", "fat")."""
        files = self._files
        return files is not None and files.tagged(word, "v") == 0 and files.tagged(word, "n") > 0

    def _named(self, word: str) -> bool:
        """``word``'s first noun sense is one named thing, an instance of a kind ("london",
        "texas", "hawaii"), not a kind ("day", "city")."""
        if self._files is None:
            return False
        offsets = self._files.offsets(word, "n")
        return bool(offsets) and self._instance(offsets[0])

    def _broader(self, lemma: str) -> frozenset[str]:
        """Nouns one or two steps more general than ``lemma``'s first senses ("capital" →
        "city"): a prompt that adds one says no more than the other ("the capital city")."""
        out: set[str] = set()
        frontier = list(self._senses(lemma, self.senses))
        for _ in range(2):
            frontier = [
                self._synset(f"{_adj(p.pos)}:{p.offset}")
                for s in frontier
                for p in s.pointers
                if p.symbol in ("@", "@i") and s.pos == "n"
            ]
            for s in frontier:
                out.update(s.words)
        return frozenset(out)

    def _bases(self, word: str, pos: str) -> set[str]:
        assert self._files is not None
        out = set(self._files.exceptions[pos].get(word, ()))
        for suffix, ending in _RULES[pos]:
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                stem = word[: -len(suffix)]
                for base in (stem + ending, stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
                    if base and pos in self.poses(base):
                        out.add(base)
        return out

    def _keys(self, word: str) -> frozenset[str]:
        """Every lemma ``word`` may be an inflection of, itself included."""
        if not word:
            return frozenset({word})  # simplemma 2 raises on "" (a relation at a prompt's start)
        out = {word, simplemma.lemmatize(word, lang="en").lower()}
        if self._files is not None and word.isalpha() and self._unknown(word):
            # A token neither WordNet nor simplemma knows is a name or an acronym: "https"
            # is not a plural of "http", nor "ios" of "io". Its own plural is ("vpns").
            stem = word[:-1]
            if word.endswith("s") and len(stem) >= 3 and self._unknown(stem):
                out.add(stem)
            return frozenset(out)
        if self._files is not None and word.isalpha():
            for pos in POSES:
                out |= self._bases(word, pos)
            if word.endswith("ly"):  # the productive adverb of an adjective: "safely" → "safe"
                stem = word[:-2]
                for base in (stem, stem[:-1] + "y" if stem.endswith("i") else "", stem + "le"):
                    if base and "a" in self.poses(base):
                        out.add(base)
            out -= self._lexical_plural(word)
        return frozenset(out)

    def _lexical_plural(self, word: str) -> set[str]:
        """The singulars ``word`` is a plural of that it does not mean: a plural WordNet
        lists as a noun of its own in no sense of its singular — "spectacles" (glasses) is
        no "spectacle" (a show), "arms" (weapons) no "arm" (verifier v37)."""
        assert self._files is not None
        offsets = self._files.offsets(word, "n")
        if not offsets:
            return set()
        # Not a verb's form too ("works", "glasses"), nor a unit's plural ("hours").
        singulars = self._bases(word, "n") - self._bases(word, "v") - set(UNITS) - {word}
        synsets = [self._synset(f"n:{o}") for o in offsets]
        return {s for s in singulars if not any(s in x.words for x in synsets)}

    def _unknown(self, word: str) -> bool:
        return not self.poses(word) and not simplemma.is_known(word, lang="en")

    def _is_past(self, word: str) -> bool:
        """A past tense or participle of a verb ("went", "happened", "painted")."""
        if self._files is None or word.endswith(("s", "ing")):
            return False
        irregular = self._files.exceptions["v"].get(word)
        if irregular is not None:
            return word not in irregular
        if not word.endswith("ed"):
            return False
        return bool(self._bases(word, "v") - {word})

    def _plural(self, word: str) -> bool:
        """An inflected noun: the plural of another ("books", "countries", "glasses"), or a
        word WordNet lacks that is its lemma plus "s" ("podcasts")."""
        if self._files is None:
            return False
        if self._bases(word, "n") - {word}:
            return True
        return any(word in (k + "s", k + "es") for k in self.keys(word) if k != word)

    def _degree(self, word: str) -> str:
        """ "cmp" for a comparative adjective or adverb, "sup" for a superlative, else ""."""
        if self._files is None:
            return ""
        for pos in ("a", "r"):
            bases = self._files.exceptions[pos].get(word)
            if bases and word not in bases:
                return "sup" if word.endswith(("st", "worst")) else "cmp"
        if not word.endswith(("er", "est")) or "n" in self.poses(word) or "v" in self.poses(word):
            return ""
        if self._bases(word, "a") - {word}:
            return "sup" if word.endswith("est") else "cmp"
        return ""

    # -- relations ---------------------------------------------------------------------
    def _read_synset(self, key: str) -> Synset:
        assert self._files is not None
        pos, _, offset = key.partition(":")
        return self._files.synset(pos, int(offset))

    def _senses(self, lemma: str, limit: int | None) -> Iterable[Synset]:
        if self._files is None:
            return
        for pos in POSES:
            for offset in self._files.offsets(lemma, pos)[:limit]:
                yield self._synset(f"{pos}:{offset}")

    def _synonyms(self, lemma: str) -> frozenset[str]:
        """Words sharing one of ``lemma``'s first :attr:`senses` senses (per part of speech),
        and words derived from it in those senses ("invent"/"inventor", "simple"/"simply")."""
        out: set[str] = set()
        for s in self._senses(lemma, self.senses):
            out.update(s.words)
            out.update(self._derived(s, lemma))
            for p in s.pointers:  # "speed" is the attribute "fast" and "slow" are values of
                if p.symbol == "=":
                    out.update(self._synset(f"{_adj(p.pos)}:{p.offset}").words)
        return frozenset(out)

    def _main_sense(self, lemma: str) -> frozenset[str]:
        """Words sharing ``lemma``'s first sense (per part of speech): a unit of measure is
        that unit ("minute" / "min"), not the "moment" of its second sense ("second")."""
        return frozenset(w for s in self._senses(lemma, 1) for w in s.words)

    def _all_synonyms(self, lemma: str) -> frozenset[str]:
        """Words sharing any sense with ``lemma``, derived from it, or in its adjective
        cluster (similar to). Not its hypernyms: "vegan" is a kind of "vegetarian", and a
        vegan recipe is not what a vegetarian asks for."""
        out: set[str] = set()
        for s in self._senses(lemma, None):
            out.update(s.words)
            out.update(self._derived(s, lemma))
            for p in s.pointers:
                if p.symbol == "&" and self._main_head(s, lemma):
                    out.update(self._clustered(self._synset(f"a:{p.offset}")))
        return frozenset(out)

    def _main_head(self, sense: Synset, lemma: str) -> bool:
        """``sense`` is no cluster's head, or one of ``lemma``'s first :attr:`senses` senses:
        the "tender" of meat easy to chew, whose cluster holds "crispy", is its fifth."""
        assert self._files is not None
        return sense.pos != "a" or sense.offset in self._files.offsets(lemma, "a")[: self.senses]

    def _clustered(self, similar: Synset) -> Iterable[str]:
        """The words of a ``similar`` adjective; of a cluster's head only those it is one
        of the first :attr:`senses` senses of (verifier v54): "crispy" is similar to the
        "tender" of meat easy to chew, a rare sense of "tender", so "until *crispy*" is not
        "until *tender*"."""
        if similar.pos != "a":
            return similar.words  # a satellite: "unhealthy" is similar to "bad"
        assert self._files is not None
        files = self._files
        return (w for w in similar.words if similar.offset in files.offsets(w, "a")[: self.senses])

    def _derived(self, s: Synset, lemma: str) -> Iterable[str]:
        """Words derived from ``lemma`` in sense ``s``, with their synonyms in that sense
        ("write" → "writer", "author")."""
        for p in s.pointers:
            if p.symbol in ("+", "\\") and p.target and _is_source(s, lemma, p.source):
                yield from self._synset(f"{_adj(p.pos)}:{p.offset}").words

    def _antonyms(self, lemma: str) -> frozenset[str]:
        """Words WordNet opposes to ``lemma``, through synonyms, clusters and derivations."""
        out: set[str] = set()
        for s in self._senses(lemma, None):
            heads = [s] + [self._synset(f"a:{p.offset}") for p in s.pointers if p.symbol == "&"]
            for head in heads:
                for p in head.pointers:
                    if p.symbol != "!" or (head is s and not _is_source(s, lemma, p.source)):
                        continue
                    opposite = self._synset(f"{_adj(p.pos)}:{p.offset}")
                    out.update(opposite.words)
                    out.update(
                        w
                        for q in opposite.pointers
                        if q.symbol == "&"
                        for w in self._synset(f"{_adj(q.pos)}:{q.offset}").words
                    )
            for p in s.pointers:
                if p.symbol == "+" and _is_source(s, lemma, p.source):
                    related = self._synset(f"{_adj(p.pos)}:{p.offset}")
                    for q in related.pointers:
                        if q.symbol == "!" and q.source == p.target:
                            out.update(self._synset(f"{_adj(q.pos)}:{q.offset}").words)
        return frozenset(out)


def _adj(pos: str) -> str:
    return "a" if pos == "s" else pos


def _is_source(synset: Synset, lemma: str, source: int) -> bool:
    return source == 0 or synset.words[source - 1] == lemma
