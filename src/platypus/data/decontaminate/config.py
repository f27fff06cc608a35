"""The contamination check's configuration: which benchmarks, and the rules that classify a
training row against a benchmark item."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from platypus.settings import (
    ColumnMapping,
    EmbeddingSettings,
    InputPath,
    Setting,
    default_data_root,
)
from platypus.tasks.names import Category, TaskName, expand_task_groups, v1_tasks


class DecontaminateConfig(EmbeddingSettings, ColumnMapping):
    """Contamination check. `input` defaults to the dedup stage's kept rows."""

    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/data/decontaminate")
    data_root: str = InputPath(default_factory=default_data_root)
    benchmarks: list[TaskName] = Field(default_factory=v1_tasks)
    benchmark_source: Literal["local", "hub"] = "local"
    mmlu_subjects: list[str] | None = None  # None: all 57
    flag_similarity: float = Field(0.8, gt=0.0, le=1.0)  # Platypus' threshold
    duplicate_similarity: float = Field(0.95, gt=0.0, le=1.0)
    # Same question reworded: cosine >= same_question_similarity is a duplicate even without
    # the answer (1.0: off). Both duplicate rules by cosine or n-grams need the question's
    # numbers in the training row when numbers_must_agree (changed numbers: another problem).
    same_question_similarity: float = Field(0.86, gt=0.0, le=1.0)
    numbers_must_agree: bool = True
    # A question stated by its numbers, all of them in the training row: the same problem from
    # this cosine on, whatever the row asks of it (1.0: off).
    numbered_question_similarity: float = Field(0.8, gt=0.0, le=1.0)
    # No duplicate rule holds where the row answers with another of the item's options or
    # another number than its gold: the same wording asked the other way round.
    answers_must_agree: bool = True
    # Retrieval without a threshold: each benchmark item's top_k nearest training rows down to
    # candidate_similarity become candidates (a rephrased question often scores below 0.8);
    # those whose output gives the gold answer at cosine >= gray_similarity are gray-area.
    top_k: int = Field(3, ge=0)
    candidate_similarity: float = Field(0.5, ge=0.0, le=1.0)
    gray_similarity: float = Field(0.7, gt=0.0, le=1.0)
    # How benchmark items are embedded: the question alone, and with its options inline.
    views: list[Literal["question", "options"]] = ["question", "options"]
    # Evidence that an output gives the gold answer (platypus.data.decontaminate.answers): its
    # words as a phrase, a numeric final answer, its letter among options the row lists in its
    # own order, most of its content words, or the gold option taken as the instruction's
    # premise ("Explain why the trench is ...").
    answers: list[Literal["text", "number", "letter", "fuzzy", "premise"]] = [
        "text", "number", "letter", "fuzzy", "premise"]  # fmt: skip
    # The meaning detector: each row's whole text (instruction, input, output) against each
    # item's question with its gold answer; the row's nearest item at cosine >=
    # meaning_similarity is the same question answered the same when the row's output, by its
    # embedding, is closest to the gold option: at cosine >= meaning_answer_similarity and by
    # meaning_margin ahead of every other option. It reads what lexical answer evidence misses:
    # a question retold in other words with its answer in other words. Items whose options
    # carry no meaning (WinoGrande's names, BBH's labels) and items without options are left to
    # the other detectors.
    meaning: bool = False
    meaning_similarity: float = Field(0.5, gt=0.0, le=1.0)
    meaning_answer_similarity: float = Field(0.5, gt=0.0, le=1.0)
    meaning_margin: float = Field(0.1, ge=0.0, le=2.0)
    # Another option ahead of the gold by this much in the output's meaning: the row answers
    # otherwise, as when it names another option (with answers_must_agree).
    meaning_other_margin: float = Field(0.15, gt=0.0, le=2.0)
    # Both rules read outputs of up to this many words: an answer, not a worked solution.
    meaning_max_words: int = Field(60, ge=1)
    ngram: int = Field(13, ge=1)
    min_ngram_words: int = Field(8, ge=1)
    duplicate_ngram_coverage: float = Field(0.5, gt=0.0, le=1.0)
    # An n-gram shared by more benchmark questions than this is their template, counted for none.
    ngram_template_items: int = Field(3, ge=1)
    remove: list[Category] = ["duplicate", "gray-area"]
    # Optional: an LLM judges pairs in the uncertain band (similar-but-different with cosine >=
    # judge_low, and with `meaning` each row's nearest item by meaning, at any question cosine);
    # those it calls the same question become duplicates. judge_model None: the
    # packaged SmolLM2 (small; use a larger model in earnest).
    judge: bool = False
    judge_model: str | None = None
    # An OpenAI-compatible server (http://host:port/v1) that serves judge_model; None: the judge
    # runs judge_model locally with transformers.
    judge_endpoint: str | None = Setting(None)
    # Per request to judge_endpoint: seconds to wait for an answer, and retries (with backoff) on
    # connection errors, timeouts, 429 and 5xx before the run stops with an error.
    judge_timeout: float = Setting(60.0, gt=0.0)
    judge_retries: int = Setting(2, ge=0)
    # Model-side evidence, reported beside the categories (it removes nothing): Min-K% Prob
    # (Shi et al. 2023) of the flagged items under min_k_model + min_k_adapter (the fine-tuned
    # model) minus under min_k_model alone, and of min_k_baseline unflagged items for scale.
    min_k: bool = False
    min_k_model: str | None = InputPath(None)  # the base; None: the packaged SmolLM2
    min_k_adapter: str | None = InputPath(None)  # the LoRA adapter trained on the data
    min_k_percent: float = Field(0.2, gt=0.0, le=1.0)
    min_k_baseline: int = Field(50, ge=0)
    judge_low: float = Field(0.85, gt=0.0, le=1.0)
    judge_threshold: float = Field(0.5, gt=0.0, lt=1.0)

    _benchmark_groups = field_validator("benchmarks", mode="before")(expand_task_groups)

    @field_validator("benchmarks")
    @classmethod
    def _some_benchmarks(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one benchmark (an empty list reports every row clean)")
        return value

    @field_validator("mmlu_subjects")
    @classmethod
    def _some_subjects(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty list checks no MMLU subject; leave it out for all 57")
        return value

    @field_validator("views")
    @classmethod
    def _some_views(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one view (question, options) to embed items by")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> DecontaminateConfig:
        flag, duplicate = self.flag_similarity, self.duplicate_similarity
        if flag > duplicate:
            raise ValueError(
                f"flag_similarity ({flag}) is above duplicate_similarity ({duplicate})"
            )
        if self.min_k and not self.min_k_adapter:
            raise ValueError("min_k needs min_k_adapter: the fine-tuned adapter to compare")
        # judge_low only matters with the judge on, unless a recipe sets it on purpose.
        if (self.judge or "judge_low" in self.model_fields_set) and not (
            flag <= self.judge_low <= duplicate
        ):
            raise ValueError(
                f"judge_low ({self.judge_low}) must lie within [flag_similarity, "
                f"duplicate_similarity] = [{flag}, {duplicate}]"
            )
        return self
