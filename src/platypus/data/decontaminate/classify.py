"""Platypus' three kinds of flagged pair, as rules on the evidence.

- duplicate: the same question, up to rewording: the whole question occurs in the training
  item; or cosine >= duplicate_similarity or >= duplicate_ngram_coverage of its n-grams do; or,
  the answer not being there, cosine >= same_question_similarity. The cosine and n-gram rules
  also need the question's numbers in the training item (`numbers_must_agree`): a problem with
  its numbers changed has another answer, however close its wording. No duplicate rule holds
  where the training row answers otherwise (`answers_must_agree`): the item's wording with
  another of its options as the answer is the converse question, or the story's other ending.
  A problem stated by its numbers is the same problem at a lower cosine
  (`numbered_question_similarity`) when the training row holds all of them, whatever it asks of
  it (another unknown of the same problem still leaks the problem). A row that retells the item
  and answers with its gold option by meaning (`meaning`: the row's nearest item, its output
  closest to the gold option by a margin) is a duplicate at whatever cosine its question has.
- gray-area: not the same question, but the training output contains the benchmark's gold
  answer: the knowledge the item tests leaks.
- similar-but-different: flagged by a detector, but neither the question nor its answer is there.
"""

from __future__ import annotations

from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.decontaminate.detect import Evidence

CATEGORIES = ("duplicate", "gray-area", "similar-but-different")


def classify(e: Evidence, config: DecontaminateConfig) -> str:
    numbers = e.numbers_agree or not config.numbers_must_agree
    same_answer = not (e.other_answer and config.answers_must_agree)
    if same_answer and (
        e.contains_question
        or (
            numbers
            and (
                e.similarity >= config.duplicate_similarity
                or e.ngram_coverage >= config.duplicate_ngram_coverage
            )
        )
    ):
        return "duplicate"
    if e.answer_leak:
        return "gray-area"
    if numbers and same_answer and e.similarity >= config.same_question_similarity:
        return "duplicate"
    if e.numbered and e.numbers_agree and e.similarity >= config.numbered_question_similarity:
        return "duplicate"
    if same_answer and e.same_meaning(config):
        return "duplicate"
    return "similar-but-different"
