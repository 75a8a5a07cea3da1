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
    "enough plenty lot lots little only whole half majority minority everything something "
    "multiple single entire "
    "anything everyone someone anyone everybody somebody anybody"
)
# Quantifiers by what they claim, for contradiction rather than difference: "some" in one
# prompt only asks nothing new ("any tips to quit procrastinating"), "all" vs "any" or
# "most" does. Classes in WEAK_QUANTITY may be present in one prompt only.
QUANTITY = {
    **dict.fromkeys(_w("all every each everything everyone everybody"), "all"),
    # The whole of one thing, against a part of it (v93: at balanced too, where "all" in
    # one prompt only passes): "rewrite my *whole* resume" / "rewrite my resume summary".
    "whole": "whole", "entire": "whole",
    **dict.fromkeys(_w("some any something anything someone anyone somebody anybody several "
                       "either"), "some"),
    **dict.fromkeys(_w("many much lot lots plenty"), "many"),
    **dict.fromkeys(_w("most majority"), "most"),
    **dict.fromkeys(_w("few little"), "few"),
    "multiple": "multiple", "single": "single",
    "half": "half", "minority": "minority", "only": "only", "enough": "enough",
    "more": "more", "less": "less", "fewer": "less", "least": "least",
}  # fmt: skip
WEAK_QUANTITY = frozenset({"some", "many", "both"})
# Modals by force; a modal in one prompt only is no contradiction ("Is it safe to eat …" /
# "Can I safely eat …"), two different forces are ("Should I …" / "Can I …").
FORCE = {
    "can": "can", "could": "can", "may": "can", "must": "must", "should": "should",
    "ought": "should", "might": "might", "would": "would",
}  # fmt: skip
# "have to", "has to", "need to": obligation said with a verb (only before "to").
OBLIGATION_VERBS = _w("have has had need needs")
# Deontic force said with a participle or an adjective, whatever follows: obligation
# ("Am I required to …" = "Do I have to …"), permission ("allowed", "permitted" = "may",
# "can"). Prohibition is permission negated ("forbidden" = "not allowed"), so
# :data:`PROHIBITIVE` words add a negation too and meet "not allowed" / "can't" as equals.
DEONTIC = {
    **dict.fromkeys(_w("required obliged obligated mandatory compulsory obligatory"), "must"),
    **dict.fromkeys(_w("allowed permitted able forbidden prohibited banned"), "can"),
}  # fmt: skip
PROHIBITIVE = _w("forbidden prohibited banned")
# Direction words that contradict each other; one in one prompt only is not a contradiction
# unless the other prompt has its opposite ("turn on …" / "turn off …").
OPPOSITE_GROUPS = (
    _w("before after during while"), _w("up down"), _w("above below"), _w("over under"),
    _w("into from"), _w("into out"), _w("on off"), _w("ascending descending"), _w("next previous"),
    _w("inside outside"), _w("forward forwards backward backwards back"), _w("top bottom"),
    _w("upward downward"), _w("toward towards away"), _w("since until"), _w("since till"),
    _w("out inside"), _w("out in"),  # "locked out of" / "locked inside", "zoom in" / "out"
    _w("in outside"),  # "in the fridge" / "outside the fridge"
    _w("above over below beside behind next"),  # where: "above" / "next to" / "over" (covering)
)  # fmt: skip
# Persons, compared as the sets a prompt mentions (possessives aside: "my sister" is the
# sister): "Can I rent …" / "Can she rent …". "you" is left out: it is the addressee of a
# request as often as the subject ("How do you say …").
PERSONS = {
    **dict.fromkeys(_w("i me myself"), "1s"), **dict.fromkeys(_w("we us ourselves"), "1p"),
    **dict.fromkeys(_w("he him himself"), "3m"), **dict.fromkeys(_w("she herself"), "3f"),
    **dict.fromkeys(_w("they them themselves"), "3p"),
}  # fmt: skip
# What opens a noun phrase: a content word after one is a noun, never a light verb ("get
# there *by train*" narrows the question; "what *makes* the sky blue" does not).
DETERMINERS = _w("a an the this that these those my your his her our their its")
# Quantifiers that stand before a noun phrase as a determiner does: "for *each* user".
PREDETERMINERS = _w("all every each both some any")
# A possessive determiner's person, as :data:`PERSONS` writes it ("your" is "2": the generic
# you of "how do you reset your password" is the asker).
OWNER_PERSONS = {"my": "1s", "our": "1p", "his": "3m", "her": "3f", "their": "3p", "your": "2"}
POSSESSIVE_DETERMINERS = frozenset(OWNER_PERSONS)
# Not "to": an infinitive's marker as often ("the best way *to remove* mould").
PREPOSITIONS = _w(
    "in on at by with without via for from into onto through across about against during "
    "per near inside outside over under within using"
)
COORDINATORS = _w("and or")
# Where a negation's scope ends inside a sentence: two negations on either side of one do not
# cancel ("I do *not* have root *and* can*not* edit it" is not "I do have … and can edit").
SCOPE_BREAKS = _w("and or but nor yet")
# After "12 and" / "65 or": the bound includes its number (:func:`.phrases.bounds`).
BOUND_AFTER = _w(
    "under over below above up down younger older less fewer more lower higher greater "
    "smaller larger bigger earlier later newer before after beyond"
)
BE = _w("is are am was were")
# What opens a yes/no question before its subject ("Can I …", "Should my son …").
QUESTION_AUX = _w(
    "can could may might must should would will shall do does did is are am was were has have"
)
# "what's the best way to X" asks "how do I X": adjectives that only frame a request.
FRAME_ADJECTIVES = _w("best good right proper correct")
FRAME_NOUNS = _w("way ways method steps step process procedure instructions tips tip advice")
# "will"/"shall" are tense (future); "can"/"could" after "how … I" are idiom (see features).
MODALS = _w("can could may might must should would ought")
PAST_AUX = _w("did was were had")
FUTURE_AUX = _w("will shall gonna")
PERFECT_AUX = _w("has have")
# What may stand between an auxiliary and its verb: "will *just* be", "has *already* been".
CHAIN_ADVERBS = _w("just already still also really soon finally ever even actually definitely")
GET = _w("get gets got gotten getting")
# Adverb particles that make a phrasal verb of the verb before them ("figure *out*", "give
# *up*"): with them the verb is one WordNet lemma (:meth:`.lexicon.Lexicon.phrasal`).
PARTICLES = _w("out up off down away back over")  # the passive's other auxiliary: "got laid off"
DO_AUX = _w("do does is are am")
AUXILIARIES = _w("is are am was were be been being has have had get gets got")
# A participle after these is passive, perfect or an adjective: their own tense counts.
NOT_TENSED_AFTER = _w(
    "did was were had has have is are am be been being get gets got a an the my your his her "
    "our their its this that"
)
DIRECTION = _w(
    "from into onto out up down above below over under before after since until till "
    "inside outside behind beside beyond toward towards against across through via "
    "ascending descending next previous forward forwards backward backwards back upward downward "
    "on off top bottom while during"
)
# One word of direction spelt two ways.
DIRECTION_SAME = {"till": "until", "towards": "toward", "backwards": "backward", "using": "with",
                  "forwards": "forward"}  # fmt: skip
# Compared only when both prompts ask with one: "why" ≠ "how", but "What's X?" = "Tell me X".
WH = _w("what why how when where which who whom whose")
# "Which river is longest?" asks what "What river is longest?" asks.
# "which" names one of a set, "how many" counts it: both are specific, unlike "what".
WH_SAME = {"whom": "who"}
# "What year …" asks when, "what city …" where: "what" before a noun of time or place.
WHAT_WHEN = _w("year years day date month century decade era season")  # not "time": "time zone"
WHAT_WHERE = _w("place city country state town continent street address location")
CONNECTIVES = _w("or if unless because although whether")
# Words a relation hangs on: content words that trade places across them swap roles.
# Coordination counts too: an answer follows the order it was asked in ("Compare Java and
# Python" is answered Java first), so "X or Y" / "Y or X" is refused — a cost in recall.
RELATIONS = _w(
    "to into than vs versus over from and or with by against for of 's before after about "
    "using"  # "a stack *using* two queues" / "a queue *using* two stacks" (verifier v34)
)
LIGHT = _w(
    "a an the this that these those it its i me my mine myself you your yours yourself "
    "we us our ours they them their theirs he him his she her hers one's "
    "be am is are been being do does done of for on in at by with about to and so just "
    "really actually also please kindly there here 're 've 'm "
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
    "b4": "before", "abt": "about", "btw": "", "wats": "what is", "wuts": "what is",
    "cannot": "can not", "ain't": "is not", "ya": "you", "yall": "you", "y'all": "you",
    "wat": "what", "wut": "what", "howto": "how to", "idk": "i do not know", "btwn": "between",
    "thru": "through",
}  # fmt: skip
CONTRACTIONS = {
    "n't": "not", "'ll": "will", "'re": "are", "'ve": "have", "'m": "am", "'d": "would",
}  # fmt: skip
# "'s" after these is "is" (or "has"), never a possessive: "what's", "it's", "there's".
IS_CONTRACTED = _w("what that it there here who where how when why he she this")
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
_IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                       "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}  # fmt: skip


def _ordinal(cardinal: str) -> str:
    """The ordinal of a cardinal number word, by English spelling: "nineteen" →
    "nineteenth", "twenty" → "twentieth", "hundred" → "hundredth" (verifier v49)."""
    if cardinal in _IRREGULAR_ORDINALS:
        return _IRREGULAR_ORDINALS[cardinal]
    return cardinal[:-1] + "ieth" if cardinal.endswith("y") else cardinal + "th"


ORDINALS: dict[str, int] = {
    **{_ordinal(w): int(v) for w, v in NUMBER_WORDS.items() if 1 <= v < 100
       and w not in ("dozen", "couple", "pair", "twice", "double", "triple", "once")},
    **{_ordinal(w): v for w, v in MULTIPLIERS.items()},
    "last": -1,
}  # fmt: skip
# "one" is a pronoun after these ("which one", "the one", "no one").
ONE_PRONOUN_BEFORE = _w("which the this that each every any no some another one")
TIMES_OF_DAY = {"noon": 12 * 60, "midday": 12 * 60, "midnight": 0}
