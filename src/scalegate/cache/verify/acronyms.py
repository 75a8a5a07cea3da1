"""An abbreviation on one side, the words it stands for on the other (verifier v39): "JS" /
"JavaScript" (the initials of a compound's two words), "NYC" / "New York City", "AI" /
"artificial intelligence" (the initials of words next to each other). Only words no other
rule aligned are read, so an abbreviation meets its words only where the other prompt
says them instead."""

from __future__ import annotations

from itertools import pairwise

from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.words import Word

_LETTERS = range(2, 6)  # an abbreviation of two to five letters


def pair_abbreviations(
    left_a: list[Word], left_b: list[Word], pairs: dict[int, int], lexicon: Lexicon
) -> None:
    """Pair each abbreviation left in one list with the words it abbreviates in the other
    (``pairs``: positions in b → positions in a); the words are taken out of the lists."""
    for short_side, long_side, reverse in ((left_a, left_b, True), (left_b, left_a, False)):
        for x in list(short_side):
            if len(x.text) not in _LETTERS or not x.text.isalpha() or x not in short_side:
                continue
            words = _spelt(x.text, long_side, lexicon)
            if not words:
                continue
            if reverse:
                for w in words:  # every word of b stands where the abbreviation does
                    pairs[w.position] = x.position
            else:
                pairs[x.position] = words[-1].position  # the head: "United *States*"
            short_side.remove(x)
            for w in words:
                long_side.remove(w)


def _spelt(short: str, words: list[Word], lexicon: Lexicon) -> list[Word]:
    """The words of ``words`` whose initials spell ``short``: one compound of two known
    words ("javascript" → "js"), or words at consecutive positions ("new york city")."""
    for w in words:
        text = w.text
        if len(short) == 2 and len(text) >= 6 and text[0] == short[0]:
            for cut in range(3, len(text) - 2):
                if (
                    text[cut] == short[1]
                    and _known(text[:cut], lexicon)
                    and _known(text[cut:], lexicon)
                ):
                    return [w]
    for i in range(len(words) - len(short) + 1):
        run = words[i : i + len(short)]
        if all(b.position == a.position + 1 for a, b in pairwise(run)) and (
            "".join(w.text[0] for w in run) == short
        ):
            return run
    return []


def _known(part: str, lexicon: Lexicon) -> bool:
    return len(part) >= 3 and not lexicon.unknown(part)
