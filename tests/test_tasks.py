"""Benchmark test sets from ../shared/data, with their documented quirks."""

import pytest

from platypus.errors import DataError, PlatypusError
from platypus.tasks import load_task


def test_arc_challenge_numeric_keys_and_option_counts(shared_data):
    items = load_task("arc_challenge", shared_data)
    assert len(items) == 1_172
    counts = {}
    for item in items:
        counts[len(item.choices)] = counts.get(len(item.choices), 0) + 1
    assert counts == {3: 4, 4: 1_165, 5: 3}
    first = items[0]
    assert first.id == "arc_challenge/Mercury_7175875"
    assert first.gold_text == "Planetary days will become shorter."


def test_hellaswag_text_format(shared_data):
    items = load_task("hellaswag", shared_data)
    assert len(items) == 10_042
    assert items[0].question == "Roof shingle removal: A man is sitting on a roof. he"
    assert items[0].subject == "Roof shingle removal" and items[0].gold == 3
    assert items[0].gold_text == "starts pulling up roofing on a roof."
    labels = [i.gold for i in items]
    assert [labels.count(k) for k in range(4)] == [2515, 2485, 2584, 2458]


def test_mmlu_headerless_csv(shared_data):
    items = load_task("mmlu", shared_data)
    assert len(items) == 14_042 and len({i.subject for i in items}) == 57
    first = items[0]
    assert first.id == "mmlu/abstract_algebra/1" and first.gold_text == "4"
    sub = load_task("mmlu", shared_data, subjects=["college_mathematics"])
    assert len(sub) == 100
    with pytest.raises(PlatypusError, match="unknown subjects"):
        load_task("mmlu", shared_data, subjects=["astrology"])


def test_truthfulqa_leaderboard_version(shared_data):
    items = load_task("truthfulqa_mc", shared_data)
    assert len(items) == 817
    assert all(i.gold == 0 for i in items)  # the mc1 target is listed first
    first = items[0]
    assert first.gold_text.startswith("Nauru is the smallest country")
    assert sum(first.mc2_labels) >= 1 and len(first.mc2_choices) == len(first.mc2_labels)


def test_gsm8k_final_answers(shared_data):
    from platypus.tasks.gsm8k import final_answer

    items = load_task("gsm8k", shared_data)
    assert len(items) == 1_319
    first = items[0]
    assert first.id == "gsm8k/test/0" and first.question.startswith("Janet’s ducks lay 16")
    assert first.gold_text == "18" and first.target.endswith("#### 18")
    # Every reference has a final answer; commas in thousands are dropped, as the harness does.
    assert all(i.gold_text != "[invalid]" for i in items)
    assert final_answer("so 1,000 in all.\n#### 1,000") == "1000"
    assert final_answer("The answer is 5.") == "[invalid]"


def test_winogrande_dev(shared_data):
    items = load_task("winogrande", shared_data)
    assert len(items) == 1_267
    first = items[0]
    assert first.id == "winogrande/3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2"
    assert first.question.startswith("Sarah was a much better surgeon than Maria so _ always")
    assert first.choices == ("Sarah", "Maria") and first.gold == 1
    # The labels equal the separate labels file, line by line.
    labels = (shared_data / "winogrande" / "dev-labels.lst").read_text().split()
    assert [str(i.gold + 1) for i in items] == labels


def test_missing_or_malformed_benchmark_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_task("truthfulqa_mc", tmp_path)
    (tmp_path / "hellaswag").mkdir()
    (tmp_path / "hellaswag" / "hellaswag_val_full.txt").write_text("a: b\n9\nx\ny\nz\nw\n")
    with pytest.raises(DataError, match="label 0-3"):
        load_task("hellaswag", tmp_path)
    (tmp_path / "mmlu" / "test").mkdir(parents=True)
    (tmp_path / "mmlu" / "test" / "x_test.csv").write_text("q,a,b,c,d,E\n")
    with pytest.raises(DataError, match=r"x_test.csv: row 1: expected question, 4 options"):
        load_task("mmlu", tmp_path)
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text('{"question": "q", "answer": "no number"}\n')
    with pytest.raises(DataError, match=r"test.jsonl: row 1: the answer has no '#### <number>'"):
        load_task("gsm8k", tmp_path)
    (tmp_path / "winogrande").mkdir()
    row = '{"qID": "a", "sentence": "no blank", "option1": "x", "option2": "y", "answer": "1"}'
    (tmp_path / "winogrande" / "dev.jsonl").write_text(row + "\n")
    with pytest.raises(DataError, match=r"dev.jsonl: row 1: not a Winogrande row"):
        load_task("winogrande", tmp_path)
    with pytest.raises(DataError, match=r"leaderboard_bbh_mc_choices.json: file not found"):
        load_task("bbh", tmp_path)
    with pytest.raises(PlatypusError, match="unknown benchmark 'bigbench'; known: .*mmlu_pro"):
        load_task("bigbench", tmp_path)


def test_registry_drives_config_and_lookups():
    from platypus.config import DecontaminateConfig, EvalConfig, validated
    from platypus.eval.runner import HEADLINE
    from platypus.tasks import TASKS

    assert list(TASKS) == [
        "arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "winogrande", "gsm8k",
        "ifeval", "bbh", "math_hard", "gpqa", "musr", "mmlu_pro",
    ]  # fmt: skip
    assert {n: t.headline for n, t in TASKS.items()} == {
        "arc_challenge": "acc_norm",
        "hellaswag": "acc_norm",
        "mmlu": "acc",
        "truthfulqa_mc": "mc2",
        "winogrande": "acc",
        "gsm8k": "exact_match",
        "ifeval": "prompt_level_strict_acc",
        "bbh": "acc_norm",
        "math_hard": "exact_match",
        "gpqa": "acc_norm",
        "musr": "acc_norm",
        "mmlu_pro": "acc",
    }
    assert dict(HEADLINE) == {n: t.headline for n, t in TASKS.items()}
    assert all(name == task.name for name, task in TASKS.items())
    # unless told otherwise, an eval and a contamination check cover the v1 six
    assert EvalConfig().tasks == list(TASKS)[:6] == DecontaminateConfig().benchmarks
    with pytest.raises(PlatypusError, match=r"tasks.1: .*unknown task 'piqa'; known: arc_"):
        validated(EvalConfig, {"tasks": ["mmlu", "piqa"]}, "recipe")
    with pytest.raises(PlatypusError, match=r"benchmarks.0: .*unknown task 'bigbench'"):
        validated(DecontaminateConfig, {"benchmarks": ["bigbench"]}, "recipe")
    with pytest.raises(PlatypusError, match="unknown options"):
        load_task("arc_challenge", subjects=["x"])


def test_a_new_task_is_one_registry_entry(tmp_path, monkeypatch):
    """A fifth task registered in TASKS is accepted by the configs and runs through eval's
    preparation and aggregation, with nothing else edited."""
    from platypus.config import EvalConfig
    from platypus.eval.results import ItemResult
    from platypus.eval.run import aggregate, prepare, score_task
    from platypus.tasks import TASKS, TaskItem
    from platypus.tasks.truthfulqa_mc import TASK

    def toy_load(root, split="test"):
        return [TaskItem("toy", split, f"toy/{k}", f"q{k}", ("a", "b"), k % 2) for k in range(4)]

    def toy_score(scorer, items, pool, protocol):
        return [ItemResult(i.id, [0.0, -1.0], {"acc": float(i.gold == 0)}) for i in items]

    class Toy(type(TASK)):
        name, headline = "toy", "acc"
        load, score = staticmethod(toy_load), staticmethod(toy_score)

    toy = Toy()
    monkeypatch.setitem(TASKS, "toy", toy)
    assert EvalConfig(tasks=["toy"]).tasks == ["toy"]
    assert [i.id for i in load_task("toy", tmp_path)] == ["toy/0", "toy/1", "toy/2", "toy/3"]
    items, pool = prepare("toy", tmp_path, limit=2)
    results = score_task(None, "toy", items, pool)
    assert aggregate("toy", items, results) == {"acc": 0.5, "items": 2}


def test_empty_subject_list_is_rejected(shared_data):
    with pytest.raises(PlatypusError, match="subject list is empty"):
        load_task("mmlu", shared_data, subjects=[])
