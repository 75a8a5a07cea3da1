"""Closed word classes: the grammar words whose meaning an answer can hinge on.

These are not lists of "words that differ" grown after failures: they are the closed classes
of English grammar (there are only so many modals, quantifiers and auxiliaries), and each is
compared *exactly* between two prompts by :mod:`.features`. Open-class words — nouns, verbs,
adjectives, names — are never listed here; they must align through the lexicon
(:mod:`.align`). :data:`LIGHT` is the other side: words whose presence changes no answer
(articles, pronouns, the request frame "can you please tell me"), which alignment skips.
"""

from __future__ import annotations


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = _w("not no never none nobody nothing nowhere neither nor without cannot")
QUANTIFIERS = _w(
    "all every each some any few many much several most more less fewer least both either "
    "enough plenty lot lots bit little only whole half majority minority everything something "
    "anything everyone someone anyone everybody somebody anybody"
)
# "will"/"shall" are tense (future); "can"/"could" after "how … I" are idiom (see features).
MODALS = _w("can could may might must should would ought")
PAST_AUX = _w("did was were had")
FUTURE_AUX = _w("will shall gonna")
PERFECT_AUX = _w("has have")
AUXILIARIES = _w("is are am was were be been being has have had get gets got")
# A participle after these is passive, perfect or an adjective: their own tense counts.
NOT_TENSED_AFTER = _w(
    "did was were had has have is are am be been being get gets got a an the my your his her "
    "our their its this that"
)
DIRECTION = _w(
    "from into onto out up down above below over under before after since until till "
    "inside outside behind beyond toward towards against across through via "
    "ascending descending next previous forward backward backwards upward downward "
    "off top bottom"
)
# Compared only when both prompts ask with one: "why" ≠ "how", but "What's X?" = "Tell me X".
WH = _w("what why how when where which who whom whose")
# "Which river is longest?" asks what "What river is longest?" asks.
WH_SAME = {"which": "what", "whom": "who"}
CONNECTIVES = _w("or if unless because although whether")
# Words a relation hangs on: content words that trade places across them swap roles.
# Coordination counts too: an answer follows the order it was asked in ("Compare Java and
# Python" is answered Java first), so "X or Y" / "Y or X" is refused — a cost in recall.
RELATIONS = _w("to into than vs versus over from and or with by against for of 's")
LIGHT = _w(
    "a an the this that these those it its i me my mine myself you your yours yourself "
    "we us our ours they them their theirs he him his she her hers one's "
    "be am is are been being do does done of for on in at by with about to and so just "
    "really actually also please kindly hi hello hey thanks thank there here 're 've 'm "
    "let let's ok okay thing things way ways anyway basically exactly per use using "
    # "the difference between X and Y": no opposite, and the roles are read from "and"
    "between "
    # the existential "there is" lexicalised: "How many continents exist?" asks the same
    "exist exists"
)
# Words that frame a request rather than ask anything: light at the start of a clause or
# after "can you"/"please" ("Explain recursion" = "Can you explain recursion?" = "Recursion?").
REQUEST_VERBS = _w(
    "tell explain describe show give help define list share know want need suggest recommend "
    "calculate compute find name tip tips advice"
)
# Chat spellings, expanded before anything else (normalisation, not a definition).
CASUAL = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "thx": "thanks",
    "ty": "thanks", "im": "i am", "ive": "i have", "id": "i would", "dont": "do not",
    "doesnt": "does not", "didnt": "did not", "cant": "can not", "wont": "will not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "shouldnt": "should not", "couldnt": "could not", "wouldnt": "would not",
    "havent": "have not", "hasnt": "has not", "whats": "what is", "hows": "how is",
    "wheres": "where is", "whos": "who is", "thats": "that is", "wanna": "want to",
    "gotta": "have to", "gimme": "give me", "tho": "though", "bc": "because", "cuz": "because",
    "b4": "before", "abt": "about", "w/": "with", "w/o": "without", "btw": "",
    "cannot": "can not", "ain't": "is not", "ya": "you", "yall": "you", "y'all": "you",
    "wat": "what", "wut": "what", "howto": "how to", "idk": "i do not know",
}  # fmt: skip
CONTRACTIONS = {
    "n't": "not", "'ll": "will", "'re": "are", "'ve": "have", "'m": "am", "'d": "would",
}  # fmt: skip
IRREGULAR_NOT = {"won't": "will not", "can't": "can not", "shan't": "shall not"}
NUMBER_WORDS: dict[str, float] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "couple": 2, "pair": 2,
    "twice": 2, "double": 2, "triple": 3, "once": 1,
}  # fmt: skip
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}  # fmt: skip
# "one" is a pronoun after these ("which one", "the one", "no one").
ONE_PRONOUN_BEFORE = _w("which the this that each every any no some another one")
TIMES_OF_DAY = {"noon": 12 * 60, "midday": 12 * 60, "midnight": 0}
