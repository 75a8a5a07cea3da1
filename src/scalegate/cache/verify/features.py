"""A prompt's analysis: its content words, and the closed-class details compared exactly.

Content words (nouns, verbs, adjectives, names — anything open-class) are left for
alignment (:mod:`.align`). Everything else an answer can hinge on is read into a field and
compared as a whole between two prompts (:data:`EXACT_FIELDS`, in the order the verifier
checks them): numbers (digits and number words as values, "three" = "3"), ordinals, times,
units, quoted and code spans, symbols, negations, quantifiers, modals, tense, degree
(comparatives and superlatives), direction words, the question word, connectives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scalegate.cache.verify import classes as c
from scalegate.cache.verify import phrases
from scalegate.cache.verify.casual import (
    casual_digits,
    closed_typos,
    per_period,
    where_located,
    words_named,
)
from scalegate.cache.verify.context import (
    CLAUSE_OPENERS,
    NAMED_ALL,
    in_context,
    mark_you,
    names_all,
)
from scalegate.cache.verify.courtesy import asked_of_you, without_courtesy
from scalegate.cache.verify.fields import (
    NUMBER,
    attach_unit,
    number_words,
    record,
    special,
)
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.quantities import read_alike
from scalegate.cache.verify.tense import (
    LEAD_TENSE,
    WH_PHRASE,
    have_tense,
    note_tense,
    passive_voice,
    same_form_participle,
    verb_time,
)
from scalegate.cache.verify.tokens import Token, cased, glued, glued_words, tokenize
from scalegate.cache.verify.versus import in_one_order
from scalegate.cache.verify.wordrole import ARTICLES, role_of
from scalegate.cache.verify.words import Word, content

EXACT_FIELDS = (
    "quoted", "code", "symbols", "cased", "numbers", "times", "units", "negation", "person",
    "quantifier", "partitive", "modality", "tense", "direction", "question", "connective",
    "conversion", "owners", "bound",
)  # fmt: skip
# In Analysis.sequence: where a noun phrase starts (a determiner, a comma) and where a
# sentence or clause does (".", "?", ";", a spaced dash). Roles are read inside a clause.
RELATIVE = "=who"  # a relative pronoun after a noun: a clause about it begins
_RELATIVE = frozenset({"who", "whom", "that", "which"})


@dataclass(slots=True)
class Analysis:
    content: list[Word] = field(default_factory=list)
    # Content words, persons ("@1s") and relation words ("=than") in order, for the role rule,
    # and :data:`BOUNDARY` / :data:`CLAUSE` where a noun phrase or a clause starts.
    sequence: list[str] = field(default_factory=list)
    exact: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The tense of an auxiliary that opens a question ("Was …" / "Is …", "When did …").
    leads: list[str] = field(default_factory=list)
    # "modal" / "do" for each yes/no question that opens with one ("Could …", "Do …").
    openings: list[str] = field(default_factory=list)
    # A verb and the tense of the be/do auxiliary right before it, anywhere ("whether the
    # shuttle *is carrying*" / "*was carrying*"): (word, tense) pairs.
    aspects: list[tuple[str, str]] = field(default_factory=list)
    # Positions in ``sequence`` of the persons a question asks about: the subject after its
    # auxiliary or modal, or of an infinitive after "for" — a pronoun or a possessed noun
    # ("Can *I* …", "Should *my roommate* …", "Is it legal for *my employer* to …").
    subjects: tuple[int, ...] = ()
    # Positions in ``sequence`` of a content word right after a question's auxiliary: the
    # subject it asks about ("What does *inflation* cause?", not "What causes inflation?").
    asked: tuple[int, ...] = ()
    # Each number in digits with the tokens either side ("Python *2* codebase"): the slot
    # it fills, for :func:`.compare.numbers_moved`.
    numbered: tuple[tuple[str, str, str], ...] = ()
    # Numbers and arithmetic signs as written ("( 8 - 3 ) 2"): where brackets sit.
    expression: tuple[str, ...] = ()
    # The signs of each run of code without spaces, in order (:func:`.tokens.glued`).
    glued: tuple[str, ...] = ()
    # The names and numbers of each such run, in order (:func:`.tokens.glued_words`).
    glued_words: tuple[tuple[str, ...], ...] = ()
    # Positions in ``sequence`` of two nouns written next to each other ("chocolate milk").
    compounds: tuple[tuple[int, int], ...] = ()
    # Positions in ``sequence`` of what the prompt asks for, whose number says how many:
    # the noun phrase a leading "be" agrees with ("What is *the square root* of 16?", not
    # a kind defined, "What is *a* black hole?"), or the object of a request verb that
    # opens it ("Give me *an example* of …", "Recommend *books* …").
    asked_for: tuple[int, ...] = ()
    # Each possessive determiner's person and the position in ``sequence`` of the first
    # word it owns: "registered in *his name*" is ("3m", position of "name").
    owned: tuple[tuple[str, int], ...] = ()
    # Positions in ``sequence`` of the "='s" a "whose" after a noun wrote: it opens a
    # relative clause too ("the employees *whose* managers earn …").
    whose: tuple[int, ...] = ()
    # Positions in ``sequence`` of the content word right after "a"/"an"/"one" and after
    # "all"/"every"/"each": one thing against every one (:func:`.compare.one_against_all`).
    one: tuple[int, ...] = ()
    every: tuple[int, ...] = ()
    # The request verb that frames the prompt ("*Explain* …", "Can you *tell* me …") and
    # the position in ``sequence`` of a content word read where one would stand ("*Prove*
    # the theorem"), -1 if none.
    task: str = ""
    imperative: int = -1
    # Sequence position of a content word → the adverb particle right after it ("rent *out*").
    particles: dict[int, str] = field(default_factory=dict)
    # Positions in ``sequence`` of what an "if"/"unless"/"because" clause says.
    condition: tuple[int, ...] = ()
    # Sequence positions of a phrase that opens a sentence, up to its comma ("On my Mac, …").
    fronted: tuple[int, ...] = ()
    # The words before its first content word and after its last: "*how do I* send …".
    edges: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    # Every token as written (lower-cased), for :func:`.modifiers.words_traded`.
    words: tuple[str, ...] = ()

    @property
    def voices(self) -> dict[int, bool]:
        """Sequence position → passive, of each content word (:func:`.tense.voice_differs`)."""
        return {w.position: w.passive for w in self.content}

    @property
    def timed(self) -> list[tuple[frozenset[str], str]]:
        """The lemmas and time of each content word its auxiliaries put in the future or
        the past (:func:`.tense.times_differ`)."""
        return [(w.keys, w.time) for w in self.content if w.time]


# Request verbs whose object is counted ("Give me *an example*", "Name *the countries*"),
# not a topic ("Explain black holes" = "What is a black hole?").
_COUNTED = frozenset({"give", "name", "list", "suggest", "recommend", "tell", "share", "find"})


def analyse(text: str, lexicon: Lexicon) -> Analysis:
    """Split ``text`` into content words and the closed-class details."""
    tokens = without_courtesy(closed_typos(tokenize(text), lexicon))  # "waht", "teh" (v66)
    tokens = asked_of_you(tokens)  # "Can *someone* explain …" (v76)
    tokens = phrases.phrasal(casual_digits(read_alike(tokens), lexicon), lexicon)  # v74
    tokens = per_period(in_one_order(tokens))  # "climate vs weather" (v51), "every day" (v56)
    tokens = words_named(where_located(tokens))  # "where is … located" (v63), "the phrase" (v67)
    texts = [t.text for t in tokens]
    has_digit = any(t.kind == "number" for t in tokens)
    out = Analysis()
    bag: dict[str, list[str]] = {name: [] for name in EXACT_FIELDS}
    frame = True  # at the start of a clause: a request verb there is light
    lead = True  # at the start of a clause or after its question word: an auxiliary leads
    wh_phrase = -1  # words read since a question word that opened a clause (-1: none)
    auxiliary = False  # a be/have auxiliary earlier in the clause: a participle is passive
    number_end = -1  # the token after the last number: a unit there is that number's
    subject = 0  # 1: a question's auxiliary was just read; 2: then a possessive ("Can my …")
    subjects: list[int] = []
    asked: list[int] = []
    asks = -1  # the token of the first leading "be" or opening request verb (``asked_for``)
    placed: dict[int, int] = {}  # token index → position in the sequence, of content words
    i = 0
    clause = 0  # clauses ended so far (at , . ; ! ? and, or, but): where a negation stands
    starts: dict[int, int] = {}  # token index → where its part of the sequence starts
    while i < len(tokens):
        tok = tokens[i]
        starts[i] = len(out.sequence)
        if tok.kind != "word":
            special(tok, bag, out.sequence)
            if tok.kind in ("number", "ordinal"):
                number_end = i + 1
            elif tok.kind == "punct" and number_end == i and tok.text not in ".!?;:,()":
                number_end = i + 1  # "seven-hour"
            clause += tok.kind == "punct" and tok.text in ",.;!?"
            frame = tok.kind == "punct" or (frame and tok.kind in ("quoted", "code"))
            lead = tok.kind == "punct"
            wh_phrase = -1
            auxiliary = auxiliary and tok.kind != "punct"
            subject = 0
            i += 1
            continue
        used = number_words(tokens, i, bag)
        if used and bag["numbers"]:
            # A number fills a role, in words as in digits (v90): "connect *two* speakers to
            # *one* phone"; an ordinal too: "from 2nd to 3rd".
            last = bag["numbers"][-1]
            out.sequence.append(last if last.startswith("#") else NUMBER + last)
        if used:
            i += used
            number_end = i + (i < len(tokens) and tokens[i].text == "-")
            frame = lead = False
            continue
        word = tok.text
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        # A unit after a hyphen is its number's: "3-day" is "3 day", "three-day" "three day".
        counted = tokens[i - 2].text if prev == "-" and number_end == i and i >= 2 else prev
        role = in_context(role_of(tok, counted, nxt, has_digit, frame), tokens, i, lexicon)
        role = attach_unit(role, number_end == i, bag["numbers"])
        found = (out.leads, out.aspects, out.openings)
        note_tense(word, prev, role, lead and wh_phrase < 0, lead, nxt, found)
        out.aspects.extend(have_tense(word, nxt, lexicon.is_past(nxt)))
        asks = asks if asks >= 0 or not _asks_for(word, lead, frame) else i
        _note_task(out, word, role, frame)
        clause += word in c.SCOPE_BREAKS
        if role is None:
            placed[i] = len(out.sequence)
            past = lexicon.is_past(word) and not auxiliary and prev not in c.NOT_TENSED_AFTER
            passive = (lexicon.is_past(word) and passive_voice(texts, i)) or same_form_participle(
                texts, i, lexicon.may_be_verb(word)
            )
            form = (past, verb_time(texts, i), passive)
            out.content.append(content(tokens, i, lexicon, len(out.sequence), form))
            out.sequence.append(word)
            if past:
                bag["tense"].append("past")  # a participle after an auxiliary is not
        else:
            record(role, (word, nxt), bag, out.sequence, clause)
            mark_you(word, i - 1 in placed or prev in CLAUSE_OPENERS, out.sequence)
        after_do = _after_do(tokens, i) or _after_modal(tokens, i, lexicon)
        _note_subject(subject, role, after_do, len(out.sequence) - 1, subjects, asked)
        subject = _subject_state(subject, lead, tokens, i)
        _mark_relative(word, i - 1 in placed, out.sequence)
        # A question word keeps the lead through its phrase: "What *currency* did …",
        # "How many people were …" (at most WH_PHRASE words, up to the first auxiliary).
        wh_phrase = 0 if lead and word in c.WH else wh_phrase + 1 if wh_phrase >= 0 else -1
        lead = lead and 0 <= wh_phrase <= WH_PHRASE and word not in LEAD_TENSE
        if role is not None and role.startswith("modality:") and nxt == "to":
            i += 1  # "have to", "allowed to": the "to" is the modal's
        frame = (role == "light" and (frame or word in ("please", "you"))) or (
            frame and word == "i" and nxt in _I_ASK  # "I need help writing …" asks (v39)
        )
        auxiliary = auxiliary or word in c.AUXILIARIES
        i += 1
    out.edges = _edges(texts, placed)
    bag["quantifier"] += [
        NAMED_ALL for i in range(len(tokens)) if names_all(tokens, i, placed, lexicon)
    ]
    out.words = tuple(texts)
    out.glued = tuple(glued(text))
    out.glued_words = tuple(glued_words(text))
    bag["cased"] = cased(text)
    bag["partitive"] = phrases.partitives(tokens)
    bag["conversion"] = phrases.conversions(bag["numbers"])
    bag["bound"] = phrases.bounds(tokens)
    bag["owners"] = [t.text for t in tokens if t.text in c.POSSESSIVE_DETERMINERS]
    sets = ("quantifier", "partitive", "direction", "question", "connective", "person",
            "modality")  # fmt: skip
    multisets = ("numbers", "negation", "quoted", "code", "symbols", "times", "bound")
    out.exact = {
        name: tuple(sorted(set(vals))) if name in sets
        else tuple(sorted(vals)) if name in multisets else tuple(vals)
        for name, vals in bag.items()
    }  # fmt: skip
    out.exact["tense"] = tuple(sorted(set(bag["tense"])))
    out.subjects = tuple(subjects)
    out.numbered = tuple(_slot(tokens, i) for i, t in enumerate(tokens) if t.kind == "number")
    out.expression = tuple(
        t.text for t in tokens if t.kind == "number" or (t.kind == "symbol" and t.text in _ARITH)
    )
    out.asked = tuple(asked)
    out.asked_for = phrases.asked_for(tokens, asks, placed) + tuple(
        at for i in _asking_too(tokens) for at in phrases.asked_for(tokens, i, placed)
    )
    out.compounds = phrases.compounds(placed, out.content, lexicon)
    out.owned = phrases.owned(tokens, placed)
    out.particles = {  # "rent *out*", "give *up*"
        at: tokens[i + 1].text
        for i, at in placed.items()
        if i + 1 < len(tokens) and tokens[i + 1].text in c.PARTICLES
    }
    out.condition = phrases.conditions(tokens, starts, len(out.sequence))
    out.fronted = phrases.fronted(tokens, starts, len(out.sequence))
    out.whose = phrases.whose(tokens, placed, out.sequence)
    out.one = phrases.counted(tokens, placed, phrases.ONE)
    out.every = phrases.counted(tokens, placed, phrases.EVERY)
    if any(t.text in c.FRAME_NOUNS for t in tokens):  # "what is the way to X" asks how
        out.exact["question"] = tuple(
            sorted({"how" if q == "what" else q for q in out.exact["question"]})
        )
    return out


def _mark_relative(word: str, after_noun: bool, sequence: list[str]) -> None:
    """A relative pronoun right after a content word opens a clause about it: "the
    composer *whom* Beethoven taught" (:func:`.roles.relative_swapped`)."""
    if not (after_noun and word in _RELATIVE):
        return
    if sequence[-1:] == ["=that"]:  # one marker for one word: "my boss *that* my coworker"
        sequence[-1] = RELATIVE
    else:
        sequence.append(RELATIVE)


# After "I" at the start of a request, what opens it: "I need …", "I want …", "I'd like".
_I_ASK = frozenset({"need", "want", "would"})
_RETURNS = frozenset({"return", "returns", "output", "outputs", "print", "prints"})


def _asking_too(tokens: list[Token]) -> list[int]:
    """Tokens after which what follows is asked for too, besides ``asks``: a code's
    "return"/"print" after "that", "which" or "to" — what it returns is
    asked for too, one against several ("a function that returns the *index*" / "… the
    *indices*", verifier v37); and a "which" that opens a sentence, when a noun follows
    it ("*Which* Roman *emperor* ruled …" / "… *emperors* …", v38)."""
    return [
        i
        for i in range(len(tokens))
        if (tokens[i].text in _RETURNS and i and tokens[i - 1].text in ("that", "which", "to"))
        or (tokens[i].text == "which" and (i == 0 or tokens[i - 1].kind == "punct"))
    ]


def _edges(texts: list[str], placed: dict[int, int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words before the first content word and after the last (:attr:`Analysis.edges`)."""
    if not placed:
        return (), ()
    first, last = min(placed), max(placed)
    return tuple(texts[:first]), tuple(t for t in texts[last + 1 :] if t.isalnum())


def _asks_for(word: str, lead: bool, frame: bool) -> bool:
    """``word`` is a "be" that leads a question or a request verb that opens one: what
    follows is what the prompt asks for (:attr:`Analysis.asked_for`)."""
    return (lead and word in phrases.BE_NUMBER) or (frame and word in _COUNTED)


def _note_task(out: Analysis, word: str, role: str | None, frame: bool) -> None:
    """Where a request verb frames the prompt: the first one (``task``), or the first
    content word read in its place (``imperative``)."""
    if not frame:
        return
    if role is None and out.imperative < 0:
        out.imperative = len(out.sequence)
    elif role == "light" and word in c.REQUEST_VERBS and not out.task:
        out.task = word


def _slot(tokens: list[Token], i: int) -> tuple[str, str, str]:
    """The token before ``tokens[i]``, its text and the token after."""
    before = tokens[i - 1].text if i else ""
    after = tokens[i + 1].text if i + 1 < len(tokens) else ""
    return before, tokens[i].text, after


def _after_do(tokens: list[Token], i: int) -> bool:
    """Whether ``tokens[i]`` follows do-support, maybe after an article: "Which countries
    does *the US* export to?"."""
    prev = tokens[i - 1].text if i else ""
    do = c.DO_AUX | {"did"}  # "who did *Brutus* kill" (v59)
    return prev in do or (prev in ARTICLES and i >= 2 and tokens[i - 2].text in do)


def _after_modal(tokens: list[Token], i: int, lexicon: Lexicon) -> bool:
    """Whether ``tokens[i]`` is the subject after a question word's modal, a word that is no
    verb: "what can *acid* reflux cause" (verifier v55) — not "what can *cause* it" — or
    one WordNet's corpus never showed as a verb, only as a noun: "what can *gum* disease
    cause" (v78; "gum up" is a verb)."""
    return (
        i >= 2
        and tokens[i - 1].text in c.MODALS
        and tokens[i - 2].text in ("what", "which", "who", "whom")  # not "how should X be …"
        and (not lexicon.may_be_verb(tokens[i].text) or lexicon.seldom_verb(tokens[i].text))
    )


def _note_subject(
    state: int, role: str | None, after_do: bool, pos: int, subjects: list[int], asked: list[int]
) -> None:
    """Record the word at ``pos`` as a question's subject: a person or a possessed noun
    ("Can I", "Can my son"), or any content word after do-support ("What does X cause?")."""
    if state == 2 - (role or "")[:7].startswith("person:"):
        subjects.append(pos)
    elif state == 1 and role is None and after_do:
        asked.append(pos)


def _subject_state(state: int, lead: bool, tokens: list[Token], i: int) -> int:
    """After ``tokens[i]``: 1 when a subject may come next — after a question's auxiliary
    ("Can …", "Should …") or a "for" that opens an infinitive's subject ("Is it legal for
    *me* / *my employer* to read …"); 2 after a possessive that follows one ("Can my …");
    else 0."""
    word = tokens[i].text
    if lead and word in c.QUESTION_AUX and not (i and tokens[i - 1].text in c.WH and word in c.BE):
        return 1  # not "Who is my sister's husband?": a copula after "who" asks an identity
    if word in c.DO_AUX and i >= 2 and tokens[i - 2].text in ("which", "what"):
        return 1  # "Which animals *do* jellyfish eat?": what follows is the subject
    if word == "for":
        j = i + 1 + (i + 1 < len(tokens) and tokens[i + 1].text in c.POSSESSIVE_DETERMINERS)
        return int(j + 1 < len(tokens) and tokens[j + 1].text == "to")
    if state == 1 and word in ARTICLES and tokens[i - 1].text in c.DO_AUX:
        return 1  # "does *the* US …": the subject comes after the article
    return 2 if state and word in c.POSSESSIVE_DETERMINERS else 0


_ARITH = frozenset("+-*/^()×÷%")
# Assignments that update a value in order: "x += 3; x *= 2" is not "x *= 3; x += 2".
_ARITH |= {op + "=" for op in "+-*/%^"} | {"=", "**", "//", "**=", "//=", ":"}  # ":": a slice
