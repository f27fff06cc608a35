"""Our log-likelihoods equal lm-evaluation-harness 0.4's on the same model, items and prompts.

lm-eval runs offline on the same items (platypus.eval.harness exports them with local task YAMLs
that carry the harness's own prompt templates).
"""

import math

import pytest

from platypus.eval.harness import run_harness, write_tasks
from platypus.eval.loglik import LoglikScorer
from platypus.eval.prompts import hellaswag_split
from platypus.eval.run import evaluate
from platypus.models import load_causal_lm, prepared_path
from platypus.tasks import load_task
from platypus.tasks.arc_challenge import load_arc
from platypus.tasks.mmlu import load_mmlu

lm_eval = pytest.importorskip("lm_eval")

LIMIT = 6
SUBJECT = "high_school_mathematics"


@pytest.fixture(scope="module")
def harness(tmp_path_factory, shared_data):
    """lm-eval's per-choice log-likelihoods for the first LIMIT items of each task."""
    root = tmp_path_factory.mktemp("lmeval")
    pool, scored = hellaswag_split(load_task("hellaswag", shared_data))
    items = {
        "mmlu": load_task("mmlu", shared_data, subjects=[SUBJECT])[:LIMIT],
        "arc_challenge": load_task("arc_challenge", shared_data)[:LIMIT],
        "hellaswag": scored[:LIMIT],
        "truthfulqa_mc": load_task("truthfulqa_mc", shared_data)[:LIMIT],
    }
    fewshot = {
        "mmlu": {SUBJECT: load_mmlu(shared_data, split="dev", subjects=[SUBJECT])},
        "arc_challenge": load_arc(shared_data, split="train"),
        "hellaswag": pool,
    }
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
    return mmlu, tqa, arc, hs


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
    _, _, arc, _ = ours
    for i, r in enumerate(arc):
        assert r.lls == pytest.approx(harness[("pl_arc", i)], abs=2e-3), r.id
        assert r.metrics["acc"] == harness[("pl_arc", i, "acc")]
        assert r.metrics["acc_norm"] == harness[("pl_arc", i, "acc_norm")]


def test_hellaswag_10_shot_matches_the_harness(harness, ours):
    *_, hs = ours
    for i, r in enumerate(hs):
        assert r.lls == pytest.approx(harness[("pl_hs", i)], abs=2e-3), r.id
        assert r.metrics["acc_norm"] == harness[("pl_hs", i, "acc_norm")]
