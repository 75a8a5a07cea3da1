"""One word typed wrong or cut short on one side (issue 15), for :mod:`.align`: a word
no dictionary knows, one edit from a word that is known ("diffrence"), or the start of one
("dict" / "dictionary"). A name is never a typo."""

from __future__ import annotations

from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import one_edit
from scalegate.cache.verify.words import Word


def misspelt(x: Word, y: Word, lexicon: Lexicon) -> bool:
    """One word typed wrong on one side (verifier v29): a word no dictionary knows, one
    edit from a word that is known — a letter dropped, added, changed or two swapped
    ("diffrence", "keybaord", "horizontaly") — with the same first letter (typists rarely
    miss it; "iphone" / "phone" differ there) and five letters or more on each side (two
    short words one edit apart are often two words: "cat" / "cab"). Not a capitalised
    word: a name ("Jon" / "John") is not a typo."""
    tx, ty = x.text, y.text
    if (
        len(tx) < 5
        or len(ty) < 5
        or tx[0] != ty[0]
        or x.capital
        or y.capital
        or lexicon.unknown(tx) == lexicon.unknown(ty)
    ):
        return False
    return one_edit(tx, ty)


def clipped(x: Word, y: Word, lexicon: Lexicon) -> bool:
    """One word cut short on one side (verifier v34): a word of three letters or more that
    no dictionary knows, the start of a longer word that is known — "dict" / "dictionary",
    "config" / "configuration", "diff" / "difference". A short word that is a word of its
    own is another word ("car" / "carpet", "pan" / "pancake"), and so is a name."""
    if len(x.text) > len(y.text):
        x, y = y, x
    short, long = x.text, y.text
    if (
        len(short) < 3
        or len(long) < len(short) + 2
        or not long.startswith(short)
        or not short.isalpha()
        or x.capital
        or y.capital
    ):
        return False
    return lexicon.unknown(short) and not lexicon.unknown(long)
