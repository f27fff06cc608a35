"""What a benchmark task is: the one object the data, eval and export code look tasks up by.

Each task lives in its own module (`platypus.tasks.<name>`), a subclass of `Task` whose instance
(`TASK`) is listed once in `platypus.tasks.registry.TASKS`; adding a task is a new module and
one line there.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from platypus.errors import PlatypusError
from platypus.tasks.schema import TaskItem

if TYPE_CHECKING:
    from platypus.eval.loglik import LoglikScorer
    from platypus.eval.protocols import Protocol
    from platypus.eval.results import ItemResult

# The few-shot examples a task draws from: its own shape per task (a list of training items, a
# held-out pool, examples by subject), passed unchanged from `fewshot` to `score` and `export`.
Pool = Any


@dataclass(frozen=True)
class Drawn:
    """The pool of a task whose few-shot examples are drawn at random (`Task.shots`), with the
    examples each scored item got (item id -> examples in prompt order). The drawing rules are
    the harness protocol's (`platypus.eval.protocols`)."""

    pool: list[TaskItem]
    examples: dict[str, list[TaskItem]]


def harness_lls(sample: dict) -> list[float]:
    """The per-choice log-likelihoods of one lm-evaluation-harness sample."""
    return [float(r[0][0]) for r in sample["resps"]]


def harness_rows(samples: dict[str, list[dict]], items: list[TaskItem], filter_name=None):
    """The samples of the one harness task holding `items`, one per item in order (of the
    filter `filter_name` where the task has several)."""
    (rows,) = samples.values()
    if filter_name is not None:
        rows = [r for r in rows if r.get("filter", filter_name) == filter_name]
    if len(rows) != len(items):
        raise PlatypusError(f"lm-eval returned {len(rows)} samples for {len(items)} items")
    return rows


def harness_in_order(items: list[TaskItem], samples: dict[str, list[dict]]) -> list[ItemResult]:
    """One harness task holding the items in order, scored with acc (and acc_norm)."""
    from platypus.eval.results import ItemResult

    rows = harness_rows(samples, items)
    out = []
    for item, row in zip(items, rows, strict=True):
        metrics = {m: float(row[m]) for m in ("acc", "acc_norm") if m in row}
        out.append(ItemResult(item.id, harness_lls(row), metrics))
    return out


def harness_by_subject(prefix: str):
    """`from_harness` of a task exported as one harness task per subject, `<prefix>_<subject>`,
    each holding its subject's items in order (MMLU, BBH, MuSR)."""

    def from_harness(items: list[TaskItem], samples: dict[str, list[dict]]) -> list[ItemResult]:
        by_subject = {name: iter(rows) for name, rows in samples.items()}
        rows = [next(by_subject[f"{prefix}_{item.subject}"]) for item in items]
        return harness_in_order(items, {prefix: rows})

    return from_harness


def generated(
    scorer: LoglikScorer,
    items: list[TaskItem],
    context: Callable[[TaskItem], str],
    rules,
    metrics: Callable[[TaskItem, str], dict[str, float]],
    desc: str,
) -> list[ItemResult]:
    """How a generative task scores: each item's greedy completion of `context(item)` under
    `rules` (a `Generation`), up to the scorer's batch size of rows decoded at once, kept with
    its `metrics(item, completion)`."""
    from platypus.eval.generate import Generator
    from platypus.eval.results import ItemResult
    from platypus.progress import progress

    generator = Generator.like(scorer)
    with progress(total=len(items), desc=desc, unit=" items", disable=None) as bar:
        # All contexts at once: a finished row's place goes to the next context at once.
        completions = generator.generate([context(item) for item in items], rules, bar.update)
    return [
        ItemResult(item.id, [], metrics(item, completion), text=completion)
        for item, completion in zip(items, completions, strict=True)
    ]


@dataclass(frozen=True)
class LeaderboardScore:
    """How the Open LLM Leaderboard v2 turns a task's raw summary into its 0-100 score: the mean
    of `metrics` (IFEval: prompt- and instruction-level strict accuracy; the others one metric),
    less the random-guess baseline, rescaled so that chance is 0 and a perfect score 100 (below
    chance: 0). `chance`: one baseline for the task (GPQA 1/4, MMLU-Pro 1/10; 0 for generated
    answers), or a baseline per subject (BBH, MuSR: each subtask normalised with its own
    number of choices, then the subtasks averaged with equal weight)."""

    metrics: tuple[str, ...]
    chance: float | dict[str, float] = 0.0

    def score(self, summary: dict) -> float | None:
        """The normalised score (a fraction, 0..1) of a task summary (`eval.run.aggregate`'s);
        None when the summary lacks what it needs (no items)."""
        if isinstance(self.chance, dict):
            (metric,) = self.metrics
            per = summary.get("subjects") or {}
            if not per or any(per.get(s) is None for s in per):
                return None
            unknown = sorted(set(per) - set(self.chance))
            if unknown:
                raise PlatypusError(f"no random-guess baseline for subject {unknown[0]!r}")
            return sum(_rescaled(per[s], self.chance[s]) for s in per) / len(per)
        values = [summary.get(m) for m in self.metrics]
        if any(v is None for v in values):
            return None
        return _rescaled(sum(values) / len(values), self.chance)


def _rescaled(value: float, chance: float) -> float:
    return max(0.0, (value - chance) / (1.0 - chance))


# The methods a task module may give as module-level functions of the same name, defined before
# its `Task` subclass, instead of writing them in the class: its functions are the task.
MODULE_METHODS = ("load", "load_hub", "fewshot", "score", "export", "data_files", "with_shots",
                  "from_harness", "notes", "summarize")  # fmt: skip


class Task:
    """A benchmark task, registered as an instance (`platypus.tasks.registry.TASKS`): a module
    subclasses it, declaring what the task is at class level; its behaviour is the class's
    methods, or the module's functions of those names (`MODULE_METHODS`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        module = sys.modules.get(cls.__module__)
        for name in MODULE_METHODS:
            function = getattr(module, name, None)
            if name not in cls.__dict__ and callable(function):
                setattr(cls, name, staticmethod(function))

    name: ClassVar[str]
    headline: ClassVar[str]  # the metric the leaderboard reports for the task
    split: ClassVar[str]  # the split that is scored
    # What `platypus plan` prices an eval of the whole task at: (items scored, tokens per item
    # through the model, shared few-shot prefixes counted once; tokens from SmolLM2's tokenizer)
    plan_cost: ClassVar[tuple[int, int]]
    options: ClassVar[tuple[str, ...]] = ()  # keyword options of `load` and `data_files`
    # Few-shot examples drawn at random from the pool, this many per item (the pool reaches
    # `score` and `export` as a `Drawn`); 0: the task picks its examples itself (or has none).
    shots: ClassVar[int] = 0
    # A task that picks its examples itself (MMLU: a subject's first dev items): how many by
    # default, and `with_shots(pool, n)` -> the pool giving n examples per item, a one-line
    # error where it holds fewer. A task with neither this nor `shots` is 0-shot only.
    own_shots: ClassVar[int] = 0
    with_shots: ClassVar[Callable[[Pool, int], Pool] | None] = None
    # (folder, items, pool) -> lm-evaluation-harness 0.4 task names, their YAMLs written to
    # `folder`; None where the task has no export
    export: ClassVar[Callable[[Path, list[TaskItem], Pool], list[str]] | None] = None
    # (items, {harness task: its samples by doc_id}) -> our per-item results, for --engine lm-eval
    from_harness = staticmethod(harness_in_order)
    # The summary adds the headline metric per subject, their mean and the mean over items.
    per_subject: ClassVar[bool] = False
    # (root) -> lines for the results about how the scores were made (a substitute pool, ...)
    notes: ClassVar[Callable[[Path], list[str]] | None] = None
    # (items, results) -> summary metrics beyond the per-item means `aggregate` takes (IFEval's
    # instruction-level accuracies are means over instructions, not over prompts)
    summarize: ClassVar[Callable[[list[TaskItem], list[ItemResult]], dict] | None] = None
    # The rows may never be written out in plain text (GPQA, as its authors ask): exports,
    # evidence, logs and reports name its items by id and show scores only.
    text_private: ClassVar[bool] = False
    # The options continue the question (HellaSwag's endings): a training row's own continuation
    # is its answer, so the contamination check reads an ending other than the gold's as
    # another answer.
    continuation: ClassVar[bool] = False
    # What an option says can be compared with what a training row answers (ARC's, MMLU's
    # options). False where the options are names a blank refers to (WinoGrande's people) or
    # labels (BBH's "True"/"Yes"): their meaning says nothing of which one a row picks.
    options_carry_meaning: ClassVar[bool] = True
    # How the Open LLM Leaderboard v2 normalises this task's score (the v2 tasks only)
    leaderboard_v2: ClassVar[LeaderboardScore | None] = None

    def load(self, root: Path, split: str = "test", **options: Any) -> list[TaskItem]:
        """The items of a split, from the local data root."""
        raise NotImplementedError

    def load_hub(self, **options: Any) -> list[TaskItem]:
        """The scored split from the Hugging Face hub."""
        raise PlatypusError(f"{self.name}: no hub copy; use the local data root")

    def fewshot(self, items: list[TaskItem], root: Path) -> tuple[list[TaskItem], Pool]:
        """(items to score, few-shot pool); loads the pool before any model is loaded. By
        default the items as they are and no pool (0-shot)."""
        return items, None

    def score(self, scorer: LoglikScorer, items: list[TaskItem], pool: Pool,
              protocol: Protocol) -> list[ItemResult]:  # fmt: skip
        """One result per item, in order."""
        raise NotImplementedError

    def data_files(self, root: Path, **options: Any) -> list[Path]:
        """The files the items and the few-shot pool are read from."""
        raise NotImplementedError

    @property
    def default_shots(self) -> int:
        """Few-shot examples per item unless `num_fewshot` says otherwise."""
        return self.shots or self.own_shots

    def __repr__(self) -> str:
        return f"<task {self.name}>"


def hub_dataset(*args, **kwargs):
    """`datasets.load_dataset(*args, **kwargs)`; any failure is one line."""
    try:
        import datasets

        return datasets.load_dataset(*args, **kwargs)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlatypusError(
            f"could not load {args[0]!r} from the hub ({first}); use the local data root instead"
        ) from None


def write_jsonl(path: Path, rows: Iterable[dict]) -> Path:
    """Rows for an exported harness task, one JSON object a line."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# Seeds the held-out few-shot pools (HellaSwag, Winogrande); lm-eval 0.4's default few-shot seed.
FEWSHOT_SEED = 1234


def held_out_pool(
    items: list[TaskItem], pool: int, seed: int = FEWSHOT_SEED
) -> tuple[list[TaskItem], list[TaskItem]]:
    """(few-shot pool, scored items): a seeded sample of `pool` items, both kept in file order.
    For tasks whose few-shot split is missing from the data root."""
    chosen = set(random.Random(seed).sample(range(len(items)), pool))
    return (
        [it for i, it in enumerate(items) if i in chosen],
        [it for i, it in enumerate(items) if i not in chosen],
    )
