"""What a training run leaves in its output folder, by name, and the metrics read back from it
(a resumed run's history, the report's loss curves)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from platypus.errors import DataError

ADAPTER_DIR = "adapter"  # in output_dir: the PEFT adapter and tokenizer of a finished run
METRICS = "metrics.jsonl"  # in output_dir: one line per step (and per validation)
BASE_RECORD = "platypus_base.json"  # in the adapter folder: which base weights it was trained on
# The final outputs of a run: removed when a run starts, so a run killed midway never leaves an
# earlier run's adapter or summary beside its own config. summary.json is written last.
SUMMARY = "summary.json"  # in output_dir: the finished run's numbers, written last
FINAL_OUTPUTS = (SUMMARY, "loss_curve.png", ADAPTER_DIR)


def read_metrics(path: Path, upto: int) -> tuple[list[dict], str | None]:
    """Metrics logged up to a checkpoint's step (later lines belong to the interrupted part),
    and a warning when the last line was torn by the interruption (it is dropped)."""
    if not path.is_file():
        return [], None
    lines = [(n, raw) for n, raw in enumerate(path.read_bytes().split(b"\n"), 1) if raw.strip()]
    rows, warning = [], None
    for k, (lineno, raw) in enumerate(lines):
        try:
            row = json.loads(raw.decode("utf-8"))
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                raise ValueError("no step")
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if k < len(lines) - 1:
                raise DataError(path, "not a metrics line (fix or delete it)", row=lineno) from None
            warning = f"{path}: line {lineno} was torn by the interruption; dropped"
            continue
        if row["step"] <= upto:
            rows.append(row)
    return rows, warning


def read_history(output_dir: str | Path) -> list[dict]:
    """The metrics lines of a run in `output_dir` (a torn last line left out)."""
    return read_metrics(Path(output_dir) / METRICS, sys.maxsize)[0]
