"""Closed-class words into the fields of an :class:`.features.Analysis`: numbers said in
words, units joined to their numbers, negations with their clause, persons, relation words
and boundaries into the content sequence (for the role rules)."""

from __future__ import annotations

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.tokens import Token

BOUNDARY = "|"
CLAUSE = "||"
NUMBER = "%"  # a number in digits, in the sequence: "%401000"
_TIME_UNITS = frozenset({"s", "min", "h", "day", "week", "month", "year"})
_SOMEONE = frozenset({"someone", "somebody", "anyone", "anybody", "everyone", "everybody"})


def attach_unit(role: str | None, after_number: bool, numbers: list[str]) -> str | None:
    """A unit right after a number joins it ("5 km" is one value, as is "five kilometres");
    a unit of time alone is a noun like any other ("how many hours of sleep")."""
    if role is None or not role.startswith("units:"):
        return role
    unit = role[6:]
    if after_number and numbers:
        numbers[-1] += " " + unit
        return "light"
    return None if unit in _TIME_UNITS else role


def record(
    role: str, words: tuple[str, str], bag: dict[str, list[str]], sequence: list[str], clause: int
) -> None:
    """A closed-class word (and the word after it) into its field — a negation with the
    clause it stands in, "not@2" —; persons, relation words and noun-phrase boundaries
    into the sequence."""
    word, nxt = words
    if word == "that" and (nxt in c.DETERMINERS or nxt in c.PERSONS):
        sequence.append("=that")  # a clause: "tell my boss *that* my coworker …"
        return
    if word == "whose":
        sequence.append("='s")  # "the neighbor *whose* tree" owns it as "the neighbor's"
        return
    if word in c.DETERMINERS and role == "light":
        sequence.append(BOUNDARY)  # "my dog bit | the neighbor's child"
    if word in c.PROHIBITIVE:
        bag["negation"].append(f"not@{clause}")  # "forbidden" = "not allowed"
    if role != "light":
        name, value = role.split(":", 1)
        bag[name].append(f"{value}@{clause}" if name == "negation" else value)
        if name == "person":
            sequence.append("@" + value)
            return
        if word in _SOMEONE:  # fills a role as a person does: "I hit *someone*"
            sequence.append("@" + word)
            return
    if word in c.RELATIONS or (role.startswith("direction:") and word != "on"):
        # A word of direction is a relation too (verifier v31): "20% *off* $50" is not
        # "20% *of* $50". Not "on", as often a topic's ("the statute of limitations on debt").
        sequence.append("=" + c.DIRECTION_SAME.get(word, word))


def special(tok: Token, bag: dict[str, list[str]], sequence: list[str]) -> None:
    if tok.kind == "punct" and tok.text in ".!?;:,":
        sequence.append(CLAUSE if tok.text != "," else BOUNDARY)
    elif tok.kind == "number":
        bag["numbers"].append(tok.text)
        sequence.append(NUMBER + tok.text)  # fills a role: "roll my *401k* into an IRA"
    elif tok.kind == "ordinal":
        bag["numbers"].append("#" + tok.text)
        sequence.append("#" + tok.text)
    elif tok.kind in ("time", "quoted", "code"):
        bag[{"time": "times"}.get(tok.kind, tok.kind)].append(tok.text)
    elif tok.kind == "symbol":
        bag["symbols"].append(tok.text)


def _tens_hyphen(tokens: list[Token], j: int) -> bool:
    """A "-" between a tens word and a units word: "twenty*-*five"."""
    if not (0 < j < len(tokens) - 1 and tokens[j].text == "-"):
        return False
    tens = c.NUMBER_WORDS.get(tokens[j - 1].text, 0)
    after = tokens[j + 1].text
    units = c.NUMBER_WORDS.get(after, 0) or c.ORDINALS.get(after, 0)  # "twenty-*first*"
    return tens in range(20, 100, 10) and units in range(1, 10)


# What "the past" may count back over: "the past *two* weeks", "the past *month*".
_PERIODS = frozenset({"day", "days", "week", "weeks", "month", "months", "year", "years",
                      "decade", "decades", "hour", "hours", "night", "nights"})  # fmt: skip
# What follows the verb "last": "does rice *last* in the fridge", "make it *last* longer".
_AFTER_LASTS = c.PREPOSITIONS | frozenset({"", "?", ".", ",", "!", "longer", "forever", "for"})


def _lasts(prev: str, nxt: str) -> bool:
    """A "last" that is the verb: after a word that is no determiner and before a
    preposition, an adverb of time or the clause's end (not "the *last* in line", "*at
    last*", "*last* week")."""
    return prev not in c.DETERMINERS and prev not in ("at", "") and nxt in _AFTER_LASTS


def _said_otherwise(word: str, prev: str, nxt: str, bag: dict[str, list[str]]) -> int | None:
    """Tokens used by an ordinal, by a number word that is no number or by a "last" said
    another way (v69), or None: the verb "last" ("how long does cooked rice *last*"),
    "*most recent*", "*latest*" and "the *past* two weeks" for the last, a "couple" that
    is no count ("we're a *couple* going to Rome", not "a *couple* (of) days")."""
    if word == "last" and _lasts(prev, nxt):
        return 0
    if (word, nxt) == ("most", "recent") or (word == "latest" and nxt.isalpha()):
        bag["numbers"].append("#-1")
        return 2 if word == "most" else 1
    if word == "past" and prev == "the" and (nxt in c.NUMBER_WORDS or nxt in _PERIODS):
        bag["numbers"].append("#-1")
        return 1
    if word in ("couple", "pair") and not (nxt == "of" or nxt.endswith("s")):
        return 0
    if word in c.ORDINALS and not (word == "second" and prev in ("a", "per", "one", "each")):
        bag["numbers"].append(f"#{c.ORDINALS[word]}")
        return 1
    return None


def _counts(tokens: list[Token], i: int) -> bool:
    """``tokens[i]`` is a number, in digits or words: "7 *minus* 3" is arithmetic."""
    return i >= 0 and (tokens[i].kind in ("number", "ordinal") or tokens[i].text in c.NUMBER_WORDS)


def _before_number(tokens: list[Token], i: int, bag: dict[str, list[str]]) -> int | None:
    """Tokens used by a word that is part of the number after it, or None: "*a* dozen" is
    12 (the article is the number's), "*minus* fifteen degrees" is -15 (v74)."""
    word = tokens[i].text
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if word in ("minus", "negative") and nxt in c.NUMBER_WORDS and not _counts(tokens, i - 1):
        return _signed(tokens, i, bag)
    if word == "a" and nxt in ("dozen", "hundred", "thousand", "million", "couple", "pair"):
        return 1
    return None


def _signed(tokens: list[Token], i: int, bag: dict[str, list[str]]) -> int:
    """The number after "minus" at ``i``, negated; tokens used."""
    used = number_words(tokens, i + 1, bag)
    if used and not bag["numbers"][-1].startswith("#"):
        said = bag["numbers"].pop()
        bag["numbers"].append("-" + ("1" if said == "one" else said))
    return used + 1 if used else 0


def number_words(tokens: list[Token], i: int, bag: dict[str, list[str]]) -> int:
    """Number words from ``tokens[i]`` as one value ("twenty five", "a hundred"); tokens used."""
    word = tokens[i].text
    prev = tokens[i - 1].text if i else ""
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    said = _said_otherwise(word, prev, nxt, bag)
    if said is None:
        said = _before_number(tokens, i, bag)
    if said is not None:
        return said
    if word not in c.NUMBER_WORDS and word not in c.MULTIPLIERS:
        return 0
    if word == "one" and (prev in c.ONE_PRONOUN_BEFORE or nxt in ("of", "another", "'s")):
        return 0
    value, used, j, ordinal = 0.0, 0, i, False
    while j < len(tokens) and (tokens[j].kind == "word" or _tens_hyphen(tokens, j)):
        w = tokens[j].text
        if w == "-":
            pass  # "eighty-one" is 81, not "80" and "one" (verifier v37)
        elif used and c.ORDINALS.get(w, 0) > 0:
            value, ordinal = value + c.ORDINALS[w], True  # "twenty-first" is the 21st (v49)
            used += 1
            break
        elif w in c.NUMBER_WORDS:
            value += c.NUMBER_WORDS[w]
        elif w in c.MULTIPLIERS:
            value = max(value, 1) * c.MULTIPLIERS[w]
        elif not (
            w == "and" and used and j + 1 < len(tokens) and tokens[j + 1].text in c.NUMBER_WORDS
        ):
            break
        used += 1
        j += 1
    # A lone "one" may be an article's work ("one or two hours" / "an hour or two").
    if ordinal:
        bag["numbers"].append(f"#{value:g}")
    else:
        bag["numbers"].append("one" if word == "one" and used == 1 else f"{value:g}")
    return used
