"""Loaders for the Open LLM Leaderboard v1 test sets, from ../shared/data or the hub.

Quirks handled (see ../shared/data/README.md): MMLU CSVs have no header and a letter answer;
ARC test has 22 numeric answer keys (mapped to letters, as lm-eval does) and 3- or 5-option
questions; HellaSwag is the llama.cpp text extraction (6 lines per item, `label: context`);
TruthfulQA uses mc_task.json at the leaderboard's commit (mc1 target listed first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from platypus.data.readers import iter_jsonl, read_json, read_text
from platypus.errors import DataError, PlatypusError
from platypus.paths import data_root
from platypus.tasks.schema import TaskItem

NUM_TO_LETTER = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}


def load_arc(root: Path, split: str = "test") -> list[TaskItem]:
    path = root / "arc" / f"ARC-Challenge-{split.capitalize()}.jsonl"
    items = []
    for lineno, row in iter_jsonl(path):
        try:
            q = row["question"]
            labels = [NUM_TO_LETTER.get(c["label"], c["label"]) for c in q["choices"]]
            texts = tuple(c["text"] for c in q["choices"])
            key = NUM_TO_LETTER.get(row["answerKey"], row["answerKey"])
            gold = labels.index(key)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(path, f"not an ARC row ({exc!r})", row=lineno) from None
        items.append(
            TaskItem("arc_challenge", split, f"arc_challenge/{row['id']}", q["stem"], texts, gold)
        )
    return items


def load_hellaswag(root: Path, split: str = "validation") -> list[TaskItem]:
    path = root / "hellaswag" / "hellaswag_val_full.txt"
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 6:
        raise DataError(
            path, f"{len(lines)} lines is not a multiple of 6 (context, label, 4 endings)"
        )
    items = []
    for k in range(0, len(lines), 6):
        context, label, *endings = lines[k : k + 6]
        activity, sep, ctx = context.partition(": ")
        if not sep or not label.strip().isdigit() or int(label) > 3:
            raise DataError(
                path, "expected 'activity: context' then a label 0-3", row=f"line {k + 1}"
            )
        items.append(
            TaskItem(
                "hellaswag",
                split,
                f"hellaswag/{k // 6}",
                context,
                tuple(endings),
                int(label),
                subject=activity,
            )
        )
    return items


def load_mmlu(root: Path, split: str = "test", subjects: list[str] | None = None) -> list[TaskItem]:
    folder = root / "mmlu" / split
    if not folder.is_dir():
        raise DataError(folder, "MMLU split folder not found")
    files = sorted(folder.glob(f"*_{split}.csv"))
    if subjects is not None:
        wanted = set(subjects)
        files = [f for f in files if f.name.removesuffix(f"_{split}.csv") in wanted]
        missing = wanted - {f.name.removesuffix(f"_{split}.csv") for f in files}
        if missing:
            raise PlatypusError(f"MMLU: unknown subjects {sorted(missing)}")
    items = []
    for path in files:
        subject = path.name.removesuffix(f"_{split}.csv")
        for rowno, row in enumerate(csv.reader(io.StringIO(read_text(path))), start=1):
            if len(row) != 6 or row[5].strip() not in "ABCD" or not row[5].strip():
                raise DataError(
                    path, "expected question, 4 options and an answer letter", row=rowno
                )
            items.append(
                TaskItem(
                    "mmlu",
                    split,
                    f"mmlu/{subject}/{rowno}",
                    row[0],
                    tuple(row[1:5]),
                    "ABCD".index(row[5].strip()),
                    subject,
                )
            )
    if not items:
        raise DataError(folder, "no MMLU rows")
    return items


def load_truthfulqa(root: Path, split: str = "validation") -> list[TaskItem]:
    path = root / "truthfulqa" / "mc_task.json"
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(path, "expected a JSON array")
    items = []
    for i, row in enumerate(data, start=1):
        try:
            mc1, mc2 = row["mc1_targets"], row["mc2_targets"]
            choices = tuple(mc1)
            gold = list(mc1.values()).index(1)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(path, f"not a TruthfulQA mc row ({exc!r})", row=i) from None
        items.append(
            TaskItem(
                "truthfulqa_mc",
                split,
                f"truthfulqa_mc/{i - 1}",
                row["question"],
                choices,
                gold,
                mc2_choices=tuple(mc2),
                mc2_labels=tuple(int(v) for v in mc2.values()),
            )
        )
    return items


# Local loaders by task name; each reads only what ../shared/data documents.
LOCAL: dict[str, Callable[[Path], list[TaskItem]]] = {
    "arc_challenge": load_arc,
    "hellaswag": load_hellaswag,
    "mmlu": load_mmlu,
    "truthfulqa_mc": load_truthfulqa,
}
TASKS = tuple(LOCAL)


def load_task(
    name: str, root: str | Path | None = None, source: str = "local", **kwargs
) -> list[TaskItem]:
    """A benchmark's scored split as TaskItems, from the data root or (`source="hub"`) the hub."""
    if name not in LOCAL:
        raise PlatypusError(f"unknown benchmark {name!r}; known: {', '.join(TASKS)}")
    if source == "hub":
        from platypus.tasks.hub import load_from_hub

        return load_from_hub(name, **kwargs)
    return LOCAL[name](data_root(root), **kwargs)
