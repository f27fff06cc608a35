"""Harness protocols: lm-eval 0.4's and the Open LLM Leaderboard v1's (b281b09) few-shot draws,
headlines and averages, and the GSM8K/Winogrande rules under each."""

import json
import random
from pathlib import Path

import pytest

from platypus.errors import DataError, PlatypusError
from platypus.eval.protocols import (
    AVERAGE_TASKS,
    LEADERBOARD_V1,
    LM_EVAL_04,
    average,
    get_protocol,
)
from platypus.eval.run import prepare
from platypus.tasks import load_task


def test_lm_eval_04_draws_item_after_item_over_the_scored_items(shared_data):
    # lm-eval 0.4: one Random(1234) per task, sample(train, 25) for each scored item in order.
    items, drawn = prepare("arc_challenge", shared_data, limit=3)
    rnd = random.Random(1234)
    for item in items:
        assert drawn.examples[item.id] == rnd.sample(drawn.pool, 25)
    # HellaSwag takes the harness's "same split" path: 11 drawn, the first 10 kept.
    items, drawn = prepare("hellaswag", shared_data, limit=2)
    rnd = random.Random(1234)
    for item in items:
        assert drawn.examples[item.id] == rnd.sample(drawn.pool, 11)[:10]


def test_v1_shuffles_the_split_first_and_a_subset_gets_the_full_runs_examples(shared_data):
    full_items, full = prepare("arc_challenge", shared_data, protocol=LEADERBOARD_V1)
    items, sub = prepare(
        "arc_challenge", shared_data, limit=20, sample="stratified", protocol=LEADERBOARD_V1
    )
    assert len(full.examples) == 1_172 and len(sub.examples) == 20
    assert all(sub.examples[i.id] == full.examples[i.id] for i in items)
    # Random(42) shuffles the test split, then draws 25 per item in that shuffled order.
    order = list(full_items)
    rnd = random.Random(42)
    rnd.shuffle(order)
    first = order[0]
    assert full.examples[first.id] == rnd.sample(full.pool, 25)
    # ... which is not what lm-eval 0.4 gives the same item.
    _, v04 = prepare("arc_challenge", shared_data)
    assert v04.examples[first.id] != full.examples[first.id]


def test_headlines_and_the_six_task_average():
    assert AVERAGE_TASKS == (
        "arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "winogrande", "gsm8k"
    )  # fmt: skip
    assert [LEADERBOARD_V1.headline(t) for t in AVERAGE_TASKS] == [
        "acc_norm", "acc_norm", "acc_macro", "mc2", "acc", "exact_match"
    ]  # fmt: skip
    assert LM_EVAL_04.headline("mmlu") == "acc"  # 0.4 weights subjects by size
    summaries = {
        "arc_challenge": {"acc_norm": 0.5},
        "hellaswag": {"acc_norm": 0.6},
        "mmlu": {"acc": 0.3, "acc_macro": 0.2},
        "truthfulqa_mc": {"mc2": 0.4},
        "winogrande": {"acc": 0.7},
        "gsm8k": {"exact_match": 0.1},
    }
    v1 = average(LEADERBOARD_V1, summaries)
    assert v1["complete"] and v1["value"] == pytest.approx((0.5 + 0.6 + 0.2 + 0.4 + 0.7 + 0.1) / 6)
    assert average(LM_EVAL_04, summaries)["value"] == pytest.approx(2.6 / 6)
    partial = average(LEADERBOARD_V1, {"arc_challenge": {"acc_norm": 0.5}})
    assert not partial["complete"] and partial["value"] == 0.5
    with pytest.raises(PlatypusError, match="unknown harness 'v2'; known: lm-eval-0.4, lead"):
        get_protocol("v2")


@pytest.mark.parametrize(
    ("completion", "v1", "v04", "flexible"),
    [
        (" She sells 16 - 3 - 4 = 9 eggs.\n#### 18", 1.0, 1.0, 1.0),
        (" 9 * 2 = 18 dollars.\n#### 18.", 0.0, 1.0, 1.0),  # "18.": only 0.4 drops the "."
        (" So she makes $18 a day.", 0.0, 0.0, 1.0),  # no "####": only the flexible match
        (" #### 1,8", 1.0, 1.0, 1.0),  # commas dropped on both sides
        (" #### 17\n\n", 0.0, 0.0, 0.0),
    ],
)
def test_gsm8k_exact_match_by_protocol(shared_data, completion, v1, v04, flexible):
    from platypus.tasks.gsm8k import metrics

    item = load_task("gsm8k", shared_data)[0]  # Janet's ducks: 18
    assert metrics(completion, item, LEADERBOARD_V1) == {"exact_match": v1}
    assert metrics(completion, item, LM_EVAL_04) == {
        "exact_match": v04,
        "exact_match_flexible": flexible,
    }


def test_gsm8k_prompt_is_question_answer_with_full_solutions(shared_data):
    from platypus.tasks.gsm8k import context

    items, drawn = prepare("gsm8k", shared_data, limit=1)
    text = context(items[0], drawn.examples[items[0].id])
    blocks = text.split("\n\n")
    assert len(drawn.examples[items[0].id]) == 5
    assert blocks[-1] == f"Question: {items[0].question}\nAnswer:"
    example = drawn.examples[items[0].id][0]
    assert text.startswith(f"Question: {example.question}\nAnswer: {example.target}")
    assert example.id.startswith("gsm8k/train/")


def test_winogrande_partial_contexts(shared_data):
    from platypus.tasks.winogrande import contexts, partial_target

    items, drawn = prepare("winogrande", shared_data, limit=1)
    item = items[0]
    assert len(drawn.pool) == 100 and item.id not in {e.id for e in drawn.pool}
    first, second = contexts(item, drawn.examples[item.id])
    blank = item.question.index("_")
    assert first.endswith("\n\n" + item.question[:blank] + item.choices[0])
    assert second.endswith("\n\n" + item.question[:blank] + item.choices[1])
    assert partial_target(item) == " " + item.question[blank + 1 :].strip()
    example = drawn.examples[item.id][0]
    right = example.question.replace("_", example.gold_text)
    assert first.startswith(right.split(example.gold_text)[0] + example.gold_text)
    # 100 dev items are the pool, the rest are scored.
    assert len(load_task("winogrande", shared_data)) - 100 == len(
        prepare("winogrande", shared_data)[0]
    )


def test_winogrande_train_xl_is_checked(tmp_path, shared_data, monkeypatch):
    import shutil

    from platypus.hashing import file_sha256
    from platypus.tasks import winogrande

    root = tmp_path / "data"
    shutil.copytree(shared_data / "winogrande", root / "winogrande")
    (root / "winogrande" / "train_xl.jsonl").write_text(
        (root / "winogrande" / "dev.jsonl").read_text()
    )
    with pytest.raises(DataError, match=r"train_xl.jsonl: sha256 .* is not the official"):
        prepare("winogrande", root)
    # A file with the recorded digest becomes the pool, and every dev item is scored.
    monkeypatch.setattr(
        winogrande, "TRAIN_XL_SHA256", file_sha256(root / "winogrande" / "train_xl.jsonl")
    )
    items, drawn = prepare("winogrande", root)
    assert len(items) == 1_267 and len(drawn.pool) == 1_267
    assert drawn.pool[0].split == "train_xl"
    assert winogrande.notes(root) == ["few-shot examples from train_xl (sha256 checked)"]


PINS = Path(__file__).parent / "data" / "v1_fewshot_pins.json"


def test_v1_draws_equal_those_recorded_from_the_b281b09_harness(shared_data):
    """The few-shot examples b281b09 itself drew for the first documents of its shuffled order
    (recorded by benchmarks/v1_parity.py from a run of that harness on these splits)."""
    pins = json.loads(PINS.read_text())
    assert set(pins) == {"arc_challenge", "hellaswag", "winogrande", "gsm8k"}
    for task, recorded in pins.items():
        items, drawn = prepare(task, shared_data, protocol=LEADERBOARD_V1)
        assert len(recorded) == 3
        for pin in recorded:
            assert [e.id for e in drawn.examples[pin["item"]]] == pin["examples"], task
