"""Benchmark task names in configurations: checked against the task registry, groups expanded.
The registry is imported when a name is checked, not when a config module is (it loads every
task module)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator


def known_task(name: str) -> str:
    from platypus.tasks.registry import GROUPS, TASKS

    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {', '.join([*TASKS, *GROUPS])}")
    return name


def v1_tasks() -> list[str]:
    """The Open LLM Leaderboard v1's six: what an eval or a contamination check covers unless
    told otherwise (`leaderboard-v2` names the v2 six)."""
    from platypus.tasks.registry import GROUPS

    return list(GROUPS["leaderboard-v1"])


def expand_task_groups(value: Any) -> Any:
    """A task list may name groups (`leaderboard-v1`, `leaderboard-v2`) for their tasks."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value  # the field's own validation says what is wrong
    from platypus.tasks.registry import expand_groups

    return expand_groups(value)


# A benchmark task's name, checked against the task registry (platypus.tasks.registry.TASKS).
TaskName = Annotated[str, AfterValidator(known_task)]

Category = Literal["duplicate", "gray-area", "similar-but-different"]
