"""Build a small run_v1.py items folder straight from /work/shared/data, for smoke runs.

Not the project's exporter: it only reshapes the shared files into the Hugging Face row
format b281b09's tasks read, with stand-ins where the shared data lacks a split:

* hellaswag: the shared text file keeps only the joined context, so ``ctx_a`` holds it all and
  ``ctx_b`` is ""; there is no train split, so the first ``--hellaswag-train`` validation rows
  stand in as the few-shot pool and the rest are the validation split.
* winogrande: train_xl is missing, so the dev rows serve as both train and validation.
* mmlu: only the subjects named by ``--mmlu-subjects``.

Standard library only:

    python benchmarks/v1_harness/sample_items.py OUT_DIR [--data /work/shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def arc(data: Path, out: Path, args) -> None:
    def to_hf(row: dict) -> dict:
        q = row["question"]
        return {
            "id": row["id"],
            "question": q["stem"],
            "choices": {
                "text": [c["text"] for c in q["choices"]],
                "label": [c["label"] for c in q["choices"]],
            },
            "answerKey": row["answerKey"],
        }

    for split, name in (("train", "Train"), ("test", "Test")):
        rows = _jsonl(data / "arc" / f"ARC-Challenge-{name}.jsonl")
        _write(out / "arc_challenge" / f"{split}.jsonl", [to_hf(r) for r in rows])


def hellaswag(data: Path, out: Path, args) -> None:
    lines = (data / "hellaswag" / "hellaswag_val_full.txt").read_text(encoding="utf-8")
    lines = lines.split("\n")
    rows = []
    for i in range(0, len(lines) - 5, 6):
        head, label, *endings = lines[i : i + 6]
        activity, _, ctx = head.partition(": ")
        rows.append(
            {
                "ind": len(rows),
                "activity_label": activity,
                "ctx_a": ctx,
                "ctx_b": "",
                "ctx": ctx,
                "endings": endings,
                "label": label.strip(),
            }
        )
    k = args.hellaswag_train
    _write(out / "hellaswag" / "train.jsonl", rows[:k])
    _write(out / "hellaswag" / "validation.jsonl", rows[k:])


def mmlu(data: Path, out: Path, args) -> None:
    for subject in args.mmlu_subjects:
        for split in ("dev", "test"):
            with (data / "mmlu" / split / f"{subject}_{split}.csv").open(encoding="utf-8") as fh:
                rows = [
                    {
                        "question": r[0],
                        "subject": subject,
                        "choices": r[1:5],
                        "answer": "ABCD".index(r[5]),
                    }
                    for r in csv.reader(fh)
                ]
            _write(out / "mmlu" / subject / f"{split}.jsonl", rows)


def truthfulqa(data: Path, out: Path, args) -> None:
    items = json.loads((data / "truthfulqa" / "mc_task.json").read_text(encoding="utf-8"))
    rows = [
        {
            "question": it["question"],
            **{
                key: {"choices": list(it[key]), "labels": list(it[key].values())}
                for key in ("mc1_targets", "mc2_targets")
            },
        }
        for it in items
    ]
    _write(out / "truthfulqa_mc" / "validation.jsonl", rows)


def winogrande(data: Path, out: Path, args) -> None:
    rows = _jsonl(data / "winogrande" / "dev.jsonl")
    for split in ("train", "validation"):
        _write(out / "winogrande" / f"{split}.jsonl", rows)


def gsm8k(data: Path, out: Path, args) -> None:
    for split in ("train", "test"):
        rows = _jsonl(data / "gsm8k" / f"{split}.jsonl")
        _write(
            out / "gsm8k" / f"{split}.jsonl",
            [{"question": r["question"], "answer": r["answer"]} for r in rows],
        )


BUILDERS = {
    "arc_challenge": arc,
    "hellaswag": hellaswag,
    "mmlu": mmlu,
    "truthfulqa_mc": truthfulqa,
    "winogrande": winogrande,
    "gsm8k": gsm8k,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--tasks", nargs="+", choices=list(BUILDERS), default=list(BUILDERS))
    parser.add_argument("--mmlu-subjects", nargs="+", default=["abstract_algebra", "anatomy"])
    parser.add_argument("--hellaswag-train", type=int, default=100)
    args = parser.parse_args(argv)
    for name in args.tasks:
        try:
            BUILDERS[name](args.data, args.out, args)
        except FileNotFoundError as exc:
            print(f"error: {name}: {exc.filename} is missing", file=sys.stderr)
            return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
