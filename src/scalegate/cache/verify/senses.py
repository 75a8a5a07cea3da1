"""Relations between two words that WordNet's senses settle, for :class:`.lexicon.Lexicon`
(which caches them): a noun sense shared only where it is rare ("bike" / "motorcycle"), two
verbs whose doers have other names ("teach" / "learn"), a kind and its kind sharing an
adjective ("median" / "average"), two words meeting in a verb sense only ("number" /
"amount")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scalegate.cache.verify.lexicon import Lexicon

NOUN_PERSON = 18  # WordNet's lexicographer file noun.person


def split_sense(lx: Lexicon, lemma: str, other: str) -> bool:
    """``lemma`` is ``other`` only in a noun sense WordNet's sense-tagged corpus never
    showed, and in another sense of the same kind (lexicographer file) something else
    with a name of its own: a "bike" is a motorcycle and a bicycle, neither sense
    tagged, so "bike" does not stand for "motorcycle" nor for "bicycle" (verifier v20).
    The "world" that is the earth is a tagged sense, and "centre"'s only rival sense
    names nothing else: both still align."""
    files = lx.files
    if files is None or any(
        other in lx.synset(f"{pos}:{offset}").words
        for pos in ("v", "a", "r")
        for offset in files.offsets(lemma, pos)
    ):
        return False  # the words share a verb or adjective sense: not only a noun
    offsets = files.offsets(lemma, "n")
    synsets = [lx.synset(f"n:{offset}") for offset in offsets]
    shared = next((i for i, s in enumerate(synsets) if other in s.words), None)
    if shared is None or shared < files.tagged(lemma, "n"):
        return False
    kind = synsets[shared].lexfile
    return any(
        s.lexfile == kind and other not in s.words and any(w != lemma for w in s.words)
        for s in synsets
    )


def agents(lx: Lexicon, lemma: str) -> frozenset[str]:
    """Nouns for a person derived from ``lemma``'s first :attr:`senses` verb senses:
    "teach" → "teacher", "instructor"; "buy" → "buyer", "purchaser"."""
    if lx.files is None:
        return frozenset()
    out: set[str] = set()
    for offset in lx.files.offsets(lemma, "v")[: lx.senses]:
        for p in lx.synset(f"v:{offset}").pointers:
            if p.symbol == "+" and p.pos == "n":
                target = lx.synset(f"n:{p.offset}")
                if target.lexfile == NOUN_PERSON:
                    out.update(target.words)
    return frozenset(out)


def converse(lx: Lexicon, a: str, b: str) -> bool:
    """Two verbs whose doers have no name in common: "teach" (a teacher) is not "learn"
    (a learner), "lend" not "borrow", "drive" not "ride" (verifier v38) — while
    "buy" / "purchase" share "buyer", "fix" / "repair" "repairer"."""
    if a == b or not (lx.verbal(a) and lx.verbal(b)):
        return False  # not two words that are usually verbs ("place" / "spot")
    if lx.light_verb(a) or lx.light_verb(b):
        return False  # "get", "make", "go" stand for many verbs
    agents_a, agents_b = lx.agents(a), lx.agents(b)
    return bool(agents_a and agents_b) and not agents_a & agents_b


def verbs_only(lx: Lexicon, a: str, b: str) -> bool:
    """``a`` and ``b`` share a verb sense and no sense of another part of speech: "the
    *number* of orders" is no "*amount*" — they meet only in "to number / to amount to"
    (verifier v41)."""
    return _shared_poses(lx, a, b) == {"v"}


def nouns_only(lx: Lexicon, a: str, b: str) -> bool:
    """``a`` and ``b`` share a noun sense and no sense of another part of speech: two
    "-ing" forms meet as acts or qualities, not through their stems' nouns — "*leading*"
    / "*trailing* whitespace" share only "lead" / "trail", a clue (verifier v86)."""
    return _shared_poses(lx, a, b) == {"n"}


def _shared_poses(lx: Lexicon, a: str, b: str) -> set[str]:
    """The parts of speech in which one of ``a``'s senses holds ``b``."""
    files = lx.files
    if files is None:
        return set()
    return {
        pos
        for pos in ("n", "v", "a", "r")
        if any(b in lx.synset(f"{pos}:{o}").words for o in files.offsets(a, pos))
    }


def kind_of(lx: Lexicon, a: str, b: str) -> bool:
    """``a``'s first noun sense is a kind of ``b`` (a direct hypernym) while their
    adjectives share a sense: a "median" is a kind of "average" (verifier v38)."""
    files = lx.files
    offsets = files.offsets(a, "n") if files is not None else ()
    if files is None or not offsets:
        return False
    if not any(b in lx.synset(f"a:{o}").words for o in files.offsets(a, "a")):
        return False
    return any(
        b in lx.synset(f"n:{p.offset}").words
        for p in lx.synset(f"n:{offsets[0]}").pointers
        if p.symbol in ("@", "@i")
    )


def verb_link_only(lx: Lexicon, a: str, b: str) -> bool:
    """Neither of ``a`` and ``b`` reaches the other through a sense that is no verb's — its
    own noun, adjective or adverb senses, the words derived from them or its adjective
    cluster (verifier v47): a "*promotion*" is derived from "to promote", of which "to
    raise" is a synonym, but "a *raise*" is pay. "photography" / "photo" and "leaky" /
    "leak" meet through nouns."""
    files = lx.files
    if files is None:
        return False
    for word, other in ((a, b), (b, a)):
        for pos in ("n", "a", "r"):
            for o in files.offsets(word, pos):
                s = lx.synset(f"{pos}:{o}")
                reached = [s] + [
                    lx.synset(f"{'a' if p.pos == 's' else p.pos}:{p.offset}")
                    for p in s.pointers
                    if p.symbol in ("+", "\\", "&") and p.pos != "v"
                ]
                if any(other in r.words for r in reached):
                    return False
    return True


def attributes(lx: Lexicon, lemma: str) -> frozenset[str]:
    """What ``lemma``'s first adjective sense is a value of (WordNet's attribute pointer,
    through its cluster's head): "deep" → "depth", "wide" → "width", "quick" → "speed"."""
    files = lx.files
    offsets = files.offsets(lemma, "a")[:1] if files is not None else ()
    out: set[str] = set()
    for o in offsets:
        s = lx.synset(f"a:{o}")
        heads = [s] + [lx.synset(f"a:{p.offset}") for p in s.pointers if p.symbol == "&"]
        for head in heads:
            for p in head.pointers:
                if p.symbol == "=":
                    out.update(lx.synset(f"n:{p.offset}").words)
    return frozenset(out)


def names_apart(lx: Lexicon, a: str, b: str) -> bool:
    """Two nouns sharing a synset, one of them a named thing (an instance), that share
    neither's first sense: "Europe" is the EU only in a later sense, so "how many countries
    are in *europe*" is not "… in *the eu*" (verifier v79). Words related otherwise (derived:
    "china" / "chinese") are not read here."""
    files = lx.files
    if files is None or not (lx.named(a) or lx.named(b)):
        return False
    senses_a = [lx.synset(f"n:{o}") for o in files.offsets(a, "n")]
    senses_b = [lx.synset(f"n:{o}") for o in files.offsets(b, "n")]
    if not senses_a or not senses_b or not any(b in s.words for s in senses_a):
        return False
    return b not in senses_a[0].words and a not in senses_b[0].words


def late_sense(lx: Lexicon, a: str, b: str) -> bool:
    """``a`` is ``b`` only in a noun sense past ``a``'s first :attr:`senses` that WordNet's
    sense-tagged corpus never showed, and they share no sense of another part of speech:
    "fleece" is "wool" only in its fourth sense (a sheep's coat, untagged), so "a *fleece*
    blanket" is no "*wool* blanket" (verifier v82) — while "pup" is "puppy" in the second
    sense of both, and the "world" that is the "earth" is a tagged sense."""
    files = lx.files
    if files is None or any(
        b in lx.synset(f"{pos}:{offset}").words
        for pos in ("v", "a", "r")
        for offset in files.offsets(a, pos)
    ):
        return False
    offsets = files.offsets(a, "n")
    shared = [i for i, o in enumerate(offsets) if b in lx.synset(f"n:{o}").words]
    return bool(shared) and min(shared) >= max(lx.senses, files.tagged(a, "n"))


def side_sense(lx: Lexicon, a: str, b: str) -> bool:
    """``a`` and ``b`` meet only in a noun sense that is the first of neither and that
    WordNet's sense-tagged corpus never showed for either, share no sense of another part
    of speech, and neither's first senses reach the other within two steps up
    (:meth:`.Lexicon.broader`): "atom" and "molecule" are both "a tiny piece of
    anything" in their second senses, while chemistry tells them apart (verifier v94) —
    "pup" and "puppy" also meet only in a second sense, but a puppy is a kind of pup."""
    files = lx.files
    if files is None or a == b:
        return False
    if any(
        b in lx.synset(f"{pos}:{offset}").words
        for pos in ("v", "a", "r")
        for offset in files.offsets(a, pos)
    ):
        return False
    offsets_a, offsets_b = files.offsets(a, "n"), files.offsets(b, "n")
    if not offsets_a or not offsets_b:
        return False
    shared = set(offsets_a) & set(offsets_b)
    if not shared:
        return False
    first_a = min(offsets_a.index(o) for o in shared)
    first_b = min(offsets_b.index(o) for o in shared)
    if first_a < max(1, files.tagged(a, "n")) or first_b < max(1, files.tagged(b, "n")):
        return False  # a sense the corpus shows for either: "sea" is "ocean" (tagged)
    return b not in lx.broader(a) and a not in lx.broader(b)
