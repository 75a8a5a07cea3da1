"""A prompt's analysis: its content words, and the closed-class details compared exactly.

Content words (nouns, verbs, adjectives, names — anything open-class) are left for
alignment (:mod:`.align`). Everything else an answer can hinge on is read into a field and
compared as a whole between two prompts (:data:`EXACT_FIELDS`, in the order the verifier
checks them): numbers (digits and number words as values, "three" = "3"), ordinals, times,
units, quoted and code spans, symbols, negations, quantifiers, modals, tense, degree
(comparatives and superlatives), direction words, the question word, connectives.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import Token, time_word, tokenize
from scalegate.cache.verify.units import CONVERSION, UNITS, WEAK

EXACT_FIELDS = (
    "quoted", "code", "symbols", "numbers", "times", "units", "negation", "quantifier",
    "modality", "tense", "comparison", "direction", "question", "connective",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as typed, lower case
    keys: frozenset[str]  # the lemmas it may be an inflection of
    position: int  # index in Analysis.sequence


@dataclass(slots=True)
class Analysis:
    content: list[Word] = field(default_factory=list)
    # Content words and relation words in order, for the role rule (relations as "=word").
    sequence: list[str] = field(default_factory=list)
    exact: dict[str, tuple[str, ...]] = field(default_factory=dict)


def analyse(text: str, lexicon: Lexicon) -> Analysis:
    """Split ``text`` into content words and the exactly compared details."""
    tokens = tokenize(text)
    has_digit = any(t.kind == "number" for t in tokens)
    out = Analysis()
    bag: dict[str, list[str]] = {name: [] for name in EXACT_FIELDS}
    frame = True  # at the start of a clause: a request verb there is light
    auxiliary = False  # a be/have auxiliary earlier in the clause: a participle is passive
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind != "word":
            _special(tok, bag)
            frame = tok.kind == "punct" or (frame and tok.kind in ("quoted", "code"))
            auxiliary = auxiliary and tok.kind != "punct"
            i += 1
            continue
        used = _number_words(tokens, i, bag)
        if used:
            i += used
            frame = False
            continue
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        role = _closed(tok.text, prev, nxt, has_digit, frame)
        if role is None:
            out.content.append(Word(tok.text, lexicon.keys(tok.text), len(out.sequence)))
            out.sequence.append(tok.text)
            degree = lexicon.degree(tok.text)
            if degree:
                bag["comparison"].append(degree)
            if lexicon.is_past(tok.text) and not auxiliary and prev not in c.NOT_TENSED_AFTER:
                bag["tense"].append("past")  # a participle after an auxiliary is not
        elif role == "light":
            if tok.text in c.RELATIONS:
                out.sequence.append("=" + tok.text)
        else:
            name, value = role.split(":", 1)
            bag[name].append(value)
            if tok.text in c.RELATIONS:
                out.sequence.append("=" + tok.text)
        frame = role == "light" and (frame or tok.text in ("please", "you"))
        auxiliary = auxiliary or tok.text in c.AUXILIARIES
        i += 1
    ordered = ("numbers", "times", "units", "quoted", "code", "symbols")
    out.exact = {
        name: tuple(vals) if name in ordered else tuple(sorted(vals)) for name, vals in bag.items()
    }
    out.exact["tense"] = _tense(bag["tense"])
    if any(t.text in ("way", "ways") for t in tokens):  # "what is the way to X" asks how
        out.exact["question"] = tuple(
            sorted({"how" if q == "what" else q for q in out.exact["question"]})
        )
    return out


def _special(tok: Token, bag: dict[str, list[str]]) -> None:
    if tok.kind == "number":
        bag["numbers"].append(tok.text)
    elif tok.kind == "ordinal":
        bag["numbers"].append("#" + tok.text)
    elif tok.kind in ("time", "quoted", "code"):
        bag[{"time": "times"}.get(tok.kind, tok.kind)].append(tok.text)
    elif tok.kind == "symbol":
        bag["symbols"].append(tok.text)


def _number_words(tokens: list[Token], i: int, bag: dict[str, list[str]]) -> int:
    """Number words from ``tokens[i]`` as one value ("twenty five", "a hundred"); tokens used."""
    word = tokens[i].text
    prev = tokens[i - 1].text if i else ""
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if word in c.ORDINALS and not (word == "second" and prev in ("a", "per", "one", "each")):
        bag["numbers"].append(f"#{c.ORDINALS[word]}")
        return 1
    if word == "a" and nxt in ("dozen", "hundred", "thousand", "million", "couple", "pair"):
        return 1  # "a dozen" = "12": the article is the number's, not an article
    if word not in c.NUMBER_WORDS and word not in c.MULTIPLIERS:
        return 0
    if word == "one" and (prev in c.ONE_PRONOUN_BEFORE or nxt in ("of", "another", "'s")):
        return 0
    value, used, j = 0.0, 0, i
    while j < len(tokens) and tokens[j].kind == "word":
        w = tokens[j].text
        if w in c.NUMBER_WORDS:
            value += c.NUMBER_WORDS[w]
        elif w in c.MULTIPLIERS:
            value = max(value, 1) * c.MULTIPLIERS[w]
        elif not (
            w == "and" and used and j + 1 < len(tokens) and tokens[j + 1].text in c.NUMBER_WORDS
        ):
            break
        used += 1
        j += 1
    bag["numbers"].append(f"{value:g}")
    return used


_CLASSES: tuple[tuple[frozenset[str], str, dict[str, str]], ...] = (
    (c.PAST_AUX, "tense", {}),
    (c.QUANTIFIERS, "quantifier", {}),
    (c.DIRECTION, "direction", {}),
    (c.WH, "question", c.WH_SAME),
    (c.CONNECTIVES, "connective", {}),
)


def _closed(word: str, prev: str, nxt: str, has_digit: bool, frame: bool) -> str | None:
    """``"light"``, ``"<field>:<value>"`` for a closed-class word, ``None`` for content."""
    special = _special_word(word, prev, nxt, has_digit, frame)
    if special is not None:
        return special
    for words, name, canonical in _CLASSES:
        if word in words:
            value = "past" if name == "tense" else canonical.get(word, word)
            return f"{name}:{value}"
    if word in c.LIGHT or word in c.PERFECT_AUX or word in c.RELATIONS:
        return "light"
    if (frame and word in c.REQUEST_VERBS) or (word in ("like", "love") and prev in c.MODALS):
        return "light"
    return None


def _special_word(word: str, prev: str, nxt: str, has_digit: bool, frame: bool) -> str | None:
    """Units, times, negation, modals and the future: words read with their neighbours."""
    unit = UNITS.get(word)
    if unit is not None and (
        word not in WEAK or (has_digit and (prev in CONVERSION or nxt in CONVERSION or _num(prev)))
    ):
        return f"units:{unit}"
    when = time_word(word)
    if when is not None:
        return f"times:{when}"
    if word in c.NEGATORS:
        return "negation:not"
    if word in c.MODALS:
        # "Can you …" opening a request, "how can/should I …" (= "how do I …"), "I'd like …"
        # are idiom, not a modality; "Can I …" / "Should I …" / "When can I …" are not.
        request = frame and nxt == "you" and word in ("can", "could", "would")
        manner = prev == "how" and nxt in ("i", "we", "you") and word != "must"
        if request or manner or nxt in ("like", "love"):
            return "light"
        return f"modality:{word}"
    if word in c.FUTURE_AUX or (word == "going" and nxt == "to" and prev in ("am", "is", "are")):
        return "tense:future"
    if word == "there" and nxt in ("is", "are", "was", "were"):
        return "light"  # existential "there is": the verb carries the tense
    return None


def _num(word: str) -> bool:
    return word[:1].isdigit()


def _tense(markers: list[str]) -> tuple[str, ...]:
    counts = Counter(markers)
    return tuple(f"{k}={counts[k]}" for k in ("past", "future") if counts[k])
