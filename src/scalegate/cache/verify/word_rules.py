"""Rules read from two prompts' words alone, after their roles (:mod:`.rules`): who is had
to act ("apologize to my girlfriend" / "get my girlfriend to apologize", v71), an act
prevented against the same act brought about ("make my dog bark" / "stop my dog from
barking", v75), a title told apart by its article ("who wrote invisible man" / "… the
invisible man", v77), a verb's "someone" left out ("interviewing *someone* for a
position" / "interviewing for a position", v89), and the thing asked for traded with the
word that says which ("the *index* of an element" / "the *element* at an index", v90)."""

from __future__ import annotations

from collections.abc import Callable

from scalegate.cache.verify.causative import causee_differs
from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.heads import asked_head_traded
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.objects import object_dropped
from scalegate.cache.verify.prevention import prevention_differs
from scalegate.cache.verify.titles import title_article_differs


def _causee_differs(da: Analysis, db: Analysis, lexicon: Lexicon) -> bool:
    return causee_differs(da.words, db.words, lexicon)


# Each rule with the reason it gives, in the order they are asked.
READ_FROM_WORDS: tuple[tuple[Callable[[Analysis, Analysis, Lexicon], bool], str], ...] = (
    (_causee_differs, "order"),
    (prevention_differs, "negation"),
    (title_article_differs, "quoted"),
    (object_dropped, "person"),
    (asked_head_traded, "order"),
)
