"""One schema for every benchmark item."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TaskItem:
    benchmark: str  # the task's name in platypus.tasks.TASKS
    split: str
    id: str
    question: str
    choices: tuple[str, ...]
    gold: int  # index of the correct choice (TruthfulQA: the mc1 target)
    subject: str = ""  # MMLU subject, HellaSwag activity label
    # TruthfulQA mc2: several true answers among more options.
    mc2_choices: tuple[str, ...] = field(default=())
    mc2_labels: tuple[int, ...] = field(default=())
    # Generative tasks (GSM8K): the reference solution as the harness's few-shot target; the
    # final answer alone is the one choice.
    target: str = ""
    # IFEval: the instructions a response is checked against, in the prompt's order, each as
    # (instruction id, its arguments as canonical JSON: sorted keys, no spaces); hashable.
    instructions: tuple[tuple[str, str], ...] = field(default=())

    @property
    def gold_text(self) -> str:
        return self.choices[self.gold]
