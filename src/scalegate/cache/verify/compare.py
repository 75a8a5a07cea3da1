"""Closed-class details compared for *contradiction*, not for difference.

A detail present in one prompt only is usually a matter of wording — "any tips to quit
procrastinating" asks what "How do I stop procrastinating?" asks, "Is it safe to eat …"
what "Can I safely eat …" asks. What changes the answer is a detail the other prompt
*contradicts*: "all" against "any", "should" against "can", "before" against "after", a
past against a future, "I" against "she". So each field has its own test:

* numbers, times, units, quoted and code spans, symbols: the same multiset of values
  (a number with its unit is one value: "five km" = "5 kilometers", and a unit said on one
  side only is wording: "$1,500" = "1500"; a lone word "one" counts only against a "1" of
  the other prompt: "one or two hours" = "an hour or two" — :mod:`.values`);
* negation: as many clauses negated — an odd number of negations in it — ("can't sleep"
  = "cannot sleep"; "not" ≠ ""; "should I *not* use …, and why *don't* they work" ≠ "should
  I use …, and why do they work": two negations, in two clauses, do not cancel);
* persons: the same set when both prompts name any (possessives aside);
* quantifiers: no strong quantifier ("all", "most", "only", "few", "more", …) in one that
  the other lacks, and not two disjoint ones; "some", "many", "both" may appear in one
  prompt only;
* partitives ("all of the", "two of my") and one value in two units in the order said
  ("35 knots … 35 mph" / "35 mph … 35 knots"): the same when both have one;
* modality: the same forces when both have one ("would" is politeness);
* tense: not a past against a future, and not a question's leading auxiliary in another
  tense ("Was …" / "Is …"); aligned verbs are compared by :mod:`.rules`;
* direction: no word whose opposite the other prompt has ("turn on" / "turn off");
* question word: only when both ask with a specific one ("what" stands for why and how:
  "what's the reason" asks "why" — but not for where, when or who);
* connectives: "unless" against "if", "although" against "because";
* owners (possessive determiners): two or more, the same ones in another order ("*their*
  tree fell on *our* fence" / "*our* tree fell on *their* fence").

Across fields: a number against "all", or against "both" unless it is two
(:func:`.counts.counted_against_all`), and one thing against every one of it
(:func:`one_against_all`, on aligned words).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.counts import (
    amount_against_yes_no,
    count_against_each,
    count_against_names,
    counted_against_all,
    one_against_several,
    only_moved,
    opening_asks_differ,
)
from scalegate.cache.verify.features import EXACT_FIELDS, Analysis
from scalegate.cache.verify.fields import BOUNDARY, CLAUSE
from scalegate.cache.verify.modifiers import number_governed
from scalegate.cache.verify.relations import bound_moved
from scalegate.cache.verify.tokens import BLANK, case_differs
from scalegate.cache.verify.values import numbers_differ

_WHAT_IS_NOT = frozenset({"where", "when", "who"})
_OPPOSITES: dict[str, set[str]] = {}
for _group in c.OPPOSITE_GROUPS:  # a word may oppose the words of several groups
    for _word in _group:
        _OPPOSITES.setdefault(_word, set()).update(_group - {_word})
_CONNECTIVE = {"whether": "if", "if": "if", "unless": "unless", "because": "because",
               "although": "although"}  # fmt: skip


def contradiction(name: str, a: tuple[str, ...], b: tuple[str, ...], strictness: str) -> bool:
    """Whether field ``name`` of two prompts' analyses contradicts (see the module doc)."""
    if a == b:
        return False
    sa, sb = set(a), set(b)
    if name == "numbers":
        return numbers_differ(a, b)
    if name in _TESTS:
        return _TESTS[name](a, b)
    if name in ("person", "partitive", "conversion"):  # compared only when both say one
        return bool(sa and sb)
    if name == "quantifier":
        strong = (sa ^ sb) - c.WEAK_QUANTITY
        if strictness == "balanced" and strong <= {"all"} and not (sa and sb):
            return False  # balanced: "all" in one prompt only ("all night"); since v33 not
            # "only", which narrows ("border *only* germany")
        return bool(strong) or (bool(sa and sb) and not sa & sb)  # "a bit" / "plenty"
    if name == "modality":
        sa, sb = sa - {"would"}, sb - {"would"}
        return bool(sa and sb) and sa != sb
    if name == "tense":
        return ("past" in sa - sb and "future" in sb - sa) or (
            "future" in sa - sb and "past" in sb - sa
        )
    if name == "direction":
        return any(_OPPOSITES.get(x, set()) & sb for x in sa - sb) or any(
            _OPPOSITES.get(x, set()) & sa for x in sb - sa
        )
    if name in ("question", "owners"):
        return _questions(sa, sb) if name == "question" else _owners(a, b)
    if name == "connective":
        ca = {_CONNECTIVE[x] for x in sa if x in _CONNECTIVE}
        cb = {_CONNECTIVE[x] for x in sb if x in _CONNECTIVE}
        return "unless" in ca ^ cb or (bool(ca and cb) and not (ca <= cb or cb <= ca))
    return a != b  # in order: "cups in a liter" is not "liters in a cup"


def _owners(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The same owners in another order: "*Their* tree fell on *our* fence"."""
    return len(set(a)) > 1 and sorted(a) == sorted(b)


def _questions(sa: set[str], sb: set[str]) -> bool:
    """ "what" stands for a reason or a way ("What's the reason …" asks why), never for a
    place, a time or a person: "What is X?" is not "Where is X?"."""
    if (sa == {"what"} and sb & _WHAT_IS_NOT and "what" not in sb) or (
        sb == {"what"} and sa & _WHAT_IS_NOT and "what" not in sa
    ):
        return True
    sa, sb = sa - {"what"}, sb - {"what"}
    return bool(sa and sb) and not (sa <= sb or sb <= sa)


def coordination_differs(a: Sequence[str], b: Sequence[str]) -> bool:
    """As many coordinations, not as many of them "or": "admins *and* verified" selects
    other users than "admins *or* verified"."""
    and_a, or_a, and_b, or_b = a.count("=and"), a.count("=or"), b.count("=and"), b.count("=or")
    return and_a + or_a == and_b + or_b and or_a != or_b


def numbers_moved(a: Sequence[tuple[str, str, str]], b: Sequence[tuple[str, str, str]]) -> bool:
    """The same numbers in the same slots, but not each in its own: "convert a Python *2*
    codebase to Python *3*" / "… Python *3* codebase to Python *2*", "*2* to the power *3*"
    / "*3* to the power *2*". A number that moves with its words ("a 15-year and a 30-year
    mortgage" / "a 30-year or a 15-year mortgage") keeps its slot."""
    if len(a) < 2 or sorted(a) == sorted(b):
        return False
    values = sorted(v for _, v, _ in a) == sorted(v for _, v, _ in b)
    slots = sorted((p, n) for p, _, n in a) == sorted((p, n) for p, _, n in b)
    return values and slots


def expressions_differ(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two arithmetic expressions (numbers and signs in the order written), when both
    prompts hold one, that are not the same: "(8 - 3) - 2" / "8 - (3 - 2)" — the same
    numbers, signs and brackets, grouped otherwise."""

    def arithmetic(e: Sequence[str]) -> bool:
        return sum(x[:1].isdigit() for x in e) >= 2 and any(not x[:1].isdigit() for x in e)

    return arithmetic(a) and arithmetic(b) and tuple(a) != tuple(b)


def signs_reordered(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> bool:
    """A run of code whose signs (or names, :func:`.tokens.glued_words`) the other prompt
    writes in another order, and not also in this one: "[^abc]" / "^[abc]" (verifier v29),
    "YYYY-MM-DD" / "DD/MM/YYYY" (v33). A run on one side only says nothing (the other may
    space its code out: "f(x)^2" / "f(x) ^ 2")."""
    only_b = [y for y in b if y not in a]
    return any(sorted(x) == sorted(y) for x in a if x not in b for y in only_b)


def sign_crossed(da: Analysis, db: Analysis) -> bool:
    """A word right before a sign in one prompt and right after it in the other, a sign
    each prompt writes once (v84): "what does ``const int*`` mean" / "what does ``int*
    const`` mean" (a pointer to a constant, a constant pointer). Two words either side: a
    clause moved to the front ("in c, what does int* mean") moves no word across it; a
    word written twice may stand either side ("``x => x * 2``")."""
    for sign in set(da.exact["symbols"]) & set(db.exact["symbols"]):
        if da.words.count(sign) != 1 or db.words.count(sign) != 1:
            continue
        before_a, after_a = _beside(da.words, sign)
        before_b, after_b = _beside(db.words, sign)
        once = {w for w in before_a | after_a if da.words.count(w) == 1 == db.words.count(w)}
        if (before_a & after_b or after_a & before_b) & once:
            return True
    return False


def _beside(words: Sequence[str], sign: str) -> tuple[set[str], set[str]]:
    """The words two tokens either side of ``sign``'s place in ``words``."""
    i = words.index(sign)
    return (
        {w for w in words[max(0, i - 2) : i] if w.isalnum()},
        {w for w in words[i + 1 : i + 3] if w.isalnum()},
    )


def calls_differ(a: str, b: str) -> bool:
    """A name one prompt calls ("*print(i)*") that the other writes without a call
    ("*print i*"): another line of code (v73). Each side: the prompt as written."""
    calls_a, calls_b = set(_CALL.findall(a)), set(_CALL.findall(b))
    words_a, words_b = set(_NAME.findall(a)), set(_NAME.findall(b))
    return bool((calls_a - calls_b) & words_b or (calls_b - calls_a) & words_a)


_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")
_NAME = re.compile(r"\b([A-Za-z_]\w*)\b(?!\()")


def one_against_all(da: Analysis, db: Analysis, pairs: dict[int, int]) -> bool:
    """One thing in one prompt, every one in the other, at ``balanced`` too: "remove *a*
    duplicate row" / "remove *all* duplicate rows" (the same word after "a" and "all")."""
    return any(
        (pairs.get(pb) in da.one and pb in db.every) or (pairs.get(pb) in da.every and pb in db.one)
        for pb in (*db.one, *db.every)
    )


def blanks_placed_differently(a: Sequence[str], b: Sequence[str]) -> bool:
    """The gaps to fill stand between other words in each prompt (each side: its words as
    tokenized): "the weather will *___* our plans" asks for a verb, "the *___* of the
    weather on our plans" for a noun (v70)."""

    def around(words: Sequence[str]) -> list[tuple[str, str]]:
        return sorted(
            (words[i - 1] if i else "", words[i + 1] if i + 1 < len(words) else "")
            for i, w in enumerate(words)
            if w == BLANK
        )

    return around(a) != around(b)


def restrictor_moved(da: Analysis, db: Analysis, renamed: list[str]) -> bool:
    """What "all" ranges over in one prompt is said after the other's "all" and outside its
    phrase — the converse of a universal (v65): "do all *mammals* give birth to live young"
    / "are all animals that give birth to live young *mammals*" (``renamed``: B's sequence in
    A's words). Not "do all breeds *of dogs* shed" (the word is in the phrase) nor "do cats
    all purr" (said before the "all")."""
    for a_pos in da.every:
        word = da.sequence[a_pos]
        for b_pos in db.every:
            if renamed[b_pos] == word:
                break
        else:
            starts = [b for b in db.every if b < len(renamed)]
            if any(_outside_phrase(renamed, b, word) for b in starts):
                return True
    return False


def _outside_phrase(sequence: list[str], start: int, word: str) -> bool:
    """``word`` is said after ``sequence[start]``'s noun phrase (which ends at a boundary, a
    clause, a relative clause or three words on) and not in it."""
    end = start + 1
    while end < len(sequence) and end - start < 3 and sequence[end] not in (BOUNDARY, CLAUSE):
        end += 1
    return word not in sequence[start:end] and word in sequence[end:]


def _negated_clauses(negations: tuple[str, ...]) -> int:
    """How many clauses an odd number of the negations ("not@2": "not" in clause 2) is in."""
    per_clause = Counter(n.rpartition("@")[2] for n in negations)
    return sum(count % 2 for count in per_clause.values())


def _negation_differs(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return _negated_clauses(a) != _negated_clauses(b)


_TESTS = {"negation": _negation_differs, "cased": case_differs}


def closed_class(da: Analysis, db: Analysis, strictness: str) -> str | None:
    """The first closed-class field that contradicts (:func:`contradiction`)."""
    for name in EXACT_FIELDS:
        if contradiction(name, da.exact[name], db.exact[name], strictness):
            return name
    if counted_against_all(da, db) or counted_against_all(db, da):
        return "quantifier"  # "remove *one* container" / "remove *all* containers"
    if one_against_several(da, db) or one_against_several(db, da):
        return "quantifier"  # "remove *one* item" / "remove *several* items"
    if only_moved(da, db):
        return "quantifier"  # "eat *only* vegan food on" / "eat vegan food *only* on"
    if count_against_each(da, db) or count_against_each(db, da):
        return "quantifier"  # "*how many* amendments …" / "what does *each* amendment say"
    if opening_asks_differ(da, db):
        return "question"  # "*Who* orders …" / "*When* is … ordered", "when" in both (v101)
    if amount_against_yes_no(da, db) or amount_against_yes_no(db, da):
        return "question"  # "*how much* tax will I owe" / "*will* I owe taxes"
    if count_against_names(da, db) or count_against_names(db, da):
        return "question"  # "*how many* olympian gods are there" / "*list* the olympian gods"
    if bound_moved(da.words, db.words):
        return "relation"  # "joined *before* 2020" / "joined *in* 2020" (v102)
    if negation_moved(da.words, db.words) or negated_elsewhere(da.words, db.words):
        return "negation"
    return None


_BREAKS = frozenset({"but", "yet", ",", ".", ";", "!", "?"})  # not "and": "oil and water"
_UNSAID = c.NEGATORS | frozenset({"do", "does", "did"})  # "but *not*" / "but *does*"


def negation_moved(a: Sequence[str], b: Sequence[str]) -> bool:
    """Clause by clause the same words (negations and do-support aside), and a negation in
    other clauses (verifier v60): "why *does* my car start when it is freezing but *not*
    when it is warm" / "why does *not* my car start when it is freezing but *does* when it
    is warm". :func:`_negated_clauses` counts them only: clauses are numbered differently
    in most paraphrases, which say the same clause in another place."""
    clauses_a, clauses_b = _clauses(a), _clauses(b)
    if len(clauses_a) != len(clauses_b) or len(clauses_a) < 2:
        return False
    if any(set(x) - _UNSAID != set(y) - _UNSAID for x, y in zip(clauses_a, clauses_b, strict=True)):
        return False
    odd_a = [sum(w in c.NEGATORS for w in x) % 2 for x in clauses_a]
    odd_b = [sum(w in c.NEGATORS for w in y) % 2 for y in clauses_b]
    return odd_a != odd_b


def negated_elsewhere(a: Sequence[str], b: Sequence[str]) -> bool:
    """The verbs a statement negates ("the dishwasher *does not drain*") differ while each
    is said in both prompts (verifier v61): "fills with water but doesn't drain" / "drains
    but doesn't fill with water", "my car won't start but the lights turn on" / "my car
    starts but the lights won't turn on". Not a question's "why *don't* oil and water mix",
    where the subject follows the negation."""
    negated_a, negated_b = _negated_verbs(a), _negated_verbs(b)
    if not negated_a or len(negated_a) != len(negated_b) or negated_a == negated_b:
        return False
    said_a, said_b = {_stem(w) for w in a}, {_stem(w) for w in b}
    return all(v in said_a and v in said_b for v in negated_a | negated_b)


_NEGATED_AFTER = frozenset({"do", "does", "did", "will", "would", "can", "could", "should",
                            "is", "are", "was", "were", "has", "have", "had"})  # fmt: skip


def _negated_verbs(words: Sequence[str]) -> set[str]:
    """The word after each "not" of an auxiliary in a statement ("it *does not drain*"),
    crudely stemmed; none where the auxiliary opens a question ("why *do not* oil …")."""
    out = set()
    for i in range(2, len(words) - 1):
        if words[i] == "not" and words[i - 1] in _NEGATED_AFTER:
            before = words[i - 2]
            if before[:1].isalpha() and before not in c.WH:
                out.add(_stem(words[i + 1]))
    return out


def _stem(word: str) -> str:
    """``word`` without an "s" ending: "drains" / "drain", "starts" / "start"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


# A subordinate clause is a clause of its own for a negation that moves (v101): "why is
# my coroutine *not* cancelled when I call cancel()" / "why is my coroutine cancelled when
# I *never* call cancel()".
_SUBORDINATORS = frozenset({"when", "whenever", "if", "because", "while", "unless", "although",
                            "though", "after", "before", "since", "until"})  # fmt: skip


def _clauses(words: Sequence[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for w in words:
        if w in _BREAKS or w in _SUBORDINATORS:
            if out[-1]:
                out.append([])
        else:
            out[-1].append(w)
    return [x for x in out if x]


def placed_differently(da: Analysis, db: Analysis, texts: tuple[str, str]) -> str | None:
    """The same numbers and signs, placed otherwise: ``symbols`` for brackets that group
    otherwise ("(8 - 3) - 2" / "8 - (3 - 2)"), ``order`` for numbers that trade slots
    ("Python 2 … to Python 3" / "Python 3 … to Python 2"), ``code`` for a name called in
    one prompt only ("*print(i)*" / "*print i*"; ``texts``: the prompts as written)."""
    if calls_differ(*texts):
        return "code"
    if expressions_differ(da.expression, db.expression) or signs_reordered(da.glued, db.glued):
        return "symbols"
    if signs_reordered(da.glued_words, db.glued_words) or sign_crossed(da, db):
        return "order"  # "YYYY-MM-DD" / "DD/MM/YYYY", "const int*" / "int* const"
    if numbers_moved(da.numbered, db.numbered) or number_governed(da.sequence, db.sequence):
        return "order"  # "Python 2 … to Python 3" / "… 3 … to … 2", "20% of 80" / "80 is 20% of"
    return None
