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
    with pytest.raises(PlatypusError, match="unknown benchmark"):
        load_task("gsm8k", tmp_path)
