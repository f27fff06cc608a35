"""Progress in logs: off a terminal, long stages print plain lines (done/total, elapsed,
remaining, rate, loss) at a steady interval instead of nothing; short ones print nothing."""

import json

import pytest

from platypus.cli import main
from platypus.progress import ENV

ROWS = [{"id": f"r{i}", "instruction": f"Add {i} and 3.", "input": "", "output": str(i + 3),
         "data_source": "t"} for i in range(8)]  # fmt: skip


def _train(tiny_llama, tmp_path, capsys, name):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    code = main(["train", "--model", str(tiny_llama), "--input", str(rows), "--output-dir",
                 str(tmp_path / name), "--max-steps", "3", "--val-size", "0", "--no-bf16",
                 "--set", "micro_batch_size=2", "--set", "global_batch_size=2"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return [line for line in captured.err.split("\n") if line.startswith("train: ")], captured.err


def test_off_a_terminal_progress_is_plain_lines(tiny_llama, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV, "0")  # every update, so the test need not wait
    lines, err = _train(tiny_llama, tmp_path, capsys, "every")
    assert all("\r" not in line for line in lines)  # (transformers' own load bar has them)
    assert [line.split(" [")[0] for line in lines] == ["train: 1/3", "train: 2/3", "train: 3/3"]
    assert all("steps/s" in line and "<" in line for line in lines), lines
    assert "loss=" in lines[-1]


@pytest.mark.parametrize("setting", ["", "off"])
def test_a_short_stage_prints_no_progress(setting, tiny_llama, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV, setting)  # the default: a line every 30 s
    lines, err = _train(tiny_llama, tmp_path, capsys, f"quiet{setting}")
    assert lines == [] and "train:" not in err
