"""HellaSwag, 10-shot, acc_norm.

Local data: `hellaswag/hellaswag_val_full.txt`, the llama.cpp text extraction of the validation
split: 6 lines per item (`activity label: context`, the gold label 0-3, the 4 endings). The
harness draws its examples from the train split, which the data root lacks: a seeded pool of 200
validation items takes its place and is never scored (`hellaswag_split` below).
"""

from __future__ import annotations

import re
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc, acc_norm
from platypus.eval.results import ItemResult
from platypus.io.readers import read_text
from platypus.progress import progress
from platypus.tasks.base import FEWSHOT_SEED, Drawn, Task, held_out_pool, hub_dataset, write_jsonl
from platypus.tasks.schema import TaskItem

NAME = "hellaswag"
SHOTS = 10


def _path(root: Path) -> Path:
    return Path(root) / "hellaswag" / "hellaswag_val_full.txt"


def load_hellaswag(root: Path, split: str = "validation") -> list[TaskItem]:
    path = _path(root)
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
                NAME,
                split,
                f"{NAME}/{k // 6}",
                context,
                tuple(endings),
                int(label),
                subject=activity,
            )
        )
    return items


def load_hub(**_: object) -> list[TaskItem]:
    return [
        TaskItem(
            NAME,
            "validation",
            f"{NAME}/{i}",
            f"{r['activity_label']}: {r['ctx']}",
            tuple(r["endings"]),
            int(r["label"]),
            subject=r["activity_label"],
        )
        for i, r in enumerate(hub_dataset("Rowan/hellaswag", split="validation"))
    ]


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """(the items left to score, the few-shot pool held out of them)."""
    if len(items) <= HELLASWAG_POOL:
        raise DataError(
            _path(root),
            f"{len(items)} items, but {HELLASWAG_POOL} are held out as the few-shot pool: "
            f"at least {HELLASWAG_POOL + 1} are needed",
        )
    pool, scored = hellaswag_split(items)
    return scored, pool


def score(scorer, items: list[TaskItem], drawn: Drawn, protocol=None) -> list[ItemResult]:
    out = []
    for item in progress(items, desc=NAME, unit=" items", disable=None):
        context = hellaswag_context(item, drawn.examples[item.id])
        endings = hellaswag_endings(item)
        lls = [s.logprob for s in scorer.score(context, [f" {e}" for e in endings])]
        metrics = {"acc": acc(lls, item.gold), "acc_norm": acc_norm(lls, endings, item.gold)}
        out.append(ItemResult(item.id, lls, metrics))
    return out


YAML = """task: pl_hs
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, validation: {test}}}
training_split: train
validation_split: validation
num_fewshot: 10
output_type: multiple_choice
doc_to_text: "{{{{query}}}}"
doc_to_target: "{{{{label}}}}"
doc_to_choice: "choices"
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def _row(item: TaskItem) -> dict:
    return {
        "query": hellaswag_preprocess(item.question),
        "choices": hellaswag_endings(item),
        "label": item.gold,
    }


def export(root: Path, items: list[TaskItem], drawn: Drawn) -> list[str]:
    train = write_jsonl(root / "hs_train.jsonl", map(_row, drawn.pool))
    test = write_jsonl(root / "hs_test.jsonl", map(_row, items))
    (root / "hs.yaml").write_text(YAML.format(train=train, test=test))
    return ["pl_hs"]


def data_files(root: Path) -> list[Path]:
    return [_path(root)]


class HellaSwagTask(Task):
    name = NAME
    headline = "acc_norm"
    split = "validation"
    load = staticmethod(load_hellaswag)
    # 10-shot context once, 4 endings of ~30 tokens
    plan_cost = (10_042, 1_020)
    shots = SHOTS
    continuation = True


TASK = HellaSwagTask()


# The prompt (lm-eval's hellaswag): its preprocess() on "activity: context" and on each
# ending; 10 examples drawn from a held-out pool of validation items (the module doc says why).
HELLASWAG_POOL = 200


def hellaswag_preprocess(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag_endings(item: TaskItem) -> list[str]:
    return [hellaswag_preprocess(e) for e in item.choices]


def hellaswag_split(
    items: list[TaskItem], pool: int = HELLASWAG_POOL, seed: int = FEWSHOT_SEED
) -> tuple[list[TaskItem], list[TaskItem]]:
    """(few-shot pool, scored items): the pool is a seeded sample, kept in file order."""
    if len(items) <= pool:
        raise PlatypusError(
            f"HellaSwag: {len(items)} items, but {pool} are held out as the few-shot pool: "
            f"at least {pool + 1} are needed"
        )
    return held_out_pool(items, pool, seed)


def hellaswag_context(item: TaskItem, examples: list[TaskItem]) -> str:
    shots = [f"{hellaswag_preprocess(e.question)} {hellaswag_endings(e)[e.gold]}" for e in examples]
    return "\n\n".join([*shots, hellaswag_preprocess(item.question)])
