"""Quantities written in more than one way, read as one before the fields are filled (v74).

Each rewrite joins spellings of one value that the token pattern cuts apart:

* a multiplier word after digits multiplies them: "5 *million*" is "5,000,000", "10
  *grand*" is "10,000" (a "grand" counts only after a number: "a *grand* piano");
* "*minus* 15" and "*negative* fifteen" are "-15" where no number stands before the word
  ("7 minus 3" is arithmetic, compared as it is written);
* a speed said in words is its unit: "120 *miles per hour*" is "120 mph", "90 *kilometres
  an hour*" is "90 kph";
* the day of a month is one number however it is written: "September *11th*", "*11*
  September", "the *11th* of September" (month names from :mod:`calendar`).
"""

from __future__ import annotations

import calendar

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.tokens import Token

# "may" too: next to a day's number it is the month ("May 5th"), not the modal.
_MONTHS = frozenset(
    name.lower() for names in (calendar.month_name, calendar.month_abbr) for name in names if name
)
_SPEED = {"mph": ("mile", "miles", "mi"), "kph": ("km", "kms", "kilometer", "kilometers",
          "kilometre", "kilometres")}  # fmt: skip
_PER = frozenset({"per", "an", "a"})
_SIGN = frozenset({"minus", "negative"})
_MULTIPLY = {**c.MULTIPLIERS, "grand": 1000}


def read_alike(tokens: list[Token]) -> list[Token]:
    """``tokens`` with each quantity of the module's doc as one token."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        prev = out[-1] if out else None
        if nxt is not None and tok.kind == "number" and nxt.text in _MULTIPLY:
            out.append(Token("number", _times(tok.text, _MULTIPLY[nxt.text])))
            i += 2
            continue
        if (
            nxt is not None
            and tok.text in _SIGN
            and nxt.kind == "number"
            and not nxt.text.startswith("-")
            and (prev is None or prev.kind not in ("number", "ordinal"))
        ):
            out.append(Token("number", "-" + nxt.text))
            i += 2
            continue
        unit = _speed(tokens, i)
        if unit:
            out.append(Token("word", unit))
            i += 3
            continue
        out.append(_day(tokens, i) or tok)
        i += 1
    return out


def _times(value: str, factor: int) -> str:
    try:
        return f"{float(value) * factor:g}"
    except ValueError:
        return value


def _speed(tokens: list[Token], i: int) -> str | None:
    """The speed unit three tokens from ``i`` spell ("miles per hour"), if any."""
    if i + 2 >= len(tokens) or tokens[i + 1].text not in _PER:
        return None
    if tokens[i + 2].text not in ("hour", "hr", "h"):
        return None
    return next((u for u, spellings in _SPEED.items() if tokens[i].text in spellings), None)


def _day(tokens: list[Token], i: int) -> Token | None:
    """An ordinal day of a month as a plain number: "September *11th*", "the *11th* of
    September" — so it is the "11" of "11 September"."""
    tok = tokens[i]
    if tok.kind != "ordinal":
        return None
    before = tokens[i - 1].text if i else ""
    after = [t.text for t in tokens[i + 1 : i + 3]]
    month = before in _MONTHS or (after[:1] == ["of"] and after[1:] and after[1] in _MONTHS)
    month = month or (bool(after) and after[0] in _MONTHS)
    return Token("number", tok.text) if month else None


def pounds_read_alike(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """``a`` with "N lb" read as "N GBP" where ``b`` says "N GBP": "ninety thousand
    *pounds*" of turnover is "£90,000" (the word names both units)."""
    money = {v.partition(" ")[0] for v in b if v.endswith(" GBP")}
    return tuple(
        v.replace(" lb", " GBP") if v.endswith(" lb") and v.partition(" ")[0] in money else v
        for v in a
    )
