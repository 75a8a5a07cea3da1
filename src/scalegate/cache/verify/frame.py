"""What a prompt says around its content words (:class:`Frame`), for :mod:`.align` and
:mod:`.verbs`."""

from __future__ import annotations

from dataclasses import dataclass

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.features import Analysis


@dataclass(frozen=True, slots=True)
class Frame:
    """What a prompt says around its content words that a word of the other prompt may
    only repeat (verifier v30)."""

    versus: bool = False  # sets two things against each other with "vs"
    questions: frozenset[str] = frozenset()  # its question words
    edges: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # words before and after
    sequence: tuple[str, ...] = ()  # :attr:`.features.Analysis.sequence`
    # It asks what a kind of thing is, "What is *a* pivot table?": against it, "What is a
    # *good* morning routine?" asks for a recommendation (v42), "How do I *make* a pivot
    # table?" for a way (v43). Not "What's a *good* stretch …", which asks for one.
    defines: bool = False
    # It opens with "what is" itself: a light verb it adds to a definition asks more of
    # the same kind ("What is compound interest *and how does it work*?", v62).
    asks_what_is: bool = False

    @classmethod
    def of(cls, analysis: Analysis) -> Frame:
        """The frame of one analysed prompt."""
        sequence = analysis.sequence
        opening = analysis.edges[0]
        return cls(
            versus="=vs" in sequence or "=versus" in sequence,
            questions=frozenset(analysis.exact["question"]),
            edges=analysis.edges,
            sequence=tuple(sequence),
            defines=(
                (opening[-3:-1] in _DEFINING and opening[-1] in ("a", "an"))
                # "What is *sourdough discard*?": a bare noun phrase and nothing else (v62)
                or (opening[-2:] in _DEFINING and _bare_noun_phrase(analysis))
            )
            and "good" not in analysis.content[0].keys,
            asks_what_is=tuple(w for w in analysis.words if w not in _END)[:2] in _DEFINING,
        )


NO_FRAME = Frame()
_DEFINING = (("what", "is"), ("what", "are"))


def _bare_noun_phrase(analysis: Analysis) -> bool:
    """The prompt is "what is" and at most three words that are none of a preposition, a
    conjunction, a question word or a determiner: "What is *sourdough discard*?" — not
    "What's 'hello' *in* Japanese?", "What is compound interest *and how* does it work?"."""
    words = [w for w in analysis.words if w not in _END]
    rest = words[2:]
    return (
        tuple(words[:2]) in _DEFINING
        and 0 < len(rest) <= 3
        and all(w.isalpha() and w not in _NOT_NOUN for w in rest)
    )


_END = frozenset("?.!")
_NOT_NOUN = c.PREPOSITIONS | c.COORDINATORS | c.WH | c.DETERMINERS | {"to", "of", "for"}
