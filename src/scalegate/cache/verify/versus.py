"""The two things a difference question sets against each other, put in one order (verifier
v51).

"What's the difference between *weather* and *climate*?" and "*climate* vs *weather*, how
are they different?" ask one question: a difference is the same both ways round. Left as
typed, the two orders read as roles traded and the order rules refuse the pair. So the two
sides of an "X vs Y", a "between X and Y" (a difference, a distance, a choice: the same
both ways) and a "how do X and Y differ" are put in a fixed order (by their words, the
articles left out) before the prompt is analysed.

Nothing else is reordered: "*compare* Java and Python" asks for an account in an order,
"is X better *than* Y" is no coordination, and a side is at most :data:`SIDE` words, with
punctuation, prepositions, question words, auxiliaries and the difference word ending it
("between a list and a tuple *in* Python").
"""

from __future__ import annotations

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.tokens import Token

SIDE = 5  # words at most on each side
_DIFFER = frozenset({"difference", "differences", "differ", "differs", "different", "diff"})
_VERSUS = frozenset({"vs", "versus"})
_ENDS = _DIFFER | _VERSUS | c.PREPOSITIONS | c.WH | c.AUXILIARIES | c.DO_AUX | c.MODALS
_SKIPPED = c.DETERMINERS


def in_one_order(tokens: list[Token]) -> list[Token]:
    """``tokens`` with the two sides of the difference they ask in one order, or as they are
    when they ask none."""
    for k, tok in enumerate(tokens):
        if tok.kind != "word" or tok.text not in _VERSUS | {"and"}:
            continue
        left, right = _side(tokens, k - 1, -1), _side(tokens, k + 1, 1)
        if not left or not right:
            return tokens
        if tok.text == "and" and not _paired(tokens, left[0] - 1, right[-1] + 1):
            continue
        lo, hi = left[0], right[-1] + 1
        first, second = tokens[lo : left[-1] + 1], tokens[right[0] : hi]
        if _key(second) < _key(first):
            return [*tokens[:lo], *second, tokens[k], *first, *tokens[hi:]]
        return tokens
    return tokens


def _paired(tokens: list[Token], before: int, after: int) -> bool:
    """Two sides joined by "and" are set against each other: "*between* X and Y", "how do X
    and Y *differ*" (``before``, ``after``: the tokens around them)."""
    if before >= 0 and tokens[before].text == "between":
        return True
    return after < len(tokens) and tokens[after].text in _DIFFER


def _side(tokens: list[Token], start: int, step: int) -> list[int]:
    """The positions of the words of one side from ``start`` outwards (``step`` -1: to the
    left), in order."""
    out: list[int] = []
    j = start
    while 0 <= j < len(tokens) and _of_side(tokens[j]):
        if len(out) == SIDE:
            return []  # longer than a side: a clause, not a thing
        out.append(j)
        j += step
    return sorted(out)


def _of_side(t: Token) -> bool:
    return t.kind in ("word", "number") and t.text not in _ENDS and t.text != "between"


def _key(side: list[Token]) -> tuple[str, ...]:
    return tuple(t.text for t in side if t.text not in _SKIPPED)
