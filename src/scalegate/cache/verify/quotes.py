"""Quotes that say nothing: when two prompts quote differently but each quotes only what the
other says plainly ("what does 'ephemeral' mean" / "what does ephemeral mean"), the quotes
are dropped before the prompts are compared. Not when a quote stands beside an operator
sign: that is a string literal, whose quotes are its type ("1 + 2 + '3'" is not
"'1' + 2 + 3", verifier v92)."""

from __future__ import annotations

import re

from scalegate.cache.verify.features import Analysis

QUOTES = re.compile(r"[\"“”‘’]|(?<![\w])'|'(?![\w])")
# A quote that opens after an operator or closes before one: a string literal, an operand.
_OPERAND_QUOTE = re.compile(r"[-+*/%<>=!&|^]\s*[\"“‘']|[\"”’']\s*[-+*/%<>=!&|^]")


def incidental(pair: tuple[Analysis, Analysis], texts: tuple[str, str]) -> bool:
    """Whether the two prompts (their analyses and texts) differ in quotes only as scare
    quotes do, so that both may be read again without them (:data:`QUOTES`)."""
    (da, db), (a, b) = pair, texts
    return (
        da.exact["quoted"] != db.exact["quoted"]
        and _unquoted(da, b)
        and _unquoted(db, a)
        and not _OPERAND_QUOTE.search(a)
        and not _OPERAND_QUOTE.search(b)
    )


def _unquoted(analysis: Analysis, other: str) -> bool:
    """Every quoted span of ``analysis`` is in ``other`` as plain words."""

    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"[\w']+", text.lower())) + " "

    plain = words(other)
    return all(words(span) in plain for span in analysis.exact["quoted"])
