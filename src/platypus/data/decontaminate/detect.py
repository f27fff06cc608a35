"""Find (training item, benchmark item) pairs that may be leaks, with evidence for each.

Candidates come from two detectors: embedding similarity (every training neighbour of a
benchmark question at cosine >= flag_similarity, not only the nearest one as Platypus did) and
13-gram overlap. Each candidate then gets all three pieces of evidence: similarity, the share
of the question's n-grams found in the training item, and whether the training output contains
the benchmark's gold answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from tqdm import tqdm

from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.answers import answer_in_output, normalise
from platypus.data.decontaminate.ngrams import NgramIndex
from platypus.data.dedup.run import embed_text
from platypus.data.record import Record
from platypus.similarity.engine import embed_texts
from platypus.similarity.pairs import cross_search
from platypus.similarity.rescore import search_rescored
from platypus.tasks.schema import TaskItem


@dataclass(frozen=True)
class Evidence:
    train: int  # index into the training records
    bench: int  # index into the benchmark items
    similarity: float
    ngram_coverage: float
    contains_question: bool  # the whole normalised question occurs in the training text
    answer_leak: bool


CONTAINS_MIN_WORDS = 8


def _contains_question(question: str, text: str) -> bool:
    """The whole (normalised) question occurs in the text. A short question must also be most of
    the text: "evaluate log 3 81" inside a longer problem is a different question."""
    q_words, t_words = len(question.split()), len(text.split())
    if q_words < 3 or f" {question} " not in f" {text} ":
        return False
    return q_words >= CONTAINS_MIN_WORDS or q_words >= 0.8 * t_words


def detect(
    records: list[Record],
    items: list[TaskItem],
    config: DecontaminateConfig,
) -> tuple[list[Evidence], int]:
    """All candidate pairs with evidence, and how many texts had to be embedded."""
    train_texts = [embed_text(r) for r in records]
    questions = [item.question for item in items]
    train_x, n1 = embed_texts(train_texts, config, config.precision)
    bench_x, n2 = embed_texts(questions, config, config.precision)
    # In bf16, borderline pairs are re-scored in fp32, so flags match an fp32 run (as in dedup).
    found, n3, _ = search_rescored(
        lambda threshold: cross_search(train_x, bench_x, threshold),
        config.flag_similarity,
        config,
        train_texts,
        questions,
    )
    pairs = found.as_dict()
    embedded = n1 + n2 + n3

    index = NgramIndex(questions, config.ngram, config.min_ngram_words)
    coverage: dict[tuple[int, int], float] = {}
    for t, r in enumerate(tqdm(records, desc="n-grams", unit=" rows", disable=None)):
        for b, share in index.overlaps(f"{r.instruction} {r.input} {r.output}").items():
            coverage[(t, b)] = share

    norm_q = [normalise(q) for q in questions]
    evidence = []
    for t, b in sorted(set(pairs) | set(coverage)):
        r, item = records[t], items[b]
        sim = pairs.get((t, b))
        if sim is None:
            sim = float(train_x[t] @ bench_x[b])
        contains = _contains_question(norm_q[b], normalise(r.instruction + " " + r.input))
        evidence.append(
            Evidence(
                t,
                b,
                round(sim, 6),
                round(coverage.get((t, b), 0.0), 6),
                contains,
                answer_in_output(item.gold_text, r.output),
            )
        )
    return evidence, embedded
