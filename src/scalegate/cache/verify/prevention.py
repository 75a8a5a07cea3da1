"""An act one prompt prevents and the other brings about (verifier v75).

"how do I *stop* my dog *from barking*" asks how the dog comes *not* to bark; "how do I
make my dog bark" how it comes to bark. "how to *keep* a mac *from sleeping*" is not "how
to put a mac to sleep". The verb of prevention is general wording the aligner excuses
("keep", "stop" are light verbs), so the negation it carries is read here: an act a
prompt prevents — the "-ing" verb after "from" a few words past a verb of prevention, or
right after "stop" / "quit", or after the object of "stop" / "prevent" with "from" left
out ("stop *my dog barking*", v83) — that the other prompt asks how to bring about (an
infinitive, "re-render" with its prefix too, or a verb after "make", "let", "get", …) with
no verb of prevention and no negation of its own. Where the other prompt prevents too, or
negates ("train a puppy *not* to bite"), or names the act another way ("fix a *squeaky*
hinge" / "stop a hinge from *squeaking*"), nothing is read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.features import Analysis

# Verbs (by lemma) that keep someone or something from doing the "-ing" verb after "from".
_PREVENT = frozenset({"keep", "stop", "prevent", "prohibit", "ban", "bar", "block", "deter",
                      "discourage", "dissuade", "restrain", "refrain", "forbid", "hinder",
                      "save", "protect", "avoid"})  # fmt: skip
# Verbs (by lemma) whose "-ing" object is an act that ends: "stop *barking*", "quit *vaping*".
_CEASE = frozenset({"stop", "quit", "cease"})
# Verbs (by lemma) that bring an act about: "*make* my dog bark", "*let* it sleep".
_CAUSE = frozenset({"make", "let", "have", "help", "get"})
_REACH = 6  # words from the verb to its "from": "keep *the neighbour's big dog* from"
# Verbs (by lemma) that say "from" may be left out: "stop my dog barking" (not "keep my
# engine running", which makes it go on).
_WITHOUT_FROM = frozenset({"stop", "prevent"})


class Words(Protocol):
    def keys(self, word: str) -> frozenset[str]: ...
    def may_be_verb(self, word: str) -> bool: ...
    def is_past(self, word: str) -> bool: ...


def prevention_differs(da: Analysis, db: Analysis, lexicon: Words) -> bool:
    """Whether one prompt prevents an act the other says plainly (see the module doc)."""
    a, b = (da.words, da.exact["negation"]), (db.words, db.exact["negation"])
    return _against(a, b, lexicon) or _against(b, a, lexicon)


def _against(
    mine: tuple[Sequence[str], Sequence[str]],
    other: tuple[Sequence[str], Sequence[str]],
    lexicon: Words,
) -> bool:
    (words, _), (theirs, negations) = mine, other
    acts = _prevented(words, lexicon)
    if not acts or negations or any(lexicon.keys(w) & (_PREVENT | _CEASE) for w in theirs):
        return False
    return any(
        lexicon.keys(w) & acts and (_brought_about(theirs, k, lexicon) or _done(theirs, k, lexicon))
        for k, w in enumerate(theirs)
        if w.isalpha()
    )


def _done(words: Sequence[str], k: int, lexicon: Words) -> bool:
    """``words[k]`` is an act a prompt says is done, to be mended rather than prevented
    (v88): a past form ("fix *cracked* tiles") or a verb with no "-s" that a relative
    pronoun opens ("fix wood that *split*") — not one that goes on ("a chain that
    *squeaks*", "my chain *squeaks*")."""
    word = words[k]
    if lexicon.is_past(word):
        return True
    return k > 0 and words[k - 1] in ("that", "which") and not word.endswith(("s", "ing"))


def _brought_about(words: Sequence[str], k: int, lexicon: Words) -> bool:
    """``words[k]`` is an act a prompt asks how to bring about: an infinitive ("put a mac
    *to sleep*") or a verb a causative verb governs ("make my dog *bark*") — not an act
    it states ("my bike chain *squeaks*, how do I fix it")."""
    j = _unprefixed(words, k)
    before = words[max(0, j - _REACH) : j]
    return (j > 0 and words[j - 1] == "to") or any(lexicon.keys(w) & _CAUSE for w in before)


def _unprefixed(words: Sequence[str], k: int) -> int:
    """Where the word at ``k`` starts, with a prefix a hyphen joins to it: "to *re-render*"
    is tokenized "re", "-", "render" (v83)."""
    if k >= 2 and words[k - 1] == "-" and words[k - 2].isalpha():
        return k - 2
    return k


def _prevented(words: Sequence[str], lexicon: Words) -> frozenset[str]:
    """The lemmas of the acts ``words`` prevent."""
    out: set[str] = set()
    for i, word in enumerate(words):
        lemmas = lexicon.keys(word)
        if lemmas & _CEASE and _gerund(words, i + 1, lexicon):
            out |= lexicon.keys(words[i + 1]) - {words[i + 1]}
        elif lemmas & _PREVENT:
            j = _from(words, i)
            if j is not None and _gerund(words, j + 1, lexicon):
                out |= lexicon.keys(words[j + 1]) - {words[j + 1]}
            elif j is None and lemmas & _WITHOUT_FROM:
                k = _object_gerund(words, i, lexicon)
                out |= lexicon.keys(words[k]) - {words[k]} if k is not None else set()
    return frozenset(out)


def _object_gerund(words: Sequence[str], i: int, lexicon: Words) -> int | None:
    """The "-ing" verb after the object of ``words[i]``, "from" left out, in its clause:
    "stop *a child component re-rendering*", "prevent *the pipes freezing*" (v83)."""
    if i + 1 >= len(words) or not _opens_object(words[i + 1], lexicon):
        return None  # not "stop *worrying*" (the act itself), nor "stop *to* think"
    for j in range(i + 2, min(i + 1 + _REACH, len(words))):
        if (not words[j][:1].isalnum() and words[j] != "-") or words[j] in c.SCOPE_BREAKS:
            return None
        if _gerund(words, j, lexicon):
            return j
    return None


def _opens_object(word: str, lexicon: Words) -> bool:
    """A determiner, or a noun with none ("stop *wood* splitting", v88) — a word of no
    closed class that is not itself an "-ing" verb."""
    if word in c.DETERMINERS:
        return True
    return (
        word.isalpha()
        and not (word.endswith("ing") and lexicon.may_be_verb(word))
        and word not in c.LIGHT
        and word not in c.PREPOSITIONS
        and word not in c.PERSONS
    )


def _from(words: Sequence[str], i: int) -> int | None:
    """The "from" a few words after ``words[i]``, in its clause, if any."""
    for j in range(i + 1, min(i + 1 + _REACH, len(words))):
        if not words[j][:1].isalnum() or words[j] in c.SCOPE_BREAKS:
            return None
        if words[j] == "from":
            return j
    return None


def _gerund(words: Sequence[str], i: int, lexicon: Words) -> bool:
    return i < len(words) and words[i].endswith("ing") and lexicon.may_be_verb(words[i])
