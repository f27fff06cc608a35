"""A task: OpenBookQA (Main test split, 500 items), 0-shot, as lm-eval's `openbookqa` scores it:
the question stem as the context, each option after a space, acc and acc_norm."""

from __future__ import annotations

import re
from pathlib import Path

from platypus.eval.metrics import acc, acc_norm
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_tsv
from platypus.tasks.base import Task
from platypus.tasks.schema import TaskItem

_OPTION = re.compile(r"\(([A-Z])\)\s*")


class OpenBookQATask(Task):
    name = "openbookqa"
    headline = "acc_norm"
    split = "test"
    plan_cost = (500, 40)  # 500 items, a ~20-token stem and four short options

    def load(self, root: Path, split: str = "test") -> list[TaskItem]:
        items = []
        for _, row in iter_tsv(self.data_files(root, split)[0]):
            parts = _OPTION.split(row["Choices"])
            labels, texts = parts[1::2], tuple(t.strip() for t in parts[2::2])
            gold = labels.index(row["Answer Key"].strip())
            ident = f"{self.name}/{row['ID']}"
            items.append(TaskItem(self.name, split, ident, row["Question Stem"], texts, gold))
        return items

    def score(self, scorer, items: list[TaskItem], pool=None, protocol=None) -> list[ItemResult]:
        out = []
        for item in items:
            lls = [s.logprob for s in scorer.score(item.question, [f" {c}" for c in item.choices])]
            metrics = {"acc": acc(lls, item.gold),
                       "acc_norm": acc_norm(lls, item.choices, item.gold)}  # fmt: skip
            out.append(ItemResult(item.id, lls, metrics))
        return out

    def data_files(self, root: Path, split: str = "test") -> list[Path]:
        return [Path(root) / "openbookqa" / f"{split}.tsv"]


TASK = OpenBookQATask()
