"""The role of one word in a prompt, read with its neighbours: content (``None``: left for
alignment) or a closed-class role — ``"light"`` (changes no answer) or ``"<field>:<value>"``
for a detail :mod:`.features` compares exactly (a unit, a time, a negation, a modal, a
quantifier, a question word, a direction, a person)."""

from __future__ import annotations

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.tokens import Token, time_word
from scalegate.cache.verify.units import CONVERSION, UNITS, WEAK

ARTICLES = frozenset({"the", "a", "an"})


_REQUEST_ADVERBS = frozenset({"please", "kindly", "pls", "just", "also", "quickly", "briefly"})


def role_of(tok: Token, prev: str, nxt: str, has_digit: bool, frame: bool) -> str | None:
    """A word's closed-class role, ``None`` for content. A pronoun is not written in
    capitals nor after an article: "the US" is a country; nor is a quantifier or a
    relation word in capitals a quantity or a relation, nor a capital "A" inside a clause
    an article."""
    word = tok.text
    if word in c.PERSONS and (tok.caps or prev in ARTICLES):
        return None
    if tok.caps and (word in c.QUANTIFIERS or word in c.RELATIONS):
        return None  # a keyword: "UNION *ALL*", "GROUP *BY*" name code, not a quantity
    if word == "back" and (
        prev in c.DETERMINERS or prev in ("lower", "upper", "middle") or nxt in _BACKED_UP
    ):
        return None  # the body's ("my *back* hurts", "lower *back* pain"), or "*back* it up"
    if prev in ARTICLES and word in _AUXILIARY_NOUNS:
        return None  # no auxiliary after an article: "a *do* while loop", "the *will*" (v48)
    if word == "a" and ((tok.capital and not frame) or _label_a(prev, nxt)):
        return None  # a capital "A" inside a clause names: "type *A* blood", "vitamin *A*"
    return _person(word, nxt) or _closed(word, prev, nxt, has_digit, frame)


# Auxiliaries that are nouns after an article: "a *do*-while loop", "a *will*", "a *can* of".
_AUXILIARY_NOUNS = frozenset({"do", "does", "will", "can", "may", "must", "might"})
_BACKED_UP = frozenset({"up", "it", "them", "this", "that", "everything"})


def _label_a(prev: str, nxt: str) -> bool:
    """A lower-case "a" after a noun that no noun phrase follows names, as "b" would: "is
    set *a* a subset of set b", "set *a* and set b", "is matrix *a*?" — an article never
    stands before another article, a verb, a preposition, "and" or the end."""
    if not prev[:1].isalpha() or prev in c.LIGHT or prev in c.PREPOSITIONS:
        return False
    return not nxt[:1].isalnum() or nxt in _NO_NOUN_PHRASE


# What an article is never followed by (not "can", "will", "near": "a can of soup").
_NO_NOUN_PHRASE = frozenset(
    {*ARTICLES, *c.BE, *c.COORDINATORS, "has", "have", "does", "did", "of", "in", "on", "at"}
    | {"by", "with", "for", "from", "to", "into", "than", "vs", "versus", "contains"}
)


def asks_can(tokens: list[Token], i: int) -> bool:
    """Whether "can you" at ``tokens[i]`` asks what one can do ("*Can you* use tabs in
    Python?", against "Should you …") rather than opening a request ("Can you tell me …",
    "Can you please …"): the verb after "you" is no request verb."""
    then = tokens[i + 2] if i + 2 < len(tokens) else None
    return (
        then is not None
        and then.kind == "word"
        and then.text not in c.REQUEST_VERBS
        and then.text not in _REQUEST_ADVERBS
    )


def _person(word: str, nxt: str) -> str | None:
    """ "person:1s" for "I", "me", "myself" …; "her" only when not a possessive ("her car")."""
    if word == "her":  # "safe for her?": a person before punctuation too
        end = not nxt or nxt in c.LIGHT or nxt in c.RELATIONS or not nxt[0].isalnum()
        return "person:3f" if end else "light"
    person = c.PERSONS.get(word)
    return None if person is None else f"person:{person}"


_CLASSES: tuple[tuple[frozenset[str], str, dict[str, str]], ...] = (
    (c.PAST_AUX, "tense", {}),
    (c.QUANTIFIERS, "quantifier", c.QUANTITY),
    (c.DIRECTION, "direction", {}),
    (c.WH, "question", c.WH_SAME),
    (c.CONNECTIVES, "connective", {}),
)


def _closed(word: str, prev: str, nxt: str, has_digit: bool, frame: bool) -> str | None:
    """``"light"``, ``"<field>:<value>"`` for a closed-class word, ``None`` for content."""
    asked = _question_word(word, prev, nxt)
    if asked is not None:
        return asked
    special = _special_word(word, prev, nxt, has_digit, frame)
    if special is not None:
        return special
    if word in ("few", "little", "bit") and (prev == "a" or f"{prev} {word}" == "little bit"):
        return "quantifier:some"  # "a few" is "some"; "few" alone is not; "bit" alone is
        # no quantifier either: "my dog bit …", "a 64 bit integer"
    placed = _placed(word, prev, nxt)
    if placed is not None:
        return placed
    if word in c.DEONTIC or (word in c.OBLIGATION_VERBS and nxt == "to"):
        return f"modality:{c.DEONTIC.get(word, 'must')}"  # "have to", "required", "allowed"
    for words, name, canonical in _CLASSES:
        if word in words:
            value = "past" if name == "tense" else canonical.get(word, word)
            return f"{name}:{value}"
    if word in c.LIGHT or word in c.PERFECT_AUX or word in c.RELATIONS:
        return "light"
    if word in c.FRAME_ADJECTIVES and nxt in c.FRAME_NOUNS:
        return "light"  # "the best way to", "a good way to"
    if word in c.FRAME_NOUNS and nxt in ("to", "for", "of"):
        return "light"  # "steps to jump-start", "the method for finding"
    if (frame and word in c.REQUEST_VERBS) or (word in ("like", "love") and prev in c.MODALS):
        return "light"
    return None


def _placed(word: str, prev: str, nxt: str) -> str | None:
    """Words whose role their neighbours decide: "many"/"much" after "how" (the question
    word took them), "in" as a particle rather than a place ("zoom *in* on", "log *in*?")."""
    if word in ("many", "much") and prev == "how":
        return "light"
    if word == "supposed" and nxt == "to":
        return "modality:should"  # "am I *supposed to* drink" asks "should I drink" (v56)
    if word == "in" and (not nxt or nxt in _AFTER_PARTICLE or not nxt[0].isalnum()):
        return "direction:in"
    return None


def _question_word(word: str, prev: str, nxt: str) -> str | None:
    """ "how many" counts ("which" names, "how" asks a manner); "what year" asks when,
    "what city" where (and "year", "city" are then the question word's)."""
    if word == "how" and nxt in ("many", "much"):
        return "question:quantity"
    if word == "number" and nxt == "of" and (prev in c.DETERMINERS or prev in ("", "total")):
        return "question:quantity"  # "the *number of* bones" asks how many (v76)
    if prev == "what" and (word in c.WHAT_WHEN or word in c.WHAT_WHERE):
        return "light"
    if word == "what" and (nxt in c.WHAT_WHEN or nxt in c.WHAT_WHERE):
        return "question:" + ("when" if nxt in c.WHAT_WHEN else "where")
    return None


def _special_word(word: str, prev: str, nxt: str, has_digit: bool, frame: bool) -> str | None:
    """Units, times, negation, modals and the future: words read with their neighbours."""
    unit = UNITS.get(word)
    if (
        unit is not None
        and not _preposition_in(word, nxt)
        and (
            word not in WEAK
            or (has_digit and (prev in CONVERSION or nxt in CONVERSION or _num(prev)))
            or (prev in c.NUMBER_WORDS and prev != "one")  # "ten days" as "10 days"
        )
    ):
        return f"units:{unit}"
    when = time_word(word)
    if when is not None:
        return f"times:{when}"
    if word in c.NEGATORS:
        return "negation:not"
    if word in c.MODALS and not (word == "may" and (_num(nxt) or _num(prev))):  # "May 25"
        # "Can you …" opening a request, "how can/should I …" (= "how do I …"), "I'd like …"
        # are idiom, not a modality; "Can I …" / "Should I …" / "When can I …" are not.
        request = frame and nxt == "you" and word in ("can", "could", "would")
        manner = prev == "how" and nxt in ("i", "we", "you") and word != "must"
        if request or manner or nxt in ("like", "love"):
            return "light"
        return f"modality:{c.FORCE[word]}"
    if word in c.FUTURE_AUX or (word == "going" and nxt == "to" and prev in ("am", "is", "are")):
        return "tense:future"
    if word == "there" and nxt in ("is", "are", "was", "were"):
        return "light"  # existential "there is": the verb carries the tense
    return None


# What follows "in" the unit: "12 *in* wide", "8 in x 10 in", "2 in of snow", "6 in." (v74).
_AFTER_INCH = frozenset({"", "x", "by", "and", "or", "of", "to", "wide", "long", "tall", "deep",
                         "thick", "high", "across", "diameter", "square", "cubed", "squared",
                         "apart", "per", "each"}) | {p for p in ".,;:!?()-"}  # fmt: skip


def _preposition_in(word: str, nxt: str) -> bool:
    """ "in" after a number, read as the preposition before a word it governs: "1,200 *in*
    rent", "3 *in* the morning", "100 *in* cm" (v74) — not "12 *in* wide"."""
    return word == "in" and nxt not in _AFTER_INCH and not nxt[:1].isdigit()


def _num(word: str) -> bool:
    return word[:1].isdigit()


_AFTER_PARTICLE = frozenset({"on", "at", "to", "with", "for", "from", "and", "or", "again"})
