"""Nonsense questions: strings that ask nothing, over real passages, with no answer.

People paste anything into a question box: a key held down, a letter under hundreds of combining
marks, emoji, markup, code, gibberish. None of it asks about an article, so the reader should
learn to put its mass on "no answer" for them. Each question here is drawn at random from one of a
few shapes (with random content, so the reader learns the shape, not a string) and paired with
the text of a real training example.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence

from ttqa.training.examples import Example

_VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
_SYMBOLS = "?!.,;:…—–-()[]{}«»\"'`~@#$%^&*_+=|\\/<>"
_CODE = ["'", '"', ";", "--", "{", "}", "$", "%", "(", ")", "[", "]", "=", ":", "/", "*", "#", "<", ">", " "]
_TAGS = ["a", "b", "div", "img", "script", "span", "iframe", "svg", "p", "style", "body", "input"]


def _ident(rng: random.Random, lo: int = 1, hi: int = 9) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(lo, hi)))


def _repeated(rng: random.Random) -> str:
    ch = rng.choice(string.ascii_letters + string.digits + _VI_LETTERS)
    return ch * rng.choice([rng.randint(2, 30), rng.randint(30, 1000)])


def _marks(rng: random.Random) -> str:
    marks = [chr(c) for c in range(0x300, 0x370)]
    return rng.choice(string.ascii_letters) + "".join(rng.choice(marks) for _ in range(rng.randint(5, 800)))


def _symbols(rng: random.Random) -> str:
    return "".join(rng.choice(_SYMBOLS) for _ in range(rng.randint(1, 40)))


def _emoji(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 8)):
        e = chr(rng.randint(0x1F300, 0x1FAFF))
        if rng.random() < 0.2:
            e += chr(rng.randint(0x1F3FB, 0x1F3FF))
        if rng.random() < 0.2:
            e += "\u200d" + chr(rng.randint(0x1F466, 0x1F469))
        parts.append(e)
    return "".join(parts) + rng.choice(["", " ?", "?", " !"])


def _markup(rng: random.Random) -> str:
    tag = rng.choice(_TAGS)
    attrs = " ".join(f'{_ident(rng)}="{_ident(rng)}({rng.randint(0, 99)})"' for _ in range(rng.randint(0, 3)))
    inner = rng.choice(["", _ident(rng), f"{_ident(rng)}({rng.randint(0, 9)})"])
    return f"<{tag} {attrs}>{inner}</{tag}>" if rng.random() < 0.5 else f"<{tag} {attrs}>"


def _code(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(2, 14)):
        out.append(
            rng.choice(_CODE)
            if rng.random() < 0.5
            else _ident(rng).upper()
            if rng.random() < 0.3
            else _ident(rng)
        )
    return "".join(out)


def _link(rng: random.Random) -> str:
    url = f"{rng.choice(['http', 'https', 'javascript', 'ftp', 'data'])}://{_ident(rng)}/{_ident(rng)}"
    return f"{rng.choice(['', '!'])}[{_ident(rng, 0, 6)}]({url})"


def _gibberish(rng: random.Random) -> str:
    consonants, vowels = "bcdfghjklmnpqrstvwxz", "aeiouy"
    words = [
        "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 4)))
        for _ in range(rng.randint(1, 12))
    ]
    return " ".join(words) + rng.choice(["", "?", " ?"])


SHAPES: tuple[Callable[[random.Random], str], ...] = (
    _repeated,
    _marks,
    _symbols,
    _emoji,
    _markup,
    _code,
    _link,
    _gibberish,
)


def nonsense_question(rng: random.Random) -> str:
    """One question that asks nothing, of a random shape."""
    return rng.choice(SHAPES)(rng)


def nonsense_examples(examples: Sequence[Example], n: int, seed: int) -> list[Example]:
    """``n`` unanswerable examples: a nonsense question over the text of one of ``examples``."""
    texts = [ex.text for ex in examples if ex.text.strip()]
    if n <= 0 or not texts:
        return []
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = nonsense_question(rng)
        out.append(Example(f"nonsense-{i}", q, rng.choice(texts), (), "nonsense", f"nonsense:{i}"))
    return out
