"""The near-miss guard: prompts an embedding calls alike but that ask different things.

Sentence embeddings measure topic and wording, not the details a correct answer hinges on:
all-MiniLM-L6-v2 scores "Convert 100 F to C" against "Convert 100 C to F" at 0.95 and "Is
coffee bad for you?" against "Is coffee not bad for you?" above 0.9. Before a semantic hit is
served, :func:`near_miss_reason` compares the two prompts' *details* and vetoes the hit when
any of these differ (the first failing rule is the reason, counted in the cache statistics):

``numbers``   the numbers, in order (digits, decimals, thousands separators, number words
              up to the millions, ordinals): "3 eggs" ≠ "4 eggs", "7 > 3" ≠ "3 > 7";
``negation``  how many negations (not, no, never, n't, without, …);
``units``     the units and currencies, in order, canonical ("°F", "fahrenheit" → F;
              "km", "kilometres" → km): "100 F to C" ≠ "100 C to F", "miles to km" ≠ "km
              to miles";
``entities``  the names, counted: capitalised words anywhere but a sentence start, acronyms,
              identifiers with digits or inner capitals, and a lexicon of lower-case-typed
              names (countries, cities, languages, programming languages, months, weekdays,
              planets), compared case-insensitively — "in java" ≠ "in python", "the
              tallest mountain" ≠ "the tallest mountain on Earth";
``quoted``    quoted or back-ticked text, exactly;
``symbols``   emoji and other symbols: "😂" ≠ "😭";
``contrast``  a word of a closed contrast set *replaced* by another of the same set
              (largest/smallest, before/after/during, buy/sell, encrypt/decrypt,
              upper/lower, formal/casual, sentence/paragraph, beginner/expert, colours,
              compass points …); a member merely added or left out does not count;
``order``     two content words that trade places across a relation word (to, into, from,
              than, vs, over, and, or, with) in both prompts, or across the very same words:
              "Paris to London" / "London to Paris", "Is a dog bigger than a cat?" / "… a
              cat bigger than a dog?", "Can a lion beat a tiger?" / "… a tiger beat a
              lion?", "my sister's husband" / "my husband's sister".

The guard only ever *refuses* hits; it never creates one. It is deliberately strict: a
paraphrase that reorders two names ("Java and Python" / "Python and Java") is refused too,
which costs recall, not correctness. Its effect is measured on the evaluation set
(``benchmarks/semantic_eval.py``, ``benchmarks/data/semantic_pairs.jsonl``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(
    r"`[^`]*`|\"[^\"]*\"|“[^”]*”|'[^'\s][^']*'(?!\w)|"
    r"[$€£¥°]?\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?%?|"
    r"[°]?[A-Za-zÀ-ÖØ-öø-ÿ][\w'’+#.-]*\w[+#]*|[A-Za-zÀ-ÖØ-öø-ÿ][+#]*|[%$€£¥]|[.!?;]"
)


def _w(text: str) -> list[str]:
    return text.split()


_PUNCT = frozenset(".!?;")
_NOT_CONTENT = frozenset([*".!?;#", "'s"])
_PRONOUNS = frozenset(_w("i i'm i've i'd i'll"))


_NEGATIONS = frozenset(
    _w(
        "not no never none nobody nothing nowhere neither nor without cannot cant dont doesnt "
        "isnt arent wasnt werent wont wouldnt shouldnt couldnt didnt hasnt havent hadnt "
        "mustnt neednt aint "
        # words that turn a request into its opposite ("foods to eat" / "foods to avoid")
        "avoid avoiding skip skipping prevent preventing except excluding exclude"
    )
)

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 10**6, "billion": 10**9, "trillion": 10**12, "dozen": 12, "half": 0.5,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "twice": 2, "double": 2,
    "triple": 3, "once": 1,
}  # fmt: skip
# "a second" is time, "one" is often a pronoun: these count only next to a digit or unit.
_WEAK_NUMBER_WORDS = frozenset({"one", "second", "once", "half", "double"})

_UNITS = {
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
    **dict.fromkeys(_w("s sec secs seconds"), "s"),
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
# Single letters and words that are units only next to a number or a conversion word.
_WEAK_UNITS = frozenset(_w("f c k m g s h l b v w in min bar day days"))
_CONVERSION = frozenset(_w("to into from in as per"))

_LEXICON_ENTITIES = frozenset(
    _w(
        # countries and places people type in lower case
        "usa us uk america canada mexico brazil argentina chile peru colombia france germany "
        "spain italy portugal ireland england scotland wales netherlands belgium switzerland "
        "austria sweden norway denmark finland poland russia ukraine greece turkey egypt israel "
        "iran iraq india pakistan china japan korea vietnam thailand indonesia australia "
        "nigeria kenya africa europe asia "
        "paris london berlin madrid rome tokyo beijing shanghai delhi mumbai sydney moscow "
        "toronto chicago boston seattle dubai singapore amsterdam vienna prague lisbon dublin "
        "oslo stockholm "
        # languages, programming languages, tools
        "english french german spanish italian portuguese russian chinese mandarin japanese "
        "korean arabic hindi dutch greek latin "
        "python java javascript typescript ruby rust golang go kotlin swift scala php perl "
        "haskell csharp c# c++ cpp sql bash powershell r matlab julia elixir erlang clojure "
        "react vue angular django flask rails spring node nodejs docker kubernetes linux windows "
        "macos ios android excel postgres postgresql mysql sqlite mongodb redis aws azure gcp "
        # calendar, planets
        "january february march april may june july august september october november december "
        "monday tuesday wednesday thursday friday saturday sunday "
        "mercury venus earth mars jupiter saturn uranus neptune pluto"
    )
)

_CONTRAST_SETS = (
    "largest smallest biggest tallest shortest longest highest lowest",
    "maximum minimum max min",
    "most least",
    "more less fewer",
    "best worst",
    "fastest slowest faster slower",
    "cheapest expensive cheaper",
    "before after during while",
    "upper lower",
    "above below over under",
    "increase decrease raise lower",
    "buy sell",
    "import export",
    "upload download",
    "encrypt decrypt encode decode compress decompress",
    "enable disable",
    "add remove delete",
    "push pull",
    "open close",
    "start stop",
    "win lose",
    "hot cold warm cool",
    "young old",
    "male female",
    "advantages disadvantages pros cons benefits drawbacks",
    "north south east west",
    "left right",
    "up down",
    "on off",
    "inside outside",
    "morning evening night afternoon",
    "spring summer autumn fall winter",
    "red orange yellow green blue purple black white pink brown",
    "positive negative",
    "true false",
    "input output",
    "client server",
    "ascending descending",
    "uppercase lowercase",
    "horizontal vertical",
    "synchronous asynchronous sync async",
    "rows columns",
    "first last",
    "sentence sentences paragraph paragraphs page pages line lines bullet bullets",
    "formal informal casual",
    "beginner beginners intermediate advanced expert experts",
    "child children kid kids adult adults",
    "short long brief detailed",
    "simple complex",
    "past present future",
    "yesterday today tomorrow",
    "odd even",
)


def _index(groups: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """Word → the contrast sets it belongs to ("lower": increase/decrease and upper/lower)."""
    out: dict[str, tuple[int, ...]] = {}
    for i, group in enumerate(groups):
        for word in group.split():
            out[word] = (*out.get(word, ()), i)
    return out


def _singulars(groups: tuple[str, ...]) -> dict[str, str]:
    """A set's plural → its singular in the same set ("beginners" is not "experts", but it
    is "beginner"): a plural is no contrast."""
    out = {"children": "child"}
    for group in groups:
        words = set(group.split())
        out.update({w: w[:-1] for w in words if w.endswith("s") and w[:-1] in words})
    return out


_CONTRAST = _index(_CONTRAST_SETS)
_SINGULAR = _singulars(_CONTRAST_SETS)
# Sets of words so common that how often they occur says nothing ("click on a link on my
# phone"): only one prompt having a word the other lacks counts.
_BY_PRESENCE = frozenset(_CONTRAST["on"])

_RELATIONS = frozenset(_w("to into than vs versus over from and or with"))
_STOP = frozenset(
    _w(
        "a an the of for on at by is are was were be been being do does did i you we they it "
        "this that these those my your our their me us what how why when where which who whom "
        "can could would should will shall may might must please tell explain show give "
        "describe define whats hows there here some any all just about"
    )
)


@dataclass(frozen=True, slots=True)
class Details:
    numbers: tuple[str, ...]
    negations: int
    units: tuple[str, ...]
    entities: tuple[str, ...]
    quoted: tuple[str, ...]
    contrast: tuple[tuple[int, str], ...]
    words: tuple[str, ...]
    symbols: tuple[str, ...]


def _plain(token: str) -> str:
    return token.lower().replace("’", "'").strip(".'")


def _number(token: str) -> str | None:
    raw = token.lstrip("$€£¥°").rstrip("%")
    raw = re.sub(r"(st|nd|rd|th)$", "", raw)
    if not raw or not raw[0].isdigit():
        return None
    raw = raw.replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return raw
    return f"{value:g}"


def _unit(plain: str, prev: str, nxt: str, has_digit: bool) -> str | None:
    """The canonical unit ``plain`` names; single letters only next to a number/"to"/"in"."""
    unit = _UNITS.get(plain)
    if unit is None or plain not in _WEAK_UNITS:
        return unit
    if has_digit and (prev in _CONVERSION or nxt in _CONVERSION or _number(prev)):
        return unit
    return None


def _attached_units(token: str) -> list[str]:
    """Currency signs and percent written onto a number: "$80", "15%"."""
    out = []
    if token[0] in "$€£¥" and len(token) > 1:
        out.append(_UNITS[token[0]])
    if token.endswith("%") and len(token) > 1:
        out.append("%")
    return out


def _is_name(token: str, plain: str, sentence_start: bool) -> bool:
    if plain in _STOP or plain in _PRONOUNS:
        return False
    if plain in _LEXICON_ENTITIES and not (plain == "us" and token.islower()):
        return True
    if token[0].isupper() and not sentence_start and len(token) > 1:
        return True  # capitalised where a sentence does not start
    if (token.isupper() and len(token) > 1) or any(c.isdigit() for c in token[1:]):
        return True  # an acronym, or a name with digits (GPT4, sheet2)
    return any(c.isupper() for c in token[1:]) or "_" in token  # iPhone, snake_case


@lru_cache(maxsize=4096)
def details(text: str) -> Details:
    """The parts of ``text`` the guard compares (cached: prompts repeat)."""
    tokens = _TOKEN.findall(text)
    numbers: list[str] = []
    units: list[str] = []
    entities: list[str] = []
    quoted: list[str] = []
    contrast: list[tuple[int, str]] = []
    words: list[str] = []
    negations = 0
    sentence_start = True
    has_digit = any(ch.isdigit() for ch in text)
    for i, token in enumerate(tokens):
        if token in _PUNCT:
            sentence_start = True
            words.append(token)
            continue
        if token[0] in "`\"“'" and len(token) > 2:
            quoted.append(token[1:-1].strip().lower())
            sentence_start = False
            continue
        units += _attached_units(token)
        number = _number(token)
        plain = _plain(token)
        prev = _plain(tokens[i - 1]) if i else ""
        nxt = _plain(tokens[i + 1]) if i + 1 < len(tokens) else ""
        if number is not None:
            numbers.append(number)
            words.append("#")
            sentence_start = False
            continue
        if plain.replace("'", "") in _NEGATIONS or plain.endswith("n't"):
            negations += 1
        if plain in _NUMBER_WORDS and (
            plain not in _WEAK_NUMBER_WORDS or nxt in _UNITS or prev.isdigit()
        ):
            numbers.append(f"{_NUMBER_WORDS[plain]:g}")
        unit = _unit(plain, prev, nxt, has_digit)
        if unit is not None:
            units.append(unit)
        elif plain not in _UNITS and _is_name(token, plain, sentence_start):
            entities.append(plain.removesuffix("'s"))
        for group in _CONTRAST.get(plain, ()):
            contrast.append((group, _SINGULAR.get(plain, plain)))
        words.append(plain.removesuffix("'s"))
        if plain.endswith("'s") and plain != "let's":
            words.append("'s")  # kept: "sister's husband" is not "husband's sister"
        sentence_start = False
    return Details(
        tuple(numbers),
        negations,
        tuple(units),
        tuple(entities),
        tuple(quoted),
        tuple(sorted(contrast)),
        tuple(words),
        tuple(ch for ch in text if unicodedata.category(ch) in ("So", "Sm") and ch != "°"),
    )


def _names(d: Details, names: frozenset[str]) -> Counter[str]:
    return Counter(w for w in d.words if w in names)


def _swapped(a: tuple[str, ...], b: tuple[str, ...], only: frozenset[str] | None = None) -> bool:
    """Two words that trade places: "X than Y" / "Y than X", "lion beats tiger" / "tiger
    beats lion" — across a relation word in both, or across the same words in both."""

    def positions(words: tuple[str, ...]) -> dict[str, int]:
        seen: dict[str, int] = {}
        for i, w in enumerate(words):
            if only is not None and w not in only:
                continue
            if w not in _STOP and w not in _RELATIONS and w not in _NOT_CONTENT:
                seen[w] = -1 if w in seen else i
        return {w: i for w, i in seen.items() if i >= 0}

    def between(words: tuple[str, ...], i: int, j: int) -> tuple[str, ...]:
        return words[min(i, j) + 1 : max(i, j)]

    pa, pb = positions(a), positions(b)
    shared = sorted(set(pa) & set(pb), key=pa.__getitem__)
    for n, x in enumerate(shared):
        for y in shared[n + 1 :]:
            if pb[y] > pb[x]:
                continue
            in_a, in_b = between(a, pa[x], pa[y]), between(b, pb[y], pb[x])
            related = any(w in _RELATIONS for w in in_a) and any(w in _RELATIONS for w in in_b)
            if related or (in_a and in_a == in_b):
                return True
    return False


def _contrasting(a: Details, b: Details) -> bool:
    """A word of a contrast set replaced by another of the same set (not merely added)."""
    groups_a: dict[int, list[str]] = {}
    groups_b: dict[int, list[str]] = {}
    for group, word in a.contrast:
        groups_a.setdefault(group, []).append(word)
    for group, word in b.contrast:
        groups_b.setdefault(group, []).append(word)
    return any(
        (set(words) != set(groups_b[group]))
        if group in _BY_PRESENCE
        else Counter(words) != Counter(groups_b[group])
        for group, words in groups_a.items()
        if group in groups_b
    )


def near_miss_reason(a: str, b: str) -> str | None:
    """Why ``a`` and ``b`` must not share an answer, or ``None`` when no rule objects."""
    if a == b:
        return None
    da, db = details(a), details(b)
    if da.numbers != db.numbers:
        return "numbers"
    if da.negations != db.negations:
        return "negation"
    if da.units != db.units:
        return "units"
    # A name capitalised in one prompt may be typed in lower case in the other: count every
    # word either prompt marks as a name, in both.
    names = frozenset(da.entities) | frozenset(db.entities)
    if _names(da, names) != _names(db, names):
        return "entities"
    if da.quoted != db.quoted:
        return "quoted"
    if da.symbols != db.symbols:
        return "symbols"
    if _contrasting(da, db):
        return "contrast"
    if _swapped(da.words, db.words):
        return "order"
    return None
