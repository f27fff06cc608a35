"""Platypus' three kinds of flagged pair, as rules on the evidence.

- duplicate: the same question, up to minor rewording: the whole question occurs in the training
  item, or cosine >= duplicate_similarity, or >= duplicate_ngram_coverage of its n-grams do.
- gray-area: not the same question, but the training output contains the benchmark's gold
  answer: the knowledge the item tests leaks.
- similar-but-different: flagged by a detector, but neither the question nor its answer is there.
"""

from __future__ import annotations

from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.detect import Evidence

CATEGORIES = ("duplicate", "gray-area", "similar-but-different")


def classify(e: Evidence, config: DecontaminateConfig) -> str:
    if (
        e.contains_question
        or e.similarity >= config.duplicate_similarity
        or e.ngram_coverage >= config.duplicate_ngram_coverage
    ):
        return "duplicate"
    if e.answer_leak:
        return "gray-area"
    return "similar-but-different"
