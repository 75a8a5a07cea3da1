"""Phrases read from a prompt's tokens: before the pass of :func:`.features.analyse`, the
phrasal verbs that are one word (:func:`phrasal`); once it is done, what it asks for, what
each possessive determiner owns, where a "whose" opens a clause, the partitives ("two of
the …"), one value said in two units and the words of a condition. Each returns what
:class:`.features.Analysis` keeps; ``placed`` maps a token's index to its position in the
content sequence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import Token

if TYPE_CHECKING:  # features imports this module
    from scalegate.cache.verify.words import Word


def phrasal(tokens: list[Token], lexicon: Lexicon) -> list[Token]:
    """``tokens`` with each phrasal verb WordNet lists as one word ("get rid of" →
    "get_rid_of", "figure out" → "figure_out"), the longest first; its words may be
    joined by hyphens (v88: "a *cash-out* refinance" is "a *cash out* refinance")."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        for n in (3, 2):
            run, end = _words_from(tokens, i, n)
            if len(run) == n:
                lemma = lexicon.phrasal(tuple(t.text for t in run))
                if lemma is not None:  # its particles still say where: "shut out"/"inside"
                    out.append(Token("word", lemma))
                    out.extend(t for t in run[1:] if t.text in c.PARTICLES)
                    i = end
                    break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _words_from(tokens: list[Token], start: int, n: int) -> tuple[list[Token], int]:
    """Up to ``n`` words from ``start`` on, one after another or joined by single hyphens,
    and the index after the last one."""
    run: list[Token] = []
    i = start
    while len(run) < n and i < len(tokens) and tokens[i].kind == "word":
        run.append(tokens[i])
        i += 1
        joined = i + 1 < len(tokens) and tokens[i].text == "-" and tokens[i + 1].kind == "word"
        if len(run) < n and joined:
            i += 1
    return run, i


BE_NUMBER = frozenset({"is", "was", "are", "were"})
_COUNTS = frozenset({"one", "some", "several", "few", "many", "any"})


def asked_for(tokens: list[Token], start: int, placed: dict[int, int]) -> tuple[int, ...]:
    """The content words (their sequence positions) of the noun phrase after token
    ``start`` (-1: none): past determiners, numbers and persons, up to the first word that
    is none of its own ("the square root *of*", "a joke *about*")."""
    found: list[int] = []
    for i in range(start + 1, len(tokens) if start >= 0 else 0):
        tok = tokens[i]
        if i in placed:
            found.append(placed[i])
        elif tok.text in ("'", "'s", "-") and found:
            continue  # "the Beatles' drummer", "the best-selling book" (v38)
        elif found or not (
            tok.text in c.DETERMINERS or tok.text in _COUNTS or tok.text in c.PERSONS
        ):
            break
        elif tok.text in ("a", "an") and tokens[start].text in BE_NUMBER:
            return ()  # "What is a black hole?" defines a kind: "Explain black holes"
    return tuple(found)


def owned(tokens: list[Token], placed: dict[int, int]) -> tuple[tuple[str, int], ...]:
    """(person, sequence position) of what each possessive determiner owns: the content
    word right after it, or after one other word ("my *old* car")."""
    found: list[tuple[str, int]] = []
    for i, tok in enumerate(tokens):
        person = c.OWNER_PERSONS.get(tok.text)
        if person is None:
            continue
        for j in (i + 1, i + 2):
            if j in placed:
                found.append((person, placed[j]))
                break
            if j >= len(tokens) or tokens[j].kind != "word" or tokens[j].text in c.DETERMINERS:
                break
    return tuple(found)


ONE = frozenset({"a", "an", "one"})
EVERY = frozenset({"all", "every", "each"})


def counted(tokens: list[Token], placed: dict[int, int], words: frozenset[str]) -> tuple[int, ...]:
    """Positions in the sequence of the first content word after each of ``words``, past
    determiners: "remove *a* duplicate row" gives "duplicate", "*all the* rows" "rows"."""
    found: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.text not in words:
            continue
        j = i + 1
        while j < len(tokens) and j not in placed and tokens[j].text in c.DETERMINERS:
            j += 1
        if j in placed:
            found.append(placed[j])
    return tuple(found)


def whose(tokens: list[Token], placed: dict[int, int], sequence: list[str]) -> tuple[int, ...]:
    """Positions in ``sequence`` of the "='s" each "whose" after a content word wrote: it
    opens a relative clause too ("the employees *whose* managers earn …")."""
    return tuple(
        placed[i - 1] + 1
        for i, t in enumerate(tokens)
        if t.text == "whose"
        and i - 1 in placed
        and placed[i - 1] + 1 < len(sequence)
        and sequence[placed[i - 1] + 1] == "='s"
    )


def partitives(tokens: list[Token]) -> list[str]:
    """How much of a group a prompt speaks of, as "<quantity> of the/my/these …": "*all of*
    the team members" / "*two of* the team members", "*how many of* the planets" — a
    number by its value, a quantifier by its class ("each of" = "all of")."""
    found: list[str] = []
    for i in range(len(tokens) - 2):
        word = tokens[i].text
        if tokens[i + 1].text != "of" or tokens[i + 2].text not in c.DETERMINERS:
            continue
        if word in c.NUMBER_WORDS:
            found.append(f"{c.NUMBER_WORDS[word]:g}")
        elif tokens[i].kind == "number":
            try:
                found.append(f"{float(word.replace(',', '')):g}")
            except ValueError:
                found.append(word)
        elif word in c.QUANTIFIERS or word == "none":
            found.append(c.QUANTITY.get(word, word))
    return found


# A bound that includes its number: "12 *and under*", "65 *or older*", "*up to* 3", "*at
# least* 18" — against "under 12", "over 65", "3", a different set of values (verifier v37).
_BOUND_BEFORE = (("up", "to"), ("at", "most"), ("at", "least"), ("no", "more", "than"),
                 ("no", "less", "than"), ("no", "fewer", "than"), ("not", "more", "than"),
                 ("not", "less", "than"), ("not", "over"), ("not", "under"))  # fmt: skip


def bounds(tokens: list[Token]) -> list[str]:
    """The numbers a prompt bounds inclusively ("12 and under", "at most 3"), by value."""
    found: list[str] = []
    texts = [t.text for t in tokens]
    for i, tok in enumerate(tokens):
        if tok.kind == "number":
            value = tok.text
        elif tok.kind == "word" and tok.text in c.NUMBER_WORDS and tok.text != "one":
            value = f"{c.NUMBER_WORDS[tok.text]:g}"
        else:
            continue
        after = texts[i + 1 : i + 3]
        if (len(after) == 2 and after[0] in ("and", "or") and after[1] in c.BOUND_AFTER) or any(
            tuple(texts[max(0, i - len(b)) : i]) == b for b in _BOUND_BEFORE
        ):
            found.append(value)
    # "*on or after* jan 1", "*at or above* 90": a relation made inclusive, whatever follows (v65)
    found += [
        INCLUSIVE
        for i in range(1, len(texts) - 1)
        if texts[i] == "or" and texts[i - 1] in _AT and texts[i + 1] in c.BOUND_AFTER
    ]
    return found


INCLUSIVE = "incl"
_AT = frozenset({"on", "at", "in", "by"})


def conversions(numbers: list[str]) -> list[str]:
    """One value said in two units, in the order said: "35 knots … about 35 miles per
    hour" is "35:kn>mi", the reverse "35:mi>kn" (which one was measured, which guessed)."""
    units: dict[str, list[str]] = {}
    for entry in numbers:
        value, _, unit = entry.partition(" ")
        if unit and unit not in units.setdefault(value, []):
            units[value].append(unit)
    return [f"{v}:{'>'.join(u)}" for v, u in units.items() if len(u) > 1]


# Words that open a clause a main clause depends on: "what rights does an employee have
# *if* the employer breaks the contract".
_CONDITIONS = frozenset({"if", "unless", "because", "whenever"})
_SENTENCE_END = frozenset(".!?;")
FRONTED_WORDS = 5  # words at most in a phrase before its comma (:func:`fronted`)


def conditions(tokens: list[Token], starts: dict[int, int], end: int) -> tuple[int, ...]:
    """The sequence positions of what each clause an "if", "unless", "because" or
    "whenever" opens says (persons and relation words included; ``starts``: where each
    token's part of the sequence starts, ``end``: its length): to the sentence's end, or —
    when it opens the sentence — to its first comma or "then" ("If the tenant leaves early,
    can the landlord …")."""
    found: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.text not in _CONDITIONS or tok.kind != "word":
            continue
        leads = i == 0 or tokens[i - 1].text in _SENTENCE_END
        stop = len(tokens)
        for j in range(i + 1, len(tokens)):
            text = tokens[j].text
            if text in _SENTENCE_END or (leads and text in (",", "then")):
                stop = j
                break
        first = next((starts[k] for k in range(i + 1, stop) if k in starts), None)
        last = next((starts[k] for k in range(stop, len(tokens)) if k in starts), end)
        if first is not None:
            found.extend(p for p in range(first, last) if p not in found)
    return tuple(found)


def fronted(tokens: list[Token], starts: dict[int, int], end: int) -> tuple[int, ...]:
    """The sequence positions of a phrase that opens a sentence with a preposition and ends
    at a comma within :data:`FRONTED_WORDS` words: "*On my Mac,* how do I take a
    screenshot …", "*Using pandas,* how do I drop rows …" ask what "… on my Mac" and "…
    using pandas" ask (verifier v34); :func:`.roles.condition_last` moves it to the end."""
    found: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.kind != "word" or tok.text not in c.PREPOSITIONS:
            continue
        if i and tokens[i - 1].text not in _SENTENCE_END:
            continue
        comma = next(
            (
                j
                for j in range(i + 1, min(len(tokens), i + FRONTED_WORDS + 2))
                if tokens[j].text == ","
            ),
            None,
        )
        if comma is None or any(t.text in _SENTENCE_END for t in tokens[i:comma]):
            continue
        first = starts.get(i)
        last = next((starts[k] for k in range(comma, len(tokens)) if k in starts), end)
        if first is not None:
            found.extend(range(first, last))
    return tuple(found)


def compounds(
    placed: dict[int, int], content: list[Word], lexicon: Lexicon
) -> tuple[tuple[int, int], ...]:
    """Two content words written next to each other, both read as nouns — not a verb's
    past or participle, not a light verb ("bees *make honey*" / "honey *made* by bees"):
    their sequence positions, for :func:`.modifiers.compound_reversed`."""
    words = {w.position: w for w in content}

    def nominal(w: Word) -> bool:
        return (
            not w.past
            and not w.degree  # "better sleep" / "sleeping better"
            and not lexicon.is_past(w.text)
            and not lexicon.light_verb(w.text)
            and any("n" in lexicon.poses(k) for k in w.keys)
        )

    return tuple(
        (placed[i], placed[i + 1])
        for i in placed
        if i + 1 in placed and nominal(words[placed[i]]) and nominal(words[placed[i + 1]])
    )
