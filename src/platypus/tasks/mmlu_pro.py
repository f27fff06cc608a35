"""MMLU-Pro, 5-shot, acc: the Open LLM Leaderboard v2's `leaderboard_mmlu_pro` (lm-eval 0.4.13).

Local data: `mmlu_pro/mmlu_pro_{test,validation}.jsonl` in the hub schema of `TIGER-Lab/MMLU-Pro`
(question, options: 3 to 10 strings, answer: a letter, category, question_id, ...). The prompt is
lm-eval's `utils.doc_to_text`: the question, a line "A. <option>" per option, then "Answer:".
The choices are the letters of the item's options (" A".." J", as many as it has) and the gold
one is the `answer` letter (not `answer_index`: they disagree on one test row, question 3983,
and lm-eval scores the letter). Each item is scored by acc: the letter with the highest
log-likelihood is the answer.

The leaderboard task is ONE task over all categories, with the `first_n` sampler on the
validation split: every item gets the same 5 examples, validation rows 0-4 in file order (all
math), each followed by " <answer letter>" and a blank line. Categories are the subjects here
("computer science" as `computer_science`), so results are also reported per category.
Item ids are `mmlu_pro/<subject>/<question_id>`: the dataset's own id, stable across releases.
The leaderboard's score is acc rescaled from a chance of 1 in 10 (`leaderboard_v2`).
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc
from platypus.eval.results import ItemResult
from platypus.io.readers import iter_jsonl
from platypus.progress import progress
from platypus.tasks.base import LeaderboardScore, Task, hub_dataset, write_jsonl
from platypus.tasks.schema import TaskItem

NAME = "mmlu_pro"
SHOTS = 5
HUB_ID = "TIGER-Lab/MMLU-Pro"
LETTERS = "ABCDEFGHIJ"  # lm-eval takes string.ascii_uppercase[i]; the dataset has at most 10
SPLITS = ("test", "validation")


def _path(root: Path, split: str) -> Path:
    return Path(root) / NAME / f"{NAME}_{split}.jsonl"


def subject_of(category: str) -> str:
    """A category as a subject name (no spaces, as MMLU's subjects are written)."""
    return category.replace(" ", "_")


def _problem(row: object) -> str | None:
    """What makes `row` unusable as an MMLU-Pro item, or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    question, options, answer = row.get("question"), row.get("options"), row.get("answer")
    if not isinstance(row.get("question_id"), int) or isinstance(row.get("question_id"), bool):
        return "question_id must be an integer"
    if not isinstance(question, str) or not question.strip():
        return "question must be a non-empty string"
    if not isinstance(row.get("category"), str) or not row["category"].strip():
        return "category must be a non-empty string"
    if (
        not isinstance(options, list)
        or not 1 <= len(options) <= len(LETTERS)
        or not all(isinstance(o, str) for o in options)
    ):
        return f"options must be a list of 1 to {len(LETTERS)} strings"
    if not isinstance(answer, str) or len(answer) != 1 or answer not in LETTERS[: len(options)]:
        return f"answer must be one of the option letters A..{LETTERS[len(options) - 1]}"
    return None


def _item(split: str, row: dict) -> TaskItem:
    subject = subject_of(row["category"])
    return TaskItem(
        NAME,
        split,
        f"{NAME}/{subject}/{row['question_id']}",
        row["question"],
        tuple(row["options"]),
        LETTERS.index(row["answer"]),
        subject,
    )


def _check_subjects(subjects: list[str] | None) -> None:
    if subjects is not None and not subjects:
        raise PlatypusError(f"{NAME}: the subject list is empty; leave it unset for all subjects")


def _select(items: list[TaskItem], subjects: list[str] | None) -> list[TaskItem]:
    if subjects is None:
        return items
    known = {i.subject for i in items}
    if missing := set(subjects) - known:
        raise PlatypusError(
            f"{NAME}: unknown subjects {sorted(missing)}; known: {', '.join(sorted(known))}"
        )
    return [i for i in items if i.subject in subjects]


def load_mmlu_pro(
    root: Path, split: str = "test", subjects: list[str] | None = None
) -> list[TaskItem]:
    """A split's items in file order (the hub's: by question_id)."""
    _check_subjects(subjects)
    if split not in SPLITS:
        raise PlatypusError(f"{NAME}: unknown split {split!r}; known: {', '.join(SPLITS)}")
    path = _path(root, split)
    items, seen = [], set()
    for lineno, row in iter_jsonl(path):
        if (problem := _problem(row)) is not None:
            raise DataError(path, f"not an MMLU-Pro row: {problem}", row=lineno)
        # The id holds question_id, which is unique over the whole split.
        if row["question_id"] in seen:
            raise DataError(path, f"question_id {row['question_id']} repeats", row=lineno)
        seen.add(row["question_id"])
        items.append(_item(split, row))
    if not items:
        raise DataError(path, "no MMLU-Pro rows")
    return _select(items, subjects)


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    """The test split from the hub (the revision lm-eval's yaml leaves unpinned: the latest)."""
    _check_subjects(subjects)
    return _select([_item("test", dict(r)) for r in hub_dataset(HUB_ID, split="test")], subjects)


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], list[TaskItem]]:
    """The items as they are; the pool is the validation split in file order."""
    return items, load_mmlu_pro(root, split="validation")


def with_shots(pool: list[TaskItem], n: int) -> list[TaskItem]:
    """The first `n` validation items (the harness's `first_n` sampler), for every item."""
    if n > len(pool):
        raise PlatypusError(
            f"{NAME}: num_fewshot {n} is more than the {len(pool)} validation items"
        )
    return pool[:n]


def question(item: TaskItem) -> str:
    """lm-eval's `doc_to_text`: the question as it is, the lettered options, "Answer:"."""
    options = "".join(f"{LETTERS[n]}. {o}\n" for n, o in enumerate(item.choices))
    return f"{item.question}\n{options}Answer:"


def context(item: TaskItem, examples: list[TaskItem]) -> str:
    """The examples, each with " <letter>" and the harness's blank-line delimiter, then the
    item's question."""
    shots = "".join(f"{question(e)} {LETTERS[e.gold]}\n\n" for e in examples)
    return shots + question(item)


def continuations(item: TaskItem) -> list[str]:
    """The scored choices: the target delimiter " " and a letter per option."""
    return [f" {LETTERS[n]}" for n in range(len(item.choices))]


def score(scorer, items: list[TaskItem], examples: list[TaskItem], protocol=None):
    """The 5 examples are the same for every item (one task over all categories), so their
    tokens run once and seed every item; the questions run in length-sorted batches on that
    cache, a subject at a time (every choice is one token)."""
    contexts = [context(item, examples) for item in items]
    prefix = scorer.prefix(contexts)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_subject[item.subject].append(n)
    out: list[ItemResult | None] = [None] * len(items)
    with progress(total=len(items), desc=NAME, unit=" items", disable=None) as bar:
        for subject in sorted(by_subject):
            group = by_subject[subject]
            requests = [(contexts[n], continuations(items[n])) for n in group]
            for n, scores in zip(group, scorer.score_many(requests, prefix), strict=True):
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(items[n].id, lls, {"acc": acc(lls, items[n].gold)})
            bar.update(len(group))
    return out


# The leaderboard's own task config (its prompt functions, sampler and metric), with the data
# pointed at local jsonl files in the hub schema.
YAML = """include: {leaderboard}
task: pl_mmlu_pro
dataset_path: json
dataset_kwargs:
  data_files: {{test: {test}, validation: {validation}}}
num_fewshot: {shots}
"""


def leaderboard_yaml() -> Path:
    """lm-eval's `leaderboard_mmlu_pro` config in the installed lm-eval (found, not imported)."""
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise PlatypusError(f"{NAME}: lm-eval is not installed (pip install lm-eval==0.4.13)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    path = folder / "tasks" / "leaderboard" / NAME / f"{NAME}.yaml"
    if not path.is_file():
        raise PlatypusError(
            f"{NAME}: {path} not found; this lm-eval has no leaderboard tasks (0.4.13 has)"
        )
    return path


def hub_row(item: TaskItem) -> dict:
    """An item in the hub schema, as far as the leaderboard task reads it."""
    return {
        "question_id": int(item.id.rsplit("/", 1)[1]),
        "question": item.question,
        "options": list(item.choices),
        "answer": LETTERS[item.gold],
        "category": item.subject.replace("_", " "),
    }


def export(root: Path, items: list[TaskItem], examples: list[TaskItem]) -> list[str]:
    """One harness task: the leaderboard's config on the items, its validation split the
    examples (so `first_n` gives exactly them)."""
    test = write_jsonl(root / "mmlu_pro_test.jsonl", map(hub_row, items))
    # The harness refuses an empty split; a 0-shot run never reads it.
    validation = write_jsonl(root / "mmlu_pro_validation.jsonl", map(hub_row, examples or items))
    yaml = YAML.format(leaderboard=leaderboard_yaml(), test=test, validation=validation,
                       shots=len(examples))  # fmt: skip
    (root / "pl_mmlu_pro.yaml").write_text(yaml)
    return ["pl_mmlu_pro"]


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    return [_path(root, split) for split in SPLITS]


def notes(root: Path) -> list[str]:
    return [
        "test split: the newest of five MMLU-Pro releases (Aug-Sep 2024); runs that downloaded "
        "an older one score up to 48 of its rows differently (mmlu_pro/SOURCE.md)"
    ]


class MMLUProTask(Task):
    name = NAME
    headline = "acc"
    split = "test"
    load = staticmethod(load_mmlu_pro)
    # 5 examples shared once, ~200-token questions, 1-token letters
    plan_cost = (12_032, 210)
    options = ("subjects",)
    per_subject = True
    own_shots = SHOTS
    # The leaderboard rescales acc from the chance of 1 in 10 to 100, for every item alike
    # (also those with fewer options).
    leaderboard_v2 = LeaderboardScore(("acc",), chance=0.1)


TASK = MMLUProTask()
