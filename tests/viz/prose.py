"""English prose left in a text that should be Chinese: a run of three or more English words
(formulas, identifiers, code and numbers do not count: they stay as they are in Chinese)."""

from __future__ import annotations

import re

# a CJK character or full-width form: ends a run of English words
_CJK = re.compile("([\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f])")
_WORD = re.compile(r"[A-Za-z]+")
_PUNCT = "()[]{},.:;!?'\"<>"


def english_runs(text: str) -> list[str]:
    """The runs of 3+ consecutive English words in ``text`` (one of them 3+ letters long).

    A token counts as a word when it is letters only once surrounding punctuation is
    stripped: ``d sigmoid(z)/dz``, ``requires_grad``, ``W2.T`` and ``0.25^10`` are not words.

    >>> english_runs("d max(a, b)/da = [a > b] (1/2 at a tie)")
    ['at a tie']
    >>> english_runs("原教程:d_output = output - y   (这里 dL/dt3 = 0.5 * 2 * t3)")
    []
    """
    runs, cur = [], []
    for line in text.splitlines():
        for token in _CJK.sub(r" \1 ", line).split() + [""]:
            word = token.strip(_PUNCT)
            if word and _WORD.fullmatch(word):
                cur.append(word)
                continue
            if len(cur) >= 3 and max(map(len, cur)) >= 3:
                runs.append(" ".join(cur))
            cur = []
    return runs
