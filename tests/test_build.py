"""The whole default build on ../shared/data, its outputs and its accounting."""

import json

import pyarrow.parquet as pq
import pytest

from conftest import build_only, read_jsonl
from platypus.config import BuildConfig
from platypus.data.build import build
from platypus.errors import DataError, PlatypusError

EXPECTED_KEPT = {"math": 12_500, "scibench": 695, "theoremqa": 800, "reclor": 500, "arb": 1_651}


@pytest.fixture(scope="module")
def default_builds(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("builds")
    return [build(BuildConfig(data_root=str(shared_data)), root / name) for name in ("a", "b")]


def test_default_build_counts(default_builds):
    result = default_builds[0]
    kept = {s.name: s.kept for s in result.sources if s.enabled}
    assert kept == EXPECTED_KEPT
    assert len(result.records) == sum(EXPECTED_KEPT.values())
    assert len({r.id for r in result.records}) == len(result.records)
    for s in result.sources:
        if s.enabled:  # every step's count follows from the previous one
            before = s.raw_rows
            for step in s.steps:
                assert step["rows_after"] == before - step["dropped"]
                before = step["rows_after"]


def test_same_inputs_and_seed_give_identical_bytes(default_builds):
    a, b = default_builds
    for kind in ("jsonl", "parquet", "card", "summary"):
        assert a.paths[kind].read_bytes() == b.paths[kind].read_bytes(), kind
    assert a.content_hash == b.content_hash


def test_parquet_equals_jsonl(default_builds):
    result = default_builds[0]
    assert pq.read_table(result.paths["parquet"]).to_pylist() == read_jsonl(result.paths["jsonl"])


def test_card_and_summary(default_builds):
    result = default_builds[0]
    card = result.paths["card"].read_text(encoding="utf-8")
    assert result.content_hash in card
    assert "| math | MATH/PRM-800K | `" in card and "| 12,500 | 12,500 |" in card
    assert "| scienceqa | scienceqa | not built (disabled) |" in card
    assert "**reclor** (500 rows): ReClor terms: non-commercial research use only" in card
    assert "| no image | 250 | 1,662 |" in card  # ARB funnel with its first dropped rows
    assert "calculationscience" in card  # the keyword-list bugs are documented
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["rows"] == len(result.records)
    assert {s["name"]: s["kept"] for s in summary["sources"] if s["enabled"]} == EXPECTED_KEPT
    assert all(len(f["sha256"]) == 64 for s in summary["sources"] for f in s["files"])


def test_empty_fields_are_counted_with_location(tmp_path):
    data = tmp_path / "leetcode.jsonl"
    rows = [
        {"prompt": "Add two numbers.", "full_code": "def f(a, b): return a + b"},
        {"prompt": "   ", "full_code": "pass"},
        {"prompt": "Empty.", "full_code": ""},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = build_only(tmp_path / "out", "leetcode", data_root=tmp_path, path=str(data))
    (stats,) = [s for s in result.sources if s.name == "leetcode"]
    (step,) = stats.steps
    assert (step["step"], step["dropped"], step["rows_after"]) == (
        "non-empty instruction and output", 2, 1)  # fmt: skip
    assert step["examples"] == ["leetcode_ne/2", "leetcode_ne/3"]


def test_wrong_schema_names_file_and_row(tmp_path):
    folder = tmp_path / "scibench"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([{"problem_text": "x", "answer_number": "1"},
                                               {"problem": "y"}]), encoding="utf-8")  # fmt: skip
    with pytest.raises(DataError) as err:
        build_only(tmp_path / "out", "scibench", data_root=tmp_path, path="scibench")
    assert str(err.value) == f"{folder / 'a.json'}: row 2: missing field 'problem_text'"
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_duplicate_input_is_refused(tmp_path, shared_data):
    with pytest.raises(PlatypusError, match="'reclor/val_0' occurs twice"):
        build_only(tmp_path, "reclor", path="reclor", options={"files": ["val.json", "val.json"]})


def test_nothing_enabled_is_an_error(tmp_path):
    with pytest.raises(PlatypusError, match="no rows"):
        build_only(tmp_path, "leetcode", enabled=False)


def test_every_dropped_row_is_in_the_exclusion_file(default_builds):
    """removed.jsonl: one drop record per raw row a rule rejected, with its reason and source;
    its counts are each source's funnel and the summary's `dropped`."""
    from collections import Counter

    result = default_builds[0]
    drops = read_jsonl(result.paths["removed"])
    funnel = Counter()
    for s in result.sources:
        for step in s.steps:
            funnel[(s.name, step["step"])] += step["dropped"]
    assert Counter((d["source"], d["reason"]) for d in drops) == +funnel
    assert sum(funnel.values()) > 100  # ARB's images, MATH's and TheoremQA's rules
    assert {d["stage"] for d in drops} == {"build"}
    assert all(("id" in d) != ("location" in d) for d in drops)  # a row, or where it was read
    summary = json.loads(result.paths["summary"].read_text())
    reasons = Counter()
    for (_, reason), n in funnel.items():
        reasons[reason] += n
    assert summary["dropped"] == dict(sorted((+reasons).items()))
