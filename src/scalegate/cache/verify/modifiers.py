"""What modifies what, read from neighbours in the content sequence (verifier v30): the
two nouns of a compound, and the noun a number stands before. Both prompts hold the same
words; the question changes with what is next to what.

* "how is *chocolate milk* made" / "how is *milk chocolate* made": two nouns written next to
  each other in one prompt (:func:`.phrases.compounds`) are next to each other the other
  way round in the other — the head of the compound, the thing asked about, changed.
* "plug a *110V appliance* into a *220V outlet*" / "a *220V appliance* into a *110V outlet*":
  the same numbers before the same nouns, each before another one.

Sequences as :attr:`.features.Analysis.sequence` holds them (the other prompt's with its
aligned words renamed to this one's): content words are the items that start with a
letter; "%110" is a number, "=into" a relation, "@1s" a person, "|" a boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

from scalegate.cache.verify.fields import NUMBER


def _word(item: str) -> bool:
    return item[:1].isalpha()


def compound_reversed(a: set[tuple[str, str]], b: set[tuple[str, str]]) -> bool:
    """Two nouns written next to each other in one prompt (``a``, ``b``: each prompt's
    pairs, by the words of the first prompt) stand the other way round in the other, and
    neither prompt also has them in the first order."""
    return any((y, x) in b and (x, y) not in b and (y, x) not in a for x, y in a)


def modifier_traded(
    a: set[tuple[str, str]], b: set[tuple[str, str]], seq_a: Sequence[str], seq_b: Sequence[str]
) -> bool:
    """Two words that trade places, the sequences the same but for the two: one of them
    the first noun of a compound with the same head (verifier v35: "put *diesel* in a
    *petrol* car" / "put *petrol* in a *diesel* car"), or any two with a word between them
    (v46: "a *65w* charger on a laptop that came with a *90w* one")."""
    changed = _swap(seq_a, seq_b)
    if changed is None:
        return False
    x, y = seq_a[changed[0]], seq_a[changed[1]]
    heads_a = {h for m, h in a if m in (x, y)}
    if any(m in (x, y) and h in heads_a for m, h in b):
        return True
    # v46: any two words across a word that stays between them; next to each other they
    # are one phrase reordered ("*git branch*" / "*branch* in git").
    between = seq_a[changed[0] + 1 : changed[1]]
    return bool(between) and "=or" not in between  # "a 15-year *or* a 30-year": a choice


def words_traded(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two runs of words trade places in prompts written word for word the same otherwise,
    with words between them that stay and are no "and" / "or" (verifier v47): "100 *US*
    dollars in *Canadian* dollars", "20 *US dollars* in *Mexican pesos*", "3pm *eastern*
    in *pacific* time" — the content sequence drops units and the "in", so there the two
    stand side by side like one phrase reordered. ``a`` and ``b`` are the prompts' tokens
    as written."""
    if len(a) != len(b) or a == b:
        return False
    start = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    end = len(a) - next(i for i, (x, y) in enumerate(zip(a[::-1], b[::-1], strict=True)) if x != y)
    ra, rb = a[start:end], b[start:end]
    for first in range(1, min(len(ra) - 1, RUN + 1)):
        for last in range(1, min(len(ra) - first, RUN + 1)):
            x, y, middle = ra[:first], ra[len(ra) - last :], ra[first : len(ra) - last]
            if (
                x != y
                and rb[:last] == y
                and rb[len(rb) - first :] == x
                and rb[last : len(rb) - first] == middle
            ):
                # Not a list ("tea *or* coffee") unless a negation sets the two apart:
                # "the wall is plaster over lath*, not* drywall" (v58).
                return not _COORDINATORS.intersection(middle) or "not" in middle
    return False


RUN = 4  # words at most in each run traded (a long prompt costs no more than a short one)
# Words and signs that list things, in any order: "python *and* java", "tea *or* coffee".
_COORDINATORS = frozenset({"and", "or", "nor", "vs", "versus", "&", "/", ",", "+"})


def _swap(a: Sequence[str], b: Sequence[str]) -> tuple[int, int] | None:
    """The two positions where ``a`` and ``b`` differ, if they differ only by trading the
    items there."""
    if len(a) != len(b):
        return None
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(changed) != 2 or (b[changed[0]], b[changed[1]]) != (a[changed[1]], a[changed[0]]):
        return None
    return changed[0], changed[1]


def number_governed(a: Sequence[str], b: Sequence[str]) -> bool:
    """A number a relation word takes in one prompt that the same relation word, after the
    same item, does not take in the other, which says it elsewhere (verifier v35): "20 %
    *of 80*" / "80 is 20 % *of* what" — the base of a percentage, or of any "of"."""
    return _governs(a, b) or _governs(b, a)


def _governs(a: Sequence[str], b: Sequence[str]) -> bool:
    theirs = {(x, r, y) for x, r, y in zip(b, b[1:], b[2:], strict=False) if r[:1] == "="}
    after = {(x, r) for x, r, _ in theirs}
    return any(
        r[:1] == "=" and y[:1] == "%" and (x, r, y) not in theirs and (x, r) in after and y in b
        for x, r, y in zip(a, a[1:], a[2:], strict=False)
    )


def _numbered(sequence: Sequence[str], skip: bool = False) -> list[tuple[str, str]]:
    """(number, the content word right after it) for each number in ``sequence``; with
    ``skip``, the word after that one ("a 15 amp *outlet*"), or "" when there is none."""
    out = []
    for i, x in enumerate(sequence[:-1]):
        if x.startswith("%") and _word(sequence[i + 1]):
            after = sequence[i + 2] if i + 2 < len(sequence) else ""
            out.append((x, (after if _word(after) else "") if skip else sequence[i + 1]))
    return out


def numbers_traded(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two numbers or more, each before a word, the same numbers before the same words in
    both prompts but not each before its own; or each before the same word, a measure,
    and then before another's noun: "a *15* amp outlet on a *20* amp circuit" / "a *20*
    amp outlet on a *15* amp circuit" (verifier v38)."""
    if _traded(_numbered(a), _numbered(b)):
        return True
    na, nb = _numbered(a, skip=True), _numbered(b, skip=True)
    return all(w for _, w in na + nb) and _traded(na, nb)


def number_stepped_over(a: Sequence[str], b: Sequence[str]) -> bool:
    """A number and the word next to it in one prompt, in the other order in the other,
    the rest the same: CSS's "margin: *0 auto*" / "margin: *auto 0*" (verifier v94) —
    values said in order, where the order says which is which."""
    if len(a) != len(b) or a == b:
        return False
    for i in range(len(a) - 1):
        x, y = a[i], a[i + 1]
        if x != y and (x[:1] == NUMBER or y[:1] == NUMBER) and b[i] == y and b[i + 1] == x:
            return a[:i] == b[:i] and a[i + 2 :] == b[i + 2 :]
    return False


def _traded(na: list[tuple[str, str]], nb: list[tuple[str, str]]) -> bool:
    if len(na) < 2 or len(na) != len(nb):
        return False
    numbers_a, words_a = sorted(n for n, _ in na), sorted(w for _, w in na)
    if numbers_a != sorted(n for n, _ in nb) or words_a != sorted(w for _, w in nb):
        return False
    return sorted(na) != sorted(nb)
