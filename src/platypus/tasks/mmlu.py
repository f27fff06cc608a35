"""MMLU, 5-shot, acc (the mean over items; the mean over subjects is reported beside it).

Local data: `mmlu/{test,dev}/<subject>_{test,dev}.csv`, headerless, with the answer as a letter.
The 5 examples of a subject (or `num_fewshot`) are its first dev items in file order.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc
from platypus.eval.results import ItemResult
from platypus.io.readers import read_text
from platypus.progress import progress
from platypus.tasks.base import Task, harness_by_subject, hub_dataset, write_jsonl
from platypus.tasks.schema import TaskItem

NAME = "mmlu"
SHOTS = 5


def _check_subjects(subjects: list[str] | None) -> None:
    if subjects is not None and not subjects:
        raise PlatypusError("MMLU: the subject list is empty; leave it unset for all subjects")


def _files(root: Path, split: str, subjects: list[str] | None) -> list[Path]:
    folder = Path(root) / "mmlu" / split
    if subjects is None:
        return sorted(folder.glob(f"*_{split}.csv"))
    return [folder / f"{s}_{split}.csv" for s in sorted(set(subjects))]


def load_mmlu(root: Path, split: str = "test", subjects: list[str] | None = None) -> list[TaskItem]:
    _check_subjects(subjects)
    folder = Path(root) / "mmlu" / split
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
                    NAME,
                    split,
                    f"{NAME}/{subject}/{rowno}",
                    row[0],
                    tuple(row[1:5]),
                    "ABCD".index(row[5].strip()),
                    subject,
                )
            )
    if not items:
        raise DataError(folder, "no MMLU rows")
    return items


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    _check_subjects(subjects)
    counts: dict[str, int] = {}
    out = []
    for r in hub_dataset("cais/mmlu", "all", split="test"):
        counts[r["subject"]] = counts.get(r["subject"], 0) + 1
        if subjects is not None and r["subject"] not in subjects:
            continue
        out.append(
            TaskItem(
                NAME,
                "test",
                f"{NAME}/{r['subject']}/{counts[r['subject']]}",
                r["question"],
                tuple(r["choices"]),
                int(r["answer"]),
                r["subject"],
            )
        )
    if subjects is not None and (missing := set(subjects) - set(counts)):
        raise PlatypusError(f"MMLU: unknown subjects {sorted(missing)}")
    return out


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], dict[str, list[TaskItem]]]:
    """The items as they are; the pool is each subject's dev items, by subject."""
    dev: dict[str, list[TaskItem]] = defaultdict(list)
    subjects = sorted({i.subject for i in items})
    if subjects:
        for d in load_mmlu(root, split="dev", subjects=subjects):
            dev[d.subject].append(d)
    return items, dict(dev)


def with_shots(dev: dict[str, list[TaskItem]], n: int) -> dict[str, list[TaskItem]]:
    """Each subject's first `n` dev items (the harness's `first_n` sampler)."""
    short = {s: len(d) for s, d in dev.items() if len(d) < n}
    if short:
        subject = min(short, key=lambda s: (short[s], s))
        raise PlatypusError(
            f"{NAME}: num_fewshot {n} is more than the {short[subject]} dev items of {subject}"
        )
    return {s: d[:n] for s, d in dev.items()}


def score(
    scorer, items: list[TaskItem], dev: dict[str, list[TaskItem]], protocol=None
) -> list[ItemResult]:
    """Per subject: the few-shot prefix (`dev`: the examples, `with_shots`) runs once, the
    questions run in length-sorted batches."""
    subjects = sorted({i.subject for i in items})
    by_subject: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_subject[item.subject].append(n)
    out: list[ItemResult | None] = [None] * len(items)
    with progress(total=len(items), desc=NAME, unit=" items", disable=None) as bar:
        for subject in subjects:
            group = [items[n] for n in by_subject[subject]]
            examples = dev[subject]
            contexts = [mmlu_context(item, examples, len(examples)) for item in group]
            prefix = scorer.prefix(contexts)
            scored = scorer.score_many([(c, mmlu_choices()) for c in contexts], prefix)
            for n, item, scores in zip(by_subject[subject], group, scored, strict=True):
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(item.id, lls, {"acc": acc(lls, item.gold)})
            bar.update(len(group))
    return out  # type: ignore[return-value]


YAML = """task: pl_mmlu_{subject}
dataset_path: json
dataset_kwargs:
  data_files: {{test: {test}{dev}}}
test_split: test
{fewshot}num_fewshot: {shots}
output_type: multiple_choice
description: "The following are multiple choice questions (with answers) about {title}.\\n\\n"
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
"""  # noqa: E501


def _row(item: TaskItem) -> dict:
    return {"question": item.question, "choices": list(item.choices), "answer": item.gold}


def export(root: Path, items: list[TaskItem], dev: dict[str, list[TaskItem]]) -> list[str]:
    """One harness task per subject."""
    names = []
    for subject in sorted({i.subject for i in items}):
        test = [i for i in items if i.subject == subject]
        t = write_jsonl(root / f"mmlu_{subject}_test.jsonl", map(_row, test))
        title = subject.replace("_", " ")
        shots = len(dev[subject])
        dev_file, fewshot = "", ""
        if shots:  # 0-shot: no dev split (the harness refuses an empty one)
            d = write_jsonl(root / f"mmlu_{subject}_dev.jsonl", map(_row, dev[subject]))
            dev_file = f", dev: {d}"
            fewshot = "fewshot_split: dev\nfewshot_config:\n  sampler: first_n\n"
        yaml = YAML.format(subject=subject, title=title, test=t, dev=dev_file, fewshot=fewshot,
                           shots=shots)  # fmt: skip
        (root / f"mmlu_{subject}.yaml").write_text(yaml)
        names.append(f"pl_mmlu_{subject}")
    return names


# one harness task per subject (see `export`)
from_harness = harness_by_subject("pl_mmlu")


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    return _files(root, "test", subjects) + _files(root, "dev", subjects)


class MMLUTask(Task):
    name = NAME
    headline = "acc"
    split = "test"
    load = staticmethod(load_mmlu)
    # 5-shot prefix shared per subject; one-token choices
    plan_cost = (14_042, 110)
    options = ("subjects",)
    per_subject = True
    own_shots = SHOTS


TASK = MMLUTask()


# The prompt (lm-eval's MMLU): the subject's description, its first dev items with their
# answers, then the question; the choices are the letters.
MMLU_KEYS = ("A", "B", "C", "D")


def mmlu_query(item: TaskItem) -> str:
    options = "".join(f"{k}. {c}\n" for k, c in zip(MMLU_KEYS, item.choices, strict=True))
    return f"{item.question.strip()}\n{options}Answer:"


def mmlu_context(item: TaskItem, dev: list[TaskItem], shots: int = 5) -> str:
    """The 5-shot MMLU context: `dev` holds the subject's dev items in file order."""
    subject = item.subject.replace("_", " ")
    examples = [mmlu_query(d) + " " + MMLU_KEYS[d.gold] for d in dev[:shots]]
    description = f"The following are multiple choice questions (with answers) about {subject}."
    return "\n\n".join([description, *examples, mmlu_query(item)])


def mmlu_choices() -> list[str]:
    return [f" {k}" for k in MMLU_KEYS]
