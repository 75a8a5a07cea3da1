"""What a prompt says around its content words (:class:`Frame`), for :mod:`.align` and
:mod:`.verbs`."""

from __future__ import annotations

from dataclasses import dataclass

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
            defines=opening[-3:-1] in (("what", "is"), ("what", "are"))
            and opening[-1] in ("a", "an")
            and "good" not in analysis.content[0].keys,
        )


NO_FRAME = Frame()
