"""The labelled rephrased-leak set (benchmarks/data/rephrased_leaks.jsonl): schema, counts, and
every leak or negative pointing at a real benchmark item."""

import json
from collections import Counter
from pathlib import Path

import pytest

from platypus.paths import data_root
from platypus.tasks import load_task

SET = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "rephrased_leaks.jsonl"
LEAK_KINDS = {
    "verbatim-control",
    "reworded-stem",
    "options-inline",
    "options-reordered",
    "answer-other-words",
    "units-translated",
    "presupposed-answer",
    "other-unknown",
    "heavy-paraphrase",
}
NEGATIVE_KINDS = {
    "numbers-changed",
    "same-topic-different-question",
    "converse-question",
    "other-ending",
}
BENCHMARKS = {"arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "gsm8k", "winogrande"}
ROW_FIELDS = {"instruction", "input", "output", "data_source"}
# The minimums the set is built to: per label, and per kind.
MIN_ROWS = 300
MIN_LEAKS = 170
MIN_NEGATIVES = 90
MIN_CLEAN_TRAINING = 40
MIN_PER_LEAK_KIND = 5


@pytest.fixture(scope="module")
def rows():
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]


def _benchmark_ids(name: str) -> set[str]:
    root = data_root()
    if name == "gsm8k":
        n = len((root / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines())
        return {f"gsm8k-test-{i}" for i in range(n)}
    if name == "winogrande":
        lines = (root / "winogrande" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
        return {json.loads(line)["qID"] for line in lines}
    return {item.id for item in load_task(name)}


def test_every_row_has_the_schema(rows):
    for r in rows:
        keys = {"id", "round", "split", "label", "kind", "benchmark", "benchmark_id", "row", "how"}
        assert set(r) == keys, r["id"]
        assert r["round"] in (1, 2, 3) and r["split"] in ("dev", "held-out"), r["id"]
        assert set(r["row"]) == ROW_FIELDS, r["id"]
        assert r["row"]["instruction"].strip() and r["row"]["output"].strip(), r["id"]
        assert r["how"].strip(), r["id"]
        if r["kind"] in LEAK_KINDS:
            assert r["label"] == "leak", r["id"]
        else:
            assert r["label"] == "clean", r["id"]
        if r["kind"] == "clean-training-row":
            assert r["benchmark"] is None and r["benchmark_id"] is None, r["id"]
            assert r["row"]["data_source"] != "rephrased-set", r["id"]
        else:
            assert r["kind"] in LEAK_KINDS | NEGATIVE_KINDS, r["id"]
            assert r["benchmark"] in BENCHMARKS, r["id"]
            assert r["row"]["data_source"] == "rephrased-set", r["id"]


def test_half_of_the_second_round_is_held_out(rows):
    """The second round's rows are split per (benchmark, kind), the larger half held out; the
    first round, on which the defaults were chosen, is all dev; the third, written without
    reading the detector, all held out."""
    groups: dict[tuple, Counter] = {}
    for r in rows:
        if r["round"] == 1:
            assert r["split"] == "dev", r["id"]
        elif r["round"] == 3:
            assert r["split"] == "held-out", r["id"]
        else:
            groups.setdefault((r["benchmark"], r["kind"]), Counter())[r["split"]] += 1
    assert sum(sum(c.values()) for c in groups.values()) >= 100
    for key, c in groups.items():
        assert c["held-out"] == (c["held-out"] + c["dev"] + 1) // 2, key


def test_ids_are_unique(rows):
    repeated = [i for i, c in Counter(r["id"] for r in rows).items() if c > 1]
    assert not repeated


def test_every_benchmark_id_is_a_real_item(rows):
    wanted: dict[str, set[str]] = {}
    for r in rows:
        if r["benchmark"] is not None:
            wanted.setdefault(r["benchmark"], set()).add(r["benchmark_id"])
    for name, ids in wanted.items():
        missing = ids - _benchmark_ids(name)
        assert not missing, f"{name}: {sorted(missing)}"


def test_counts_reach_the_minimums(rows):
    labels = Counter(r["label"] for r in rows)
    kinds = Counter(r["kind"] for r in rows)
    assert len(rows) >= MIN_ROWS
    assert labels["leak"] >= MIN_LEAKS
    assert sum(kinds[k] for k in NEGATIVE_KINDS) >= MIN_NEGATIVES
    assert kinds["clean-training-row"] >= MIN_CLEAN_TRAINING
    for kind in LEAK_KINDS | NEGATIVE_KINDS:
        assert kinds[kind] >= MIN_PER_LEAK_KIND, kind
    # Leaks come from every benchmark, not one or two.
    assert {r["benchmark"] for r in rows if r["label"] == "leak"} == BENCHMARKS


def test_verbatim_controls_copy_the_item(rows):
    """A verbatim control is the benchmark text itself: the question must be in the row."""
    tasks = {}
    for r in rows:
        if r["kind"] != "verbatim-control" or r["benchmark"] in ("gsm8k", "winogrande"):
            continue
        if r["benchmark"] not in tasks:
            tasks[r["benchmark"]] = {it.id: it for it in load_task(r["benchmark"])}
        item = tasks[r["benchmark"]][r["benchmark_id"]]
        assert item.question in r["row"]["instruction"], r["id"]
        assert item.gold_text in r["row"]["output"], r["id"]
