"""Does a training output give away a benchmark item's answer?"""

from __future__ import annotations

import re

from platypus.data.decontaminate.ngrams import words

_SHORT = 3  # gold answers of fewer characters ("4", "no") must be the output's final answer


def normalise(text: str) -> str:
    return " ".join(words(text))


def answer_in_output(gold: str, output: str) -> bool:
    """True when the gold answer's words appear as a phrase in the output; a very short gold
    answer counts only as the output's last word(s), where final answers sit (a stray "4" in a
    worked solution is no leak)."""
    g, o = normalise(gold), normalise(output)
    if not g or not o:
        return False
    if len(g) < _SHORT:
        return o == g or o.endswith(" " + g)
    return re.search(rf"(?:^| ){re.escape(g)}(?: |$)", o) is not None
