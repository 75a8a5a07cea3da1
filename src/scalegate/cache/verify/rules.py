"""The verifier: closed-class contradictions, then alignment, then roles — the first
failure is the reason.

Strictness (a miss costs money, a false hit a wrong answer; the default is ``strict``):

``strict``    synonyms through a word's most frequent WordNet senses; "all" and "only" in
              one prompt only are a contradiction;
``balanced``  synonyms through any sense and adjective clusters; "all" may be present in
              one prompt when the other has no quantifier ("only" may not: it narrows).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from scalegate.cache.verify.align import align
from scalegate.cache.verify.compare import (
    blanks_placed_differently,
    closed_class,
    coordination_differs,
    one_against_all,
    placed_differently,
    restrictor_moved,
)
from scalegate.cache.verify.features import (
    RELATIVE,
    Analysis,
    analyse,
)
from scalegate.cache.verify.fields import BOUNDARY, CLAUSE
from scalegate.cache.verify.frame import Frame
from scalegate.cache.verify.inflection import agent_moved, inflection_differs
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.modifiers import (
    compound_reversed,
    modifier_traded,
    number_stepped_over,
    numbers_traded,
    words_traded,
)
from scalegate.cache.verify.owners import owner_replaced, owners_differ
from scalegate.cache.verify.quotes import QUOTES, incidental
from scalegate.cache.verify.relations import relation_differs, relation_replaced, stranded
from scalegate.cache.verify.roles import (
    clauses,
    clauses_exchanged,
    condition_last,
    conditions_traded,
    fronted_last,
    gerund_with_object,
    object_person_differs,
    opens_with_be,
    persons,
    possessive_as_of,
    predicate_swapped,
    relative_swapped,
    sides_swapped,
    spans_swapped,
    swapped,
)
from scalegate.cache.verify.tense import (
    agent_made_object,
    mood_differs,
    person_voice_differs,
    tense_differs,
    times_differ,
    voice_differs,
)
from scalegate.cache.verify.verbs import particle_dropped, task_replaced
from scalegate.cache.verify.word_rules import READ_FROM_WORDS

logger = logging.getLogger(__name__)

STRICTNESS = ("strict", "balanced")
# Quote marks, not apostrophes: "the meaning of 'schadenfreude'" / "schadenfreude – meaning?"
# Any pair will do; these touch each part of speech and the role and subject rules.
_WARM_PAIRS = (
    ("Can I quickly bake bread without yeast at home?", "how could my son bake bread by hand"),
    ("The neighbor's dog bit my sister", "Did my sister bite the neighbour's happier dogs?"),
)


class Verifier:
    """Decides whether two prompts ask the same thing; see :meth:`reason`."""

    def __init__(self, lexicon: Lexicon | None = None, *, cache_size: int = 4096) -> None:
        self.lexicon = lexicon if lexicon is not None else Lexicon()
        self._analyse = lru_cache(maxsize=cache_size)(self._analysis)

    def _analysis(self, text: str) -> Analysis:
        return analyse(text, self.lexicon)

    def reason(self, a: str, b: str, strictness: str = "strict") -> str | None:
        """Why ``a`` and ``b`` must not share an answer, or ``None`` when they may."""
        if strictness not in STRICTNESS:
            raise ValueError(f"strictness must be one of {STRICTNESS}, not {strictness!r}")
        if a == b:
            return None
        if not self.lexicon.available:
            return "lexicon-unavailable"
        da, db = self._analyse(a), self._analyse(b)
        if incidental((da, db), (a, b)):
            da, db = self._analyse(QUOTES.sub(" ", a)), self._analyse(QUOTES.sub(" ", b))
        closed = closed_class(da, db, strictness)
        if closed is not None:
            return closed
        placed = placed_differently(da, db, (a, b))
        if placed is not None:
            return placed
        if tense_differs((da.leads, db.leads), (da.aspects, db.aspects)):
            return "tense"  # "Was the bridge open?" / "Is the bridge open?"
        if times_differ(da.timed, db.timed):
            return "tense"  # "I've been laid off" / "I'm about to be laid off"
        if mood_differs((da.openings, da.exact["question"]), (db.openings, db.exact["question"])):
            return "modality"  # "Could a penguin survive …?" / "Do penguins live …?"
        if coordination_differs(da.sequence, db.sequence):
            return "connective"  # "high in protein *and* low in carbs" / "… *or* …"
        be_a, be_b = opens_with_be(a), opens_with_be(b)
        reason, pairs = align(
            da.content,
            db.content,
            self.lexicon,
            all_senses=strictness == "balanced",
            praise=not (be_a or be_b),  # "Is running *good* exercise?" asks just that
            frames=(Frame.of(da), Frame.of(db)),
        )
        if reason is not None:
            return reason
        return self._aligned(da, db, pairs, be_a and be_b)

    def _aligned(
        self, da: Analysis, db: Analysis, pairs: dict[int, int], copular: bool
    ) -> str | None:
        """What aligned words still say: their inflection, the prepositions before them,
        and the roles they fill (``copular``: both prompts are yes/no questions with "be")."""
        task = task_replaced(da, db, pairs, self.lexicon)
        if task is not None:
            return f"unaligned:{task}"
        if particle_dropped(da, db, pairs, self.lexicon):
            return "direction"  # "rent *out* my apartment" / "rent an apartment"
        reason = inflection_differs(da, db, pairs, self.lexicon) or relation_differs(
            da, db, pairs, self.lexicon
        )
        if reason is not None:
            return reason
        if one_against_all(da, db, pairs):
            return "quantifier"
        if blanks_placed_differently(da.words, db.words):
            return "order"  # "will ___ our plans" / "the ___ of the weather"
        renamed = _renamed(da, db, pairs)
        if restrictor_moved(da, db, renamed) or restrictor_moved(
            db, da, _renamed(db, da, {a: b for b, a in pairs.items()})
        ):
            return "order"  # "do all mammals …" / "are all animals that … mammals"
        if copular and predicate_swapped(da.sequence, renamed):
            return "order"
        if relation_replaced(da.sequence, renamed, self.lexicon):
            return "relation"
        return self._roles(da, db, renamed, pairs)

    def _roles(
        self, da: Analysis, db: Analysis, renamed: list[str], pairs: dict[int, int]
    ) -> str | None:
        """``person`` when the questions ask about someone else ("Can I …" / "Can my
        roommate …"), ``order`` when two nominal words trade places (:func:`swapped`)."""
        subjects_a, subjects_b = _subjects(da, da.sequence), _subjects(db, renamed)
        if subjects_a and subjects_b and subjects_a != subjects_b:
            return "person"
        for differs, why in READ_FROM_WORDS:
            if differs(da, db, self.lexicon):
                return why
        same_person = persons(subjects_a) and subjects_a == subjects_b
        if (
            (same_person and voice_differs(da.voices, db.voices, pairs))
            or person_voice_differs((da.sequence, da.voices), (db.sequence, db.voices), pairs)
            or agent_made_object(
                (da.sequence, da.sequence, da.words), (renamed, db.sequence, db.words)
            )
        ):
            return "order"  # "Can I *be added* to …" / "Can I *add* my parents to …"
        seq_a, seq_b = da.sequence, renamed
        if da.condition and db.condition:
            seq_a, seq_b = condition_last(seq_a, da.condition), condition_last(seq_b, db.condition)
        seq_a, seq_b = fronted_last(seq_a, da.fronted), fronted_last(seq_b, db.fronted)
        roles_a = possessive_as_of(seq_a, self._nominal, boundaries=True)
        roles_b = possessive_as_of(seq_b, self._nominal, boundaries=True)
        if (
            swapped(roles_a, roles_b, self._nominal, _as_said(renamed, db))
            or sides_swapped(da.sequence, renamed)
            or spans_swapped(da.sequence, renamed)
            or self._condition_swapped(da, db, renamed)
        ):
            return "order"
        pairs_a = {(da.sequence[x], da.sequence[y]) for x, y in da.compounds}
        pairs_b = {(renamed[x], renamed[y]) for x, y in db.compounds}
        if (
            compound_reversed(pairs_a, pairs_b)
            or numbers_traded(da.sequence, renamed)
            or number_stepped_over(da.sequence, renamed)
        ):
            return "order"  # "chocolate milk" / "milk chocolate"
        if modifier_traded(pairs_a, pairs_b, da.sequence, renamed) or words_traded(
            da.words, db.words
        ):
            return "order"  # "diesel in a petrol car" / "petrol in a diesel car"
        if clauses_exchanged(da.sequence, renamed):
            return "order"
        if relative_swapped(
            da.sequence, renamed, self.lexicon.may_be_verb, (da.whose, db.whose)
        ) or stranded(da.words, db.words):
            return "order"  # "who taught Beethoven", "donate to someone" / "someone donate to"
        if (
            self._asked_moved(da, db, renamed)
            or agent_moved(da, db)
            or conditions_traded((da.sequence, da.condition), (renamed, db.condition))
        ):
            return "order"
        return self._whose(da, db, renamed)

    def _whose(self, da: Analysis, db: Analysis, renamed: list[str]) -> str | None:
        """``owner`` or ``person`` when the things asked about belong to, are done by or
        are done to someone else."""
        owned = owners_differ(da, db, renamed)
        if owned is not None:
            return owned
        actors = self._actors_differ(da.sequence, renamed)
        if actors is None and owner_replaced(
            da.sequence, da.owned, renamed, db.owned, self._nominal
        ):
            return "owner"
        if actors is None and object_person_differs(da.sequence, renamed):
            return "person"  # "mute *someone*" / "mute *myself*"
        return actors

    def _actors_differ(self, a: list[str], b: list[str]) -> str | None:
        """Who does what: a verb both prompts have, done by someone else — ``person`` when
        a pronoun is one of them ("*She* forgot my birthday" / "*I* forgot her birthday",
        "… if *my friend* forgot my birthday" / "… if *I* forgot my friend's birthday"),
        ``order`` when the actor of one is acted on in the other ("… if *my dog* bit my
        neighbor's child" / "… if *my neighbor's dog* bit my child")."""
        theirs: dict[str, list[tuple[frozenset[str], list[str]]]] = {}
        for clause in clauses(b):
            for verb, actor, rest in self._actions(clause):
                theirs.setdefault(verb, []).append((actor, rest))
        for clause in clauses(a):
            for verb, actor, rest in self._actions(clause):
                others = theirs.get(verb, [])
                if not others or any(actor == other for other, _ in others):
                    continue
                for other, other_rest in others:
                    if any(w.startswith("@") for w in actor | other):
                        return "person"
                    # Both verbs have an object: "bit | my child", "bit @me".
                    objects = self._object(rest) and self._object(other_rest)
                    if objects and (actor & set(other_rest) or other & set(rest)) - {"='s"}:
                        return "order"
        return None

    def _actions(self, clause: list[str]) -> list[tuple[str, frozenset[str], list[str]]]:
        """(verb, who, what follows) for each verb right after its actor — a person ("I
        lent"), or a noun phrase its determiner opened ("my younger brother borrowed", "my
        neighbor's dog bit"). "python split string" or "compound interest calculated" name
        no actor: a noun phrase needs its determiner."""
        out: list[tuple[str, frozenset[str], list[str]]] = []
        phrase: list[str] = []
        opened = False
        for i, w in enumerate(clause):
            if w == BOUNDARY or w.startswith("@"):
                phrase, opened = ([w] if w.startswith("@") else []), True
            elif w == "='s" and opened and phrase:
                phrase.append(w)
            elif w == RELATIVE:
                continue  # "a coworker *who* took credit": the coworker acts
            elif w.startswith("="):
                phrase, opened = [], False
            elif phrase and opened and self._acts(w):
                out.append((w, frozenset(phrase), clause[i + 1 :]))
                phrase, opened = [], False
            elif opened and self._nominal(w):
                phrase.append(w)
            else:
                phrase, opened = [], False
        return out

    def _object(self, rest: list[str]) -> bool:
        """What follows a verb (past any verbs chained to it: "keeps interrupting") starts
        with its object: a determiner's noun phrase or a person."""
        i = 0
        while i < len(rest) and not rest[i].startswith(("@", "=")) and self._acts(rest[i]):
            i += 1
        return i < len(rest) and (rest[i] == BOUNDARY or rest[i].startswith("@"))

    def _acts(self, word: str) -> bool:
        """A verb in a statement: usually a verb, or a past form of one ("bit", "ignored")."""
        lex = self.lexicon
        return lex.verbal(word) or (lex.may_be_verb(word) and lex.is_past(word))

    def _verb_after(self, words: list[str], pos: int) -> int | None:
        """The verb after the subject that starts at ``pos``: the last word that may be
        one before the clause (or a preposition) ends — "What does acid rain *cause*?",
        "What does high cholesterol *lead* to?", past a phrase of the subject's own
        ("What does deforestation in *the* Amazon *cause*?", v58)."""
        verb = None
        for i in range(pos + 1, len(words)):
            w = words[i]
            if w.startswith(("=", "@")) or w == CLAUSE:
                break
            if w == BOUNDARY:
                continue
            if self.lexicon.may_be_verb(w):
                verb = i
        return verb

    def _condition_swapped(self, da: Analysis, db: Analysis, renamed: list[str]) -> bool:
        """Roles traded inside both prompts' "if" clauses, read on their own (verifier v54):
        a person the main clause says too ("what should *I* do if my boss yells at *me*")
        keeps its first place in the whole prompt, where the trade does not show."""
        if not (da.condition and db.condition):
            return False
        cond_a = [da.sequence[i] for i in da.condition]
        cond_b = [renamed[i] for i in db.condition]
        roles_a = possessive_as_of(cond_a, self._nominal, boundaries=True)
        roles_b = possessive_as_of(cond_b, self._nominal, boundaries=True)
        return swapped(roles_a, roles_b, self._nominal, _as_said(renamed, db))

    def _asked_moved(self, da: Analysis, db: Analysis, renamed: list[str]) -> bool:
        """The subject a question asks about is the other's object: "What does *inflation*
        cause?" / "What causes *inflation*?" (the verb comes before it there)."""
        sides = (  # the asking prompt's words, as said; the other's, in A's words and said
            (da, da.sequence, da.sequence, renamed, db.sequence),
            (db, renamed, db.sequence, da.sequence, da.sequence),
        )
        for asking, mine, mine_said, other, said in sides:
            for pos in asking.asked:
                if gerund_with_object(asking.words, mine_said[pos]):
                    continue  # "how long does *getting* a passport take" (v58)
                v = self._verb_after(mine, pos)
                if v is None or mine[pos] not in other or mine[v] not in other:
                    continue
                noun, at = mine[pos], other.index(mine[v])
                forms = (said[at], mine_said[v])
                if forms[0] != forms[1] and any(f.endswith(_NOMINAL_SUFFIXES) for f in forms):
                    continue  # "meaning of X" is no verb taking X: what "does X mean" asks
                if self._after(other, at, noun):  # "causes inflation", "export … to the US"
                    return True
        return False

    def _after(self, words: list[str], verb: int, noun: str) -> bool:
        """Whether ``noun`` is what the verb at ``verb`` acts on: its object, past relation
        words, boundaries and verbs joined to it ("hunt *and eat* X"), or the object of a
        preposition after its own object ("export goods *to the US*") — never an agent
        ("made *by* bees") nor a noun another verb comes before."""
        for at in range(verb + 1, min(len(words), verb + 7)):
            word = words[at]
            if word == noun:
                return words[at - 1] != "=by"
            if word == CLAUSE or (
                word[0] not in "=|"
                and words[at - 1] not in ("=and", "=or")
                and self.lexicon.verbal(word)
                and not self._nominal(word)
            ):
                return False
        return False

    def warm(self) -> None:
        """Load what the first verification would otherwise pay for (~0.2 s: simplemma's
        English dictionary, WordNet's index pages): call it off the event loop at start-up."""
        for a, b in _WARM_PAIRS:
            self.reason(a, b)

    def _nominal(self, word: str) -> bool:
        """A word that can fill a role: a noun, a name, a person — not a verb."""
        return word.startswith("@") or not self.lexicon.verbal(word)


# A verb made a noun ("meaning", "creation", "payment"): it takes no object.
_NOMINAL_SUFFIXES = ("ing", "ion", "ment", "ance", "ence")


def _as_said(renamed: list[str], db: Analysis) -> dict[str, str]:
    """B's words renamed to A's → as B says them."""
    return {r: w for r, w in zip(renamed, db.sequence, strict=True) if r != w}


def _subjects(analysis: Analysis, sequence: list[str]) -> set[str]:
    """Who the prompt's questions ask about (:attr:`Analysis.subjects`), in ``sequence``'s
    words: the other prompt's through the alignment, so "my kid" meets "my child"."""
    return {sequence[i] for i in analysis.subjects}


def _renamed(da: Analysis, db: Analysis, pairs: dict[int, int]) -> list[str]:
    """``db``'s sequence with each content word replaced by its aligned word of ``da``."""
    return [da.sequence[pairs[i]] if i in pairs else word for i, word in enumerate(db.sequence)]
