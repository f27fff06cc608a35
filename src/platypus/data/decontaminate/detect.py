"""Find (training item, benchmark item) pairs that may be leaks, with evidence for each.

Candidates come from two detectors: embedding similarity (every training neighbour of a
benchmark question at cosine >= flag_similarity, not only the nearest one as Platypus did) and
13-gram overlap. Each candidate then gets all three pieces of evidence: similarity, the share
of the question's n-grams found in the training item, and whether the training output contains
the benchmark's gold answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.answers import answer_in_output, normalise
from platypus.data.decontaminate.ngrams import NgramIndex
from platypus.data.dedup.embed import embed_texts
from platypus.data.dedup.pairs import RADIUS_SLACK, pair_dots
from platypus.data.dedup.run import embed_text
from platypus.data.record import Record
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


def cross_pairs(train_x: np.ndarray, bench_x: np.ndarray, threshold: float) -> dict:
    """{(train, bench): similarity} for every pair at cosine >= threshold."""
    import faiss

    index = faiss.IndexFlatIP(train_x.shape[1])
    index.add(np.ascontiguousarray(train_x, dtype=np.float32))
    lims, _, ids = index.range_search(
        np.ascontiguousarray(bench_x, np.float32), threshold - RADIUS_SLACK
    )
    bench = np.repeat(np.arange(len(bench_x)), np.diff(lims.astype(np.int64)))
    ids = ids.astype(np.int64)
    sims = pair_dots(train_x, ids, bench_x, bench)
    keep = sims >= threshold
    return {
        (int(t), int(b)): float(s)
        for t, b, s in zip(ids[keep], bench[keep], sims[keep], strict=True)
    }


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
    embedded = n1 + n2
    margin = config.rescore_margin if config.precision == "bf16" else 0.0
    pairs = cross_pairs(train_x, bench_x, config.flag_similarity - margin)
    if margin:
        # Borderline pairs are re-scored in fp32, so flags match an fp32 run (see dedup).
        border = [p for p, s in pairs.items() if s < config.flag_similarity + margin]
        if border:
            t_ids = sorted({t for t, _ in border})
            b_ids = sorted({b for _, b in border})
            t32, m1 = embed_texts([train_texts[i] for i in t_ids], config, "fp32")
            b32, m2 = embed_texts([questions[i] for i in b_ids], config, "fp32")
            embedded += m1 + m2
            t_at = {t: k for k, t in enumerate(t_ids)}
            b_at = {b: k for k, b in enumerate(b_ids)}
            for t, b in border:
                pairs[(t, b)] = float(t32[t_at[t]] @ b32[b_at[b]])
        pairs = {p: s for p, s in pairs.items() if s >= config.flag_similarity}

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
