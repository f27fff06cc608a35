"""Contamination checks against the leaderboard v2 test sets: GPQA's leaks are reported by id
and score, never by text, and the report counts each benchmark's items found in the training
rows under their strongest category."""

import json

import pytest

from platypus.config import DecontaminateConfig
from platypus.data.decontaminate import run as decontaminate_run
from platypus.data.record import Record
from platypus.tasks import load_task


@pytest.fixture(scope="module")
def gpqa_items(shared_data):
    return load_task("gpqa", shared_data, subjects=["diamond"])[:6]


def test_gpqa_leaks_are_found_and_written_without_their_text(
    tmp_path, monkeypatch, shared_data, gpqa_items
):
    # Two training rows copy a GPQA question with its answer; one is unrelated. The rows live in
    # memory only (the input file on disk holds ids): GPQA's text is never written by the test.
    leaked = gpqa_items[:2]
    rows = [Record(f"copy-{n}", item.question, "", f"The answer is {item.gold_text}.", "x")
            for n, item in enumerate(leaked)]  # fmt: skip
    rows.append(Record("other", "What is the boiling point of water at sea level?", "",
                       "100 degrees Celsius.", "y"))  # fmt: skip
    source = tmp_path / "train.jsonl"
    source.write_text("".join(json.dumps({"id": r.id}) + "\n" for r in rows))
    monkeypatch.setattr(decontaminate_run, "read_records", lambda path: list(rows))
    monkeypatch.setattr(decontaminate_run, "load_benchmarks", lambda config: list(gpqa_items))
    config = DecontaminateConfig(benchmarks=["gpqa"], data_root=str(shared_data))
    out = tmp_path / "out"
    result = decontaminate_run.decontaminate(config, source, out)

    assert result.removed_ids == {"copy-0", "copy-1"}
    summary = json.loads((out / "decontaminate.json").read_text())
    by_category = summary["benchmark_items_by_category"]["gpqa"]
    assert by_category["duplicate"] == 2 and sum(by_category.values()) == 2
    # (booleans first: a failed `x in report` would print the report, GPQA text and all)
    report = (out / "report.md").read_text()
    counted = "| gpqa | 6 | 2 | 0 | 0 | 2 (33.3%) |" in report
    assert counted, "report.md: no row of gpqa's 6 items, 2 duplicates, 2 (33.3%) removed"
    for item in leaked:
        withheld = f"`{item.id}` (text withheld)" in report
        assert withheld, f"report.md: {item.id} is not shown as withheld"
    # No output holds a GPQA question or answer (their first 40 characters, whitespace folded).
    texts = [" ".join(t.split())[:40] for i in gpqa_items for t in (i.question, *i.choices)]
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = " ".join(path.read_bytes().decode("utf-8", "replace").split())
        found = [n for n, t in enumerate(texts) if len(t) >= 20 and t in data]
        assert not found, f"{path.name}: GPQA text #{found[0]} written"  # by number, not text
    leaks = [json.loads(line) for line in (out / "leaks.jsonl").read_text().splitlines()]
    assert {k["benchmark_id"] for k in leaks} >= {i.id for i in leaked}
