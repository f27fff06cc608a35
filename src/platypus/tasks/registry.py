"""Every benchmark task by name. A new task: a module defining its `Task`, and one line here."""

from __future__ import annotations

from pathlib import Path

from platypus.errors import PlatypusError
from platypus.paths import data_root
from platypus.tasks import arc_challenge, gsm8k, hellaswag, mmlu, truthfulqa_mc, winogrande
from platypus.tasks.base import Task
from platypus.tasks.schema import TaskItem

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        arc_challenge.TASK,
        hellaswag.TASK,
        mmlu.TASK,
        truthfulqa_mc.TASK,
        winogrande.TASK,
        gsm8k.TASK,
    )
}


def get_task(name: str) -> Task:
    """The task called `name`; an unknown name is a one-line error listing the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise PlatypusError(f"unknown benchmark {name!r}; known: {', '.join(TASKS)}") from None


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
