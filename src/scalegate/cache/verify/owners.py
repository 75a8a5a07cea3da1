"""Who owns what (issue 15): the same thing owned by someone else ("registered in *his*
name" / "in *my* name"), one owner owning something else, and a question's subject that
is only an owner in the other prompt. Used by :mod:`.rules` on the content sequence of
each prompt."""

from __future__ import annotations

from collections.abc import Callable

from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.fields import BOUNDARY, CLAUSE


def owner_replaced(
    a: list[str],
    owned_a: tuple[tuple[str, int], ...],
    b: list[str],
    owned_b: tuple[tuple[str, int], ...],
    nominal: Callable[[str], bool],
) -> bool:
    """The same thing, owned by someone else: "registered in *his* name" / "in *my* name",
    "use *my dad's* miles … for myself" / "use *my* miles … for my dad". A thing is the
    noun phrase after its owner; owners are "X 's" and possessive determiners
    (``owned_*``, :attr:`.features.Analysis.owned`). A third-person determiner may stand
    for a noun ("my mom … *her* birthday" / "*my mom's* birthday") and "your" for anyone
    (the generic you); any other pair of owners conflicts."""
    mine, theirs = _owners(a, owned_a, nominal), _owners(b, owned_b, nominal)
    for thing, xs in mine.items():
        ys = theirs.get(thing)
        if ys is not None and any(_conflict(x, y) for x in xs - ys for y in ys - xs):
            return True
    return False


def _owners(
    words: list[str], owned: tuple[tuple[str, int], ...], nominal: Callable[[str], bool]
) -> dict[str, set[str]]:
    """Thing (its noun phrase's words) → its owners ("@1s" for "my", or the owning word)."""

    def thing(start: int) -> str:  # its first word may be a verb's form too ("frequent")
        end = start + _in_phrase(words[start], lambda w: True)
        while end < len(words) and _in_phrase(words[end], nominal):
            end += 1
        return " ".join(words[start:end])

    out: dict[str, set[str]] = {}
    for person, pos in owned:
        out.setdefault(thing(pos), set()).add("@" + person)
    for i in range(1, len(words) - 1):
        if words[i] == "='s":
            out.setdefault(thing(i + 1), set()).add(words[i - 1])
    out.pop("", None)
    return out


def _conflict(x: str, y: str) -> bool:
    if "@2" in (x, y):
        return False
    if x.startswith("@3") or y.startswith("@3"):
        return x.startswith("@") and y.startswith("@")  # a pronoun may stand for a noun
    return True


def _possessions(sequence: list[str]) -> dict[str, set[str]]:
    """Who owns what: "X 's Y" as {X: {Y}}."""
    owned: dict[str, set[str]] = {}
    for i in range(1, len(sequence) - 1):
        if sequence[i] == "='s":
            owned.setdefault(sequence[i - 1], set()).add(sequence[i + 1])
    return owned


def owners_differ(da: Analysis, db: Analysis, renamed: list[str]) -> str | None:
    """``order`` when one owner owns something else ("add *my wife's name* to my car
    title" / "add my name to *my wife's car* title"); ``person`` when the subject a
    question asks about is only an owner in the other ("for *my teenager* to read my diary"
    / "to read *my teenager's* diary")."""
    owns_a, owns_b = _possessions(da.sequence), _possessions(renamed)
    if any(owns_b[x].isdisjoint(things) for x, things in owns_a.items() if x in owns_b):
        return "order"
    for subjects, words, owns_other, subjects_other in (
        (da.subjects, da.sequence, owns_b, {renamed[i] for i in db.subjects}),
        (db.subjects, renamed, owns_a, {da.sequence[i] for i in da.subjects}),
    ):
        for pos in subjects:
            if words[pos] in owns_other and words[pos] not in subjects_other:
                return "person"
    return None


def _in_phrase(w: str, nominal: Callable[[str], bool]) -> bool:
    return not w.startswith(("=", "@", "#")) and w not in (BOUNDARY, CLAUSE) and nominal(w)
