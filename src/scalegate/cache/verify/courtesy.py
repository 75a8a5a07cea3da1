"""Courtesy that asks nothing, taken out of a prompt before it is analysed (verifier v21).

Chat users wrap a question in formulas: "hey, *quick question*: …", "*sorry to bother
you, but* …", "*I was wondering if you could* …", "*would you mind* …", "… *much
appreciated*". They name no thing, time, amount or person the answer depends on; left in,
their words ("sorry", "quick", "wondering", "mind", "appreciated") align with nothing and
the paraphrase is refused.

A formula is a fixed sequence of words, closed like the request frame of
:data:`.classes.REQUEST_VERBS`, removed only where it stands alone: at the start of a
sentence (the prompt's, or after ``. ! ? : ; ,``), with a "but" that follows it, or as a
whole sentence at the end ("Thanks so much!", "Cheers"). Since v35 thanks are also removed
as a sentence of their own anywhere ("Thanks in advance! How do I …") and at the very end
of the prompt ("… on ubuntu thx") unless they are what is said ("How do I say *thank you*
…", "a *thank you* note"): greetings and thanks are no longer light words, so "How do I
say *thank you* in Japanese?" is not "How do I say *hello* …". Inside a sentence ("How do I
say *sorry* in Japanese?", "a *good morning* routine"), and inside quotes or code (one
token each), nothing is removed.
"""

from __future__ import annotations

import itertools
import re

from scalegate.cache.verify import classes as c
from scalegate.cache.verify.tokens import Token

# "{a|b c|}": one of the alternatives, the empty one making the group optional (groups do
# not nest). Words as the tokenizer writes them: lower case, contractions expanded ("I'd" →
# "i would").
# Formulas complete in themselves: removed when punctuation, "but" or the question's own
# opening word follows ("Hey, how …", "quick question how …"; not "good morning in
# Japanese?").
_STANDALONE = (
    "{hi|hello|hey|hiya|heya|yo|greetings|good morning|good afternoon|good evening}"
    "{ there| all| everyone| guys|}",
    "sorry{ to bother you| for bothering you| to ask| for asking|}",
    "sorry if this is a {dumb|stupid|silly|basic|noob|obvious|weird} {question|q}",
    "sorry for the {dumb|stupid|silly|basic|noob} {question|q}",
    # v98: said as a guess ("*maybe a dumb question*, but …").
    "{maybe|this might be|this may be|this is probably|probably|possibly} a "
    "{silly|dumb|stupid|basic|noob|obvious|weird} {question|q}",
    "{a |}{quick|simple|silly|dumb|stupid|random|noob|basic|small} {question|q}"
    "{ if you do not mind|}",
    "if you do not mind",
    "if it is not too much {trouble|to ask|of a bother}",
    "{just curious|out of curiosity|i am curious|i am just curious|curious|genuinely curious}",
    # Chat fillers and hedges (v50): "*so um basically* how do I …", "*real quick*, what
    # year …", "*ngl* I cannot focus", "*I was just wondering*, do sharks …".
    "{um|umm|uh|uhm|erm|hmm|ugh|so|ok so|okay so|alright so|basically|honestly|ngl|tbh|lol}",
    "{so like|right so|right|alright|okay|ok}",
    "{real quick|quick one|random thought|random question}",
    # A hope for help (v63): "hiya, *hoping you can help*: how do I …".
    "{i am |i was |}hoping {you|someone|anyone|somebody} {can|could} help{ me| me out| out|}",
    "{i |}hope {you|someone|anyone|somebody} {can|could} help{ me| me out| out|}",
    # Wishes (v67): "Hello, *I hope you're well*. How do I …".
    "{i |}hope {you are|your day is|all is} {well|good|doing well|doing good|having a good day|"
    "having a great day|going well|great}",
    "{i was|i am|i have been|i was just|just} wondering",
    # Doubts about the question itself (v99): "*not sure if this makes sense*, but …".
    "{i am |}not {totally |really |entirely |quite |}sure"
    "{ if this makes sense| if this even makes sense| if this matters| if this even matters|"
    " if i am overthinking this| if i am overthinking|}",
)
# Formulas that lead into the question: removed wherever a sentence starts with them.
_LEADING = (
    "{i was|i am|i have been|just|i} wondering {if|whether}"
    "{ you could| you can| you would| you might| anyone could| anyone can|}",
    # v98: the same in the present tense, or with whoever is asked named.
    "{i |}wonder {if|whether}",
    "{i was |i am |just |}wondering {if|whether} {anyone|someone|somebody} knows {if|whether}",
    "{i am |just |}curious {if|whether}",
    "{i am |}not {totally |really |entirely |quite |}sure {if|whether}",
    "{would|do} you mind"
    "{ telling| showing| giving| explaining| describing| helping| suggesting| recommending|}",
    "i would {really |greatly |}appreciate {it |}if you {could|can|would}",
    "{do|would} you happen to know",
)
_CLOSING = (
    "{thanks|thank you}{ so much| a lot| in advance| very much| a ton| kindly|}",
    "{much appreciated|appreciate it|cheers|any help appreciated}",
    "{tbh|ngl|lol|lmao|haha|fr}",
    "{i |}{really |}appreciate {any|your|the|all the} help",
)
_SENTENCE_END = frozenset(".!?:;,")
# Words before a "thank you" that is what is asked about (verifier v35).
_SAID_BEFORE = frozenset({"say", "says", "said", "saying", "a", "an", "the", "to", "is", "of",
                          "in"})  # fmt: skip


def _expand(pattern: str) -> list[tuple[str, ...]]:
    parts = re.split(r"\{([^{}]*)\}", pattern)
    choices = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    return [tuple("".join(c).split()) for c in itertools.product(*choices)]


Formulas = dict[str, tuple[tuple[str, ...], ...]]  # by first word, the longest first


def _longest_first(patterns: tuple[str, ...]) -> Formulas:
    every = sorted({words for p in patterns for words in _expand(p) if words}, key=len)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for words in reversed(every):
        by_first.setdefault(words[0], []).append(words)
    return {first: tuple(group) for first, group in by_first.items()}


STANDALONE = _longest_first(_STANDALONE)
LEADING = _longest_first(_LEADING)
# What a question may start with, right after a standalone formula.
_OPENERS = (
    c.WH
    | c.AUXILIARIES
    | c.DO_AUX
    | c.MODALS
    | c.PAST_AUX
    | c.FUTURE_AUX
    | frozenset(("i", "my", "we", "our", "you", "your", "please"))
)
CLOSINGS = _longest_first(_CLOSING)


def _match(tokens: list[Token], i: int, formulas: Formulas) -> int:
    """The length of the longest formula of words at ``tokens[i]``, or 0."""
    for words in formulas.get(tokens[i].text, ()):
        n = len(words)
        if all(
            i + k < len(tokens) and tokens[i + k].kind == "word" and tokens[i + k].text == w
            for k, w in enumerate(words)
        ):
            return n
    return 0


def _starts(tokens: list[Token], i: int) -> bool:
    return i == 0 or (tokens[i - 1].kind == "punct" and tokens[i - 1].text in _SENTENCE_END)


def _opening(tokens: list[Token], i: int) -> int:
    """The length of the opening formula at ``tokens[i]``, or 0: a leading one wherever it
    stands, a standalone one only before punctuation, "but" or the question's first word."""
    leading = _match(tokens, i, LEADING)
    # The longer formula wins: "*not sure if this makes sense*, but …" is standalone, "*not
    # sure if* it is worth …" leads (v99).
    n = _match(tokens, i, STANDALONE)
    if n <= leading:
        return leading
    if all(t.kind == "punct" for t in tokens[i + n :]):
        return leading  # nothing asked after it: "it's fine to freeze bread, *right*?" (v63)
    if i + n < len(tokens):
        after = tokens[i + n]
        if (
            after.kind != "punct"
            and after.text not in _OPENERS
            and after.text != "but"
            and not _opening(tokens, i + n)  # another one: "so um basically how …" (v50)
        ):
            return leading  # "good morning in Japanese?": the formula is what is asked about
    return n


def _thanks_last(tokens: list[Token], i: int) -> bool:
    """A closing formula that ends the prompt with no sentence of its own ("… on ubuntu
    thx"), unless it is what is said ("how do I say *thank you*", "a *thank you* note")."""
    n = _match(tokens, i, CLOSINGS)
    if not n or i < 3 or tokens[i - 1].text in _SAID_BEFORE:
        return False  # "define *lol*", "meaning of *tbh*": what is asked about
    if tokens[i - 1].text in c.REQUEST_VERBS or tokens[i - 1].text in ("mean", "means"):
        return False  # "explain *tbh*", "what does it mean *lol*": maybe what is asked about
    return all(t.kind == "punct" for t in tokens[i + n :])


def _emoji(tok: Token) -> bool:
    """A pictograph: the emoticons, pictographs and dingbats blocks (not "°" or "©")."""
    if tok.kind != "symbol" or not tok.text:
        return False
    code = ord(tok.text[0])
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF


def _aside(tokens: list[Token], i: int) -> bool:
    """A reaction that asks nothing (v52): an emoji after a sentence's end ("can dogs eat
    grapes?? 🍇") or between a phrase and a question ("flat tire 😩 how do I fix it") —
    not one that may be what is asked about ("what does 😂 mean", "I love 🍕", "🍕 how many
    calories in a slice"); an "=" with nothing but a "?" after it ("15 % of 80 = ?")."""
    tok = tokens[i]
    rest = tokens[i + 1 :]
    if tok.kind == "symbol" and tok.text == "=":
        return bool(rest) and all(t.kind == "punct" for t in rest)
    if not _emoji(tok) or any(t.text in _ABOUT_EMOJI for t in tokens):
        return False  # "the meaning of this emoji 😂?"
    before = [t for t in tokens[:i] if not _emoji(t)]
    if before and before[-1].text in _BEFORE_ASKED:
        return False  # "what does 😂 mean", "is 🍕 healthy"
    nxt = next((t for t in rest if not _emoji(t)), None)
    if not before:
        return False  # "🍕 how many calories in a slice": maybe what it is about
    if before[-1].kind != "punct":
        return nxt is not None and nxt.text in c.WH  # "flat tire 😩 how do I fix it"
    return nxt is None or nxt.kind == "punct" or nxt.text in c.WH


_ABOUT_EMOJI = frozenset({"emoji", "emojis", "emoticon", "emoticons", "icon", "symbol", "sticker"})
# Words after which an emoji is what is asked about.
_BEFORE_ASKED = c.DETERMINERS | c.BE | c.DO_AUX | c.PREPOSITIONS | {"of", "mean", "or", "and"}


def without_courtesy(tokens: list[Token]) -> list[Token]:
    """``tokens`` without the formulas that stand alone (see the module's docstring); the
    tokens as they were when nothing else would be left."""
    out: list[Token] = []
    i = 0
    removed = False  # a formula just removed: the next may stand alone too ("so um …")
    while i < len(tokens):
        if _thanks_last(tokens, i):
            break  # "how do I add a user on ubuntu thx"
        if _aside(tokens, i):
            i += 1  # "can dogs eat grapes?? 🍇🐶", "what is 15 % of 80 *=* ?"
            continue
        if _starts(tokens, i) or removed:
            removed = False
            n = _opening(tokens, i)
            if n:
                i += n
                removed = True
                while (
                    i < len(tokens)
                    and (tokens[i].text == "but" or tokens[i].kind == "punct")
                    and tokens[i].text not in "()"
                ):
                    i += 1  # "sorry to bother you, but how …": the rest is the question
                continue
            n = _match(tokens, i, CLOSINGS)
            end = i + n
            while n and end < len(tokens) and tokens[end].kind == "punct":
                end += 1
            if n and end == len(tokens):
                break  # "… ? Thanks so much!": nothing after it
            if n and end > i + n:  # a sentence of its own: "Thanks in advance! How do I …"
                i = end
                continue
        out.append(tokens[i])
        i += 1
    return out if any(t.kind != "punct" for t in out) else tokens


_ASKED = frozenset({"someone", "anyone", "somebody", "anybody"})


def asked_of_you(tokens: list[Token]) -> list[Token]:
    """``tokens`` with a request made of anyone made of "you" (v76): "*Can someone* explain
    what an API is?" asks what "*Can you* explain …" asks — only before a request verb
    ("*Can anyone* become president?" asks who may)."""
    out = list(tokens)
    for i in range(len(tokens) - 2):
        if (
            _starts(tokens, i)
            and tokens[i].text in ("can", "could", "would", "will")
            and tokens[i + 1].text in _ASKED
            and tokens[i + 2].text in c.REQUEST_VERBS
        ):
            out[i + 1] = Token("word", "you")
    return out
