"""Closed-class words read with the words around them, for :func:`.features.analyse`: an
"all" that names something ("UNION *ALL*", v47), a "most" that is the next word's degree
("the *most* healthy", v56), a "can you" that asks what one can do, a "you" in a role
("your teenager catches *you*", v54)."""

from __future__ import annotations

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.lexicon import Lexicon
from scalegate.cache.verify.tokens import Token
from scalegate.cache.verify.wordrole import asks_can
from scalegate.cache.verify.words import marked_degree

# Words that open a clause whose subject does something: "when *you* catch …".
CLAUSE_OPENERS = frozenset({"when", "whenever", "if", "while", "after", "before", "because",
                             "unless", "until", "once"})  # fmt: skip
# An "all" after a noun or ending its phrase: "UNION *ALL*", "delete *all*" (verifier v47).
NAMED_ALL = "all!"
_ALL_PRONOUNS = frozenset({"everything", "everyone", "everybody"})


def names_all(tokens: list[Token], i: int, placed: dict[int, int], lexicon: Lexicon) -> bool:
    """``tokens[i]``, an "all", stands after the word it is part of ("UNION *ALL*") or ends
    its phrase ("how do I delete *all*"), so no prompt may leave it out — not one before
    its noun ("stay up *all* night"). "everything", "everyone" and "everybody" are always
    a noun phrase of their own: "the owner of a directory *and everything inside it*"
    asks for more at ``balanced`` too (verifier v81)."""
    if tokens[i].text in _ALL_PRONOUNS and tokens[i].kind == "word" and i not in placed:
        return True  # a noun phrase of its own: "the owner of a directory and *everything* …"
    if tokens[i].text != "all" or tokens[i].kind != "word" or i in placed:
        return False  # not a quantifier: a word in code or capitals ("SELECT *ALL*")
    after_content = i - 1 in placed
    if i + 1 == len(tokens) or tokens[i + 1].kind == "punct":
        return True
    # After a word that is no verb ("UNION *ALL*"), between a word and a verb ("UNION *ALL*
    # work") or a preposition ("delete *all* in Gmail"); "list *all* of", "sleep *all*
    # night" are a verb's object.
    nxt = tokens[i + 1].text
    return after_content and (
        not lexicon.may_be_verb(tokens[i - 1].text)
        or lexicon.verbal(nxt)
        or (nxt in c.PREPOSITIONS and nxt != "of")
    )


def in_context(role: str | None, tokens: list[Token], i: int, lexicon: Lexicon) -> str | None:
    """``role`` of ``tokens[i]`` as the words after it read it: "*can* you use tabs" asks
    what one can do; "the *most* healthy" is the next word's degree (v56)."""
    if role is not None and keyword(tokens, i):
        return None  # "DISTINCT *ON*", "ORDER *BY*": a keyword's word, not grammar (v81)
    if i + 1 < len(tokens) and marked_degree(tokens, i + 1, lexicon):
        return "light"
    nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
    if role == "quantifier:whole" and nxt and "time_period" in lexicon.broader(nxt):
        return "quantifier:all"  # "the *whole* night" is "all night", not a whole of parts
    if role == "light" and nxt == "you" and tokens[i].text in ("can", "could"):
        return "modality:can" if asks_can(tokens, i) else role
    return role


def keyword(tokens: list[Token], i: int) -> bool:
    """``tokens[i]``, a preposition or a word of direction, is written in capitals next to
    another word in capitals, in a prompt not typed in capitals: one word of a keyword
    that is more than one ("DISTINCT *ON*", "ORDER *BY*", "INSERT *INTO*"), not an
    emphasis ("I NEED HELP *with*") nor a word alone ("is it *OK*") (verifier v81)."""
    word = tokens[i].text
    if not tokens[i].caps or not (word in c.PREPOSITIONS or word in c.DIRECTION):
        return False
    return any(
        0 <= j < len(tokens) and tokens[j].caps and tokens[j].kind == "word" for j in (i - 1, i + 1)
    )


def mark_you(word: str, in_role: bool, sequence: list[str]) -> None:
    """A "you" in a role (verifier v54): after a word ("your teenager catches *you*") or
    opening a clause ("when *you* catch your teenager") — not the addressee of "how do you
    say …", whom the person field leaves out."""
    if word == "you" and in_role:
        sequence.append("@2")
