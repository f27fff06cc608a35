"""Our log-likelihoods equal lm-evaluation-harness 0.4's on the same model, items and prompts.

lm-eval runs offline on the same items (platypus.eval.harness exports them with local task YAMLs
that carry the harness's own prompt templates).
"""

import math

import pytest

from platypus.eval.harness import harness_model, run_harness, write_tasks
from platypus.eval.loglik import LoglikScorer
from platypus.eval.run import evaluate, prepare
from platypus.models import load_causal_lm, prepared_path

lm_eval = pytest.importorskip("lm_eval")

# Items per task: enough to cover each prompt shape (each comparison runs lm-eval and our
# scorer). They take half a minute or more each and are in the slow set (scripts/bench.sh):
# MMLU (letter choices after a shared 5-shot prefix, the shape MMLU-Pro's parity test checks
# in the default suite), WinoGrande's partial scoring, TruthfulQA, ARC's 25 shots, HellaSwag's
# 10 and GSM8K's generations; and
# benchmarks/eval.py compares 20 items of each of the four log-likelihood tasks.
# (gsm8k: generated, up to 256 tokens each)
LIMIT = {"mmlu": 6, "truthfulqa_mc": 6, "arc_challenge": 3, "hellaswag": 6, "winogrande": 6,
         "gsm8k": 2}  # fmt: skip
SUBJECT = "high_school_mathematics"


@pytest.fixture(scope="module")
def compared(tmp_path_factory, shared_data):
    """task -> (our item results, lm-eval's per-sample results) for the first LIMIT[task] items;
    each task is run by both on first use, so a deselected test costs nothing."""
    done: dict = {}
    loaded: dict = {}

    def get(task: str):
        if task not in done:
            if not loaded:
                model, tokenizer = load_causal_lm()
                loaded["ours"] = LoglikScorer(model, tokenizer)
                loaded["theirs"] = harness_model(str(prepared_path()))
            subjects = [SUBJECT] if task == "mmlu" else None
            items, fewshot = prepare(task, shared_data, LIMIT[task], subjects)
            root = tmp_path_factory.mktemp(f"lmeval-{task}")
            names = write_tasks(root, {task: items}, {task: fewshot})
            theirs = run_harness(root, names, loaded["theirs"])
            _, ours, _ = evaluate(loaded["ours"], task, shared_data, limit=LIMIT[task],
                                  subjects=subjects)  # fmt: skip
            done[task] = ours, theirs
        return done[task]

    return get


@pytest.mark.slow  # 26 s; the same shape (a shared few-shot prefix, letter choices) is compared
# with lm-eval in the default suite by tests/test_task_mmlu_pro.py
def test_mmlu_loglikelihoods_match_the_harness(compared):
    mmlu, harness = compared("mmlu")
    assert len(mmlu) == LIMIT["mmlu"]
    for i, r in enumerate(mmlu):
        assert r.lls == pytest.approx(harness[(f"pl_mmlu_{SUBJECT}", i)], abs=2e-3), r.id


@pytest.mark.slow
def test_truthfulqa_loglikelihoods_match_the_harness(compared):
    tqa, harness = compared("truthfulqa_mc")
    assert len(tqa) == LIMIT["truthfulqa_mc"]
    for i, r in enumerate(tqa):
        assert r.lls == pytest.approx(harness[("pl_tqa_mc1", i)], abs=2e-3), r.id
        assert r.extra_lls == pytest.approx(harness[("pl_tqa_mc2", i)], abs=2e-3), r.id
        assert not any(math.isnan(x) for x in r.extra_lls)


@pytest.mark.slow
def test_arc_25_shot_matches_the_harness(compared):
    # Same sampled few-shot examples, same log-likelihoods, same acc and acc_norm per item.
    arc, harness = compared("arc_challenge")
    assert len(arc) == LIMIT["arc_challenge"]
    for i, r in enumerate(arc):
        assert r.lls == pytest.approx(harness[("pl_arc", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_arc", i, "acc")]
        assert r.metrics["acc_norm"] == harness[("pl_arc", i, "acc_norm")]


@pytest.mark.slow
def test_hellaswag_10_shot_matches_the_harness(compared):
    hs, harness = compared("hellaswag")
    assert len(hs) == LIMIT["hellaswag"]
    for i, r in enumerate(hs):
        assert r.lls == pytest.approx(harness[("pl_hs", i)], abs=2e-3), r.id
        assert r.metrics["acc_norm"] == harness[("pl_hs", i, "acc_norm")]


@pytest.mark.slow
def test_winogrande_partial_scoring_matches_the_harness(compared):
    # Per option: the sentence up to the blank with the option, the rest of it scored.
    wg, harness = compared("winogrande")
    assert len(wg) == LIMIT["winogrande"]
    for i, r in enumerate(wg):
        assert r.lls == pytest.approx(harness[("pl_winogrande", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_winogrande", i, "acc")]


@pytest.mark.slow
def test_gsm8k_generations_match_the_harness(compared):
    # Batched greedy generation gives lm-eval's completions exactly (its hf backend, one
    # context at a time), and the same exact match under both of its filters.
    gsm, harness = compared("gsm8k")
    assert len(gsm) == LIMIT["gsm8k"]
    for i, r in enumerate(gsm):
        assert r.text == harness[("pl_gsm8k", i, "text")], r.id
        assert r.metrics["exact_match"] == harness[("pl_gsm8k", i, "exact_match,strict-match")]
        assert (
            r.metrics["exact_match_flexible"]
            == (harness[("pl_gsm8k", i, "exact_match,flexible-extract")])
        )
