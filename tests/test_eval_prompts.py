"""Leaderboard prompts and metrics, checked against the harness's definitions."""

import math

import pytest

from platypus.eval.loglik import LoglikScorer
from platypus.eval.metrics import acc, acc_norm, truthfulqa_mc1, truthfulqa_mc2
from platypus.models import load_causal_lm
from platypus.tasks import load_task
from platypus.tasks.mmlu import load_mmlu, mmlu_choices, mmlu_context
from platypus.tasks.truthfulqa_mc import truthfulqa_choices, truthfulqa_context


def test_mmlu_five_shot_context(shared_data):
    test = load_task("mmlu", shared_data, subjects=["abstract_algebra"])
    dev = load_mmlu(shared_data, split="dev", subjects=["abstract_algebra"])
    context = mmlu_context(test[0], dev)
    head = "The following are multiple choice questions (with answers) about abstract algebra."
    assert context.startswith(head + "\n\n" + dev[0].question.strip() + "\nA. ")
    assert context.count("\nAnswer:") == 6  # five examples and the question
    assert context.endswith(
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
        "A. 0\nB. 4\nC. 2\nD. 6\nAnswer:"
    )
    first_example = context.split("\n\n")[1]
    assert first_example.endswith("Answer: " + "ABCD"[dev[0].gold])
    assert mmlu_choices() == [" A", " B", " C", " D"]


def test_metrics():
    assert acc([-3.0, -1.0, -2.0], 1) == 1.0
    # acc_norm divides by characters: a long likely choice can beat a short one.
    assert acc_norm([-4.0, -10.0], [" ab", " abcdefghij"], 1) == 1.0
    assert truthfulqa_mc1([-1.0, -2.0]) == 1.0
    lls = [math.log(0.2), math.log(0.1), math.log(0.3), math.log(0.4)]
    assert truthfulqa_mc2(lls, [1, 1, 0, 0]) == pytest.approx(0.3)


def test_truthfulqa_scores_with_smollm2(shared_data):
    model, tokenizer = load_causal_lm()
    scorer = LoglikScorer(model, tokenizer)
    item = load_task("truthfulqa_mc", shared_data)[0]
    context = truthfulqa_context(item)
    assert context.endswith("\n\nQ: " + item.question + "\nA:")
    lls = [s.logprob for s in scorer.score(context, truthfulqa_choices(item.mc2_choices))]
    value = truthfulqa_mc2(lls, item.mc2_labels)
    assert 0.0 < value < 1.0
