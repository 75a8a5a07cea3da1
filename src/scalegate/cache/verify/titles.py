"""A work's title, told apart by its article (verifier v77).

"who wrote *invisible man*" names Ellison's novel, "who wrote *the invisible man*" Wells's:
a singular common noun with no determiner, where English needs one, is a name — a title —
and the article another title has is part of it. So where both prompts ask who made a
work (a verb of authorship: "wrote", "directed", "painted", …) and the work is said in
the same words, with "the" before it in one prompt and no determiner in the other, and
the phrase ends in a singular common noun WordNet knows, the works differ. Other words
("who wrote *harry potter*" / "*the harry potter* books") are not read. The cost: a title
whose article a prompt drops ("who wrote *odyssey*") is refused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.features import Analysis

# Verbs (by lemma) whose object is a work with a title.
_AUTHOR = frozenset({"write", "direct", "compose", "paint", "sing", "author", "publish",
                     "illustrate", "narrate", "film", "record", "draw"})  # fmt: skip
_ARTICLES = frozenset({"the", "a", "an"})
_PHRASE = 4  # words a title may have before its end: "the old man and the sea"


class Words(Protocol):
    def keys(self, word: str) -> frozenset[str]: ...
    def poses(self, word: str) -> frozenset[str]: ...
    def plural(self, word: str) -> bool: ...
    def unknown(self, word: str) -> bool: ...


def title_article_differs(da: Analysis, db: Analysis, lexicon: Words) -> bool:
    """Whether two prompts name two works that differ by an article (see the module doc)."""
    works_a, works_b = _works(da.words, lexicon), _works(db.words, lexicon)
    for verb, (article, rest) in works_a.items():
        other = works_b.get(verb)
        if other is not None and other[1] == rest and {article, other[0]} == {"the", ""}:
            return _named_as_title(rest, lexicon)
    return False


def _works(words: Sequence[str], lexicon: Words) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each verb of authorship (by lemma) with the article after it ("" for none) and the
    words that follow, up to the clause's end."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for i, word in enumerate(words):
        verbs = lexicon.keys(word) & _AUTHOR
        if not verbs or i + 1 >= len(words):
            continue
        article = words[i + 1] if words[i + 1] in _ARTICLES else ""
        start = i + 1 + bool(article)
        rest: list[str] = []
        for w in words[start : start + _PHRASE + 1]:
            if not w.isalpha() or w in c.PREPOSITIONS or w in c.SCOPE_BREAKS:
                break
            rest.append(w)
        if rest:
            out[min(verbs)] = (article, tuple(rest))
    return out


def _named_as_title(bare: Sequence[str], lexicon: Words) -> bool:
    """A phrase with no determiner that ends in a singular common noun: a title, as
    English would otherwise put an article before it ("invisible *man*")."""
    if not bare or bare[0] in c.DETERMINERS or bare[0] in c.PERSONS:
        return False
    head = bare[-1]
    return (
        "n" in lexicon.poses(head)
        and not lexicon.plural(head)
        and not lexicon.unknown(head)
        and all(not lexicon.unknown(w) for w in bare)
    )
