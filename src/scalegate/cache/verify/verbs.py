"""Light verbs: when a general verb is wording, and when it stands for another.

A verb of many WordNet senses ("make", "get", "take", "go") is so general that a prompt
adds or drops it without asking anything new ("What *makes* the sky blue?" / "Why is the
sky blue?"); :mod:`.align` excuses it when it is left alone. Put in another's place, it is
no wording: between the same aligned words ("how long does ibuprofen take to *start* /
*keep* working"), or first or last in prompts whose other words around it are the same and
whose doers WordNet names apart ("how to *read*" / "*write* a file"; verifier v41). A
request verb replaced by a light one changes the task, and a particle dropped after the
same verb changes the act ("*rent out*" / "*rent*").
"""

from __future__ import annotations

import bisect

from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.frame import Frame
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.words import Word


def light(x: Word, lexicon: Lexicon) -> bool:
    return not x.noun and not x.coordinated and lexicon.light_verb(x.text)


def replaced(
    left_a: list[Word], left_b: list[Word], pairs: dict[int, int], lexicon: Lexicon
) -> list[Word]:
    """The light verbs of ``left_b`` that stand where one of ``left_a`` stands — between
    the same two aligned words: a light verb added or dropped asks nothing new, one put in
    another's place does ("how long does ibuprofen take to *start* working" / "how long
    does ibuprofen *keep* working")."""
    anchors_a = sorted(pairs.values())
    slots = {_slot(x.position, anchors_a) for x in left_a if light(x, lexicon)}
    slots.discard(None)
    if not slots:
        return []
    anchors_b = sorted(pairs)
    out = []
    for y in left_b:
        slot = _slot(y.position, anchors_b)
        if slot is None or not light(y, lexicon):
            continue
        if (pairs[slot[0]], pairs[slot[1]]) in slots:
            out.append(y)
    return out


def converse_at_edge(
    words: tuple[list[Word], list[Word]],
    left: tuple[list[Word], list[Word]],
    pairs: dict[int, int],
    lexicon: Lexicon,
    frames: tuple[Frame, Frame],
) -> list[Word]:
    """Two light verbs, each the first (or last) content word of a prompt, after (or
    before) the same words in both, whose doers WordNet names apart: "how do I *send*
    money" / "how do I *receive* money" (a sender, a receiver), "how to *read*" / "*write* a
    file" (verifier v41). The same words around them make the verb the one difference;
    where they differ, the verb is wording ("*Translate* X into Spanish" / "How do you *say*
    X in Spanish"). Nor are they before a person or an animal, whom they get to do
    something ("how to *train*" / "*get* my puppy to stop biting"), nor inflected ("*tips*
    for …", "my dog *keeps* …"). A verb without a doer in WordNet counts only where the
    rest of the prompts is the same word for word (v43: "How do I *get*" / "*set* the value
    of a cookie"; not "*remove* a stain from" / "*get* a stain out of" a rug)."""
    (a, b), (left_a, left_b) = words, left
    anchors_a, anchors_b = sorted(pairs.values()), sorted(pairs)
    if not (anchors_a and a and b):
        return []
    for side, i, anchor in ((0, 0, anchors_b[0]), (1, -1, anchors_b[-1])):
        x, y = a[i], b[i]
        if (
            x in left_a
            and y in left_b
            and frames[0].edges[side] == frames[1].edges[side]
            and (y.position < anchor) == (side == 0)
            and _doers_apart(x, y, lexicon, _rest(frames[0], x) == _rest(frames[1], y))
            and not any(w.position == anchor and lexicon.animate(w.text) for w in b)
        ):
            return [y]
    return []


def act_for_thing(
    left: tuple[list[Word], list[Word]],
    pairs: dict[int, int],
    lexicon: Lexicon,
    frames: tuple[Frame, Frame],
) -> list[Word]:
    """One word left in each prompt, both before everything the two share: a noun in one
    and a light verb in the other ask about one thing two ways — "what are the *signs* of a
    gout flare" / "how do you *treat* a gout flare" (v100). Not a verb WordNet derives the
    noun from ("the *treatment* of" / "how do you *treat*": aligned before)."""
    (left_a, left_b), anchors = left, sorted(pairs)
    if len(left_a) != 1 or len(left_b) != 1 or not anchors:
        return []
    x, y = left_a[0], left_b[0]
    first_a = min(pairs.values())
    if x.position > first_a or y.position > anchors[0]:
        return []
    for noun, verb, asked in ((x, y, frames[1]), (y, x, frames[0])):
        # Asked with "how do you …", not a request's own verb: "*Write* a …" / "what's a
        # good …".
        if noun.noun and not light(noun, lexicon) and light(verb, lexicon) and asked.edges[0]:
            return [verb]
    return []


def _doers_apart(x: Word, y: Word, lexicon: Lexicon, alike: bool) -> bool:
    """Two light verbs as written in their base form whose doers have no name in common;
    ``alike``: the rest of the prompts is the same, so a verb without a doer counts too."""
    if not all(light(w, lexicon) and "v" in lexicon.poses(w.text) for w in (x, y)):
        return False
    agents_x, agents_y = lexicon.agents(x.text), lexicon.agents(y.text)
    return bool(alike or (agents_x and agents_y)) and not agents_x & agents_y


def _rest(frame: Frame, verb: Word) -> tuple[str, ...]:
    """The prompt's sequence without ``verb``, and without the particle of a phrasal verb
    that the sequence also holds as a relation ("*put out* a fire": "=out", v54), nor a
    possessive's "'s" ("a user *access*" / "a user*'s* access", v94)."""
    after = verb.position + 1
    particle = "=" + verb.text.rpartition("_")[2]
    if "_" in verb.text and frame.sequence[after : after + 1] == (particle,):
        after += 1
    rest = frame.sequence[: verb.position] + frame.sequence[after:]
    return tuple(w for w in rest if w != "='s")


def _slot(position: int, anchors: list[int]) -> tuple[int, int] | None:
    """The aligned positions right before and after ``position``, when it has both."""
    i = bisect.bisect(anchors, position)
    return (anchors[i - 1], anchors[i]) if 0 < i < len(anchors) else None


def task_replaced(a: Analysis, b: Analysis, pairs: dict[int, int], lexicon: Lexicon) -> str | None:
    """A light verb left alone where the other prompt has its request verb: the task, not
    a word added — "*explain* the Pythagorean theorem" / "*prove* the Pythagorean theorem"
    (a request verb frames a prompt and is dropped, a light verb is excused elsewhere)."""
    for framed, other, aligned in ((a, b, set(pairs)), (b, a, set(pairs.values()))):
        at = other.imperative
        if framed.task and at >= 0 and at not in aligned:
            word = other.sequence[at]
            if lexicon.light_verb(word):
                return word
    return None


def particle_dropped(a: Analysis, b: Analysis, pairs: dict[int, int], lexicon: Lexicon) -> bool:
    """The same verb with an adverb particle in one prompt and without it in the other:
    "how do I *rent out* my apartment" / "how do I *rent* an apartment". A phrasal verb
    WordNet lists ("give up") is already a word of its own and not read here; nor a word
    not usually a verb."""
    words_a = {w.position: w for w in a.content}
    words_b = {w.position: w for w in b.content}
    for b_pos, a_pos in pairs.items():
        x, y = words_a.get(a_pos), words_b.get(b_pos)
        if x is None or y is None or not x.keys & y.keys or "_" in x.text + y.text:
            continue
        if not any(lexicon.verbal(w.text) for w in (x, y)):
            continue  # "get a stripped *screw out*": a particle after its object
        if (a_pos in a.particles) != (b_pos in b.particles):
            return True
    return False
