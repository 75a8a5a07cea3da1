"""Who does what a causative verb has someone do (verifier v71): "how do I *get my
girlfriend to apologize*" asks how she comes to apologize, "how do I apologize to my
girlfriend" how I do. A verb one prompt has someone do, the other says with another doer
right before it, or the prompts ask different things."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scalegate.cache.verify import classes as c

# Verbs (by lemma) that have someone do the next verb: "get X to …", "make X …".
_WITH_TO = frozenset({"get", "convince", "persuade", "ask", "tell", "want", "teach",
                      "encourage", "force", "allow", "remind", "help"})  # fmt: skip
_BARE = frozenset({"make", "let", "have", "help"})
# A doer said as a pronoun refers back to one named elsewhere: it may be anyone.
_PRONOUNS = frozenset({"him", "her", "them", "me", "us", "you", "it", "i", "we", "he", "she",
                       "they", "someone", "somebody"})  # fmt: skip
# What may stand between a verb and its doer: "cats *do not* purr", "I *can't* sleep".
_BETWEEN = c.DETERMINERS | c.MODALS | c.CHAIN_ADVERBS | {"do", "does", "did", "not", "to"}


class Words(Protocol):
    def keys(self, word: str) -> frozenset[str]: ...
    def animate(self, word: str) -> bool: ...
    def verbal(self, word: str) -> bool: ...
    def poses(self, word: str) -> frozenset[str]: ...
    def plural(self, word: str) -> bool: ...


def _verb(word: str, lexicon: Words) -> bool:
    """After a causative and the one it has act, any form of a WordNet verb that is no
    plural noun: "have someone *cosign* my loan", "make someone *laugh*" (v82; before,
    only a word usually a verb). The causee before it rules out "make a pivot *table*"."""
    return lexicon.verbal(word) or ("v" in lexicon.poses(word) and not lexicon.plural(word))


def caused(words: Sequence[str], lexicon: Words) -> dict[str, tuple[str, str | None]]:
    """Each verb (by lemma) someone is had to do: who, and where the verb stands. "get *my
    girlfriend* to *apologize*" gives {"apologize": ("girlfriend", …)}. The one had to do
    it is a person or an animal ("get my dog to stop"), not a thing ("get a job to pay
    bills": a purpose); without "to" it is a verb (:func:`_verb`)."""
    out: dict[str, tuple[str, str | None]] = {}
    for i, word in enumerate(words):
        lemmas = lexicon.keys(word)
        if not lemmas & (_WITH_TO | _BARE):
            continue
        j = i + 1
        while j < len(words) and words[j] in c.DETERMINERS:
            j += 1
        if j + 1 >= len(words) or not words[j].isalpha():
            continue
        who = words[j]
        if not (who in _PRONOUNS or lexicon.animate(who)):
            continue
        k = j + 1
        if words[k] == "to" and lemmas & _WITH_TO:
            k += 1
        elif not (lemmas & _BARE and _verb(words[k], lexicon)):
            continue
        if k < len(words) and words[k].isalpha():
            for lemma in lexicon.keys(words[k]):
                out[lemma] = (who, _object(words, k))
    return out


def causee_differs(a: Sequence[str], b: Sequence[str], lexicon: Words) -> bool:
    """A verb one prompt has someone do that the other has the asker do ("I", "we",
    "you" right before it), not to that someone ("how do I *stop my cat* from scratching"
    acts on the cat as "get my cat to stop" does) — unless the verb had done is done to a
    person ("get my partner to forgive *me*" / "I forgive my partner", v72). Each side:
    its words as tokenized."""
    caused_a, caused_b = caused(a, lexicon), caused(b, lexicon)
    for mine, other, theirs in ((caused_a, b, caused_b), (caused_b, a, caused_a)):
        for verb, (who, done_to) in mine.items():
            if (who in _PRONOUNS and who not in _ANYONE) or verb in theirs:
                continue  # both have it done: the alignment reads who
            for k, word in enumerate(other):
                if (
                    verb in lexicon.keys(word)
                    and _asker_does(other, k, lexicon)
                    and (_object(other, k) != who or done_to in _PERSONAL)
                ):
                    return True
    return False


# An object of the verb had done that is a person: "get my partner to forgive *me*" trades
# the roles of "I forgive my partner" (v72), where "get my puppy to stop whining" does not.
_PERSONAL = frozenset({"me", "us", "you", "him", "her", "them", "myself", "ourselves"})


_ASKER = frozenset({"i", "we", "you"})
# Indefinite: no one named elsewhere, so one had to do it is no one the other prompt names
# with a pronoun (v82).
_ANYONE = frozenset({"someone", "somebody"})


def _asker_does(words: Sequence[str], k: int, lexicon: Words) -> bool:
    """``words[k]`` is done by the asker: "I", "we" or "you" right before it, or no doer at
    all — an "-ing" form after "of", "for" or "about" that follow a thing ("the risks *of
    cosigning*", v82), not a person or an animal ("scold my dog *for barking*")."""
    doer = _doer(words, k)
    if doer in _ASKER:
        return True
    if not words[k].endswith("ing") or doer not in _OPEN or k < 2 or words[k - 1] != doer:
        return False
    before = words[k - 2]
    return before.isalpha() and before not in _PRONOUNS and not lexicon.animate(before)


_OPEN = frozenset({"of", "for", "about"})


def _object(words: Sequence[str], k: int) -> str | None:
    """The word right after ``words[k]`` past determiners: "stop *my cat*"."""
    j = k + 1
    while j < len(words) and words[j] in c.DETERMINERS:
        j += 1
    return words[j] if j < len(words) else None


def _doer(words: Sequence[str], k: int) -> str | None:
    """The word right before ``words[k]``, past auxiliaries, negation and determiners: its
    doer when it is a verb ("how do *I* apologize", "why do *cats* purr"); None at the
    start or after punctuation."""
    j = k - 1
    while j >= 0 and words[j] in _BETWEEN:
        j -= 1
    if j < 0 or not words[j].isalpha():
        return None
    return words[j]
