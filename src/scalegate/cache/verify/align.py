"""Alignment: every content word of each prompt must find its counterpart in the other.

The two content sequences are diffed first (:class:`difflib.SequenceMatcher`): what the
prompts share in order costs nothing, so a 60-word prompt that differs in one word is
judged by that one word, whatever its cosine. The words left over are paired across the
prompts — by a shared lemma (a word moved, or inflected: "bigger"/"big", "went"/"go"),
then by a WordNet synonym ("car"/"automobile"). Before a synonym pairing, the pair is
checked for opposition: a negating affix on the same stem ("possible"/"impossible",
"paid"/"unpaid", "careful"/"careless") is ``negation``, a WordNet antonym is ``antonym``.
A word still alone is ``unaligned:<word>``: a name, a topic, a detail the other prompt
does not ask about — the question is not the same.
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import SequenceMatcher

from scalegate.cache.verify.acronyms import pair_abbreviations
from scalegate.cache.verify.frame import NO_FRAME, Frame
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.typos import clipped, misspelt
from scalegate.cache.verify.verbs import act_for_thing, converse_at_edge, light, replaced
from scalegate.cache.verify.words import Word

_NEG_PREFIXES = ("un", "in", "im", "il", "ir", "non", "dis", "non-", "a")
_NEG_SUFFIXES = (("less", ("", "ful", "y", "ed")), ("free", ("",)))


def align(
    a: list[Word],
    b: list[Word],
    lexicon: Lexicon,
    *,
    all_senses: bool,
    praise: bool = False,
    frames: tuple[Frame, Frame] = (NO_FRAME, NO_FRAME),
) -> tuple[str | None, dict[int, int]]:
    """(reason or None, positions in ``b`` → positions in ``a`` of aligned words);
    ``praise``: "good" before a noun may stand alone (:func:`_praise`); ``frames``: what
    each prompt says around its content words (:class:`Frame`)."""
    pairs: dict[int, int] = {}
    left_a, left_b = _diff(a, b, pairs)
    _pair(left_a, left_b, pairs, lambda x, y: bool(x.keys & y.keys))  # inflected, or moved
    _closed_compounds(left_a, left_b, pairs, reverse=False)  # "light bulb" / "lightbulb"
    _closed_compounds(left_b, left_a, pairs, reverse=True)
    _pair(left_a, left_b, pairs, lambda x, y: misspelt(x, y, lexicon))  # typed wrong once
    _pair(left_a, left_b, pairs, lambda x, y: clipped(x, y, lexicon))  # "dict" / "dictionary"
    pair_abbreviations(left_a, left_b, pairs, lexicon)  # "JS" / "JavaScript"
    for x, y in [(x, y) for x in left_a for y in left_b]:  # "how *long*" / "cooking *time*"
        if (
            x in left_a
            and y in left_b
            and (
                _how_long(x, a, frames[0], y, b, lexicon)
                or _how_long(y, b, frames[1], x, a, lexicon)
            )
        ):  # what the question asks, not a word in a role: no anchor for the role rules
            left_a.remove(x)
            left_b.remove(y)
    for x in list(left_a):
        for y in left_b:
            reason = opposed(x, y, lexicon)
            if reason is not None:
                return reason, pairs
            if _synonyms(x, y, lexicon, all_senses) and not _measures_differ(
                (x, a, frames[0]), (y, b, frames[1]), lexicon
            ):
                pairs[y.position] = x.position
                left_a.remove(x)
                left_b.remove(y)
                break
    for x, others in [(x, b) for x in left_a] + [(y, a) for y in left_b]:
        # A word left alone may still oppose one already aligned ("hot and spicy" / "cold
        # and spicy"): only its own antonyms are read, which keeps a cold lookup cheap.
        for other in others:
            reason = opposed(x, other, lexicon, both_ways=False)
            if reason is not None:
                return reason, pairs
    alone = [
        x
        for x in left_a
        if not (
            _implied(
                x,
                a,
                b,
                lexicon,
                praise,
                (frames[1].defines, frames[0].asks_what_is),
            )
            or _framed(x, frames[1], lexicon)
        )
    ] or [
        y
        for y in left_b
        if not (
            _implied(
                y,
                b,
                a,
                lexicon,
                praise,
                (frames[0].defines, frames[1].asks_what_is),
            )
            or _framed(y, frames[0], lexicon)
        )
    ]
    if not alone:
        alone = (
            replaced(left_a, left_b, pairs, lexicon)
            or converse_at_edge((a, b), (left_a, left_b), pairs, lexicon, frames)
            or act_for_thing((left_a, left_b), pairs, lexicon, frames)
        )
    return (f"unaligned:{alone[0].text}" if alone else None), pairs


def _how_long(
    x: Word, own: list[Word], frame: Frame, y: Word, others: list[Word], lexicon: Lexicon
) -> bool:
    """``x`` is the "long" of a question that opens with "how long", ``y`` a noun of the
    other prompt WordNet makes a period of time: "*how long* do cats live" / "the average
    *lifespan* of a cat", "*how long* to cook a turkey" / "*cooking time* for a turkey"
    (verifier v44). "time" itself only with a word before it: "what *time*" asks a clock."""
    if x.text != "long" or not own or own[0] is not x or "how" not in frame.questions:
        return False
    if not any("time_period" in lexicon.broader(k) for k in y.keys):
        return False
    return "time" not in y.keys or any(w.position == y.position - 1 for w in others)


def _measures_differ(
    x: tuple[Word, list[Word], Frame], y: tuple[Word, list[Word], Frame], lexicon: Lexicon
) -> bool:
    """Two "how" questions that ask for different measures: "how *deep*" (depth) / "how
    *wide*" (width), which share a rare sense (verifier v48). Each word, its prompt's
    content words and its frame."""

    def measure(word: Word, own: list[Word], frame: Frame) -> frozenset[str]:
        if not own or own[0] is not word or frame.edges[0][-1:] != ("how",):
            return frozenset()
        return frozenset(a for k in word.keys for a in lexicon.attributes(k))

    ma, mb = measure(*x), measure(*y)
    return bool(ma and mb) and not ma & mb


def _pair(
    left_a: list[Word],
    left_b: list[Word],
    pairs: dict[int, int],
    same: Callable[[Word, Word], bool],
) -> None:
    """Pair each word left in ``left_a`` with the first in ``left_b`` it is ``same`` as."""
    for x in list(left_a):
        y = next((y for y in left_b if same(x, y)), None)
        if y is not None:
            pairs[y.position] = x.position
            left_a.remove(x)
            left_b.remove(y)


def _closed_compounds(
    two: list[Word], one: list[Word], pairs: dict[int, int], *, reverse: bool
) -> None:
    """Two words next to each other in one prompt that the other writes as one: "light
    bulb" / "lightbulb", "Wi-Fi" / "wifi", "time zones" / "timezones" (verifier v37). The
    first of the two is paired with it, the second goes with the first."""
    for x1, x2 in zip(list(two), list(two[1:]), strict=False):
        if x2.position != x1.position + 1 or x1 not in two or x2 not in two:
            continue
        joined = {x1.text + k for k in x2.keys}
        y = next((y for y in one if joined & y.keys), None)
        if y is None:
            continue
        if reverse:
            pairs[x1.position] = y.position
        else:
            pairs[y.position] = x1.position
        two.remove(x1)
        two.remove(x2)
        one.remove(y)


def _implied(
    x: Word,
    own: list[Word],
    others: list[Word],
    lexicon: Lexicon,
    praise: bool,
    defining: tuple[bool, bool],
) -> bool:
    """A word left alone that asks nothing new: a light verb ("what *makes* the sky blue"),
    or a noun more general than a word of the other prompt ("the capital *city*").

    Neither excuses an item added to a list ("How many states *and territories* …"): it
    widens the question whatever its generality; nor a capitalised noun after a
    determiner, a name's word ("the *City* of London"), unlike one after a preposition
    ("How many continents are there *on Earth*?"). And a word after a determiner or a
    preposition is a noun, not a light verb: "London to Paris *by train*" narrows it."""
    if x.coordinated or _names_which(x, own, lexicon):
        return False  # nor a name's word: "the *City* of London" is not London
    if light(x, lexicon) and (_says_what_it_does(x, own, lexicon) or _attributive(x, lexicon)):
        return False
    # Against "What is a pivot table?", "*make* one" (v43) — unless the prompt asks what
    # it is too ("What is compound interest and how does it *work*?", v62); "good" never.
    other_defines, asks_too = defining
    if light(x, lexicon):
        return not other_defines or asks_too
    if praise and _praise(x, own, lexicon):
        return not other_defines
    return any(k in lexicon.broader(ko) for k in x.keys for o in others for ko in o.keys)


def _names_which(x: Word, own: list[Word], lexicon: Lexicon) -> bool:
    """A name's word ("the *City* of London"), or a kind before "of" and a name of it, saying
    which it is (v78): "the *city* of london", "the *state* of washington"."""
    return (x.capital and x.noun and not x.preposition) or any(
        w.of == x.text
        and lexicon.named(w.text)
        and any(k in lexicon.broader(kw) for k in x.keys for kw in w.keys)
        for w in own
    )


def _attributive(x: Word, lexicon: Lexicon) -> bool:
    """A word as often an adjective as a verb right before a noun, no determiner between:
    "*free* things to do in London", "*open* restaurants" narrow what is asked for — not
    "*correct* the grammar", "*make* pancakes" (verifier v70)."""
    return x.before_noun and lexicon.adjectival(x.text)


def _says_what_it_does(x: Word, own: list[Word], lexicon: Lexicon) -> bool:
    """A light verb in the third person that ends its prompt right after a noun says what
    that noun does — no word a prompt may drop: "the end of *the dark knight rises*" is
    not "the end of *the dark knight*" (verifier v45)."""
    return (
        own[-1] is x
        and x.text.endswith("s")
        and "v" not in lexicon.poses(x.text)
        and any(w.position == x.position - 1 for w in own)
    )


def _framed(x: Word, other: Frame, lexicon: Lexicon) -> bool:
    """A word left alone that says what the other prompt's frame does: "difference" where
    the other sets the two things against each other with "vs" ("What's the *difference*
    between baking soda and baking powder?" / "baking soda *vs* baking powder?"), a noun
    WordNet makes broader than the other's question word read as a noun ("What is the
    *reason* cats purr?" / "*Why* do cats purr?": "a why" is a reason)."""
    if other.versus and "difference" in x.keys:
        return True
    return x.noun and any(k in lexicon.broader(q) for q in other.questions for k in x.keys)


def _praise(x: Word, own: list[Word], lexicon: Lexicon) -> bool:
    """ "good", "better" or "best" before the noun a prompt asks for ("What's a *good*
    stretch for tight hamstrings?" / "Which stretch helps with tight hamstrings?", verifier
    v30): a request asks for good ones; said alone, it narrows nothing. Not a predicate ("Is
    coffee *good* for you?", "Is running *good* exercise?" ask just that: the caller says
    when a prompt is a yes/no question with "be"), nor against another adjective ("better"
    / "cheaper": that one is left alone) or its antonym ("good" / "bad": opposed before).
    After an article it is still an adjective when a noun follows ("a *good* stretch"; v42:
    v30 to v41 read it as a noun there and refused its own example)."""
    if "good" not in x.keys or x.text == "goods":
        return False
    # Its noun next, or after a number before a noun ("*good* two-player games", v90).
    reach = (x.position + 1, x.position + 2) if x.before_noun else (x.position + 1,)
    after = next((w for w in own if w.position in reach), None)
    return after is not None and any("n" in lexicon.poses(k) for k in after.keys)


def _diff(a: list[Word], b: list[Word], pairs: dict[int, int]) -> tuple[list[Word], list[Word]]:
    """Pair the words the two sequences share in order; return the rest of each."""
    seq_a = [min(w.keys) for w in a]
    seq_b = [min(w.keys) for w in b]
    matcher = SequenceMatcher(None, seq_a, seq_b, autojunk=False)
    used_a: set[int] = set()
    used_b: set[int] = set()
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs[b[block.b + k].position] = a[block.a + k].position
            used_a.add(block.a + k)
            used_b.add(block.b + k)
    return (
        [w for i, w in enumerate(a) if i not in used_a],
        [w for i, w in enumerate(b) if i not in used_b],
    )


def opposed(x: Word, y: Word, lexicon: Lexicon, *, both_ways: bool = True) -> str | None:
    """``"negation"`` for one stem with and without a negating affix, ``"antonym"`` for a
    WordNet antonym (of ``x``, and of ``y`` when ``both_ways``), else ``None``."""
    if x.keys & y.keys:
        return None
    if _negated(x, y) or _negated(y, x):
        return "negation"
    if any(ky in lexicon.antonyms(kx) for kx in x.keys for ky in y.keys):
        return "antonym"
    if both_ways and any(kx in lexicon.antonyms(ky) for kx in x.keys for ky in y.keys):
        return "antonym"
    return None


def _negated(x: Word, y: Word) -> bool:
    """``x`` is ``y`` with a negating prefix or a "-less" suffix."""
    for kx in x.keys | {x.text}:
        for ky in y.keys | {y.text}:
            if len(ky) < 3:
                continue
            if any(kx == p + ky for p in _NEG_PREFIXES if p != "a" or len(ky) > 5):
                return True
            for suffix, others in _NEG_SUFFIXES:
                stem = kx.removesuffix(suffix)
                if stem != kx and len(stem) > 2 and any(ky == stem + o for o in others):
                    return True
    return False


def _synonyms(x: Word, y: Word, lexicon: Lexicon, all_senses: bool) -> bool:
    """Synonyms in WordNet; two units of measure only in their first senses: a later sense
    joins "every *hour*" / "every *minute*" ("moment"), and "in *minutes*" / "in *seconds*"
    (verifier v35), the first one "hours" / "hrs"."""
    related = lexicon.all_synonyms if all_senses else lexicon.synonyms
    if _unit(x, lexicon) and _unit(y, lexicon):
        related = lexicon.main_sense
    split = lexicon.split_sense  # and, for a name's later sense, names_apart (v79)
    if any(
        lexicon.converse(kx, ky) or lexicon.kind_of(kx, ky) or lexicon.kind_of(ky, kx)
        for kx in x.keys
        for ky in y.keys
    ):
        return False  # "teaching" / "learning", "median" / "average" (a kind of it; v38)
    # Two words usually nouns, one used as one, meet in more than a verb sense: "the
    # *number*" / "*amount*" share only "to number / to amount to" (v41).
    noun = (x.noun or y.noun) and not (_verb_like(x, lexicon) or _verb_like(y, lexicon))
    # Both nouns by their place, "a *raise*" / "a *promotion*": not through a verb (v47).
    nouns = x.noun and y.noun and not (_gerund(x, lexicon) or _gerund(y, lexicon))
    # Two "-ing" forms, not through their stems' nouns: "*leading*" / "*trailing*" (v86).
    gerunds = _gerund(x, lexicon) and _gerund(y, lexicon)
    return any(
        (ky in related(kx) or kx in related(ky))
        and not (split(kx, ky) or split(ky, kx) or lexicon.names_apart(kx, ky))
        and not (lexicon.late_sense(kx, ky) or lexicon.late_sense(ky, kx))
        and not lexicon.side_sense(kx, ky)
        and not (noun and lexicon.verbs_only(kx, ky))
        and not (nouns and lexicon.verb_link_only(kx, ky))
        and not (gerunds and kx != x.text and ky != y.text and lexicon.nouns_only(kx, ky))
        for kx in x.keys
        for ky in y.keys
    )


def _verb_like(x: Word, lexicon: Lexicon) -> bool:
    """Usually a verb, or a verb's "-ing" form: "When *traveling* to …" / "a *trip* to …"."""
    return lexicon.verbal(x.text) or _gerund(x, lexicon)


def _gerund(x: Word, lexicon: Lexicon) -> bool:
    """A verb's "-ing" form: "tips for *organising*", "a *leaking* faucet"."""
    return x.text.endswith("ing") and lexicon.may_be_verb(x.text)


def _unit(x: Word, lexicon: Lexicon) -> bool:
    """A unit of measure in its first senses: a time, length, money … unit in WordNet."""
    return any(
        b.endswith("_unit") or b.startswith("unit_of") for k in x.keys for b in lexicon.broader(k)
    )
