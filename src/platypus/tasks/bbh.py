"""BIG-Bench Hard as the Open LLM Leaderboard v2 scores it (lm-eval 0.4.13 `leaderboard_bbh`):
24 subtasks, 3-shot, multiple choice by log-likelihood, acc_norm.

Prompt, per subtask: its description line, then each example as "Q: {input}\\nA: {target}"
followed by a blank line, then "Q: {input}\\nA:". Nothing separates the description from the
first "Q:" (lm-eval 0.4.13 joins them without a delimiter, so the leaderboard's prompt reads
"...expression.Q: ..."). Each of the subtask's fixed choices ("(A)".., "True"/"False", "0".."18")
is scored as the continuation " {choice}"; acc_norm picks the choice with the highest
log-likelihood per character of the choice (without the space). The gold choice is lm-eval's
reading of the target: a target of digits is an index into the choices (object_counting's
choices are "0".."18", so the index is the number), any other target the choice equal to it.
Three test targets are in no choice list (movie_recommendation 'Monsters, Inc', ruin_names
'dearth, wind, & fire' and 'rita, sue and bob poo'); like lm-eval they get gold -100 and can
never be counted correct. `TaskItem.target` keeps every row's target as written, and is the
items' `gold_text`.

Local data (`bbh/`, see its SOURCE.md): the test rows are `bbh/<subtask>.json` (the leaderboard
uses 24 of its 27 files, 5,761 rows); each subtask's description and choice list are
`leaderboard_bbh_mc_choices.json` (taken from the leaderboard YAMLs as data). The 3 examples
come from the data folder too: the leaderboard's inline examples are the 3 questions of
`cot-prompts/<subtask>.txt`, each with the final answer of its chain of thought ("So the answer
is X.") and without the chain itself; this module reads them from there (tests check all 72
against lm-eval's YAMLs). They are shared by all items of a subtask, so that prefix runs once.

Item ids are `bbh/<subtask>/<n>`, n the 0-based row in the subtask's file (lm-eval's doc_id).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc_norm
from platypus.eval.results import ItemResult
from platypus.io.readers import read_json, read_text
from platypus.progress import progress
from platypus.tasks.base import (
    LeaderboardScore,
    Task,
    harness_by_subject,
    hub_dataset,
    write_jsonl,
)
from platypus.tasks.schema import TaskItem

NAME = "bbh"
SHOTS = 3
HUB = "SaylorTwift/bbh"  # what the leaderboard loads (one config per subtask, split "test")
CHOICES_FILE = "leaderboard_bbh_mc_choices.json"
NO_GOLD = -100  # lm-eval's gold for a target that is none of the choices

# Choices per subtask: the leaderboard rescales each subtask's acc_norm from chance (1 in this
# many) before averaging the subtasks with equal weight. The lengths of the choice lists in
# leaderboard_bbh_mc_choices.json (tests check them); known here so the task needs no data root.
CHOICE_COUNTS = {
    "boolean_expressions": 2, "causal_judgement": 2, "date_understanding": 6,
    "disambiguation_qa": 3, "formal_fallacies": 2, "geometric_shapes": 11, "hyperbaton": 2,
    "logical_deduction_five_objects": 5, "logical_deduction_seven_objects": 7,
    "logical_deduction_three_objects": 3, "movie_recommendation": 6, "navigate": 2,
    "object_counting": 19, "penguins_in_a_table": 5, "reasoning_about_colored_objects": 18,
    "ruin_names": 6, "salient_translation_error_detection": 6, "snarks": 2,
    "sports_understanding": 2, "temporal_sequences": 4,
    "tracking_shuffled_objects_five_objects": 5, "tracking_shuffled_objects_seven_objects": 7,
    "tracking_shuffled_objects_three_objects": 3, "web_of_lies": 2,
}  # fmt: skip

# A chain-of-thought exemplar: "Q: <question>\nA: Let's think step by step.<chain>", up to the
# next exemplar; the chain ends "So the answer is <answer>."
_EXEMPLAR = re.compile(r"(?ms)^Q: (.*?)\nA: Let's think step by step\.(.*?)(?=\n\nQ: |\Z)")
_ANSWER = re.compile(r"So the answer is (.*)\.$")


@dataclass(frozen=True)
class Shots:
    """A subtask's description and its examples ((input, target) in prompt order)."""

    description: str
    examples: tuple[tuple[str, str], ...]


def _folder(root: Path) -> Path:
    return Path(root) / "bbh"


def _choices_path(root: Path) -> Path:
    return _folder(root) / CHOICES_FILE


def _test_path(root: Path, subtask: str) -> Path:
    return _folder(root) / "bbh" / f"{subtask}.json"


def _prompt_path(root: Path, subtask: str) -> Path:
    return _folder(root) / "cot-prompts" / f"{subtask}.txt"


def subtasks(root: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The leaderboard's subtasks: name -> (description, choices), in the file's order."""
    path = _choices_path(root)
    data = read_json(path)
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict) or not tasks:
        raise DataError(path, "expected {'tasks': {subtask: {description, doc_to_choice}}}")
    out = {}
    for name, spec in tasks.items():
        ok = isinstance(spec, dict) and isinstance(spec.get("description"), str)
        choices = spec.get("doc_to_choice") if ok else None
        if (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and c for c in choices)
        ):
            raise DataError(path, "needs a description and a non-empty list of choices", row=name)
        out[name] = (spec["description"], tuple(choices))
    return out


def _selected(root: Path, subjects: list[str] | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    if subjects is not None and not subjects:
        raise PlatypusError("bbh: the subject list is empty; leave it unset for all subtasks")
    known = subtasks(root)
    if subjects is None:
        return known
    missing = sorted(set(subjects) - set(known))
    if missing:
        raise PlatypusError(f"bbh: unknown subtasks {missing}; known: {', '.join(known)}")
    return {s: known[s] for s in known if s in set(subjects)}


def gold_index(target: str, choices: tuple[str, ...]) -> int:
    """lm-eval's gold for a rendered target: digits are an index, else the equal choice."""
    if target.isdigit():
        n = int(target)
        return n if n < len(choices) else NO_GOLD
    return choices.index(target) if target in choices else NO_GOLD


@dataclass(frozen=True)
class BBHItem(TaskItem):
    """A BBH row: its gold answer's text is the row's target as written, which is the gold
    choice where there is one, and still the answer for the 3 rows whose target is in no choice
    list (gold -100, where `choices[gold]` would fail; decontamination reads `gold_text`)."""

    @property
    def gold_text(self) -> str:
        return self.target


def _item(subtask: str, n: int, question: str, target: str, choices: tuple[str, ...]) -> TaskItem:
    return BBHItem(NAME, "test", f"{NAME}/{subtask}/{n}", question, choices,
                   gold_index(target, choices), subtask, target=target)  # fmt: skip


def load_bbh(root: Path, split: str = "test", subjects: list[str] | None = None) -> list[TaskItem]:
    if split != "test":
        raise PlatypusError(f"bbh: no split {split!r}; BBH has only its test rows")
    items = []
    for subtask, (_, choices) in _selected(root, subjects).items():
        path = _test_path(root, subtask)
        data = read_json(path)
        rows = data.get("examples") if isinstance(data, dict) else None
        if not isinstance(rows, list) or not rows:
            raise DataError(path, "expected {'examples': [{input, target}, ...]}")
        for n, row in enumerate(rows):
            if not (
                isinstance(row, dict)
                and isinstance(row.get("input"), str)
                and isinstance(row.get("target"), str)
                and row["input"]
                and row["target"]
            ):
                raise DataError(path, "expected non-empty string input and target", row=n)
            items.append(_item(subtask, n, row["input"], row["target"], choices))
    return items


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    """The leaderboard's copy; the subtasks and choices still come from the local data root
    (they are the leaderboard's task definition, not rows)."""
    from platypus.paths import data_root

    items = []
    for subtask, (_, choices) in _selected(data_root(None), subjects).items():
        for n, r in enumerate(hub_dataset(HUB, subtask, split="test")):
            items.append(_item(subtask, n, r["input"], r["target"], choices))
    return items


def read_shots(root: Path, subtask: str, description: str) -> Shots:
    """The leaderboard's examples for `subtask`: the CoT prompt file's questions with their
    final answers."""
    path = _prompt_path(root, subtask)
    text = read_text(path)
    _, sep, body = text.partition("-----\n")
    if not sep:
        raise DataError(path, "no '-----' line before the exemplars")
    examples = []
    for question, chain in _EXEMPLAR.findall(body):
        answer = _ANSWER.search(chain.strip())
        if answer is None:
            raise DataError(path, "an exemplar does not end 'So the answer is X.'",
                            row=len(examples) + 1)  # fmt: skip
        examples.append((question, answer.group(1)))
    if len(examples) != SHOTS:
        raise DataError(path, f"expected {SHOTS} exemplars, found {len(examples)}")
    return Shots(description, tuple(examples))


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], dict[str, Shots]]:
    """The items as they are; the pool is each subtask's description and 3 examples."""
    known = subtasks(root)
    pool = {s: read_shots(root, s, known[s][0]) for s in sorted({i.subject for i in items})}
    return items, pool


def with_shots(pool: dict[str, Shots], n: int) -> dict[str, Shots]:
    """Each subtask's first `n` examples (the leaderboard's `first_n` sampler)."""
    if n > SHOTS:
        raise PlatypusError(f"bbh: num_fewshot {n} is more than the {SHOTS} examples of a subtask")
    return {s: Shots(p.description, p.examples[:n]) for s, p in pool.items()}


def context(item: TaskItem, shots: Shots) -> str:
    examples = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in shots.examples)
    return f"{shots.description}{examples}Q: {item.question}\nA:"


def continuations(item: TaskItem) -> list[str]:
    return [f" {c}" for c in item.choices]


def metrics(lls: list[float], item: TaskItem) -> dict[str, float]:
    return {"acc_norm": acc_norm(lls, item.choices, item.gold)}


def score(scorer, items: list[TaskItem], pool: dict[str, Shots], protocol=None) -> list[ItemResult]:
    """Per subtask: the description and examples run once as a shared prefix."""
    by_subject: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_subject[item.subject].append(n)
    out: list[ItemResult | None] = [None] * len(items)
    with progress(total=len(items), desc=NAME, unit=" items", disable=None) as bar:
        for subject in sorted(by_subject):
            group = [items[n] for n in by_subject[subject]]
            contexts = [context(item, pool[subject]) for item in group]
            prefix = scorer.prefix(contexts)
            requests = [(c, continuations(i)) for c, i in zip(contexts, group, strict=True)]
            scored = scorer.score_many(requests, prefix)
            for n, item, scores in zip(by_subject[subject], group, scored, strict=True):
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(item.id, lls, metrics(lls, item))
            bar.update(len(group))
    return out  # type: ignore[return-value]


def _yaml(subtask: str, test: Path, shots: Shots, choices: tuple[str, ...]) -> str:
    # JSON strings are valid YAML scalars, so every text goes in as json.dumps (no quoting rules).
    samples = "".join(
        f"    - input: {json.dumps(q)}\n      target: {json.dumps(a)}\n" for q, a in shots.examples
    )
    fewshot = f"fewshot_config:\n  sampler: first_n\n  samples:\n{samples}" if samples else ""
    return (
        f"task: pl_bbh_{subtask}\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files: {{test: {json.dumps(str(test))}}}\n"
        "output_type: multiple_choice\n"
        "test_split: test\n"
        f"description: {json.dumps(shots.description)}\n"
        'doc_to_text: "Q: {{input}}\\nA:"\n'
        'doc_to_target: "{{target}}"\n'
        f"doc_to_choice: {json.dumps(list(choices))}\n"
        f"{fewshot}"
        f"num_fewshot: {len(shots.examples)}\n"
        "metric_list:\n  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n"
    )


def export(root: Path, items: list[TaskItem], pool: dict[str, Shots]) -> list[str]:
    """One harness task per subtask: the leaderboard's definition on our rows and examples."""
    names = []
    for subtask in sorted({i.subject for i in items}):
        group = [i for i in items if i.subject == subtask]
        rows = ({"input": i.question, "target": i.target} for i in group)
        test = write_jsonl(root / f"bbh_{subtask}_test.jsonl", rows)
        (root / f"bbh_{subtask}.yaml").write_text(
            _yaml(subtask, test, pool[subtask], group[0].choices)
        )
        names.append(f"pl_bbh_{subtask}")
    return names


# one harness task per subtask (see `export`)
from_harness = harness_by_subject("pl_bbh")


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    chosen = _selected(root, subjects)
    return (
        [_choices_path(root)]
        + [_test_path(root, s) for s in chosen]
        + [_prompt_path(root, s) for s in chosen]
    )


class BBHTask(Task):
    name = NAME
    headline = "acc_norm"
    split = "test"
    load = staticmethod(load_bbh)
    options_carry_meaning = False  # labels: True/False, Yes/No, (A)..(R), dates
    # a subtask's 3 examples shared once, the question and its choices
    plan_cost = (5_761, 110)
    options = ("subjects",)
    per_subject = True
    own_shots = SHOTS
    leaderboard_v2 = LeaderboardScore(
        ("acc_norm",), chance={s: 1 / n for s, n in CHOICE_COUNTS.items()}
    )


TASK = BBHTask()
