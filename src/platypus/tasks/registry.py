"""Every benchmark task by name. A new task: a module defining its `Task`, and one line here."""

from __future__ import annotations

from pathlib import Path

from platypus.errors import PlatypusError
from platypus.eval.protocols import AVERAGE_TASKS, V2_TASKS
from platypus.paths import data_root
from platypus.tasks import (
    arc_challenge,
    bbh,
    gpqa,
    gsm8k,
    hellaswag,
    ifeval,
    math_hard,
    mmlu,
    mmlu_pro,
    musr,
    truthfulqa_mc,
    winogrande,
)
from platypus.tasks.base import Task
from platypus.tasks.schema import TaskItem

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        # the Open LLM Leaderboard v1's six
        arc_challenge.TASK,
        hellaswag.TASK,
        mmlu.TASK,
        truthfulqa_mc.TASK,
        winogrande.TASK,
        gsm8k.TASK,
        # the Open LLM Leaderboard v2's six, in its order
        ifeval.TASK,
        bbh.TASK,
        math_hard.TASK,
        gpqa.TASK,
        musr.TASK,
        mmlu_pro.TASK,
    )
}

# Named sets of tasks a task list may use in place of their names (`tasks: [leaderboard-v2]`).
GROUPS: dict[str, tuple[str, ...]] = {"leaderboard-v1": AVERAGE_TASKS, "leaderboard-v2": V2_TASKS}


def expand_groups(names: list[str]) -> list[str]:
    """`names` with each group name replaced by its tasks, each task once, in order."""
    out: list[str] = []
    for name in names:
        for task in GROUPS.get(name, (name,)):
            if task not in out:
                out.append(task)
    return out


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name is a one-line error listing the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join([*TASKS, *GROUPS])
        raise PlatypusError(f"unknown benchmark {name!r}; known: {known}") from None


def load_task(
    name: str, root: str | Path | None = None, source: str = "local", **options
) -> list[TaskItem]:
    """A benchmark's scored split as TaskItems, from the data root or (`source="hub"`) the hub.
    `options`: the task's own (`subjects` for MMLU)."""
    task = get_task(name)
    unknown = set(options) - set(task.options)
    if unknown:
        raise PlatypusError(f"{name}: unknown options {sorted(unknown)}")
    if source == "hub":
        return task.load_hub(**options)
    return task.load(data_root(root), **options)
