"""Digits typed for words in chat: "how *2* make cold brew" is "how to make", "is it normal
*4* my cat" is "for my cat" (verifier v37). A number is followed by a plural noun ("merge
2 dicts") or by a unit ("2 hour drive"); a "2" between a word a "to" follows ("how",
"want") and a verb's base form that is no plural, or a "4" before a pronoun or a
determiner, is a word."""

from __future__ import annotations

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import Token, one_edit
from scalegate.cache.verify.units import UNITS

_BEFORE_FOR = c.DETERMINERS | frozenset({"me", "you", "him", "us", "them", "it", "u"})
# What a "to" and a verb follow: "how *2* make", "want *2* learn" (not "buy 2 get 1").
_BEFORE_TO = frozenset({
    "how", "what", "where", "when", "want", "wants", "wanted", "need", "needs", "needed",
    "have", "has", "going", "trying", "try", "tried", "like", "love", "hate", "able", "used",
    "way", "ways", "ought", "supposed", "about",
    # "is it *ok 2* exercise with a cold" (v69)
    "ok", "okay", "safe", "good", "bad", "normal", "possible", "easy", "hard", "better",
    "best", "legal", "fine", "smart", "cheaper",
})  # fmt: skip
# After these a "4" is a count: "is 4 the answer", "2 + 2 or 4".
_COUNTED_AFTER = c.BE | c.DETERMINERS | frozenset({"to", "of", "by", "than", "times", "or", "and"})


def casual_digits(tokens: list[Token], lexicon: Lexicon) -> list[Token]:
    """``tokens`` with a "2" read as "to" and a "4" as "for" where they stand for words."""
    out = list(tokens)
    for i in range(1, len(tokens) - 1):
        tok, prev, nxt = tokens[i], tokens[i - 1], tokens[i + 1]
        if tok.kind != "number" or prev.kind != "word" or nxt.kind != "word":
            continue
        if nxt.text in UNITS:
            continue
        if tok.text == "2" and prev.text in _BEFORE_TO and _verb_base(nxt.text, lexicon):
            out[i] = Token("word", "to")
        elif tok.text == "4" and nxt.text in _BEFORE_FOR and prev.text not in _COUNTED_AFTER:
            out[i] = Token("word", "for")
    return out


# The closed classes, every word of them: where a typo is read as the word it missed.
_CLOSED = frozenset(
    w for v in vars(c).values() if isinstance(v, frozenset) for w in v if isinstance(w, str)
)


def closed_typos(tokens: list[Token], lexicon: Lexicon) -> list[Token]:
    """``tokens`` with a typo of a closed-class or request word read as that word (v66):
    "whats *teh* difference", "how long *shoud* I steep", "*explian* this" — a word
    no dictionary knows, typed in lower case, one edit from exactly one such word with the
    same first letter, that makes no WordNet noun with a word next to it ("*yom* kippur",
    v80). A content word's typo is aligned with the other prompt's word by
    :func:`.typos.misspelt`; a closed-class word has nothing there to align with."""
    out = list(tokens)
    for i, tok in enumerate(tokens):
        word = tok.text
        if tok.kind != "word" or tok.capital or len(word) < 3 or not word.isalpha():
            continue
        if word in _CLOSED or not lexicon.unknown(word):
            continue
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if lexicon.collocation(word, nxt) or lexicon.collocation(prev, word):
            continue  # a word of a name WordNet lists whole: "*yom* kippur" is no "you" (v80)
        if prev in c.DETERMINERS:
            continue  # a noun follows "my", "the": "my *hoa*" is no "how" (v98)
        near = [w for w in _CLOSED if _typo_of(word, w)]
        if len(near) == 1:
            out[i] = Token("word", near[0])
    return out


def _typo_of(typed: str, word: str) -> bool:
    """``typed`` is ``word`` with one edit, the first letter kept — not a longer word it
    starts ("*show*r" may be "shower"), nor one it starts ("*int*" is "integer", not
    "into"), nor a two-letter one ("*up*" / "udp")."""
    return (
        len(word) >= 3
        and word[:1] == typed[:1]
        and not typed.startswith(word)
        and not word.startswith(typed)
        and one_edit(typed, word)
    )


def _verb_base(word: str, lexicon: Lexicon) -> bool:
    """A verb's base form, not a plural noun: "make", "merge" — not "dicts", "kids"."""
    return (
        word.isalpha()
        and not lexicon.plural(word)
        and not lexicon.is_past(word)
        and not word.endswith(("ing", "s"))
        and lexicon.may_be_verb(word)
    )


# Periods a frequency counts by: "*every* day", "*each* week" (v56).
_PERIODS = frozenset({"day", "night", "week", "month", "year", "morning", "evening", "afternoon",
                      "hour", "minute", "weekend"})  # fmt: skip
# Adverbs of frequency for "per" and a period, at the end of a clause ("drink water *daily*").
_PER_PERIOD = {"daily": "day", "nightly": "night", "weekly": "week", "monthly": "month",
               "yearly": "year", "annually": "year", "hourly": "hour"}  # fmt: skip


def per_period(tokens: list[Token]) -> list[Token]:
    """``tokens`` with a frequency said one way (verifier v56): "*every* day", "*each* day"
    and "drink water *daily*" are "*per* day" — a rate, not a quantity of days. Only before
    a period ("every student" still counts them all) and, for the adverb, where it ends a
    clause ("a *daily* routine" stays)."""
    out: list[Token] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind != "word":
            out.append(tok)
        elif tok.text in ("every", "each") and nxt is not None and nxt.text in _PERIODS:
            out.append(Token("word", "per"))
        elif tok.text in _PER_PERIOD and i and (nxt is None or nxt.kind == "punct"):
            out += [Token("word", "per"), Token("word", _PER_PERIOD[tok.text])]
        else:
            out.append(tok)
    return out


_PLACED = frozenset({"located", "situated"})


def where_located(tokens: list[Token]) -> list[Token]:
    """``tokens`` without a "located" that ends a where-question (v63): "Where is the Great
    Barrier Reef *located*?" asks what "Where's the Great Barrier Reef?" does. Only right
    after "where" and a "be" opened the clause and only as its last word ("where is the
    file located on disk" keeps it)."""
    out: list[Token] = []
    opened = False  # the clause opened with "where" + be
    for i, tok in enumerate(tokens):
        if tok.kind == "punct":
            opened = False
        elif tok.text == "where" and i + 1 < len(tokens) and tokens[i + 1].text in c.BE:
            opened = not out or out[-1].kind == "punct"
        elif opened and tok.text in _PLACED:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is None or nxt.kind == "punct":
                continue
        out.append(tok)
    return out


_SAID = frozenset({"word", "phrase", "term", "idiom", "expression", "saying"})
_MEANING = frozenset({"mean", "means", "meaning", "define", "definition"})
# What may follow "short for" that asks what a name stands for.
_ENDS: tuple[list[str], ...] = ([], ["what"], ["?"], ["."])


def words_named(tokens: list[Token]) -> list[Token]:
    """``tokens`` with a word's name for itself left out, a clipped "diff" spelt out and
    "short for" read as "stand for" (v67): "what does *the phrase* 'carpe diem' mean" asks
    what "what does 'carpe diem' mean" does, and so does "meaning of *the phrase* carpe
    diem" (at most three words after it, ending the sentence, in a prompt about meaning) —
    not "the German *word* for umbrella"; "what's the *diff* between" is "the difference
    between" (after a determiner: "git *diff*" stays); "what is HTTP *short for*"."""
    texts = [t.text for t in tokens]
    about_meaning = any(t in _MEANING for t in texts)
    out: list[Token] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.kind == "word" and tok.text in _SAID and i and texts[i - 1] in ("the", "this"):
            if nxt is not None and nxt.kind == "quoted":
                continue
            rest = []
            for t in tokens[i + 1 :]:
                if t.kind == "punct" or t.text in ("mean", "means"):
                    break
                rest.append(t)
            if about_meaning and 0 < len(rest) <= 3 and all(t.kind == "word" for t in rest):
                continue
        if tok.text == "city" and i and texts[i - 1] == "capital":
            continue  # "the capital *city* of France" is its capital (v68)
        after = texts[i + 2 : i + 3]
        if tok.text == "short" and nxt is not None and nxt.text == "for" and after in _ENDS:
            out.append(Token("word", "stand"))  # "what is HTTP *short* for" (v67)
            continue
        if (
            tok.kind == "word"
            and tok.text == "diff"
            and i
            and texts[i - 1] in c.DETERMINERS
            and nxt is not None
            and nxt.text in ("between", "of", "in")
        ):
            out.append(Token("word", "difference"))
            continue
        out.append(tok)
    return out
