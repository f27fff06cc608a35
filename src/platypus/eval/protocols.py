"""Which harness's rules a score follows: lm-evaluation-harness 0.4, or the Open LLM Leaderboard v1.

Prompts, continuations and per-item metrics are the same under both (each task module defines
its own); what differs, and changes a score, is listed here once per protocol (the differences
are those the harness at commit b281b09, which the leaderboard v1 and the Platypus paper used,
has against lm-eval 0.4.13):

- few-shot drawing: 0.4 seeds `Random(1234)` once per task and draws item after item in the
  order the items are scored; b281b09 seeds `Random(42)`, shuffles the whole evaluation split
  with it, then draws for each item in that shuffled order from the same generator. A task whose
  few-shot docs come from the scored split's own harness config ("same split") draws one extra
  example and drops the item itself (0.4: HellaSwag, Winogrande; b281b09 reads train splits);
- the headline metric per task (MMLU: 0.4 weights subjects by size, v1 takes their plain mean);
- GSM8K generation: b281b09 generates until ":" (its first stop string becomes the only end
  token) and takes the answer after "####"; 0.4 stops at "Question:" or the end-of-turn string
  and also reports a flexible last-number match;
- the average: v1's final leaderboard average is over six tasks with fixed metrics.

The Open LLM Leaderboard v2 (`leaderboard-v2`) scores its six tasks (MMLU-Pro, BBH, GPQA, MuSR,
MATH Lvl 5, IFEval) by lm-eval 0.4.13's `leaderboard` group, so its rules are 0.4's; what it
adds is its average: each task's score normalised by its random-guess baseline
(`tasks.base.LeaderboardScore`), then the plain mean of the six.

A protocol is an object in `PROTOCOLS`; the eval config's `harness` names one. Both averages
(`AVERAGES`) are computed under every protocol, over whichever of their tasks were scored.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from platypus.errors import PlatypusError
from platypus.tasks.schema import TaskItem

# The tasks of the Open LLM Leaderboard v1 average (December 2023 on), each with its headline
# metric: ARC acc_norm, HellaSwag acc_norm, MMLU acc (mean of subjects), TruthfulQA mc2,
# Winogrande acc, GSM8K exact match.
AVERAGE_TASKS = ("arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc", "winogrande", "gsm8k")
# The Open LLM Leaderboard v2's six (June 2024 on), in the order it lists them.
V2_TASKS = ("ifeval", "bbh", "math_hard", "gpqa", "musr", "mmlu_pro")


@dataclass(frozen=True)
class Generation:
    """How a generative task (GSM8K) is decoded: greedy, at most `max_new_tokens`, cut at the
    first of `until`. `until_is_eos`: the first stop string's single token replaces the model's
    end token (b281b09), instead of being searched for in the decoded text alongside it (0.4).
    `skip_special`: special tokens are left out when the continuation is decoded."""

    until: tuple[str, ...]
    until_is_eos: bool
    skip_special: bool
    max_new_tokens: int = 256


@dataclass(frozen=True)
class Protocol:
    name: str
    fewshot_seed: int
    shuffle_first: bool  # the evaluation split is shuffled with the few-shot generator first
    same_split: frozenset[str]  # tasks that draw shots + 1 and drop the item itself
    gsm8k: Generation
    # task -> its headline metric where it differs from the task's own (`Task.headline`)
    headlines: dict[str, str] = field(default_factory=dict)
    description: str = ""
    tasks: tuple[str, ...] = AVERAGE_TASKS  # what an eval scores when it names no tasks
    average_name: str = "leaderboard-v1"  # the average results.json's `average` holds

    def headline(self, task: str) -> str:
        from platypus.tasks import get_task

        return self.headlines.get(task, get_task(task).headline)

    def draw(
        self,
        task: str,
        all_items: Sequence[TaskItem],
        scored: Sequence[TaskItem],
        pool: Sequence[TaskItem],
        shots: int,
    ) -> dict[str, list[TaskItem]]:
        """Each scored item's few-shot examples (by item id), drawn from `pool` as the harness
        draws them. `all_items`: the whole evaluation split in file order (b281b09 shuffles and
        draws over all of it, so a subset gets the examples the full run gives it); `scored`:
        the items that are scored, in order (0.4 draws over these alone, as its `--limit` does).
        """
        if len(pool) < shots + (task in self.same_split):
            raise PlatypusError(
                f"{task}: {len(pool)} few-shot examples, {shots}-shot needs at least {shots + 1}"
            )
        rnd = random.Random(self.fewshot_seed)
        order = list(all_items if self.shuffle_first else scored)
        if self.shuffle_first:
            rnd.shuffle(order)
        wanted = {item.id for item in scored}
        out: dict[str, list[TaskItem]] = {}
        for item in order:
            if task in self.same_split:
                drawn = [e for e in rnd.sample(pool, shots + 1) if e is not item][:shots]
            else:
                drawn = rnd.sample(pool, shots)
            if item.id in wanted:
                out[item.id] = drawn
        return out


LM_EVAL_04 = Protocol(
    name="lm-eval-0.4",
    fewshot_seed=1234,
    shuffle_first=False,
    same_split=frozenset({"hellaswag", "winogrande"}),
    gsm8k=Generation(
        until=("Question:", "</s>", "<|im_end|>"), until_is_eos=False, skip_special=True
    ),
    description="lm-evaluation-harness 0.4.13: its task configs, few-shot seed 1234",
)

LEADERBOARD_V1 = Protocol(
    name="leaderboard-v1",
    fewshot_seed=42,
    shuffle_first=True,
    same_split=frozenset(),
    gsm8k=Generation(until=(":", "Question:", "Question"), until_is_eos=True, skip_special=False),
    headlines={"mmlu": "acc_macro"},
    description=(
        "Open LLM Leaderboard v1 (lm-evaluation-harness b281b09): few-shot seed 42 after "
        "shuffling, MMLU as the mean of its subjects, the six-task average"
    ),
)

LEADERBOARD_V2 = Protocol(
    name="leaderboard-v2",
    fewshot_seed=LM_EVAL_04.fewshot_seed,
    shuffle_first=False,
    same_split=LM_EVAL_04.same_split,
    gsm8k=LM_EVAL_04.gsm8k,
    description=(
        "Open LLM Leaderboard v2 (lm-evaluation-harness 0.4.13's leaderboard group): its six "
        "tasks, each score normalised by its random-guess baseline, the six-task average"
    ),
    tasks=V2_TASKS,
    average_name="leaderboard-v2",
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (LM_EVAL_04, LEADERBOARD_V1, LEADERBOARD_V2)}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise PlatypusError(f"unknown harness {name!r}; known: {', '.join(PROTOCOLS)}") from None


@dataclass(frozen=True)
class Average:
    """A leaderboard's average: over `tasks`, of each task's headline metric under the protocol
    (v1), or of each task's normalised score (`Task.leaderboard_v2`; v2)."""

    name: str
    tasks: tuple[str, ...]
    normalised: bool

    def task_score(self, protocol: Protocol, task: str, summary: dict) -> float | None:
        if not self.normalised:
            return summary.get(protocol.headline(task))
        from platypus.tasks import get_task

        rule = get_task(task).leaderboard_v2
        return rule.score(summary) if rule is not None else None


V1_AVERAGE = Average("leaderboard-v1", AVERAGE_TASKS, normalised=False)
V2_AVERAGE = Average("leaderboard-v2", V2_TASKS, normalised=True)
AVERAGES: dict[str, Average] = {a.name: a for a in (V1_AVERAGE, V2_AVERAGE)}


def average(protocol: Protocol, summaries: dict[str, dict], of: Average | None = None) -> dict:
    """The average `of` (default: the protocol's own) over the tasks in `summaries` (task -> its
    summary): the value over the tasks present, which of the average's tasks they are and
    whether all are there."""
    of = of or AVERAGES[protocol.average_name]
    values = {}
    for t in of.tasks:
        if t in summaries and (v := of.task_score(protocol, t, summaries[t])) is not None:
            values[t] = v
    return {
        "value": sum(values.values()) / len(values) if values else None,
        "tasks": values,
        "complete": len(values) == len(of.tasks),
        "of": list(of.tasks),
    }
