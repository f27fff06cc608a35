"""ARC-Challenge, 25-shot, acc_norm.

Local data: `arc/ARC-Challenge-{Test,Train}.jsonl`. The test split has 22 numeric answer keys
(mapped to letters, as lm-eval does) and 3- or 5-option questions. The 25 examples come from
the train split, drawn as the harness protocol draws them (`platypus.eval.protocols`).
"""

from __future__ import annotations

from pathlib import Path

from platypus.errors import DataError
from platypus.eval.metrics import acc, acc_norm
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_jsonl
from platypus.progress import progress
from platypus.tasks.base import Drawn, Task, hub_dataset, write_jsonl
from platypus.tasks.schema import TaskItem

NAME = "arc_challenge"
SHOTS = 25
NUM_TO_LETTER = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}


def _path(root: Path, split: str) -> Path:
    return Path(root) / "arc" / f"ARC-Challenge-{split.capitalize()}.jsonl"


def load_arc(root: Path, split: str = "test") -> list[TaskItem]:
    path = _path(root, split)
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
        items.append(TaskItem(NAME, split, f"{NAME}/{row['id']}", q["stem"], texts, gold))
    return items


def load_hub(**_: object) -> list[TaskItem]:
    out = []
    for r in hub_dataset("allenai/ai2_arc", "ARC-Challenge", split="test"):
        labels = [NUM_TO_LETTER.get(x, x) for x in r["choices"]["label"]]
        key = NUM_TO_LETTER.get(r["answerKey"], r["answerKey"])
        out.append(
            TaskItem(
                NAME,
                "test",
                f"{NAME}/{r['id']}",
                r["question"],
                tuple(r["choices"]["text"]),
                labels.index(key),
            )
        )
    return out


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """The items as they are; the pool is the train split."""
    train = load_arc(root, split="train")
    if len(train) < SHOTS:
        raise DataError(
            _path(root, "train"), f"{len(train)} items; {SHOTS}-shot needs at least {SHOTS}"
        )
    return items, train


def score(scorer, items: list[TaskItem], drawn: Drawn, protocol=None) -> list[ItemResult]:
    out = []
    for item in progress(items, desc=NAME, unit=" items", disable=None):
        context = arc_context(item, drawn.examples[item.id])
        lls = [s.logprob for s in scorer.score(context, arc_choices(item))]
        metrics = {"acc": acc(lls, item.gold), "acc_norm": acc_norm(lls, item.choices, item.gold)}
        out.append(ItemResult(item.id, lls, metrics))
    return out


YAML = """task: pl_arc
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, test: {test}}}
training_split: train
test_split: test
num_fewshot: 25
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{choices.label.index(answerKey)}}}}"
doc_to_choice: "{{{{choices.text}}}}"
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def _row(item: TaskItem) -> dict:
    labels = list("ABCDE"[: len(item.choices)])
    return {
        "question": item.question,
        "answerKey": labels[item.gold],
        "choices": {"text": list(item.choices), "label": labels},
    }


def export(root: Path, items: list[TaskItem], drawn: Drawn) -> list[str]:
    train_file = write_jsonl(root / "arc_train.jsonl", map(_row, drawn.pool))
    test_file = write_jsonl(root / "arc_test.jsonl", map(_row, items))
    (root / "arc.yaml").write_text(YAML.format(train=train_file, test=test_file))
    return ["pl_arc"]


def data_files(root: Path) -> list[Path]:
    return [_path(root, "test"), _path(root, "train")]


class ArcChallengeTask(Task):
    name = NAME
    headline = "acc_norm"
    split = "test"
    load = staticmethod(load_arc)
    # 25-shot context once, 4 short choices
    plan_cost = (1_172, 1_550)
    shots = SHOTS


TASK = ArcChallengeTask()


# The prompt (lm-eval's arc_challenge): "Question: ...\nAnswer:", each choice after a space.
def arc_query(item: TaskItem) -> str:
    return f"Question: {item.question}\nAnswer:"


def arc_context(item: TaskItem, examples: list[TaskItem]) -> str:
    """The item's question after its few-shot examples (drawn by the harness protocol)."""
    shots = [f"{arc_query(e)} {e.gold_text}" for e in examples]
    return "\n\n".join([*shots, arc_query(item)])


def arc_choices(item: TaskItem) -> list[str]:
    return [f" {c}" for c in item.choices]
