"""Our log-likelihoods equal lm-evaluation-harness 0.4's on the same model, items and prompts.

lm-eval runs offline on the same items (platypus.eval.harness exports them with local task YAMLs
that carry the harness's own prompt templates).
"""

import math

import pytest

from platypus.eval.harness import run_harness, write_tasks
from platypus.eval.loglik import LoglikScorer
from platypus.eval.run import evaluate, prepare
from platypus.models import load_causal_lm, prepared_path

lm_eval = pytest.importorskip("lm_eval")

LIMIT = 6
GSM8K_LIMIT = 3  # generated: up to 256 tokens each
SUBJECT = "high_school_mathematics"
TASKS = ("mmlu", "arc_challenge", "hellaswag", "truthfulqa_mc", "winogrande", "gsm8k")


@pytest.fixture(scope="module")
def harness(tmp_path_factory, shared_data):
    """lm-eval's per-choice log-likelihoods (and GSM8K completions) for the first LIMIT items
    of each task."""
    root = tmp_path_factory.mktemp("lmeval")
    items, fewshot = {}, {}
    for task in TASKS:
        limit = GSM8K_LIMIT if task == "gsm8k" else LIMIT
        subjects = [SUBJECT] if task == "mmlu" else None
        items[task], fewshot[task] = prepare(task, shared_data, limit, subjects)
    names = write_tasks(root, items, fewshot)
    return run_harness(root, names, str(prepared_path()))


@pytest.fixture(scope="module")
def ours(shared_data):
    model, tokenizer = load_causal_lm()
    scorer = LoglikScorer(model, tokenizer)
    _, mmlu, _ = evaluate(scorer, "mmlu", shared_data, limit=LIMIT, subjects=[SUBJECT])
    _, tqa, _ = evaluate(scorer, "truthfulqa_mc", shared_data, limit=LIMIT)
    _, arc, _ = evaluate(scorer, "arc_challenge", shared_data, limit=LIMIT)
    _, hs, _ = evaluate(scorer, "hellaswag", shared_data, limit=LIMIT)
    _, wg, _ = evaluate(scorer, "winogrande", shared_data, limit=LIMIT)
    _, gsm, _ = evaluate(scorer, "gsm8k", shared_data, limit=GSM8K_LIMIT)
    return mmlu, tqa, arc, hs, wg, gsm


def test_mmlu_loglikelihoods_match_the_harness(harness, ours):
    mmlu, *_ = ours
    for i, r in enumerate(mmlu):
        assert r.lls == pytest.approx(harness[(f"pl_mmlu_{SUBJECT}", i)], abs=2e-3), r.id


def test_truthfulqa_loglikelihoods_match_the_harness(harness, ours):
    _, tqa, *_ = ours
    for i, r in enumerate(tqa):
        assert r.lls == pytest.approx(harness[("pl_tqa_mc1", i)], abs=2e-3), r.id
        assert r.extra_lls == pytest.approx(harness[("pl_tqa_mc2", i)], abs=2e-3), r.id
        assert not any(math.isnan(x) for x in r.extra_lls)


def test_arc_25_shot_matches_the_harness(harness, ours):
    # Same sampled few-shot examples, same log-likelihoods, same acc and acc_norm per item.
    _, _, arc, *_ = ours
    for i, r in enumerate(arc):
        assert r.lls == pytest.approx(harness[("pl_arc", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_arc", i, "acc")]
        assert r.metrics["acc_norm"] == harness[("pl_arc", i, "acc_norm")]


def test_hellaswag_10_shot_matches_the_harness(harness, ours):
    _, _, _, hs, *_ = ours
    for i, r in enumerate(hs):
        assert r.lls == pytest.approx(harness[("pl_hs", i)], abs=2e-3), r.id
        assert r.metrics["acc_norm"] == harness[("pl_hs", i, "acc_norm")]


def test_winogrande_partial_scoring_matches_the_harness(harness, ours):
    # Per option: the sentence up to the blank with the option, the rest of it scored.
    *_, wg, _ = ours
    assert len(wg) == LIMIT
    for i, r in enumerate(wg):
        assert r.lls == pytest.approx(harness[("pl_winogrande", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_winogrande", i, "acc")]


def test_gsm8k_generations_match_the_harness(harness, ours):
    # Batched greedy generation gives lm-eval's completions exactly (its hf backend, one
    # context at a time), and the same exact match under both of its filters.
    *_, gsm = ours
    assert len(gsm) == GSM8K_LIMIT
    for i, r in enumerate(gsm):
        assert r.text == harness[("pl_gsm8k", i, "text")], r.id
        assert r.metrics["exact_match"] == harness[("pl_gsm8k", i, "exact_match,strict-match")]
        assert r.metrics["exact_match_flexible"] == (
            harness[("pl_gsm8k", i, "exact_match,flexible-extract")]
        )
