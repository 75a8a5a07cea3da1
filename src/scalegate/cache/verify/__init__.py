"""Verification of semantic cache hits: do two prompts an embedding calls alike ask the same?

Sentence embeddings measure topic and wording, not the details an answer hinges on:
all-MiniLM-L6-v2 scores "Convert 100 F to C" against "Convert 100 C to F" at 0.95, and
"Can I rent a car …" against "Can she rent a car …" at 0.98. Yet a casual paraphrase
("3 yr old laptop, battery used to give me 8 hours …") often scores below 0.90. So the
cache's threshold is low (0.85) and this verifier is the judge: a hit is served only when
it finds nothing in one prompt that the *other contradicts*. It is built to generalise to
prompts nobody here wrote, not from lists of past failures:

1. closed-class details (:mod:`.features`, compared by :mod:`.compare`): numbers as values
   with their units ("five km" = "5 kilometers"), times, quoted and code spans, symbols and
   operators (``//`` / ``/`` outside quotes too), a share against a plain number ("by
   15%" / "by 15"), bounds that include their number ("12 and under" / "under 12"),
   negation parity per clause ("and", "or", "but" open one), persons (I/we/he/she/
   they, not possessives), quantifier classes, modal force (modals and deontic words:
   "required", "allowed"; "forbidden" = "not allowed"), tense (also of the auxiliary a
   question word's phrase leads — "What currency *did* …" — and of be/do before a verb
   both prompts have), a yes/no question opening with a modal or with do, direction
   (a particle "in" against "out"), the question word, connectives ("and" against "or"),
   and the letter case of a short word both prompts write with a capital ("Co" / "CO",
   "%m" / "%M"; not in a prompt typed all in lower case).
   A detail in one prompt
   only is wording ("any tips to …", "Is it safe to …" / "Can I safely …"); one the other
   contradicts is a veto ("all" / "any", "should" / "can", "on" / "off", "did" / "will",
   "I" / "she");
2. every content word aligned with one of the other prompt (:mod:`.align`) by lemma,
   WordNet synonym, a derived word's synonyms ("wrote" / "author") or an attribute
   ("speed" / "fast"), as a closed compound ("light bulb" / "lightbulb") or as an
   abbreviation and the words it stands for ("JS" / "JavaScript", "NYC" / "New York
   City", :mod:`.acronyms`), "how *long*" and a period of time ("cooking *time*"), after a
   diff of the two word sequences; a plural WordNet lists as a noun of its own does not
   stand for its singular ("spectacles" / "spectacle"), nor a verb for one whose doer has
   another name ("teach" / "learn": teacher, learner), nor a noun for a word it shares a
   verb sense with only ("the *number*" / "*amount*"). A negating affix or a
   WordNet antonym is a veto. A word left alone is a veto ``unaligned:<word>`` unless it
   asks nothing new: a light verb (8+ WordNet senses: "what *makes* the sky blue"; not
   one that ends a prompt saying what a noun does, "the dark knight *rises*"), a
   word misspelt or cut short on one side ("diffrence", "dict"), "good" before the noun a
   request asks for,
   what the other prompt's frame says ("difference" / "vs", "reason" / "why") or a
   noun more general than a word of the other prompt — but never a noun after a
   determiner or preposition ("to Paris *by train*") or a plural after its noun ("my oven
   *racks*"), nor an item added to a list ("states *and territories*"); and a light verb
   put in another's place is no wording — between the same aligned words, or at a
   prompt's edge when WordNet names their doers apart ("*read*" / "*write* a file":
   reader, writer) or the rest of the prompts is word for word the same ("*get*" /
   "*set* a cookie's value"); nor is a light verb or "good" against a question that
   defines a kind ("What is a pivot table?" / "How do I *make* one?"). Aligned words of
   one lemma must agree in tense and degree
   ("happened" / "happens", "hottest" / "hot"; "was invented by whom" is "invented",
   :mod:`.inflection`), and the prepositions before them must
   meet (:mod:`.relations`: "books *by* X" is not "books *about* X");
3. roles: the subject a question asks about (after its auxiliary, or "for X to": a
   pronoun or a possessed noun) must be the same ("Should *I* …" / "Should *my cousin*
   …"), and no two nominal words (nouns, names, persons) may trade places across a word
   that stays between them in one clause (a phrase that opens the sentence, "On my Mac,
   …", read at its end) — a verb, a preposition, "than", "and", "using" ("Did
   Burr shoot Hamilton?" / "Did Hamilton shoot Burr?", "my dog bit the neighbor's child" /
   "the neighbor's child bit my dog"); a verb both prompts have must have the same actor
   — a person, or a noun phrase its determiner opened — when a pronoun is one of them or
   one actor is the other's object ("*She* forgot my birthday" / "*I* forgot her
   birthday"); the subject after do-support stays a subject ("What does inflation
   cause?" / "What causes inflation?"); the two sides of "be" stay ("Is a square a
   rectangle?"), and so do numbers in their slots ("Python 2 … to Python 3"), two nouns
   of a compound and the noun each number stands before (:mod:`.modifiers`: "chocolate
   milk" / "milk chocolate", "a 110V appliance into a 220V outlet"); a thing
   both prompts own has owners that agree ("registered in *his* name" / "in *my* name";
   "his" may stand for a noun, "your" for anyone); see :mod:`.roles`.

Word lists (:mod:`.classes`, :mod:`.units`) are closed grammatical classes and spelling
normalisation; sameness of open-class words is decided by the lexicon (simplemma and
WordNet, :mod:`.lexicon`), never by a list. No POS tagger: the one part of speech the
role rule needs ("is this word usually a verb?") comes from WordNet's tagged-sense counts.
No NLI model either: none found on PyPI ships usable weights that run without torch (the
one ONNX candidate tried was a binary classifier at 44 ms a pair, benchmarks/data/README.md).

:func:`near_miss_reason` returns the first failing rule (``numbers``, ``negation``,
``person``, ``antonym``, ``unaligned:<word>``, ``order``, …) or ``None``; ``strictness``
is ``"strict"`` (default) or ``"balanced"`` (:mod:`.rules`). It only ever refuses hits.
If WordNet is missing it refuses every pair (``lexicon-unavailable``), logged once.
"""

from __future__ import annotations

from functools import cache

from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.rules import STRICTNESS, Verifier

__all__ = [
    "STRICTNESS",
    "Lexicon",
    "Verifier",
    "default_verifier",
    "near_miss_reason",
    "rule",
    "warm",
]


@cache
def default_verifier() -> Verifier:
    """The process's verifier over the system WordNet (a convenience over :class:`Verifier`)."""
    return Verifier()


def near_miss_reason(a: str, b: str, strictness: str = "strict") -> str | None:
    """Why ``a`` and ``b`` must not share an answer, or ``None`` when nothing tells them apart."""
    return default_verifier().reason(a, b, strictness)


def rule(reason: str) -> str:
    """The rule a reason names, without its detail ("unaligned:flu" → "unaligned"): a
    bounded value for metrics labels."""
    return reason.partition(":")[0]


def warm() -> None:
    """Warm the process's verifier (:meth:`Verifier.warm`); blocking, so run it in a thread."""
    default_verifier().warm()
