"""Units and currencies, each spelling mapped to one canonical symbol.

A unit is compared exactly and in order ("100 F to C" is not "100 C to F"), so what this
table holds is *normalisation* — which spellings are one unit — not a definition of what
makes two questions differ. Single letters and common words count as units only next to a
number or a conversion word (:data:`WEAK`): "c" in "in c" is a language, "in" a preposition.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def _w(text: str) -> list[str]:
    return text.split()


UNITS: dict[str, str] = {
    **dict.fromkeys(_w("f °f fahrenheit farenheit"), "F"),
    **dict.fromkeys(_w("c °c celsius centigrade"), "C"),
    **dict.fromkeys(_w("k kelvin"), "K"),
    **dict.fromkeys(_w("km kms kilometer kilometers kilometre kilometres"), "km"),
    **dict.fromkeys(_w("mi mile miles"), "mi"),
    **dict.fromkeys(_w("m meter meters metre metres"), "m"),
    **dict.fromkeys(_w("cm centimeter centimeters centimetre centimetres"), "cm"),
    **dict.fromkeys(_w("mm millimeter millimeters millimetre millimetres"), "mm"),
    **dict.fromkeys(_w("ft foot feet"), "ft"),
    **dict.fromkeys(_w("in inch inches"), "in"),
    **dict.fromkeys(_w("yd yard yards"), "yd"),
    **dict.fromkeys(_w("kg kgs kilogram kilograms kilo kilos"), "kg"),
    **dict.fromkeys(_w("g gram grams gramme grammes"), "g"),
    **dict.fromkeys(_w("lb lbs pound pounds"), "lb"),
    **dict.fromkeys(_w("oz ounce ounces"), "oz"),
    **dict.fromkeys(_w("l liter liters litre litres"), "l"),
    **dict.fromkeys(_w("ml milliliter milliliters millilitre millilitres"), "ml"),
    **dict.fromkeys(_w("gal gallon gallons"), "gal"),
    **dict.fromkeys(_w("cup cups"), "cup"),
    **dict.fromkeys(_w("tbsp tablespoon tablespoons"), "tbsp"),
    **dict.fromkeys(_w("tsp teaspoon teaspoons"), "tsp"),
    **dict.fromkeys(_w("mph"), "mph"),
    **dict.fromkeys(_w("knot knots kn"), "kn"),
    **dict.fromkeys(_w("kph kmh km/h"), "kph"),
    **dict.fromkeys(_w("$ usd dollar dollars"), "USD"),
    **dict.fromkeys(_w("€ eur euro euros"), "EUR"),
    **dict.fromkeys(_w("£ gbp sterling"), "GBP"),
    **dict.fromkeys(_w("¥ jpy yen"), "JPY"),
    **dict.fromkeys(_w("% percent per-cent percentage"), "%"),
    **dict.fromkeys(_w("b byte bytes"), "B"),
    **dict.fromkeys(_w("kb kilobyte kilobytes"), "KB"),
    **dict.fromkeys(_w("mb megabyte megabytes"), "MB"),
    **dict.fromkeys(_w("gb gigabyte gigabytes"), "GB"),
    **dict.fromkeys(_w("tb terabyte terabytes"), "TB"),
    **dict.fromkeys(_w("ms millisecond milliseconds"), "ms"),
    **dict.fromkeys(_w("s sec secs second seconds"), "s"),
    **dict.fromkeys(_w("min mins minute minutes"), "min"),
    **dict.fromkeys(_w("h hr hrs hour hours"), "h"),
    **dict.fromkeys(_w("day days"), "day"),
    **dict.fromkeys(_w("week weeks"), "week"),
    **dict.fromkeys(_w("month months"), "month"),
    **dict.fromkeys(_w("year years yr yrs"), "year"),
    **dict.fromkeys(_w("w watt watts"), "W"),
    **dict.fromkeys(_w("kw kilowatt kilowatts"), "kW"),
    **dict.fromkeys(_w("kwh"), "kWh"),
    **dict.fromkeys(_w("v volt volts"), "V"),
    **dict.fromkeys(_w("cal cals calorie calories kcal kcals"), "kcal"),
    **dict.fromkeys(_w("psi"), "psi"),
    **dict.fromkeys(_w("bar"), "bar"),
    **dict.fromkeys(_w("hz hertz"), "Hz"),
    **dict.fromkeys(_w("ghz gigahertz"), "GHz"),
}
# Units only next to a number or a conversion word ("convert f to c", "100 in cm").
WEAK = frozenset(_w("f c k m g s h l b v w in min bar day days second knot knots kn"))
CONVERSION = frozenset(_w("to into from in as per"))
CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}

# Exact factors to one unit per quantity, within one system of measure (verifier v49):
# "2 weeks" is "14 days", "1.75 m" is "175 cm", "an hour" is "60 minutes". Not months or
# years (their length varies), not bytes (1000 or 1024), not across systems (a mile is a
# rounded number of kilometres, and which one the user counts in is part of the question).
_BASE: dict[str, tuple[str, Decimal]] = {
    **{u: ("s", Decimal(f)) for u, f in
       (("ms", "0.001"), ("s", "1"), ("min", "60"), ("h", "3600"), ("day", "86400"),
        ("week", "604800"))},
    **{u: ("m", Decimal(f)) for u, f in
       (("mm", "0.001"), ("cm", "0.01"), ("m", "1"), ("km", "1000"))},
    **{u: ("in", Decimal(f)) for u, f in (("in", "1"), ("ft", "12"), ("yd", "36"))},
    **{u: ("g", Decimal(f)) for u, f in (("g", "1"), ("kg", "1000"))},
    **{u: ("oz", Decimal(f)) for u, f in (("oz", "1"), ("lb", "16"))},
    **{u: ("ml", Decimal(f)) for u, f in (("ml", "1"), ("l", "1000"))},
    **{u: ("tsp", Decimal(f)) for u, f in (("tsp", "1"), ("tbsp", "3"))},
    **{u: ("W", Decimal(f)) for u, f in (("W", "1"), ("kW", "1000"))},
}  # fmt: skip


def canonical(value: str) -> str:
    """A number and its unit ("2 week") in the base unit of its quantity ("1209600 s");
    anything else as it is."""
    number, _, unit = value.partition(" ")
    base = _BASE.get(unit)
    if base is None:
        return value
    try:
        amount = Decimal(number) * base[1]
    except InvalidOperation:
        return value  # an ordinal ("#2 week") or a word ("one week")
    return f"{amount.normalize():f} {base[0]}"
