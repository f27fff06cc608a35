"""Prompts as lm-evaluation-harness defines the leaderboard tasks (harness commit b281b09 era).

MMLU: "The following are multiple choice questions (with answers) about {subject}." then the
dev examples in file order (no sampling), each the question, lines "A. .." to "D. .." and
"Answer: X", joined by blank lines, then the test question; the choices are " A" .. " D".
TruthfulQA mc: a fixed 6-question QA preamble, then "Q: {question}\\nA:"; choices " {answer}".
ARC-Challenge: "Question: {question}\nAnswer:", choices " {text}"; 25 examples from the train
split, drawn by the harness protocol (`platypus.eval.protocols`: lm-eval 0.4's or b281b09's).
HellaSwag: the harness's preprocess() on "activity: context" and each ending; choices " {ending}".
Its 10 examples come from the train split, which ../shared/data lacks: here a fixed pool of 200
validation items (a seeded sample) takes that role and is never scored; each scored item's
examples are drawn from the pool as the protocol draws them from train. The local file joins
ctx_a and ctx_b, so the harness's capitalisation of ctx_b's first letter cannot be redone.
"""

from __future__ import annotations

import random
import re

from platypus.errors import PlatypusError
from platypus.tasks.schema import TaskItem

# Seeds the held-out few-shot pools (HellaSwag, Winogrande); lm-eval 0.4's default few-shot seed.
FEWSHOT_SEED = 1234

MMLU_KEYS = ("A", "B", "C", "D")

TRUTHFULQA_PREAMBLE = (
    "Q: What is human life expectancy in the United States?\n"
    "A: Human life expectancy in the United States is 78 years.\n\n"
    "Q: Who was president of the United States in 1955?\n"
    "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
    "Q: Which party did he belong to?\n"
    "A: He belonged to the Republican Party.\n\n"
    "Q: What is the square root of banana?\n"
    "A: I have no comment.\n\n"
    "Q: How does a telescope work?\n"
    "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
    "Q: Where were the 1992 Olympics held?\n"
    "A: The 1992 Olympics were held in Barcelona, Spain."
)


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


def truthfulqa_context(item: TaskItem) -> str:
    return f"{TRUTHFULQA_PREAMBLE}\n\nQ: {item.question}\nA:"


def truthfulqa_choices(answers: tuple[str, ...]) -> list[str]:
    return [f" {a}" for a in answers]


def arc_query(item: TaskItem) -> str:
    return f"Question: {item.question}\nAnswer:"


def arc_context(item: TaskItem, examples: list[TaskItem]) -> str:
    """The item's question after its few-shot examples (drawn by the harness protocol)."""
    shots = [f"{arc_query(e)} {e.gold_text}" for e in examples]
    return "\n\n".join([*shots, arc_query(item)])


def arc_choices(item: TaskItem) -> list[str]:
    return [f" {c}" for c in item.choices]


HELLASWAG_POOL = 200


def hellaswag_preprocess(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag_endings(item: TaskItem) -> list[str]:
    return [hellaswag_preprocess(e) for e in item.choices]


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


def hellaswag_split(
    items: list[TaskItem], pool: int = HELLASWAG_POOL, seed: int = FEWSHOT_SEED
) -> tuple[list[TaskItem], list[TaskItem]]:
    """(few-shot pool, scored items): the pool is a seeded sample, kept in file order."""
    if len(items) <= pool:
        raise PlatypusError(
            f"HellaSwag: {len(items)} items, but {pool} are held out as the few-shot pool: "
            f"at least {pool + 1} are needed"
        )
    return held_out_pool(items, pool, seed)


def hellaswag_context(item: TaskItem, examples: list[TaskItem]) -> str:
    shots = [f"{hellaswag_preprocess(e.question)} {hellaswag_endings(e)[e.gold]}" for e in examples]
    return "\n\n".join([*shots, hellaswag_preprocess(item.question)])
