"""Winogrande (winogrande_xl), 5-shot, acc, with partial scoring.

Each sentence has a blank "_" and two options. Partial scoring (b281b09 and lm-eval 0.4 alike):
for each option the context is the sentence up to the blank with the option put in, after the
few-shot examples; the continuation " " + the rest of the sentence is scored; the option under
which it is likelier wins. A few-shot example is its sentence with the right option filled in.

Local data: `winogrande/dev.jsonl` (= the Hugging Face `validation` split that is scored). The
harnesses draw the 5 examples from `train_xl`, which the shared data lacks: unless
`winogrande/train_xl.jsonl` is in the data root (checked against the sha256 recorded for the
official file), a seeded pool of 100 dev items takes its place and is never scored, as
HellaSwag's pool does; results say which pool was used.
"""

from __future__ import annotations

from pathlib import Path

from platypus.errors import DataError
from platypus.eval.metrics import acc
from platypus.eval.results import ItemResult
from platypus.hashing import file_sha256
from platypus.io.readers import iter_jsonl
from platypus.progress import progress
from platypus.tasks.base import (
    Drawn,
    Task,
    harness_in_order,
    held_out_pool,
    hub_dataset,
    write_jsonl,
)
from platypus.tasks.schema import TaskItem

NAME = "winogrande"
SHOTS = 5
POOL = 100
# The official winogrande_1.1 train_xl.jsonl (40,398 rows, 8,741,021 bytes; git blob
# 99d62b38344b86fa00a4fd03faf1b64e01807ab6), as recorded in the shared data's SOURCE.md.
TRAIN_XL_SHA256 = "5da4d7f6924348ace9e64fd0922d8a7a8e0e14f55cd08005ffb1a3a3d649e36f"


def _path(root: Path, split: str) -> Path:
    return Path(root) / "winogrande" / f"{'dev' if split == 'validation' else split}.jsonl"


def _item(split: str, row: dict) -> TaskItem:
    sentence = row["sentence"]
    if sentence.count("_") != 1 or row["answer"] not in ("1", "2"):
        raise ValueError("a sentence with one '_' and an answer of '1' or '2' is needed")
    return TaskItem(
        NAME,
        split,
        f"{NAME}/{row['qID']}",
        sentence,
        (row["option1"], row["option2"]),
        int(row["answer"]) - 1,
    )


def load_winogrande(root: Path, split: str = "validation") -> list[TaskItem]:
    path = _path(root, split)
    items = []
    for lineno, row in iter_jsonl(path):
        try:
            items.append(_item(split, row))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(path, f"not a Winogrande row ({exc!r})", row=lineno) from None
    return items


def load_hub(**_: object) -> list[TaskItem]:
    rows = hub_dataset("allenai/winogrande", "winogrande_xl", split="validation")
    return [_item("validation", r) for r in rows]


def _train_xl(root: Path) -> Path | None:
    """The official train_xl in the data root, when it is there; another file there is refused."""
    path = _path(root, "train_xl")
    if not path.is_file():
        return None
    digest = file_sha256(path)
    if digest != TRAIN_XL_SHA256:
        raise DataError(
            path,
            f"sha256 {digest[:12]}... is not the official train_xl's ({TRAIN_XL_SHA256[:12]}...); "
            "remove it to use the dev pool",
        )
    return path


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """(the items left to score, the few-shot pool): train_xl when present, else held-out dev."""
    if _train_xl(root) is not None:
        return items, load_winogrande(root, split="train_xl")
    if len(items) <= POOL:
        raise DataError(
            _path(root, "validation"),
            f"{len(items)} items, but {POOL} are held out as the few-shot pool: "
            f"at least {POOL + 1} are needed",
        )
    pool, scored = held_out_pool(items, POOL)
    return scored, pool


def notes(root: Path) -> list[str]:
    if _train_xl(root) is not None:
        return ["few-shot examples from train_xl (sha256 checked)"]
    return [
        f"train_xl is not in the data root: {POOL} seeded dev items are the few-shot pool "
        "and are not scored"
    ]


def partial_context(item: TaskItem, option: str) -> str:
    """The sentence up to the blank, with `option` in it."""
    return item.question[: item.question.index("_")] + option


def partial_target(item: TaskItem) -> str:
    """The rest of the sentence after the blank, as the scored continuation."""
    return " " + item.question[item.question.index("_") + 1 :].strip()


def contexts(item: TaskItem, examples: list[TaskItem]) -> list[str]:
    """One context per option: the examples (each with its right option), then the partial
    sentence."""
    shots = [partial_context(e, e.gold_text) + partial_target(e) for e in examples]
    return ["\n\n".join([*shots, partial_context(item, option)]) for option in item.choices]


def score(scorer, items: list[TaskItem], drawn: Drawn, protocol=None) -> list[ItemResult]:
    out = []
    for item in progress(items, desc=NAME, unit=" items", disable=None):
        options = contexts(item, drawn.examples[item.id])
        prefix = scorer.prefix(options)  # the examples, shared by both options
        target = partial_target(item)
        # both options in one batch on the shared examples
        lls = [
            scores[0].logprob
            for scores in scorer.score_many([(c, [target]) for c in options], prefix)
        ]
        out.append(ItemResult(item.id, lls, {"acc": acc(lls, item.gold)}))
    return out


YAML = """task: pl_winogrande
dataset_path: json
dataset_kwargs:
  data_files: {{train: {train}, validation: {test}}}
output_type: multiple_choice
training_split: train
validation_split: validation
num_fewshot: 5
doc_to_text: !function pl_winogrande.doc_to_text
doc_to_target: !function pl_winogrande.doc_to_target
doc_to_choice: !function pl_winogrande.doc_to_choice
metric_list:
  - metric: acc
"""

# Partial scoring for lm-eval 0.4: the choices are the contexts, the target is shared.
FUNCTIONS = """def doc_to_text(doc):
    return int(doc["answer"]) - 1


def doc_to_target(doc):
    return doc["sentence"][doc["sentence"].index("_") + 1 :].strip()


def doc_to_choice(doc):
    blank = doc["sentence"].index("_")
    return [doc["sentence"][:blank] + doc["option1"], doc["sentence"][:blank] + doc["option2"]]
"""


def _row(item: TaskItem) -> dict:
    return {
        "sentence": item.question,
        "option1": item.choices[0],
        "option2": item.choices[1],
        "answer": str(item.gold + 1),
    }


def export(root: Path, items: list[TaskItem], drawn: Drawn) -> list[str]:
    train = write_jsonl(root / "wg_train.jsonl", map(_row, drawn.pool))
    test = write_jsonl(root / "wg_test.jsonl", map(_row, items))
    (root / "pl_winogrande.py").write_text(FUNCTIONS)
    (root / "winogrande.yaml").write_text(YAML.format(train=train, test=test))
    return ["pl_winogrande"]


def data_files(root: Path) -> list[Path]:
    files = [_path(root, "validation")]
    train_xl = _path(root, "train_xl")
    return files + ([train_xl] if train_xl.is_file() else [])


class WinograndeTask(Task):
    name = NAME
    headline = "acc"
    split = "validation"
    load = staticmethod(load_winogrande)
    options_carry_meaning = False  # the two people or things a blank may refer to
    # 5-shot sentences shared by both options, 2 partial sentences
    plan_cost = (1_267, 260)
    from_harness = staticmethod(harness_in_order)
    shots = SHOTS


TASK = WinograndeTask()
