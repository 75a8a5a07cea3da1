"""Counts against the things counted (issue 15): "how many" asks a number, which neither
"each" nor "all" of them answers, nor their names; a number of things is not all of them.
Read by :func:`.compare.closed_class` at both strictnesses."""

from __future__ import annotations

from collections.abc import Sequence

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.features import Analysis


def counted_against_all(da: Analysis, db: Analysis) -> bool:
    """A number in one prompt where the other says "all" (and neither says both): at
    ``balanced`` too, where "all" alone in one prompt passes; or says "both" and the
    number is not two ("replace *one* tire" / "replace *both* tires")."""
    numbers, other = da.exact["numbers"], db.exact["quantifier"]
    if not numbers or db.exact["numbers"]:
        return False
    if "all" in other and "all" not in da.exact["quantifier"]:
        return True
    return "both" in other and "both" not in da.exact["quantifier"] and "2" not in numbers


def count_against_each(da: Analysis, db: Analysis) -> bool:
    """One prompt asks how many, the other about each or all of them, at ``balanced`` too
    (v72): "*how many* amendments are in the bill of rights" / "what does *each* amendment
    … say" (balanced lets an "all" in one prompt only pass: "stay up *all* night")."""
    return (
        "quantity" in da.exact["question"]
        and "quantity" not in db.exact["question"]
        and "all" in db.exact["quantifier"]
        and "all" not in da.exact["quantifier"]
    )


def count_against_names(da: Analysis, db: Analysis) -> bool:
    """One prompt asks how many, the other for the things themselves (v82): a request to
    list or name them ("*how many* olympian gods are there" / "*list* the olympian gods")
    or "what are" ("*what are* the gospels in the new testament called", "*what* cards
    *are* in an uno deck") — not "what *is* the population of …", which asks a number."""
    if "quantity" not in da.exact["question"] or "quantity" in db.exact["question"]:
        return False
    words = db.words
    return db.task in _NAMING or any(
        w in ("what", "which") and _are_within(words, i + 1) for i, w in enumerate(words)
    )


def _are_within(words: Sequence[str], start: int) -> bool:
    """ "are" or "were" at ``start`` or after the two words that follow it (v87: "what
    *cards are* in an uno deck"), before any punctuation."""
    for w in words[start : start + 3]:
        if w in ("are", "were"):
            return True
        if not w.isalnum():
            return False
    return False


_NAMING = frozenset({"list", "name", "enumerate"})


# Words that say "more than one, not how many" before a plural noun.
_SEVERAL = frozenset({"several", "many", "few", "multiple", "various", "numerous", "some", "both"})


def one_against_several(da: Analysis, db: Analysis) -> bool:
    """A lone "one" (v88: a lone "one" alone is no count) where the other prompt says
    "several", "many", "a few", "both" … and no other number (v93, v101): "remove *one*
    item from an array" / "remove *several* items from an array", "an ear infection in *one*
    ear" / "in *both* ears"."""
    numbers_a, numbers_b = list(da.exact["numbers"]), list(db.exact["numbers"])
    if "one" not in numbers_a:
        return False
    numbers_a.remove("one")
    return (
        numbers_a == numbers_b
        and "one" not in db.words
        and _says_several(db.words)
        and not _says_several(da.words)
    )


def _says_several(words: Sequence[str]) -> bool:
    """Whether ``words`` say "several" or the like — not the "many" of "how many"."""
    return any(w in _SEVERAL and (i == 0 or words[i - 1] != "how") for i, w in enumerate(words))


def only_moved(da: Analysis, db: Analysis) -> bool:
    """One "only" in each prompt, before another word, both words in both prompts
    (verifier v94): "eat *only* vegan food on race day" / "eat vegan food *only* on race
    day" — what it narrows is the word after it."""
    after_a, after_b = _after_only(da.words), _after_only(db.words)
    return (
        after_a is not None
        and after_b is not None
        and after_a != after_b
        and after_a in db.words
        and after_b in da.words
    )


def _after_only(words: Sequence[str]) -> str | None:
    if words.count("only") != 1:
        return None
    i = words.index("only")
    return words[i + 1] if i + 1 < len(words) and words[i + 1][:1].isalnum() else None


def amount_against_yes_no(da: Analysis, db: Analysis) -> bool:
    """One prompt asks how much or how many, the other is a yes/no question — it opens with
    a form of "be", "do" or "have", "will" or a modal — and asks no amount (verifier v95):
    "*how much* tax will I owe" / "*will* I owe taxes", "*how much is* the fee" / "*is
    there* a fee"."""
    return (
        "quantity" in da.exact["question"]
        and "quantity" not in db.exact["question"]
        and bool(db.words)
        and db.words[0] in _YES_NO
    )


_YES_NO = c.BE | c.MODALS | frozenset({"do", "does", "did", "will", "shall", "has", "have", "had"})


def opening_asks_differ(da: Analysis, db: Analysis) -> bool:
    """Both prompts open with a question word that asks for a person, a time, a place or a
    reason, not the same one (v101): "*Who* orders the septic inspection when selling a
    house" / "*When* is the septic inspection ordered when selling a house" — the second
    "when" of each is no question, so the sets of question words do not tell them apart."""
    a, b = da.words[:1], db.words[:1]
    if not (a and b and a[0] in _ASKS and b[0] in _ASKS):
        return False
    if c.WH_SAME.get(a[0], a[0]) == c.WH_SAME.get(b[0], b[0]):
        return False
    # Each asked in the other too, in another place: "*When* baking bread, why …" / "Why
    # … when baking bread", "Who wrote X and when …" / "When was X …, and who …".
    return a[0] not in db.exact["question"] or b[0] not in da.exact["question"]


_ASKS = frozenset({"who", "whom", "whose", "when", "where", "why"})
