"""Leaderboard benchmark test sets in one schema, for contamination checks and evaluation."""

from platypus.tasks.loaders import TASKS, load_task
from platypus.tasks.schema import TaskItem

__all__ = ["TASKS", "TaskItem", "load_task"]
