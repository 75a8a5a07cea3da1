"""Tokens: a prompt cut into words, numbers, times, quoted and code spans, symbols.

Operators are symbols compared exactly, quoted or not (``print(7 // 2)`` is not
``print(7 / 2)``, ``a == b`` not ``a = b``): any run of two or more operator characters
(``//``, ``==``, ``++``, ``->``, ``!=``, ``--soft``) except "!!" and a spaced "--" dash; a
single ``=``, ``+``, ``*``, ``<``, ``>``, ``|``, ``^``, ``~``; and ``/``, ``-``, ``%`` only
where they sit between operands as code does (``7/2``, ``7 / 2``, ``7 - 2``, ``a % b``),
never inside words ("Wi-Fi", "km/h", "and/or") or as a prose dash ("Ubuntu - how do I").
Between two words of two letters or more, "+" is "and" and "->" is "to" ("flour + water",
"string -> int"); a "~" that opens a count is "about" ("~5 million rows"). A word ends
before a "+" that more follows ("x+5" is x + 5), not before "c++" or "c#".

Brackets next to a number group arithmetic and are symbols too — unless what they hold
has a word of two letters or more, an aside ("(8 GB RAM)") — as square brackets and
braces always are: prose rarely uses them, code does ("useEffect(f, [id])" is not
"useEffect(f)"). Punctuation that a prompt
names as an operator ("the ``&`` operator", "the ``?.``
operator") is code, compared exactly, not punctuation to drop.

Quoted spans are one token compared exactly, apostrophes inside included ('it's' stays
``it's``; a quote closes only before a space, punctuation or the end). Times of day are
read to minutes past midnight ("3pm", "3 p.m.", "15:00" are one time; "3:00" without am/pm
is kept apart, as it is ambiguous). A "-" right before a digit, after a space or an
operator, is a minus sign ("7 minus -3", "root of -16"); between digits it is not ("5-3").
Contractions and chat spellings are expanded ("can't" → "can not", "u" → "you") so that
the grammar words they hide are compared like any other.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from scalegate.cache.verify.classes import (
    CASUAL,
    CONTRACTIONS,
    IRREGULAR_NOT,
    IS_CONTRACTED,
    NEGATORS,
    QUANTIFIERS,
    TIMES_OF_DAY,
)
from scalegate.cache.verify.signs import prose_bracket, sign

_PATTERN = re.compile(
    r"(?P<code>```.*?```|`[^`]+`|(?<!\S)\S*\\[A-Za-z]\S*?(?=[.,;:!?]*(?:\s|$)))"
    r"|(?P<quoted>\"[^\"]+\"|“[^”]+”|‘[^’]+’|(?<![\w'])'(?:[^'\n]|'(?=\w))+'(?![\w']))"
    r"|(?P<time>\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\b\.?)|\d{1,2}:\d{2}(?!\d))"
    r"|(?P<number>(?:(?<![\w)\]])-(?=[$€£¥]?\d))?[$€£¥]?\d(?:\d|,(?=\d))*(?:\.\d+)?(?:st|nd|rd|th|[kK]\b|\([kK]\)|[adeijnopqrtuyzADEIJNOPQRTUYZ](?!\w))?%?)"
    r"|(?P<word>[A-Za-zÀ-ÖØ-öø-ÿ]\w*(?:['’.]\w+)*(?:\+\+|#|\+(?![\w+]))?|['’][a-z]+)"
    r"|(?P<bracket>\((?=\s*-?[\d(])|(?<=[\d)])\))"
    r"|(?P<named>(?<!\S)[^\w\s\"'`“”‘’]{1,3}(?=\s+operators?\b))"
    r"|(?P<operator>[-+*/=<>&|^~!%]{2,}|[=+*<>|^~]|(?<=\d)/(?=\d)|(?<=\d )[-/%](?= \d)"
    r"|(?<=[A-Za-z_)\]] )[/%](?= [A-Za-z_(\d])|!(?=[\w(\[]))"
    r"|(?P<blank>_{2,})"
    r"|(?P<punct>[.!?;:,()])"
    r"|(?P<symbol>\S)",
    re.DOTALL,
)
# Chat shorthand written with a slash, which the word pattern would split: "sink *w/o*
# chemicals" is "without", "pasta *w/* garlic" is "with" (v63). A word of its own only.
_SHORT_FOR = {"w/o": "without", "w/": "with", "b/c": "because"}
_SHORTHAND = re.compile(r"(?<![\w/])(?:w/o|b/c|w/(?=\s))(?![\w/])", re.IGNORECASE)
_CURRENCY = "$€£¥"
_STRESSED = QUANTIFIERS | NEGATORS
# A quote before one letter no contraction ends with, or "'static": a Rust lifetime (or a
# Lisp symbol), a name compared like any other — "does 'a outlive 'b" is not "does 'b
# outlive 'a" (v96).
_LIFETIME = re.compile(r"'(?:[abce-ln-ru-z]|static)")
# Punctuation kept as it is: a bracket next to a number groups arithmetic ("(3 + 4) * 2" is
# not "3 + 4 * 2"); what "the ?? operator" names is code ("??" is not "?.").
_KEPT = {"bracket": "symbol", "named": "code"}
BLANK = "___"  # a gap to fill, however many underscores: "the weather will ___ our plans"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word, number, ordinal, time, quoted, code, symbol, punct
    text: str  # lower-cased word; canonical value for numbers and times; exact for spans
    caps: bool = False  # a word written in capitals in a prompt that is not: "HTTP GET"
    capital: bool = False  # a word that starts with a capital letter ("King", "HTTP")


def tokenize(text: str) -> list[Token]:
    """``text`` as tokens, contractions and chat spellings expanded."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = _SHORTHAND.sub(lambda m: _SHORT_FOR[m.group().lower()], text)
    shouted = text.isupper()  # every letter a capital: no word stands out by it
    out: list[Token] = []
    for match in _PATTERN.finditer(text):
        kind = match.lastgroup or "symbol"
        raw = match.group()
        if kind == "word":
            casual = raw.islower() or (_opens(out) and raw[1:].islower() and len(raw) > 1)
            out += _cased(raw, _words(raw.lower(), casual=casual), shouted)
        elif kind == "number":
            out += _number(raw)
        elif kind == "time":
            out.append(Token("time", _time(raw)))
        elif kind == "bracket" and prose_bracket(raw, match.start(), text):
            out.append(Token("punct", raw))  # "(8 GB RAM)", "(7pm-7am)": an aside (v88)
        elif kind in _KEPT:
            out.append(Token(_KEPT[kind], raw))
        elif kind == "blank":
            out.append(Token("symbol", BLANK))
        elif kind == "quoted":  # its spaces are part of it: 'hello ' is not 'hello' (v33)
            # Inside brackets it is code, quotes and all: JSON's {"a": 1} is not {'a': 1} (v36)
            out.append(Token(kind, raw if _in_brackets(out) else raw[1:-1]))
        elif kind == "code":
            out.append(Token(kind, raw.strip("`").strip()))
        elif (read := sign(kind, raw, match.start(), text)) is not None:
            out.append(Token(*read))
    return out


def _opens(tokens: list[Token]) -> bool:
    """The next word opens a sentence, where a capital says nothing: "*Whats* the …" is
    "what is", as "whats" is (v68)."""
    return not tokens or (tokens[-1].kind == "punct" and tokens[-1].text in ".!?")


def _in_brackets(tokens: list[Token]) -> bool:
    """Whether a square or curly bracket is open after ``tokens``."""
    depth = 0
    for t in tokens:
        if t.kind == "symbol" and t.text in "[{":
            depth += 1
        elif t.kind == "symbol" and t.text in "]}":
            depth = max(0, depth - 1)
    return depth > 0


# Signs that only code writes (a run of text with one of them is code's), and every sign
# whose order inside such a run is kept.
_CODE_SIGNS = frozenset("[]{}^|~<>=*\\")
_SIGNS = _CODE_SIGNS | frozenset("()+&!%/-:")


_OPERAND = re.compile(r"\w+")


def glued(text: str) -> list[str]:
    """Each run of code with no space in it, its signs in order and each name or number a
    "w", where it has two kinds of sign or more: "[^abc]" → "[^w]", "^[abc]" → "^[w]"
    (verifier v29), "'abc'[1:]" → "w[w:]" and "[:1]" → "w[:w]" (v30) — the symbols alone
    are the same multiset, the code is not the same. Runs with no sign of
    :data:`_CODE_SIGNS` are prose ("and/or", "(optional)")."""
    out = []
    for run in text.split():
        if not _CODE_SIGNS.isdisjoint(run):
            shape = "".join(ch for ch in _OPERAND.sub("w", run) if ch in _SIGNS or ch == "w")
            if len(set(shape) - {"w"}) > 1:
                out.append(shape)
    return out


def glued_words(text: str) -> list[tuple[str, ...]]:
    """The names and numbers of each run with no space in it that joins two or more of them
    with signs, in order (verifier v33): "YYYY-MM-DD" → ("yyyy", "mm", "dd"), "DD/MM/YYYY"
    → ("dd", "mm", "yyyy") — the same words, another format."""
    out = []
    for run in text.split():
        parts = _OPERAND.findall(run.lower())
        if len(parts) > 1 and not _SIGNS.isdisjoint(run):
            out.append(tuple(parts))
    return out


def _cased(raw: str, words: list[Token], shouted: bool) -> list[Token]:
    """The words of ``raw`` marked as written in capitals ("HTTP") or with a capital first
    ("King"), unless the whole prompt is shouted."""
    if shouted or not raw[0].isupper():
        return words
    # A quantifier or a negation in capitals is stressed, not an acronym: "why do *ALL* my
    # commands fail", "do *NOT* …" (v99).
    caps = len(raw) > 1 and raw.isupper() and raw.lower() not in _STRESSED
    if caps or len(words) == 1:
        return [Token(w.kind, w.text, caps=caps, capital=len(words) == 1) for w in words]
    return words


def _words(word: str, *, casual: bool = True) -> list[Token]:
    """A word, its contraction expanded; chat spellings only as typed in lower case ("BC")."""
    if word in IRREGULAR_NOT:
        return [Token("word", w) for w in IRREGULAR_NOT[word].split()]
    if casual and word in CASUAL:
        return [Token("word", w) for w in CASUAL[word].split()]
    for suffix, full in CONTRACTIONS.items():
        if word.endswith(suffix) and len(word) > len(suffix):
            return [*_words(word[: -len(suffix)]), Token("word", full)]
    if word.endswith("'s") and len(word) > 2:
        contracted = word[:-2] in IS_CONTRACTED  # "what's" is "what is", not a possessive
        return [Token("word", word[:-2]), Token("word", "is" if contracted else "'s")]
    if word.startswith("'"):  # what a contraction leaves ("'ll", "'re") says nothing more
        return [Token("word", word)] if word == "'s" or _LIFETIME.fullmatch(word) else []
    return [Token("word", word.rstrip("."))]


def _number(raw: str) -> list[Token]:
    out = []
    sign = "-" if raw.startswith("-") else ""  # a minus sign, not a dash: "7 minus -3"
    raw = raw.removeprefix("-")
    if raw[0] in _CURRENCY:
        out.append(Token("word", raw[0]))
        raw = raw[1:]
    percent = raw.endswith("%")
    raw = raw.rstrip("%")
    model = re.search(r"\d([adeijnopqrtuyz])$", raw.lower())
    if model is not None:  # a model's letter: "pixel *6a*" is not "pixel 6" (v70)
        return [*out, Token("number", sign + raw.lower().replace(",", ""))]
    ordinal = re.search(r"(st|nd|rd|th)$", raw) is not None
    # "$30k", "a 5K race", and "401(k)" as "401k" (v74): one reading for all spellings
    thousands = raw.lower().endswith(("k", "(k)"))
    raw = re.sub(r"(st|nd|rd|th|[kK]|\([kK]\))$", "", raw).replace(",", "")
    try:
        value = f"{float(sign + raw) * (1000 if thousands else 1):g}"
    except ValueError:
        value = sign + raw
    out.insert(0, Token("ordinal" if ordinal else "number", value))
    if percent:
        out.append(Token("word", "%"))
    return out


def _time(raw: str) -> str:
    """Minutes past midnight as "HH:MM"; "h:mm?" when am/pm is not said and h ≤ 12."""
    compact = raw.lower().replace(".", "").replace(" ", "")
    suffix = compact[-2:] if compact.endswith(("am", "pm")) else ""
    clock = compact[: -len(suffix)] if suffix else compact
    hours, _, minutes = clock.partition(":")
    h, m = int(hours), int(minutes or 0)
    if suffix:
        h = h % 12 + (12 if suffix == "pm" else 0)
    elif h <= 12:
        return f"{h}:{m:02d}?"
    return f"{h:02d}:{m:02d}"


def time_word(word: str) -> str | None:
    """The time a word names ("noon" → "12:00"), if any."""
    minutes = TIMES_OF_DAY.get(word)
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


_SHORT = re.compile(r"(?<![A-Za-z0-9'’])[A-Za-z]{1,3}(?![A-Za-z0-9'’])")  # not "what's"


def cased(text: str) -> list[str]:
    """Short words as written, where their letters' case may be what they mean (verifier
    v34): "Co" (cobalt) / "CO" (carbon monoxide), "mW" / "MW", strftime's "%m" / "%M" —
    words of two or three letters with a capital in them, and single letters. Not in a
    prompt written all in lower case or all in capitals (its case says nothing), not "a"
    or "I", and not a capital that only starts a sentence. A word of two letters or more in
    lower case counts where the prompt writes it with a capital too ("*Aa* and *aa*")."""
    if text.islower() or text.isupper():
        return []
    out: list[str] = []
    lower: list[tuple[int, str]] = []  # (place in ``out``, word): kept if written capitalised
    for match in _SHORT.finditer(text):
        word = match.group()
        before = text[: match.start()].rstrip()
        if word.lower() in ("a", "i"):
            continue
        if len(word) > 1 and word.islower():
            lower.append((len(out), word))
            continue
        if word.istitle() and len(word) > 1 and (not before or before[-1] in ".!?:"):
            continue
        out.append(word)
    capitalised = {w.lower() for w in out}
    for place, word in reversed(lower):
        if word in capitalised:
            out.insert(place, word)
    return out


def case_differs(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """A short word both prompts write, in other cases (see :func:`cased`); or written in
    two cases in each, in another order (v90: a cross of "*Aa* and *Aa*" / "*Aa* and
    *aa*", where each prompt writes "Aa" and "aa")."""
    forms_a, forms_b = _forms(a), _forms(b)
    return any(
        forms_a[k] != forms_b[k] or (len(forms_a[k]) > 1 and _said(a, k) != _said(b, k))
        for k in forms_a.keys() & forms_b.keys()
    )


def _said(words: tuple[str, ...], key: str) -> list[str]:
    """The forms of ``key`` in the order they are written."""
    return [w for w in words if w.lower() == key]


def _forms(words: tuple[str, ...]) -> dict[str, set[str]]:
    """Each word, lower-cased, with the ways it is written."""
    forms: dict[str, set[str]] = {}
    for word in words:
        forms.setdefault(word.lower(), set()).add(word)
    return forms


def one_edit(s: str, t: str) -> bool:
    """Damerau–Levenshtein distance exactly one (insertion, deletion, substitution or an
    adjacent transposition)."""
    if len(s) > len(t):
        s, t = t, s
    if len(t) - len(s) > 1 or s == t:
        return False
    i = 0
    while i < len(s) and s[i] == t[i]:
        i += 1
    if len(s) < len(t):
        return s[i:] == t[i + 1 :]
    return s[i + 1 :] == t[i + 1 :] or (
        i + 1 < len(s) and s[i] == t[i + 1] and s[i + 1] == t[i] and s[i + 2 :] == t[i + 2 :]
    )
