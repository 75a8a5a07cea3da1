"""Aligned words said in another form: one thing against several of what is asked for
("What *is* the square *root* …" / "What *are* the square *roots* …"), another degree
("cheap" / "cheapest", two comparatives that do not align) or another tense ("Who *invented*
…" / "Who *invents* …") — the checks :class:`.rules.Verifier` makes on each aligned pair."""

from __future__ import annotations

from scalegate.cache.verify.align import align
from scalegate.cache.verify.features import Analysis
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tense import asked_by_whom
from scalegate.cache.verify.words import Word


def inflection_differs(
    da: Analysis, db: Analysis, pairs: dict[int, int], lexicon: Lexicon
) -> str | None:
    """Aligned words of one lemma in another tense, degree or number: "happened"/"happens",
    "hottest"/"hot"; two superlatives (comparatives) of other words that are not synonyms in
    their main senses: each picks its own extreme ("the *largest* lake" / "the *deepest*
    lake", which a rarer sense of "deep" joins), while "biggest" / "largest" agree."""
    words_a = {w.position: w for w in da.content}
    for wb in db.content:
        wa = words_a.get(pairs.get(wb.position, -1))
        if wa is None:
            continue
        if (
            wa.position in da.asked_for
            and wb.position in db.asked_for
            and wa.keys & wb.keys
            and lexicon.plural(wa.text) != lexicon.plural(wb.text)
        ):
            # What is asked for, one against several: "What *is* the square *root* …" /
            # "What *are* the square *roots* …", "Recommend *a book*" / "Recommend *books*".
            return "number"
        if not wa.keys & wb.keys:
            if (
                wa.degree
                and wa.degree == wb.degree
                and align([wa], [wb], lexicon, all_senses=False)[0] is not None
            ):
                return "comparison"
            continue
        if wa.past != wb.past and not (_by_whom(da, wa) or _by_whom(db, wb)):
            return "tense"
        if wa.degree != wb.degree:
            return "comparison"
    return None


def _by_whom(d: Analysis, w: Word) -> bool:
    return asked_by_whom(w, d.sequence, d.leads, "past" in d.exact["tense"])


def agent_moved(da: Analysis, db: Analysis) -> bool:
    """A thing a passive question says was acted on ("who was *Brutus* killed by", "by whom
    was *Brutus* killed") is the doer in the other prompt: after "by" ("who was killed *by
    Brutus*") or the subject a do-question asks about ("who did *Brutus* kill") (verifier
    v59)."""
    for asking, other in ((da, db), (db, da)):
        for participle in asking.content:
            if not _by_whom(asking, participle):
                continue
            patients = [w.keys for w in asking.content if w.position < participle.position]
            if any(
                w.keys & keys and (w.preposition == "by" or w.position in other.asked)
                for w in other.content
                for keys in patients
            ):
                return True
    return False
