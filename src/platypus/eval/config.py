"""The evaluation stage's configuration: which model, tasks and harness rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from platypus.settings import STRICT, ComputeSettings, InputPath, Setting, default_data_root
from platypus.tasks.names import TaskName, expand_task_groups


class EvalConfig(BaseModel):
    """Leaderboard evaluation by log-likelihood (lm-evaluation-harness prompts and metrics)."""

    model_config = STRICT
    model: str | None = InputPath(None)  # None: the packaged SmolLM2; a folder or hub id
    adapter: str | None = InputPath(None)  # a PEFT adapter folder applied on top of `model`
    # None: the harness's own six (leaderboard-v2: the v2 six; else the v1 six); group names
    # (leaderboard-v1, leaderboard-v2) stand for their tasks
    tasks: list[TaskName] = Field(None, validate_default=False)  # type: ignore[assignment]
    data_root: str = InputPath(default_factory=default_data_root)
    limit: int | None = Field(None, ge=1)  # N items of each task, chosen by `sample`
    sample: Literal["first", "stratified"] = "first"  # stratified: every MMLU subject, spread out
    # Questions per forward pass where choices are one token (GSM8K: prompts per generate);
    # "auto": the largest that fits the device's free memory (platypus.eval.batching). Padding
    # after a row's tokens cannot change its scores, so the batch size is a setting, not keyed.
    batch_size: Annotated[int, Field(ge=1)] | Literal["auto"] = Setting(8)
    # Few-shot examples per item for every task, as lm-eval's --num-fewshot; None: each task's
    # own (ARC 25, HellaSwag 10, MMLU 5, TruthfulQA 0, Winogrande 5, GSM8K 5). Changes scores.
    num_fewshot: int | None = Field(None, ge=0)
    mmlu_subjects: list[str] | None = None
    # whose rules the scores follow: lm-eval 0.4.13, or the Open LLM Leaderboard v1 (harness
    # b281b09: its few-shot draws, MMLU as the mean of subjects, the six-task average) or v2
    # (lm-eval 0.4.13's leaderboard group: its six tasks by default, the normalised average)
    harness: Literal["lm-eval-0.4", "leaderboard-v1", "leaderboard-v2"] = "lm-eval-0.4"
    # platypus: our scorer (shared prefixes, batched single-token choices); lm-eval: the same
    # items through lm-evaluation-harness's model backends (hf; vllm/sglang on GPUs)
    engine: Literal["platypus", "lm-eval"] = "platypus"
    lm_eval_backend: Literal["hf", "vllm", "sglang"] = "hf"
    bf16: bool = False  # autocast; fp32 is what the parity tests check
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    output_dir: str = Setting("runs/eval")
    # a leaks.jsonl: scores split into clean/contaminated items
    contamination: str | None = InputPath(None)
    cache: bool = Setting(True)

    _task_groups = field_validator("tasks", mode="before")(expand_task_groups)

    @field_validator("tasks")
    @classmethod
    def _some_tasks(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one task")
        return value

    @model_validator(mode="after")
    def _harness_tasks(self) -> EvalConfig:
        if self.tasks is None:
            from platypus.eval.protocols import get_protocol

            self.tasks = list(get_protocol(self.harness).tasks)
        return self

    @field_validator("mmlu_subjects")
    @classmethod
    def _some_subjects(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty list scores no MMLU subject; leave it out for all 57")
        return value
