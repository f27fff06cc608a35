"""Word n-gram overlap, as GPT-3 and lm-evaluation-harness check contamination (13-grams).

Text is lower-cased and split into runs of letters and digits, so punctuation and spacing do not
matter. A benchmark question shorter than n words contributes one shorter n-gram of all its
words, if it has at least `min_words`; shorter questions are left to the other detectors.
An n-gram that more than `template_items` questions share is their template (MMLU's moral
scenarios all open with the same 30 words), not any one question's text: it counts for none.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    if len(tokens) < n:
        return set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


class NgramIndex:
    """The n-grams of benchmark questions; `overlaps(text)` says which questions share n-grams
    with a training text, as the share of each question's n-grams found."""

    def __init__(
        self, questions: Sequence[str], n: int = 13, min_words: int = 8, template_items: int = 3
    ):
        self.n = n
        self.sizes: list[int] = [0] * len(questions)
        self.lengths: set[int] = set()
        owners: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for qi, question in enumerate(questions):
            tokens = words(question)
            k = min(n, len(tokens))
            for g in ngrams(tokens, k) if k >= min_words else ():
                owners[g].append(qi)
        self._owners = {g: qs for g, qs in owners.items() if len(qs) <= template_items}
        for g, qs in self._owners.items():
            self.lengths.add(len(g))
            for qi in qs:
                self.sizes[qi] += 1

    def overlaps(self, text: str) -> dict[int, float]:
        tokens = words(text)
        hits: dict[int, int] = defaultdict(int)
        for k in self.lengths:
            for g in ngrams(tokens, k):
                for qi in self._owners.get(g, ()):
                    hits[qi] += 1
        return {qi: count / self.sizes[qi] for qi, count in hits.items()}
