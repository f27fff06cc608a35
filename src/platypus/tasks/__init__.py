"""Leaderboard benchmark test sets in one schema, for contamination checks and evaluation.

`TASKS` (name -> `Task`) is the registry; `load_task(name, root)` reads a task's scored split.
Both are imported on first use, so `platypus.tasks.schema` stays importable from the modules the
tasks themselves build on (prompts, metrics).
"""

from typing import TYPE_CHECKING

from platypus.tasks.schema import TaskItem

if TYPE_CHECKING:
    from platypus.tasks.base import Task
    from platypus.tasks.registry import TASKS, get_task, load_task

__all__ = ["TASKS", "Task", "TaskItem", "get_task", "load_task"]


def __getattr__(name: str):
    if name in ("TASKS", "get_task", "load_task"):
        from platypus.tasks import registry

        return getattr(registry, name)
    if name == "Task":
        from platypus.tasks.base import Task

        return Task
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
