"""Prepositions that change what a noun is to the question (issue 15, verifier v11).

Most prepositions are wording ("tips *on* X" / "tips *about* X", "a book *on* Rome" / "a
book *about* Rome"), and a preposition in one prompt only says nothing. Two readings do not
meet, for a word both prompts align:

* an agent or author — a name or a person — against a topic: "books *by* Stephen King" /
  "books *about* Stephen King", "documentaries *by* David Attenborough" / "… *about* …"
  (but "split a string *by* commas" = "… *on* commas");
* after a person or an animal, "on" is a state and "about" a topic: "talk to my teenager
  *about* drugs" / "talk to my teenager *on* drugs" ("a patient on insulin", "a dog on a
  leash") — while after a book, a talk or tips the two are one;
* two words of place or direction (:data:`.classes.DIRECTION`, verifier v31): "walk
  *across* the bridge" / "walk *under* the bridge", "fly *over*" / "fly *across*" (which
  may mean one path, and is refused: a miss costs less than a wrong answer) — since v32
  any such word introduces its noun ("mold *on*" / "*behind* drywall"), but "from", "off"
  and "out" all say where a thing is taken from; since v35 also "in" against a word of
  place it opposes ("*in*" / "*outside* the fridge", "*in*" / "*out of* their shells");
* a time that bounds ("since", "until", "before", "after") against any other preposition
  (v32): "files changed *in* a commit" / "*since* a commit";
* "from", a source, against "to" or "for", a goal, after one word (v97): "use airline
  miles *for* hotels" / "get airline miles *from* hotels", "a gift *for*" / "*from* my boss"
  (not "*recover* from" / "recovery *time* for" a sprain; "what to expect *from*" / "*for*
  a colonoscopy" is refused too: a miss costs less than a wrong answer);
* "per", a grouping, against a preposition of extent (v41): "average salary *per*
  department" / "*across* all departments" (not "cups *per*" / "*in* a quart");
* "with" against a word of place after a verb WordNet makes a phrasal verb with either
  (v36): "what goes *on*" / "what goes *with* a Caesar salad" — not "sharpen a knife
  *with*" / "*on* a whetstone".

And one relation word of the sequence replaced by another (:func:`relation_replaced`):
"say *to* someone" / "say *about* someone" ("about" is loose only with "for" and "of");
and one left at the end of its clause in one prompt that takes an object in the other
(:func:`stranded`).
"""

from __future__ import annotations

from collections.abc import Sequence

from scalegate.cache.verify import classes as c
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
        if (preps <= c.DIRECTION or _opposed(preps)) and not preps <= _SOURCE:
            return "direction"  # "across" / "under" the bridge, "on" / "behind" drywall
        if "from" in preps and preps & _GOAL and _same_head(wa.head, wb.head, lexicon):
            return "direction"  # miles "*for* hotels" / "*from* hotels" (v97)
        if "per" in preps and preps & _EXTENT:
            return "relation"  # "average *per* customer" / "*across* all customers" (v41)
        if preps & _BOUNDS:
            return "relation"  # "changed *in*" / "changed *since* a commit"
        if "with" in preps and preps & c.DIRECTION and _phrasal(wa.head, preps, lexicon):
            return "relation"  # "goes *on*" / "goes *with* a salad" (verifier v36)
    return None


def _same_head(x: str, y: str, lexicon: Lexicon) -> bool:
    """Both prepositions follow one word: "a gift *for*" / "*from* my boss", not "*recover*
    from" / "recovery *time* for" a sprain, two ways to say one thing."""
    return bool(x and y and lexicon.keys(x) & lexicon.keys(y))


def _opposed(preps: set[str]) -> bool:
    """Two prepositions of place that oppose (:data:`.classes.OPPOSITE_GROUPS`), "in" among
    them: "store potatoes *in*" / "*outside* the fridge", "eggs *in*" / "*out of* their
    shells" (verifier v35)."""
    return any(preps <= group for group in c.OPPOSITE_GROUPS)


def _phrasal(verb: str, preps: set[str], lexicon: Lexicon) -> bool:
    """``verb`` makes a phrasal verb in WordNet with one of ``preps``: "go with" (suit)
    is not "go on", while "sharpen a knife *with*" / "*on* a whetstone" are one act."""
    return any(
        "v" in lexicon.poses(f"{base}_{prep}") for base in lexicon.keys(verb) for prep in preps
    )


def relation_replaced(a: list[str], b: list[str], lexicon: Lexicon) -> bool:
    """The same words in the same order around one relation word that is another, not
    two of the loose ones ("symbol *for* / *of* gold", "translate *into* / *to* French"):
    "arguments *for*" / "arguments *against*", "faster *than*" / "faster *with*" — or
    loose ones that make a phrasal verb in WordNet with the word before them: "*get
    into* Harvard" (be admitted) / "*get to* Harvard" (arrive)."""
    if len(a) != len(b):
        return False
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(changed) != 1 or a[changed[0]][:1] != "=" or b[changed[0]][:1] != "=":
        return False
    i = changed[0]
    relations = (a[i][1:], b[i][1:])
    if not set(relations) <= (_TOPIC if "about" in relations else _LOOSE):
        return True
    before = a[i - 1] if i else ""
    return any(
        "v" in lexicon.poses(f"{verb}_{relation}")
        for verb in lexicon.keys(before)
        for relation in relations
    )


_LOOSE = frozenset({"to", "into", "for", "of", "'s"})
# "about" is loose only with the words of a topic: "tips *about* / *for* / *on* X", not "say
# *to* someone" / "say *about* someone".
_TOPIC = frozenset({"about", "for", "of"})
# Where something is taken from, said three ways: "remove mold *from*" / "get mould *off*" /
# "get the stain *out* of" a shirt.
_SOURCE = frozenset({"from", "off", "out"})
# Where a thing goes or whom it is for, against "from", where it comes from (v97): "use
# airline miles *for* hotels" / "get airline miles *from* hotels", "move money *to*" /
# "*from* savings".
_GOAL = frozenset({"to", "for"})
# What a whole spans, against "per", which groups (v41): "*per* customer" / "*across*
# customers"; not "cups *per* / *in* a quart", "sales *per* / *by* region".
_EXTENT = frozenset({"across", "over", "throughout", "through", "among"})
# A time that bounds (verifier v32): against any other preposition, another question.
_BOUNDS = frozenset({"since", "until", "till", "before", "after"})


def stranded(a: Sequence[str], b: Sequence[str]) -> bool:
    """A preposition that ends its sentence in one prompt, after the same word that it
    follows with an object in the other (verifier v57): "what blood types can someone who
    is O negative donate *to*" asks who receives, "what blood types can donate *to*
    someone who is O negative" who gives. ``a`` and ``b``: the prompts' tokens as written
    (a pronoun or a number is an object, as the content sequence would not show)."""
    for x, y in ((a, b), (b, a)):
        for i in range(1, len(x)):
            if x[i] not in _STRANDED or (i + 1 < len(x) and x[i + 1] not in _ENDS):
                continue
            if any(
                y[j] == x[i] and y[j - 1] == x[i - 1] and _object(y[j + 1])
                for j in range(1, len(y) - 1)
            ):
                return True
    return False


_ENDS = frozenset(".?!;:,")  # what ends a sentence or a clause
_STRANDED = c.PREPOSITIONS | {"to"}  # "donate *to*", "talk *to*"
_NO_OBJECT = (
    _ENDS
    | c.PREPOSITIONS
    | c.COORDINATORS
    | frozenset(
        {
            "if",
            "when",
            "whenever",
            "because",
            "while",
            "unless",
            "so",
            "than",
            "then",
            "before",
            "after",
            "since",
            "until",
            "till",
        }
    )
)


def _object(word: str) -> bool:
    """A word that can be a preposition's object: "on *in* git", "through *if* I …" are
    not."""
    return word not in _NO_OBJECT


def bound_moved(a: Sequence[str], b: Sequence[str]) -> bool:
    """A number a time bound introduces in one prompt ("since", "until", "before",
    "after") and another preposition in the other (v102): "users who joined *before* 2020"
    / "… joined *in* 2020". A number is no aligned word, so :func:`relation_differs` never
    sees it."""
    return _bound_moved(a, b) or _bound_moved(b, a)


def _bound_moved(a: Sequence[str], b: Sequence[str]) -> bool:
    for i in range(len(a) - 1):
        bound, number = a[i], a[i + 1]
        if bound not in _BOUNDS or not number[:1].isdigit():
            continue
        before = {b[j - 1] for j in range(1, len(b)) if b[j] == number}
        if before and bound not in before and before <= c.PREPOSITIONS | _BOUNDS:
            return True
    return False
