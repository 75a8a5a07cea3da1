"""Prepositions that change what a noun is to the question (issue 15, verifier v11).

Most prepositions are wording ("tips *on* X" / "tips *about* X", "a book *on* Rome" / "a
book *about* Rome"), and a preposition in one prompt only says nothing. Two readings do not
meet, for a word both prompts align:

* an agent or author — a name or a person — against a topic: "books *by* Stephen King" /
  "books *about* Stephen King", "documentaries *by* David Attenborough" / "… *about* …"
  (but "split a string *by* commas" = "… *on* commas");
* after a person or an animal, "on" is a state and "about" a topic: "talk to my teenager
  *about* drugs" / "talk to my teenager *on* drugs" ("a patient on insulin", "a dog on a
  leash") — while after a book, a talk or tips the two are one.
"""

from __future__ import annotations

from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.lexicon import Lexicon

TOPIC = frozenset({"about", "on", "regarding", "concerning"})
AGENT = "by"


def relation_differs(
    da: Analysis, db: Analysis, pairs: dict[int, int], lexicon: Lexicon
) -> str | None:
    """``"relation"`` when an aligned word is introduced by prepositions that do not meet
    (see the module doc); ``pairs`` maps ``db``'s content positions to ``da``'s."""
    words_a = {w.position: w for w in da.content}
    for wb in db.content:
        wa = words_a.get(pairs.get(wb.position, -1))
        if wa is None or not wa.preposition or not wb.preposition:
            continue
        preps = {wa.preposition, wb.preposition}
        if len(preps) < 2:
            continue
        if (
            AGENT in preps
            and preps & TOPIC
            and (wa.capital or wb.capital or lexicon.animate(wa.text))
        ):
            return "relation"  # "by" someone, not "split … by commas" ("on commas")
        if preps == {"about", "on"} and wa.head and wa.head == wb.head and lexicon.animate(wa.head):
            return "relation"
    return None
