"""Two prompts' numbers compared as values (:func:`numbers_differ`, for
:func:`.compare.contradiction`): each in its base unit ("1 hour" is "60 minutes"), a unit
said on one side only being wording ("$1,500" / "1500"), a lone "one" an article's work
unless the other prompt says "1" ("one or two hours" / "an hour or two")."""

from __future__ import annotations

from collections import Counter

from scalegate.cache.verify.quantities import pounds_read_alike
from scalegate.cache.verify.units import canonical


def numbers_differ(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two prompts' ``numbers`` fields name different values."""
    a, b = pounds_read_alike(a, b), pounds_read_alike(b, a)
    a, b = tuple(map(canonical, a)), tuple(map(canonical, b))
    return not _same_values(_numbers(a, b), _numbers(b, a)) or _lone_units_differ(a, b)


def _numbers(mine: tuple[str, ...], other: tuple[str, ...]) -> Counter[str]:
    """``mine`` with a lone "one" counted only against a "1" of ``other``, with its unit if
    it has one ("a *one*-week extension" / "a *1* week extension", verifier v37)."""
    counts = Counter(mine)
    theirs = Counter(other)
    for value in [v for v in counts if v == "one" or v.startswith("one ")]:
        ones = counts.pop(value)
        digit = canonical("1" + value[3:])  # "one hour" is "60 minutes" too (v49)
        counts[digit] += min(ones, max(theirs[digit] - counts[digit], 0))
    return +counts


def _lone_units(mine: tuple[str, ...], other: tuple[str, ...]) -> set[str]:
    """The units of ``mine``'s lone "one"s that no "1" of ``other`` matches."""
    return {v[4:] for v in mine if v.startswith("one ") and canonical("1" + v[3:]) not in other}


def _lone_units_differ(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """A lone "one" on each side, each left out as an article's work, over different units
    (v88): "how many grams is *one tablespoon*" / "… *one teaspoon* …"."""
    units_a, units_b = _lone_units(a, b), _lone_units(b, a)
    return bool(units_a and units_b) and units_a != units_b


def _same_values(a: Counter[str], b: Counter[str]) -> bool:
    """The same numbers, a unit said on one side only being no difference ("rent is $1,500"
    / "rent is 1500", "18, 22 and 25 percent" / "18%, 22% and 25%", "a two-year-old cat" /
    "she's 2"); two different units on the same value are ("100 F" / "100 C")."""
    if a == b:
        return True
    rest_a, rest_b = a - b, b - a
    bare_a = Counter(v.partition(" ")[0] for v in rest_a.elements())
    bare_b = Counter(v.partition(" ")[0] for v in rest_b.elements())
    if bare_a != bare_b:
        return False
    # Each value left over carries a unit on at most one side.
    with_unit_a = {v.partition(" ")[0] for v in rest_a if " " in v}
    with_unit_b = {v.partition(" ")[0] for v in rest_b if " " in v}
    return not with_unit_a & with_unit_b and not _percent_dropped(a, rest_a, b, rest_b)


def _percent_dropped(
    a: Counter[str], rest_a: Counter[str], b: Counter[str], rest_b: Counter[str]
) -> bool:
    """A share against a plain number: "200 increased by 15*%*" / "200 increased by 15"
    (verifier v37) — unless the other prompt says "%" on a number of its own, once for a
    list ("18, 22 and 25 percent" / "18%, 22% and 25%")."""
    return _share(rest_a, b) or _share(rest_b, a)


def _share(rest: Counter[str], other: Counter[str]) -> bool:
    """A value left over with "%" where the other prompt says "%" nowhere."""
    return any(v.endswith(" %") for v in rest) and not any(v.endswith(" %") for v in other)
