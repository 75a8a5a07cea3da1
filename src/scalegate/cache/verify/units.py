"""Units and currencies, each spelling mapped to one canonical symbol.

A unit is compared exactly and in order ("100 F to C" is not "100 C to F"), so what this
table holds is *normalisation* — which spellings are one unit — not a definition of what
makes two questions differ. Single letters and common words count as units only next to a
number or a conversion word (:data:`WEAK`): "c" in "in c" is a language, "in" a preposition.
"""

from __future__ import annotations


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
    **dict.fromkeys(_w("cal calorie calories kcal"), "kcal"),
    **dict.fromkeys(_w("psi"), "psi"),
    **dict.fromkeys(_w("bar"), "bar"),
    **dict.fromkeys(_w("hz hertz"), "Hz"),
    **dict.fromkeys(_w("ghz gigahertz"), "GHz"),
}
# Units only next to a number or a conversion word ("convert f to c", "100 in cm").
WEAK = frozenset(_w("f c k m g s h l b v w in min bar day days second knot knots kn"))
CONVERSION = frozenset(_w("to into from in as per"))
CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
