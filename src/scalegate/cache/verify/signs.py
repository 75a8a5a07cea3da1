"""Signs in a prompt's text (:mod:`.tokens`): which are code's operators, compared exactly
("7 // 2", "a == b"), which are prose — punctuation, a dash, a bracket around an aside —
and which stand for a word ("flour *+* water" is "and", "*~*5 million" is "about")."""

from __future__ import annotations

import re
import unicodedata

from scalegate.cache.verify.classes import LIGHT, PREPOSITIONS


def sign(kind: str, raw: str, at: int, text: str) -> tuple[str, str] | None:
    """What the sign ``raw`` (matched as ``kind`` at ``at`` in ``text``) is, as a token's
    kind and text: a symbol compared exactly, punctuation with no meaning, a word it
    stands for; or ``None``, nothing."""
    if raw == "~" and _approximately(text, at):
        return None  # "a *~5* million row CSV" is "about 5 million": "about" is light (v88)
    if raw in _JOINERS and _between_words(text, at, len(raw)):
        return "word", _JOINERS[raw]  # "flour *+* water", "string *->* int" (v88)
    if _code_sign(kind, raw, at, text):
        return "symbol", raw
    if raw in "-–—" and text[at - 1 : at].isspace():
        return "punct", ";"  # a spaced dash ends a clause: "X vs Y - why?"
    if kind in ("operator", "punct") or unicodedata.category(raw[0])[0] == "P":
        return "punct", raw  # dashes, brackets, quotes left over: no meaning
    if raw != "°" and unicodedata.category(raw[0])[0] == "S":
        return "symbol", raw
    return None


def _code_sign(kind: str, raw: str, at: int, text: str) -> bool:
    """Whether the sign is code's, compared exactly."""
    return (
        (kind == "operator" and _operator(raw, at, text))
        or (raw == "?" and _lazy(text, at))  # "what does .*? mean in regex": not ".*" (v89)
        or (set(raw) <= {"!", "?"} and _named(text, at, len(raw)))  # "what does !! mean" (v73)
        or (raw == "-" and _unary_minus(text, at))  # "sin(-pi/6)", "= -x": not a dash
        or raw in "[]{}"  # code's brackets: "f(x, [id])" is not "f(x)"
        or (raw == ":" and _inside(text, at))  # a slice or a ratio: "xs[1:]" is not "xs[:1]"
        or (raw == "," and _trailing(text, at))  # "x = 5," makes a tuple: not "x = 5"
    )


def _lazy(text: str, at: int) -> bool:
    """A "?" right after a regex quantifier, which it makes lazy: "*?", "a+?", "{2,3}?" —
    not after "c++" ("should I learn c++?")."""
    before = text[max(0, at - 2) : at]
    return before[-1:] in ("*", "}") or (before[-1:] == "+" and before[:1] not in ("+", ""))


def _trailing(text: str, at: int) -> bool:
    """A comma right after a number, a closing bracket or a quote that ends a line or comes
    before a closing bracket (verifier v30): code's trailing comma ("x = 5," and "(1,)" make
    tuples, "'a',"), not a letter's "Hi,"."""
    before, after = text[at - 1 : at], text[at + 1 : at + 2]
    return after in "\n)]}" and bool(after) and (before.isdigit() or before in ")]}'\"")


def _inside(text: str, at: int) -> bool:
    """A sign with no space on either side ("[1:]", "a:b"): code's, not prose's colon."""
    before, after = text[at - 1 : at], text[at + 1 : at + 2]
    return bool(before) and bool(after) and not before.isspace() and not after.isspace()


def _unary_minus(text: str, at: int) -> bool:
    """A "-" that makes a name negative: right before a letter or a bracket, after an
    opening bracket, an operator, a comma or "=" ("sin(-pi/6)", "f(x, -y)", "y = -x"), not
    inside a word ("e-mail") nor a flag after a word ("ls -l")."""
    before, after = text[:at].rstrip()[-1:], text[at + 1 : at + 2]
    return bool(before) and before in "([{=,+*/<>" and (after.isalpha() or after == "(")


def _named(text: str, at: int, size: int) -> bool:
    """A "!" or "?" run that stands alone inside a sentence where a noun phrase goes, a
    space either side and a word in lower case after it: a sign named ("what does *!*
    mean", "the *??* operator"), not a sentence's end ("wow ! that is great")."""
    before, after = text[at - 1 : at], text[at + size : at + size + 2]
    if not (at > 0 and before.isspace() and after[:1] == " " and after[1:].islower()):
        return False
    words = text[:at].split()
    return bool(words) and words[-1].lower() in _BEFORE_SIGN


# Words after which a sign stands as a noun: "what *does* ! mean", "*the* ?? operator".
_BEFORE_SIGN = frozenset({"does", "do", "is", "are", "the", "a", "an", "of", "use", "using",
                          "with", "and", "or", "vs", "between", "operator", "means"})  # fmt: skip


# Signs that join two words in prose as a word would: "tokyo *+* kyoto", "toronto *->*
# vancouver". Between names of one letter they stay signs: "a + b", "a -> b" (Haskell).
_JOINERS = {"+": "and", "->": "to"}
_PROSE_WORD = re.compile(r"[A-Za-z]{2,}")
_COUNTED = re.compile(r"[$€£¥]?\d[\d,.]*[A-Za-z]?\s*/?([A-Za-z]+)")  # "5 million", "$50k/yr"


def _approximately(text: str, at: int) -> bool:
    """A "~" that opens a number of something: "about" ("~6 hrs", "(~5000 items)"), not
    code's bitwise not ("what is ~5 in python")."""
    before = text[at - 1 : at]
    counted = _COUNTED.match(text, at + 1)
    return (
        counted is not None
        and counted.group(1) not in LIGHT | PREPOSITIONS
        and (not before or before.isspace() or before == "(")
    )


def _between_words(text: str, at: int, size: int) -> bool:
    """Whether words of two letters or more stand on either side of the sign, with spaces
    or nothing between."""
    left = text[:at].rstrip().rsplit(None, 1)[-1:]
    right = text[at + size :].lstrip().split(None, 1)[:1]
    return bool(
        left
        and right
        and _PROSE_WORD.fullmatch(left[0].lstrip("(\"'"))
        and _PROSE_WORD.fullmatch(right[0].rstrip(".,;:!?)\"'"))
    )


def prose_bracket(raw: str, at: int, text: str) -> bool:
    """A bracket next to a number that opens or closes an aside, not arithmetic: the text
    between it and its other half (on one line) has a word of two letters or more —
    "(8 GB RAM)", "(6 yrs old)"; not "(3 + 4) * 2" nor "(x + 1)^2"."""
    if raw == "(":
        end = text.find(")", at)
        inside = text[at + 1 : end if end != -1 else len(text)]
    else:
        inside = text[text.rfind("(", 0, at) + 1 : at]
    return _PROSE_WORD.search(inside.split("\n", 1)[0] if raw == "(" else inside) is not None


def _operator(raw: str, start: int, text: str) -> bool:
    """A run the operator pattern matched that is code, not prose punctuation: not "!!!"
    nor "&" ("salt & pepper"), nor a "--" dash standing alone between spaces."""
    if (len(raw) > 1 and set(raw) <= {"!"}) or raw == "&":
        return False
    after = text[start + len(raw) : start + len(raw) + 1]
    return not (raw.startswith("--") and set(raw) <= {"-"} and (not after or after.isspace()))
