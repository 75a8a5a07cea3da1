"""Tense and mood of a prompt's questions: read while a prompt is analysed, compared between
two prompts (issue 15, verifier v9).

* The auxiliary that leads a question — at the start of a clause, or after its question
  word's phrase: "What currency *did* …", "How many people *were* …" — gives the question
  its tense ("Was the bridge open?" / "Is the bridge open?"); "has"/"have" is a present,
  "will"/"shall" a future.
* A verb right after be/do keeps that auxiliary's tense anywhere in a prompt ("whether the
  shuttle *is carrying*" / "*was carrying*"): compared only for a verb both prompts have.
* A verb's own auxiliary chain, read back from it over be/get and adverbs, says whether it
  is to come ("will be laid off", "am *about to* be", "*going to* get") or has been ("*have*
  been laid off", "*was* fired", "*got* laid off"): a verb both prompts have, to come in one
  and done in the other, is another question (verifier v20). Present against future is
  not compared: "When does the store open?" asks what "When will the store open?" does.
* A yes/no question that opens with a modal asks what may be, one that opens with do what
  is ("*Could* a penguin survive …" / "*Do* penguins live …"); "Can you …" is politeness,
  and after a question word a modal is idiom ("How can I …" asks "How do I …").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.fields import CLAUSE

if TYPE_CHECKING:  # features imports this module
    from scalegate.cache.verify.words import Word

LEAD_TENSE = {
    **{w: "present" for w in c.AUXILIARIES | c.DO_AUX | c.PERFECT_AUX},
    **{w: "past" for w in c.PAST_AUX},
    **{w: "future" for w in c.FUTURE_AUX},
}
WH_PHRASE = 4  # words a question word's phrase may take before its auxiliary
# be and do, whose tense a verb right after them takes ("is carrying", "was built", "did go").
_ASPECT_TENSE = {w: LEAD_TENSE[w] for w in (c.DO_AUX | c.PAST_AUX) - {"had"}}
_OPENINGS = {
    **dict.fromkeys(c.MODALS - {"would"}, "modal"),
    **dict.fromkeys(("do", "does", "did"), "do"),
}


# What an auxiliary chain passes over on its way back from its verb: "will *not be* laid
# off", "has *just been* fired", "will *get* promoted".
_CHAIN = c.NEGATORS | c.CHAIN_ADVERBS | frozenset(("be", "been", "being")) | c.GET
_CHAIN_TIME = {
    **dict.fromkeys(c.FUTURE_AUX, "future"),
    **dict.fromkeys(c.PAST_AUX | c.PERFECT_AUX, "past"),
}
_FUTURE_TO = frozenset({"going", "about"})  # "going to be", "about to get"


def verb_time(words: Sequence[str], i: int) -> str:
    """ "future", "past" or "" for the verb ``words[i]``, from the auxiliaries before it."""
    got = False
    j = i - 1
    while j >= 0 and words[j] in _CHAIN:
        got = got or words[j] in ("got", "gotten")
        j -= 1
    if j < 0:
        return "past" if got else ""
    word, before = words[j], words[j - 1] if j else ""
    if word == "to":
        return "future" if before in _FUTURE_TO else ""
    if word in c.PERFECT_AUX and before in c.MODALS | c.FUTURE_AUX:
        return ""  # "will have been", "should have been": not said to be done
    return _CHAIN_TIME.get(word, "past" if got and word not in c.MODALS else "")


_BE = frozenset({"be", "been", "being", "is", "are", "am", "was", "were"}) | c.GET


def passive_voice(words: Sequence[str], i: int) -> bool:
    """Whether the participle ``words[i]`` is passive: be or get in its auxiliary chain
    ("can I *be* added", "*got* fired", "is being built")."""
    j = i - 1
    if j >= 1 and words[j] == "-":
        j -= 2  # a compound's first part: "was *rear-ended*", "got *double-booked*" (v64)
    while j >= 0 and (words[j] in _CHAIN or words[j] in _BE):
        if words[j] in _BE:
            return True
        j -= 1
    return False


# Auxiliaries before which a verb's base form is its participle: "I *was hit*" (v64) — not
# "get", which takes adjectives too ("get *better*", "get *ready*").
_BE_DONE = frozenset({"was", "were", "be", "been", "being"})


def same_form_participle(words: Sequence[str], i: int, may_be_verb: bool) -> bool:
    """``words[i]`` is a verb whose participle is its base form ("hit", "cut", "hurt",
    "put") right after an auxiliary that makes it passive: "I *was hit* at a red light" —
    not after "is" ("what *is* love") (verifier v64)."""
    return (
        may_be_verb
        and i > 0
        and words[i - 1] in _BE_DONE
        and not words[i].endswith("ing")
        and words[i + 1 : i + 2] != ["-"]  # a compound's first part: "was *rear*-ended"
    )


def person_voice_differs(
    a: tuple[Sequence[str], dict[int, bool]],
    b: tuple[Sequence[str], dict[int, bool]],
    pairs: dict[int, int],
) -> bool:
    """An aligned verb passive in one prompt and active in the other, each with the same
    person right before it (each side: sequence and its positions → passive; ``pairs``: B's
    positions → A's) — in a statement too, where :func:`voice_differs` has no subject to
    compare: "*I was rear-ended* at a red light" / "*I rear-ended* someone at a red light"
    (verifier v64)."""
    (seq_a, voices_a), (seq_b, voices_b) = a, b
    for b_pos, a_pos in pairs.items():
        if a_pos in voices_a and b_pos in voices_b and voices_a[a_pos] != voices_b[b_pos]:
            who = _person_before(seq_a, a_pos)
            if who is not None and who == _person_before(seq_b, b_pos):
                return True
    return False


def _person_before(sequence: Sequence[str], k: int) -> str | None:
    """The person ("@…") at most two words before ``sequence[k]`` — past a compound's first
    part or an adverb ("I *rear* ended", "I *badly* hurt") — or None."""
    for j in range(k - 1, max(-1, k - 4), -1):
        word = sequence[j]
        if word.startswith("@"):
            return word
        if not word[:1].isalpha():
            return None
    return None


def times_differ(
    a: Sequence[tuple[frozenset[str], str]], b: Sequence[tuple[frozenset[str], str]]
) -> bool:
    """A verb (by lemma) to come in one prompt and done in the other, and in neither
    both: "I've been laid off" / "I'm about to be laid off"."""
    for keys_a, time_a in a:
        for keys_b, time_b in b:
            if time_a != time_b and keys_a & keys_b:
                same = any(t == time_b for k, t in a if k & keys_b) or any(
                    t == time_a for k, t in b if k & keys_a
                )
                if not same:
                    return True
    return False


def note_tense(
    word: str,
    prev: str,
    role: str | None,
    opens: bool,
    lead: bool,
    nxt: str,
    found: tuple[list[str], list[tuple[str, str]], list[str]],
) -> None:
    """Record what ``word`` says of tense and mood into ``found`` (leads, aspects,
    openings): ``opens`` at the start of a yes/no question, ``lead`` where an auxiliary
    leads its question, ``role`` ``None`` for a content word."""
    leads, aspects, openings = found
    if opens and word in _OPENINGS and nxt not in ("you", "u"):  # "can you …" asks politely
        openings.append(_OPENINGS[word])
    if lead and word in LEAD_TENSE:
        leads.append(LEAD_TENSE[word])
    if role is None and prev in _ASPECT_TENSE:
        aspects.append((word, _ASPECT_TENSE[prev]))


_HAVE = {"have": "present", "has": "present", "had": "past"}
# After these "have" is an auxiliary or a modal ("have *to* go", "had *better*", "has *not*
# been", "have *you* seen"), not the verb of having.
_NOT_HAVING = (
    frozenset(("to", "better", "got", "gotten", "been", ""))
    | c.NEGATORS
    | c.CHAIN_ADVERBS
    | frozenset(c.PERSONS)
)


def have_tense(word: str, nxt: str, nxt_participle: bool) -> list[tuple[str, str]]:
    """[("have", its tense)] where "have" is the verb of having, not an auxiliary: what one
    has now is not what one had ("how do I know if I *have* covid" / "… if I *had* covid",
    verifier v29) — an aspect (:func:`tense_differs`), so compared only where both prompts
    say it. Not before a participle ("had gone") or a word of :data:`_NOT_HAVING`."""
    if word not in _HAVE or nxt_participle or nxt in _NOT_HAVING:
        return []
    return [("have", _HAVE[word])]


def tense_differs(
    leads: tuple[Sequence[str], Sequence[str]],
    aspects: tuple[Sequence[tuple[str, str]], Sequence[tuple[str, str]]],
) -> bool:
    """The questions' leading auxiliaries in other tenses — none in common, or as many
    questions and not the same tenses ("How did people travel …, what were the costs" /
    "How do people travel …, what were the costs") — or a verb both prompts put after
    be/do in other tenses (a verb said so on one side only is no evidence)."""
    a, b = leads
    if a and b and (sorted(a) != sorted(b) if len(a) == len(b) else not set(a) & set(b)):
        return True
    tenses_a: dict[str, set[str]] = {}
    for word, tense in aspects[0]:
        tenses_a.setdefault(word, set()).add(tense)
    tenses_b: dict[str, set[str]] = {}
    for word, tense in aspects[1]:
        tenses_b.setdefault(word, set()).add(tense)
    return any(not tenses_a[w] & tenses_b[w] for w in tenses_a.keys() & tenses_b.keys())


def asked_by_whom(
    word: Word, sequence: Sequence[str], leads: Sequence[str], past: bool = False
) -> bool:
    """``word`` is a past participle whose doer is what the question asks: "The telephone
    *was invented by* whom?", "Who *was* the telephone *invented by*?" ask what "Who
    *invented* the telephone?" asks (verifier v34), and so does "*By whom* was the telephone
    *invented*?" (v59: the prompt opens with "by", the participle ends its clause, ``past``:
    the prompt's auxiliary is past). Not "Who was killed by Brutus?"."""
    if word.past:
        return False
    end = sequence[word.position + 1 : word.position + 2] in ([], [CLAUSE])
    if past and end and sequence[:1] == ["=by"]:
        return True
    if not (word.time == "past" or (leads and all(x == "past" for x in leads))):
        return False
    after = sequence[word.position + 1 : word.position + 3]
    return after[:1] == ["=by"] and after[1:] in ([], [CLAUSE])


def mood_differs(
    a: tuple[Sequence[str], Sequence[str]], b: tuple[Sequence[str], Sequence[str]]
) -> bool:
    """One prompt's first yes/no question opens with a modal, the other's with do; or one
    asks whether, with a modal or do, and the other asks how, with no yes/no question of
    its own (v76): "*Can* dogs eat grapes?" / "*How* do dogs eat grapes?", and (v87) "*do*
    i need a permit to replace my water heater" / "*how* do i get a permit …". Each side:
    its openings and its question words."""
    (opens_a, asks_a), (opens_b, asks_b) = a, b
    if {*opens_a[:1], *opens_b[:1]} == {"modal", "do"}:
        return True
    return _whether_how(opens_a, asks_a, opens_b, asks_b) or _whether_how(
        opens_b, asks_b, opens_a, asks_a
    )


def _whether_how(
    opens: Sequence[str], asks: Sequence[str], other_opens: Sequence[str], other_asks: Sequence[str]
) -> bool:
    return (
        opens[:1] in (["modal"], ["do"])
        and "how" not in asks
        and "how" in other_asks
        and not other_opens
    )


def voice_differs(a: dict[int, bool], b: dict[int, bool], pairs: dict[int, int]) -> bool:
    """An aligned verb passive in one prompt and active in the other (each side: sequence
    position → passive, ``pairs``: B's positions → A's): with the same subject, its role
    changed — "Can I *be added* to my parents' insurance?" / "Can I *add* my parents to my
    insurance?"."""
    return any(a_pos in a and b_pos in b and a[a_pos] != b[b_pos] for b_pos, a_pos in pairs.items())


def agent_made_object(
    a: tuple[Sequence[str], Sequence[str], Sequence[str]],
    b: tuple[Sequence[str], Sequence[str], Sequence[str]],
) -> bool:
    """A passive verb's doer after "by" in one prompt is the same verb's object in the other
    (verifier v61): "my friend *was hit by a cyclist*" / "my friend *hit a cyclist*", "if
    I'm *being gaslighted by my partner*" / "if I'm *gaslighting my partner*". Each side:
    its sequence in the first prompt's words, as said, and its tokens (where "be" or "get"
    before the verb says it is passive — "split a string *by* commas" is a manner)."""
    for (x, said, words), (y, _, _) in ((a, b), (b, a)):
        for i in range(len(x) - 2):
            if x[i + 1] != "=by" or not x[i][:1].isalpha() or not _passive(words, said[i]):
                continue
            agent = _next_item(x, i + 2)
            if agent is None:
                continue
            if any(y[j] == x[i] and _next_item(y, j + 1) == agent for j in range(len(y))):
                return True
    return False


def _passive(words: Sequence[str], form: str) -> bool:
    """``form`` follows a "be" or "get" in ``words``: "was *hit*", "being *gaslighted*"."""
    return any(w == form and words[k - 1] in _BE for k, w in enumerate(words) if k)


def _next_item(words: Sequence[str], k: int) -> str | None:
    """The word at ``words[k]``, past the boundary of its noun phrase; None for a relation
    word, a clause's end or nothing."""
    if k < len(words) and words[k] == "|":
        k += 1
    if k >= len(words) or not words[k][:1].isalpha():
        return None
    return words[k]
