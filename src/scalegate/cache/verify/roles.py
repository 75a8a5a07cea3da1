"""Who fills which role, read from the order of a prompt's words (issue 15): two words
that trade places across a pivot (:func:`swapped`), "X 's Y" read as "Y of X"
(:func:`possessive_as_of`), and the two things a yes/no question with "be" relates
(:func:`predicate_swapped`). Used by :mod:`.rules` on the content sequence of each prompt,
the other prompt's in the first prompt's words."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import pairwise

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.features import RELATIVE
from scalegate.cache.verify.fields import BOUNDARY, CLAUSE, NUMBER

_FIRST_WORD = re.compile(r"\W*(\w+)")


def opens_with_be(text: str) -> bool:
    first = _FIRST_WORD.match(text)
    return first is not None and first.group(1).lower() in c.BE


def persons(subjects: set[str]) -> bool:
    """Subjects that are all persons ("I", "you"): "Is the store *closed*" / "Does the store
    *close*" is no change of role."""
    return bool(subjects) and all(s.startswith("@") for s in subjects)


def object_person_differs(a: list[str], b: list[str]) -> bool:
    """The same word followed by a different person in each prompt (``b`` in ``a``'s words):
    "how do I mute *someone* in a zoom meeting" / "how do I mute *myself* …" (v70)."""
    after_a = {(w, p) for w, p in pairwise(a) if w[:1].isalpha() and p[:1] == "@"}
    after_b = {(w, p) for w, p in pairwise(b) if w[:1].isalpha() and p[:1] == "@"}
    words_a = {w for w, _ in after_a}
    return any(w in words_a and (w, p) not in after_a for w, p in after_b)


def predicate_swapped(a: list[str], b: list[str]) -> bool:
    """A yes/no question with "be" about two things — the subject and what it is said
    to be — asked the other way round: "Is a square a rectangle?" / "Is a rectangle a
    square?", "Are all squares rectangles?" / "Are all rectangles squares?". (No word
    between them to trade places across, so :func:`swapped` cannot see it.)"""
    first_a, first_b = _first_clause_words(a), _first_clause_words(b)
    return len(first_a) == 2 and first_a[0] != first_a[1] and first_a == first_b[::-1]


def _first_clause_words(sequence: list[str]) -> list[str]:
    """The content words of the first clause (no relation words, persons or boundaries)."""
    out: list[str] = []
    for w in sequence:
        if w == CLAUSE:
            break
        if w != BOUNDARY and not w.startswith(("=", "@")):
            out.append(w)
    return out


def clauses(sequence: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for w in sequence:
        if w == CLAUSE:
            out.append([])
        else:
            out[-1].append(w)
    return [c for c in out if c]


def possessive_as_of(
    words: list[str], nominal: Callable[[str], bool] | None = None, *, boundaries: bool = False
) -> list[str]:
    """ "X 's Y" read as "Y of X": "green tea's health benefits" asks what "the health
    benefits of green tea" asks, while "my sister's husband" / "my husband's sister" still
    trade places. X and Y are the noun phrases either side: runs of content words that stop
    at a relation word, a determiner or punctuation (:data:`BOUNDARY`) and, when
    ``nominal`` is given, at a verb — so in "my dog bit the neighbor's child" the phrase is
    "neighbor's child", not "dog bit neighbor's child", and it trades places with "dog" in
    "the neighbor's child bit my dog". Boundaries are dropped from the result unless
    ``boundaries`` (they tell :func:`swapped` where a noun phrase starts)."""

    def inside(w: str) -> bool:
        return (
            not w.startswith("=")
            and w not in (BOUNDARY, CLAUSE)
            and (nominal is None or nominal(w))
        )

    out = list(words)
    i = 1
    while i < len(out) - 1:
        if out[i] != "='s":
            i += 1
            continue
        start, end = i, i + 1
        while start > 0 and inside(out[start - 1]):
            start -= 1
        while end < len(out) and inside(out[end]):
            end += 1
        if start == i or end == i + 1:
            i += 1
            continue
        out[start:end] = [*out[i + 1 : end], "=of", *out[start:i]]
        i = end
    return out if boundaries else [w for w in out if w != BOUNDARY]


def swapped(
    a: list[str],
    b: list[str],
    nominal: Callable[[str], bool] | None = None,
    said_b: Mapping[str, str] | None = None,
) -> bool:
    """Two nominal words that trade places across the same pivot — a word between them in
    both: "X than Y" / "Y than X", "Aaron Burr shoot Alexander Hamilton" / "Alexander
    Hamilton shoot Aaron Burr", "my sister lent me" / "I lent my sister", and coordination
    too ("Compare Java and Python" is answered Java first). A verb that moved ("fix a flat
    tyre on my bike" / "my bike has a flat tyre, how do I fix it") is no role, and nor are
    words in different clauses (:data:`CLAUSE`): "weather and climate — what's the
    difference?" asks what "What's the difference between weather and climate?" asks.
    "into" and "onto" pivot as "to" does: "convert a *pivot table* back to a *normal
    range*" / "turn a *normal range* into a *pivot table*" (v85). B's words come renamed
    to A's; ``said_b`` maps them back, so that each is judged as B says it: "convert"
    renamed "conversion" is still a verb in B, whichever prompt is asked first (v91)."""

    def between(words: list[str], i: int, j: int) -> set[str]:
        return {_PIVOT_SAME.get(w, w) for w in words[min(i, j) + 1 : max(i, j)]} - {BOUNDARY}

    def role(words: list[str], i: int) -> bool:
        return nominal is None or _noun_at(words[i], words, i, nominal)  # "server#2": at i

    as_said = b if not said_b else [said_b.get(w, w) for w in b]
    pa, pb = _places(a, b), _places(b, a)
    shared = sorted(
        (w for w in set(pa) & set(pb) if role(a, pa[w]) and role(as_said, pb[w])),
        key=pa.__getitem__,
    )
    for n, x in enumerate(shared):
        for y in shared[n + 1 :]:
            if pb[y] > pb[x] or (x[:1] == y[:1] == NUMBER):
                continue  # two numbers that move are :func:`.compare.numbers_moved`'s
            in_a, in_b = between(a, pa[x], pa[y]), between(b, pb[y], pb[x])
            if CLAUSE not in in_a | in_b and in_a & in_b:
                return True
    return False


# Relation words that point the same way: a goal ("convert X *to* Y", "turn Y *into* X").
_PIVOT_SAME = {"=into": "=to", "=onto": "=to"}


def _places(words: list[str], other: list[str]) -> dict[str, int]:
    """Where each word of ``words`` stands (relation words and boundaries aside), for
    :func:`swapped`."""
    seen: dict[str, int] = {}
    said: dict[str, int] = {}
    for i, w in enumerate(words):
        if not w.startswith("=") and w not in (CLAUSE, BOUNDARY):
            # A person said twice keeps its first place ("older than me and I'm 20");
            # a word both prompts say as often is one word each time it is said (the
            # first "server" of "a remote server … copy from my machine to the remote
            # server" is not the second); another has no one place.
            said[w] = said.get(w, 0) + 1
            if w not in seen:
                seen[w] = i
            elif words.count(w) == other.count(w) and not w.startswith("@"):
                seen[f"{w}#{said[w]}"] = i
            elif not w.startswith("@"):
                seen[w] = -1
    return {w: i for w, i in seen.items() if i >= 0}


def relative_swapped(
    a: list[str],
    b: list[str],
    verb: Callable[[str], bool],
    whose: tuple[tuple[int, ...], tuple[int, ...]] = ((), ()),
) -> bool:
    """A relative clause's subject in one prompt is its object in the other: "the composer
    *whom Beethoven taught*" (Beethoven before the verb) / "the composer *who taught
    Beethoven*" (after it) — the noun the clause is about plays the other role. ``whose``:
    each prompt's positions where a "whose" opens a clause ("the employees *whose managers*
    earn more than them" / "*who* earn more than their managers")."""
    first_a, first_b = _relative_clause(a, verb, whose[0]), _relative_clause(b, verb, whose[1])
    if first_a is None or first_b is None:
        return False
    (before_a, after_a), (before_b, after_b) = first_a, first_b
    return bool(before_a & after_b) or bool(before_b & after_a)


def _relative_clause(
    words: list[str], verb: Callable[[str], bool], whose: tuple[int, ...]
) -> tuple[set[str], set[str]] | None:
    """The first relative clause's words before its first verb and after it, or None."""
    opens = [*whose[:1], *([words.index(RELATIVE)] if RELATIVE in words else [])]
    if not opens:
        return None
    i = min(opens) + 1
    end = i
    while end < len(words) and words[end] not in (CLAUSE, RELATIVE):
        end += 1
    clause = [w for w in words[i:end] if w[:1] not in ("=", "|")]
    at = next((k for k, w in enumerate(clause) if w[:1] != "@" and verb(w)), None)
    if at is None or (at == 0 and len(clause) == 1):
        return None
    return set(clause[:at]), set(clause[at + 1 :])


# Words whose two sides are not interchangeable; "then" is a content word in the sequence
# (a step's order: "git add *and then* git stash" / "git stash and then git add").
PIVOTS = frozenset({"=before", "=after", "=than", "=vs", "=versus", "then"})


def sides_swapped(a: list[str], b: list[str]) -> bool:
    """What stands only before a pivot in one prompt stands only after it in the other,
    and the other way round — verbs too, which :func:`swapped` does not take for roles:
    "run npm *install* before npm run *build*" / "run npm run *build* before npm
    *install*". Each prompt must say the same pivot once, in one clause."""
    sides = [_sides(a), _sides(b)]
    if sides[0] is None or sides[1] is None or sides[0][0] != sides[1][0]:
        return False
    (_, before_a, after_a), (_, before_b, after_b) = sides[0], sides[1]
    return bool(before_a & after_b) and bool(after_a & before_b)


def spans_swapped(a: list[str], b: list[str]) -> bool:
    """What comes after "from" in one prompt comes after "to" in the other, word for word
    in order, and the other way round — where the same words make both, in another order,
    which :func:`sides_swapped` (by sets) cannot see: "convert dates from DD/MM/YYYY to
    YYYY-MM-DD" / "… from YYYY-MM-DD to DD/MM/YYYY" (verifier v94)."""
    spans_a, spans_b = _from_to(a), _from_to(b)
    if spans_a is None or spans_b is None or spans_a[0] == spans_a[1]:
        return False
    return spans_a == (spans_b[1], spans_b[0])


def _from_to(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The words after the one "=from" up to its "=to", and after that "=to" to the next
    relation word, boundary or clause; None without exactly one of each, in that order."""
    if words.count("=from") != 1 or words.count("=to") < 1:
        return None
    start = words.index("=from")
    if "=to" not in words[start:]:
        return None
    pivot = words.index("=to", start)
    end = pivot + 1
    while end < len(words) and words[end][:1] not in ("=", "|") and words[end] != CLAUSE:
        end += 1
    source = tuple(w for w in words[start + 1 : pivot] if w[:1] != "|")
    return (source, tuple(words[pivot + 1 : end])) if source else None


def _sides(words: list[str]) -> tuple[str, set[str], set[str]] | None:
    """(pivot, words only before it, words only after it) within its clause, or None."""
    found = [i for i, w in enumerate(words) if w in PIVOTS]
    if len(found) != 1:
        return None
    i = found[0]
    start, end = i, i
    while start > 0 and words[start - 1] != CLAUSE:
        start -= 1
    while end < len(words) - 1 and words[end + 1] != CLAUSE:
        end += 1
    kept = ("=", "|")
    before = {w for w in words[start:i] if w[:1] not in kept}
    after = {w for w in words[i + 1 : end + 1] if w[:1] not in kept}
    return words[i], before - after, after - before


def _noun_at(w: str, words: list[str], i: int, nominal: Callable[[str], bool]) -> bool:
    """``words[i]`` (``w``) is a noun: nominal, or after a preposition, or ending a noun
    phrase its determiner opened ("a Python *set*": "set" is usually a verb, not here).
    A phrasal verb is a verb wherever it stands: "the angles of a pentagon *add up*"."""
    if nominal(w):
        return True
    if "_" in w:  # a verb with its particle ("add_up"), never the noun ending a phrase
        return False
    if i > 0 and words[i - 1].startswith("="):
        # "to" after a word that is no noun, before a verb, marks an infinitive: "how long
        # *to cook*" (not "convert a list *to set*").
        return words[i - 1] != "=to" or (i > 1 and nominal(words[i - 2]))
    j = i - 1
    while j >= 0 and words[j][:1] not in ("=", "@") and words[j] not in (BOUNDARY, CLAUSE):
        if not nominal(words[j]):
            return False
        j -= 1
    return j >= 0 and words[j] == BOUNDARY


def conditions_traded(
    a: tuple[list[str], tuple[int, ...]], b: tuple[list[str], tuple[int, ...]]
) -> bool:
    """A word both prompts have moved into the condition while another moved out of it
    (each side: its sequence, in A's words, and the positions of its condition's words):
    "what rights does an *employee* have if the *employer* breaks the contract" / "… an
    employer have if the employee breaks …". A condition said first or last holds the same
    words ("If my flight is cancelled, does …" / "Does … if my flight is cancelled?")."""
    (seq_a, cond_a), (seq_b, cond_b) = a, b
    if not cond_a or not cond_b:
        return False
    shared = {w for w in set(seq_a) & set(seq_b) if w not in (CLAUSE, BOUNDARY)}
    in_a = {seq_a[p] for p in cond_a} & shared
    in_b = {seq_b[p] for p in cond_b} & shared
    return bool(in_a - in_b) and bool(in_b - in_a)


def clauses_exchanged(a: list[str], b: list[str]) -> bool:
    """Two words that trade clauses while the rest stay where they were: "My *coworker*
    keeps taking credit …. How should I handle this … in front of my *manager*?" / "My
    *manager* keeps taking credit …. … in front of my *coworkers*?" (``b`` in A's words).
    Sentences said in another order move every word and are no exchange."""

    def where(sequence: list[str]) -> dict[str, int]:
        at: dict[str, int] = {}
        clause = 0
        for w in sequence:
            if w == CLAUSE:
                clause += 1
            elif w != BOUNDARY and not w.startswith(("=", "@")):
                at[w] = -1 if w in at else clause  # said twice: in no one clause
        return {w: c for w, c in at.items() if c >= 0}

    in_a, in_b = where(a), where(b)
    shared = in_a.keys() & in_b.keys()
    moved = [w for w in shared if in_a[w] != in_b[w]]
    if not moved or 2 * len(moved) > len(shared):
        return False
    return any(
        in_a[x] == in_b[y] and in_a[y] == in_b[x]
        for i, x in enumerate(moved)
        for y in moved[i + 1 :]
    )


def condition_last(sequence: list[str], condition: tuple[int, ...]) -> list[str]:
    """``sequence`` with its condition's words moved to the end, as a clause of their own:
    where a condition is said — first or last — moves no word into another's role ("If I'm
    pregnant, can I drink coffee?" / "Can I drink coffee if I'm pregnant?"); a word traded
    between the condition and the rest is :func:`conditions_traded`'s."""
    inside = set(condition)
    rest = [w for i, w in enumerate(sequence) if i not in inside]
    return [*rest, CLAUSE, *(sequence[i] for i in condition)]


def fronted_last(sequence: list[str], fronted: tuple[int, ...]) -> list[str]:
    """``sequence`` with each phrase that opens a sentence (:func:`.phrases.fronted`) moved
    to that sentence's end, where it is read with the rest: "*On my Mac,* how do I …" as
    "how do I … on my Mac", and "*From Chicago,* how do I get to Boston?" still trades
    its places with "From Boston, … to Chicago?"."""
    out = list(sequence)
    runs: list[list[int]] = []
    for i in fronted:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in reversed(runs):  # the last first: the positions before it stay put
        end = next((k for k in range(run[-1] + 1, len(out)) if out[k] == CLAUSE), len(out))
        moved = [out[k] for k in run if out[k] != BOUNDARY]
        out[run[0] : end] = [*out[run[-1] + 1 : end], BOUNDARY, *moved]
    return out


def gerund_with_object(words: tuple[str, ...], said: str) -> bool:
    """``said``, an "-ing" form, takes an object in ``words`` (the prompt's tokens): "does
    *getting a* passport take" — the verb after it is not what the question asks it
    does. Not "does *overfishing in* the North Sea cause"."""
    if not said.endswith("ing") or said not in words:
        return False
    at = words.index(said) + 1
    return at < len(words) and words[at] not in c.PREPOSITIONS and words[at][:1].isalpha()
