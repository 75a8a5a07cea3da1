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


def caused(words: Sequence[str], lexicon: Words) -> dict[str, tuple[str, str | None]]:
    """Each verb (by lemma) someone is had to do: who, and where the verb stands. "get *my
    girlfriend* to *apologize*" gives {"apologize": ("girlfriend", …)}. The one had to do
    it is a person or an animal ("get my dog to stop"), not a thing ("get a job to pay
    bills": a purpose); without "to" the verb is usually a verb ("make a pivot *table*")."""
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
        elif not (lemmas & _BARE and lexicon.verbal(words[k])):
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
            if who in _PRONOUNS or verb in theirs:
                continue  # both have it done: the alignment reads who
            for k, word in enumerate(other):
                if (
                    verb in lexicon.keys(word)
                    and _doer(other, k) in _ASKER
                    and (_object(other, k) != who or done_to in _PERSONAL)
                ):
                    return True
    return False


# An object of the verb had done that is a person: "get my partner to forgive *me*" trades
# the roles of "I forgive my partner" (v72), where "get my puppy to stop whining" does not.
_PERSONAL = frozenset({"me", "us", "you", "him", "her", "them", "myself", "ourselves"})


_ASKER = frozenset({"i", "we", "you"})


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
