"""Find (training item, benchmark item) pairs that may be leaks, with evidence for each.

Candidates come from three detectors:

- embedding similarity above a threshold: every training neighbour of a benchmark item at
  cosine >= flag_similarity (not only the nearest one, as Platypus did);
- embedding retrieval without a threshold: each benchmark item's `top_k` nearest training rows
  (as llm-decontaminator retrieves candidates for its judge), kept down to
  `candidate_similarity`. A rephrased question often lands below any fixed threshold, yet it
  is still among the few rows nearest to its original;
- 13-gram overlap;
- meaning (`meaning`): each row's whole text against each item's question with its gold answer,
  the row's nearest item, and whether the row's output is closest to the gold option by meaning.

A benchmark item is embedded in several views (`VIEWS`): its question alone, and a
multiple-choice question also with its options written inline, since training rows carry them
that way ("... (a) x (b) y"). A pair's similarity is that of its closest view.

Every candidate then gets all the evidence: similarity, the share of the question's n-grams
found in the training item, whether the whole question occurs in it, and which answer detector
(`answers.DETECTORS`) finds the gold answer in the training output. A retrieved pair with no
evidence beyond its rank is dropped: it is no finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from platypus.data.compare import embed_text, whole_text
from platypus.data.decontaminate.answers import (
    answer_evidence,
    normalise,
    numbers_agree,
    other_answer,
    stated_numbers,
)
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.decontaminate.meaning import Meaning, MeaningIndex
from platypus.data.decontaminate.ngrams import NgramIndex
from platypus.data.record import Record
from platypus.progress import progress
from platypus.similarity.engine import embed_texts
from platypus.similarity.pairs import cross_search, pair_dots, top_k
from platypus.similarity.rescore import search_rescored
from platypus.tasks.registry import TASKS
from platypus.tasks.schema import TaskItem


@dataclass(frozen=True)
class Evidence:
    train: int  # index into the training records
    bench: int  # index into the benchmark items
    similarity: float  # cosine to the closest view of the benchmark item
    ngram_coverage: float
    contains_question: bool  # the whole normalised question occurs in the training text
    answer_leak: bool
    answer: str = ""  # the answer detector that found the gold answer ("" none)
    view: str = "question"  # the view of the benchmark item the similarity is to
    numbers_agree: bool = True  # the question's numbers all occur in the training item
    # the detector finding that the row answers otherwise (another option, another number)
    other_answer: str = ""
    # a problem stated by its numbers with a numeric answer (its numbers decide sameness)
    numbered: bool = False
    # the meaning detector's measures, where the item is the row's nearest by meaning
    meaning: Meaning | None = None

    def same_meaning(self, config: DecontaminateConfig) -> bool:
        """The row retells the item and answers with its gold option, by meaning."""
        return self.meaning is not None and self.meaning.agrees(config)


def inline_options(item: TaskItem) -> str | None:
    """The question with its options as "(a) .. (b) ..": how training rows write them."""
    if len(item.choices) < 2:
        return None
    options = " ".join(f"({chr(ord('a') + i)}) {c}" for i, c in enumerate(item.choices))
    return f"{item.question} {options}"


# How a benchmark item is embedded: each view gives a text, or None where it does not apply.
VIEWS: dict[str, Callable[[TaskItem], str | None]] = {
    "question": lambda item: item.question,
    "options": inline_options,
}

CONTAINS_MIN_WORDS = 8


def _contains_question(question: str, text: str) -> bool:
    """The whole (normalised) question occurs in the text. A short question must also be most of
    the text: "evaluate log 3 81" inside a longer problem is a different question."""
    q_words, t_words = len(question.split()), len(text.split())
    if q_words < 3 or f" {question} " not in f" {text} ":
        return False
    return q_words >= CONTAINS_MIN_WORDS or q_words >= 0.8 * t_words


def _view_pairs(
    train_x: np.ndarray,
    train_texts: list[str],
    bench_x: np.ndarray,
    texts: list[str],
    config: DecontaminateConfig,
) -> tuple[dict[tuple[int, int], float], int]:
    """{(train row, view row): cosine} for the pairs above flag_similarity (fp32-exact in bf16,
    as in dedup) and each view row's top_k rows down to candidate_similarity; also how many
    texts re-scoring embedded."""
    # In bf16, borderline pairs are re-scored in fp32, so flags match an fp32 run (as in dedup).
    found, n, _ = search_rescored(
        lambda threshold: cross_search(train_x, bench_x, threshold),
        config.flag_similarity,
        config,
        train_texts,
        texts,
    )
    pairs = found.as_dict()
    if config.top_k:
        left, right = top_k(train_x, bench_x, config.top_k)
        sims = pair_dots(train_x, left, bench_x, right)
        for a, b, s in zip(left, right, sims, strict=True):
            if s >= config.candidate_similarity:
                pairs.setdefault((int(a), int(b)), float(s))
    return pairs, n


def detect(
    records: list[Record],
    items: list[TaskItem],
    config: DecontaminateConfig,
) -> tuple[list[Evidence], int]:
    """All candidate pairs with evidence, and how many texts had to be embedded."""
    train_texts = [embed_text(r) for r in records]
    train_x, embedded = embed_texts(train_texts, config, config.precision)

    # (train, bench) -> (similarity, view): the closest view of each candidate pair.
    best: dict[tuple[int, int], tuple[float, str]] = {}
    vectors: list[tuple[np.ndarray, np.ndarray]] = []  # per view: (item indices, vectors)
    for view in config.views:
        owners, texts = [], []
        for b, item in enumerate(items):
            text = VIEWS[view](item)
            if text is not None:
                owners.append(b)
                texts.append(text)
        if not texts:
            continue
        bench_x, n = embed_texts(texts, config, config.precision)
        vectors.append((np.array(owners), bench_x))
        pairs, n2 = _view_pairs(train_x, train_texts, bench_x, texts, config)
        embedded += n + n2
        for (t, v), sim in pairs.items():
            key = (t, owners[v])
            if key not in best or sim > best[key][0]:
                best[key] = (sim, view)

    questions = [item.question for item in items]
    index = NgramIndex(questions, config.ngram, config.min_ngram_words, config.ngram_template_items)
    coverage: dict[tuple[int, int], float] = {}
    for t, r in enumerate(progress(records, desc="n-grams", unit=" rows", disable=None)):
        for b, share in index.overlaps(whole_text(r)).items():
            coverage[(t, b)] = share

    norm_q = [normalise(q) for q in questions]

    def contains(t: int, b: int) -> bool:
        r = records[t]
        return _contains_question(norm_q[b], normalise(r.instruction + " " + r.input))

    meanings: dict[tuple[int, int], Meaning] = {}
    candidates = set(best) | set(coverage)
    if config.meaning:
        meanings, candidates, n = _meaning_evidence(
            records, items, config, candidates, best, coverage, contains
        )
        embedded += n

    evidence = []
    for t, b in sorted(candidates):
        r, item = records[t], items[b]
        sim, view = best.get((t, b), (None, "question"))
        if sim is None:  # found by n-grams or meaning alone: its similarity for the record
            sim = max(
                (float(x[np.searchsorted(owners, b)] @ train_x[t])
                 for owners, x in vectors if b in owners),
                default=0.0,
            )  # fmt: skip
        is_contained = contains(t, b)
        continuation = TASKS[item.benchmark].continuation
        # A continuation's context runs on into its neighbours' (HellaSwag's items follow one
        # video): an ending's words in a row's instruction are the story going on, no premise.
        detectors = [a for a in config.answers if not (continuation and a == "premise")]
        answer = answer_evidence(item, r, detectors) if item.choices else ""
        agree = numbers_agree(item.question, embed_text(r), item.gold_text)
        numbered = not continuation and stated_by_numbers(item)
        # Where the numbers decide (all of a numbered problem's in the row: another unknown of
        # the same problem still leaks it), another answer says nothing; elsewhere it tells the
        # converse question from the item, where the item has options to compare with.
        decided = numbered and agree
        other = other_answer(item, r, continuation) if item.choices and not decided else ""
        meaning = meanings.get((t, b))
        if not (other or answer or decided) and meaning and meaning.answers_otherwise(config):
            other = "meaning"
        e = Evidence(t, b, round(sim, 6), round(coverage.get((t, b), 0.0), 6), is_contained,
                     bool(answer), answer, view, agree, other, numbered, meaning)  # fmt: skip
        if _is_finding(e, config):
            evidence.append(e)
    return evidence, embedded


def _meaning_evidence(
    records: list[Record],
    items: list[TaskItem],
    config: DecontaminateConfig,
    candidates: set[tuple[int, int]],
    best: dict[tuple[int, int], tuple[float, str]],
    coverage: dict[tuple[int, int], float],
    contains: Callable[[int, int], bool],
) -> tuple[dict[tuple[int, int], Meaning], set[tuple[int, int]], int]:
    """The meaning view: each row's nearest item, a candidate where the meanings agree (or for
    the judge); then the
    other candidates a duplicate rule could take (by cosine, n-grams or the question contained),
    measured too: an output nearer another option vetoes them. Returns the measures, the
    candidates with the agreeing pairs, and how many texts were embedded."""
    by_meaning = MeaningIndex(records, items, config)
    nearest = by_meaning.nearest()
    # With the judge on, each row's nearest item is a candidate whatever its answer: the judge
    # reads it (llm-decontaminator's retrieval, then an LLM, over every row).
    candidates = candidates | {
        key for key, m in nearest.items() if config.judge or m.agrees(config)
    }
    lowest = min(config.same_question_similarity, config.duplicate_similarity)
    lowest -= by_meaning.margin  # out of fp32, the similarity search's own slack
    others = [
        key
        for key in sorted(candidates - set(nearest))
        if best.get(key, (0.0,))[0] >= lowest
        or coverage.get(key, 0.0) >= config.duplicate_ngram_coverage
        or contains(*key)
    ]
    return nearest | by_meaning.measure(others), candidates, by_meaning.embedded


def stated_by_numbers(item: TaskItem) -> bool:
    """A problem its numbers define (GSM8K's, a physics item's): its question states numbers
    that can tell one problem from another (some beyond 0-10, which any text holds) and its
    answer is a number."""
    numbers = stated_numbers(item.question)
    specific = any(not (n == n.to_integral_value() and 0 <= n <= 10) for n in numbers)
    return specific and bool(stated_numbers(item.gold_text))


def _is_finding(e: Evidence, config: DecontaminateConfig) -> bool:
    """A pair worth reporting: above the flag threshold, sharing n-grams, holding the whole
    question, giving the answer away while close enough to be the same question, saying what
    the item says by meaning, or, for the judge, the row's nearest item by meaning."""
    return (
        e.similarity >= config.flag_similarity
        or e.ngram_coverage > 0
        or e.contains_question
        or (e.answer_leak and e.similarity >= config.gray_similarity)
        or e.same_meaning(config)
        or (config.judge and e.meaning is not None and e.meaning.nearest)
    )
