"""A content word of a prompt, with what its neighbours say about it: its lemmas, tense and
degree, whether it is a noun by its place ("by *train*", "my oven *racks*"), an item of a
list, the preposition that introduces it and the word that preposition follows."""

from __future__ import annotations

from dataclasses import dataclass

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import Token

_OF_PLACE = frozenset({"out", "inside", "outside"})  # "out *of*": the place is "out"


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as typed, lower case
    keys: frozenset[str]  # the lemmas it may be an inflection of
    position: int  # index in Analysis.sequence
    past: bool = False  # a past tense (not a participle after an auxiliary)
    degree: str = ""  # "cmp", "sup" or ""
    noun: bool = False  # after a determiner or preposition: a noun ("by *train*")
    coordinated: bool = False  # next to "and"/"or": an item of a list ("states and *territories*")
    # The preposition right before it and the word before that: "books *by* Stephen King"
    # gives "king" the preposition "by" after "books" (for :func:`.rules.relation_differs`).
    preposition: str = ""
    head: str = ""
    capital: bool = False  # written with a capital letter first ("King"): maybe a name
    time: str = ""  # "future" or "past" by its auxiliaries ("will be laid off"), see .tense
    passive: bool = False  # a participle after be/get: "can I *be added*" (.tense)
    # Right before a word that may be a noun, no determiner between: "*free* things" (v70)
    before_noun: bool = False
    of: str = ""  # the word before "of" and its determiner: "the *city* of London" (v78)


_DEGREE_MARKERS = {"most": "sup", "more": "cmp"}


def marked_degree(tokens: list[Token], i: int, lexicon: Lexicon) -> str:
    """ "sup" / "cmp" when ``tokens[i]`` is an adjective or adverb after "most" / "more"
    ("the *most healthy*" is "the *healthiest*", "*more quickly*" "*quicker*", verifier
    v56), else "": "*most* babies" counts babies."""
    if not i or tokens[i - 1].text not in _DEGREE_MARKERS or tokens[i].kind != "word":
        return ""
    word = tokens[i].text
    poses = lexicon.poses(word)
    if not poses & {"a", "r"} or "n" in poses or lexicon.plural(word):
        return ""
    return _DEGREE_MARKERS[tokens[i - 1].text]


def content(
    tokens: list[Token], i: int, lexicon: Lexicon, position: int, form: tuple[bool, str, bool]
) -> Word:
    """``tokens[i]`` as a content word; ``form``: whether it is a past tense, its time and
    whether it is passive."""
    past, time, passive = form
    tok = tokens[i]
    prev = tokens[i - 1].text if i else ""
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    # The preposition that introduces it, past its determiner ("by *my* professor"), and
    # the word before that ("podcasts by my professor").
    j = i - 1
    while j > 0 and (tokens[j].text in c.DETERMINERS or tokens[j].text in c.PREDETERMINERS):
        j -= 1  # "by *my*", "across *all* customers" (v41)
    before = tokens[j].text if j >= 0 else ""
    if before == "of" and j and tokens[j - 1].text in _OF_PLACE:
        j -= 1  # "out of the shell" is out of it, as "outside the shell" is
        before = tokens[j].text
    preposition = before if before in c.PREPOSITIONS or before in c.DIRECTION else ""
    preposition = c.DIRECTION_SAME.get(preposition, preposition)  # "till" is "until"
    # A plural right after a determiner's noun that ends its phrase heads a compound, what
    # verb it could be: "my oven *racks*", "the car *parts* for …" — not "my dog *keeps*
    # pulling", "the sky *looks* blue" (verifier v41).
    compound = (
        i >= 2
        and tokens[i - 2].text in c.DETERMINERS
        and (not nxt or nxt in c.PREPOSITIONS or nxt in c.COORDINATORS or not nxt.isalnum())
        and lexicon.plural(tok.text)
        and not lexicon.verbal(prev)
    )
    return Word(
        tok.text, lexicon.keys(tok.text), position, past,
        marked_degree(tokens, i, lexicon) or lexicon.degree(tok.text),
        # A name in capitals ("HTTP *GET*") is no light verb either.
        noun=prev in c.PREPOSITIONS or prev in c.DETERMINERS or tok.caps or compound
        or lexicon.collocation(prev, tok.text),  # "capital *gains*" (v76)
        coordinated=prev in c.COORDINATORS or nxt in c.COORDINATORS,
        preposition=preposition,
        head=tokens[j - 1].text if preposition and j else "",
        of=tokens[j - 1].text if before == "of" and j else "",
        capital=tok.capital,
        time=time,
        passive=passive,
        before_noun=(
            i + 1 < len(tokens)
            and tokens[i + 1].kind == "word"
            and (nxt not in c.LIGHT or nxt in ("thing", "things"))  # "*free* things to do"
            and any("n" in lexicon.poses(k) for k in lexicon.keys(nxt))
        ),
    )  # fmt: skip
