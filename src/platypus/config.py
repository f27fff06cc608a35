"""Typed configuration: pydantic models loaded from YAML recipes in `recipes/`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from platypus.errors import PlatypusError
from platypus.paths import DEFAULT_DATA_ROOT

# Two kinds of fields do not enter a result's identity as written:
# - settings change how a stage runs, not what it produces (output locations, caches, progress,
#   checkpoint and validation frequency);
# - input paths name files or models whose *content* matters, not their location; whoever keys a
#   result adds a fingerprint of that content (an upstream stage's key, a weights hash).
# Stage keys, training's resume check and the eval cache key all come from `result_config`, so
# marking a field here is the one edit that changes all three.
SETTING = "setting"
INPUT = "input"
# Seeds reach torch, numpy (which takes at most 2**32 - 1) and Python's random.
MAX_SEED = 2**32 - 1
# Every configuration model: an unknown key is an error, not ignored, and so is `.inf`/`.nan`.
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def Setting(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 (reads like Field)
    """A field that does not change the stage's outputs."""
    return Field(default, json_schema_extra={"role": SETTING}, **kwargs)


def Seed(default: int) -> Any:  # noqa: N802 (reads like Field)
    """A random seed: a whole number every generator it reaches accepts."""
    return Field(default, ge=0, le=MAX_SEED)


def InputPath(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802
    """A field naming an input whose content, not path, identifies the result."""
    if "default_factory" in kwargs:
        return Field(json_schema_extra={"role": INPUT}, **kwargs)
    return Field(default, json_schema_extra={"role": INPUT}, **kwargs)


def _data_root() -> str:
    """$PLATYPUS_DATA when set, else ../shared/data: read when a config is made."""
    return os.environ.get("PLATYPUS_DATA") or DEFAULT_DATA_ROOT


def plain_name(value: str) -> str:
    """A name used as a file or folder name: nothing that could lead out of the output folder."""
    allowed = all(c.isascii() and (c.isalnum() or c in "._-") for c in value)
    if not value or value.startswith(".") or not allowed:
        raise ValueError(
            f"{value!r} is not a plain file name (letters, digits, '.', '_', '-'; "
            "not starting with '.')"
        )
    return value


def field_role(model: type[BaseModel], name: str) -> str | None:
    extra = model.model_fields[name].json_schema_extra
    return extra.get("role") if isinstance(extra, dict) else None


def result_config(config: BaseModel) -> dict:
    """The config as it identifies a result: every field but settings and input paths, nested
    models included. JSON-ready (paths and enums as strings)."""
    out = {}
    for name in type(config).model_fields:
        if field_role(type(config), name) is not None:
            continue
        value = getattr(config, name)
        out[name] = _result_value(value)
    return out


def _result_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return result_config(value)
    if isinstance(value, dict):
        return {k: _result_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_result_value(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class SourceConfig(BaseModel):
    """One source of the build. `path` wins over `hub_id`; both unset means the source's own
    default (its folder under the data root, else its hub dataset)."""

    model_config = STRICT
    enabled: bool = True
    path: str | None = None  # relative to data_root unless absolute
    hub_id: str | None = None
    keyword_filter: bool | None = None  # None: what Platypus did for this source
    options: dict[str, Any] = Field(default_factory=dict)


def _default_sources() -> dict[str, SourceConfig]:
    """Each source as it declares itself (`Spec.enabled_by_default`): the released
    Open-Platypus sources that ../shared/data holds on, hub-only ones off (turn them on with a
    local `path` or, online, the hub); OpenBookQA, in the paper's list but not the release, off."""
    from platypus.data.sources import SOURCES

    return {name: SourceConfig(enabled=m.SPEC.enabled_by_default) for name, m in SOURCES.items()}


class BuildConfig(BaseModel):
    model_config = STRICT
    name: str = "open-platypus"
    data_root: str = InputPath(default_factory=_data_root)
    output_dir: str = Setting("runs/data/build")
    seed: int = Seed(42)
    sources: dict[str, SourceConfig] = Field(default_factory=_default_sources)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return plain_name(value)

    @field_validator("sources", mode="after")
    @classmethod
    def _known_sources(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        from platypus.data.sources import SOURCES

        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {sorted(SOURCES)}")
        # Sources a recipe leaves out keep their defaults, so recipes list only what they change.
        return {**_default_sources(), **value}


class ComputeSettings(BaseModel):
    """Where and in which precision a model runs: one policy for training, evaluation, merging
    and embedding, resolved by `platypus.compute` (what `auto` became is recorded in every
    manifest and result)."""

    model_config = STRICT
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"  # auto: CUDA when present
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # the weights
    quantization: Literal["none", "4bit", "8bit"] = "none"  # bitsandbytes (QLoRA: 4bit)
    attn_implementation: Literal["auto", "eager", "sdpa", "flash_attention_2"] = "auto"
    # accelerate's big-model loading: layers spread over devices, the rest offloaded to CPU/disk
    device_map: Literal["none", "auto"] = "none"
    max_memory: dict[str, str] | None = None  # e.g. {"0": "70GiB", "cpu": "120GiB"}
    # Run Python code a model folder ships (its config's `auto_map`). Off: such a folder is
    # refused in one line, never a prompt (platypus.models.remote_code).
    trust_remote_code: bool = False


class EmbeddingSettings(BaseModel):
    """How texts are embedded; shared by the stages that compare texts."""

    model_config = STRICT
    model: str | None = None  # None: the packaged all-MiniLM-L6-v2
    # bf16 embeds about 2.5x faster on CPUs with bf16 support (AVX512-BF16/AMX; on an AVX2-only
    # CPU it is emulated and about 4x slower than fp32). Alone it shifts a few pairs across the
    # threshold (18 of 16,146 rows kept differently on Open-Platypus); with pairs within
    # `rescore_margin` of the threshold re-scored in fp32 the kept set equals fp32's
    # (benchmarks/dedup.py checks it). rescore_margin 0 gives plain bf16 (or int8).
    # auto: bf16 on a GPU and on a CPU whose probe (platypus.compute) finds bf16 >= 1.2x faster,
    # else fp32; int8 on onnx; fp32 on openvino. What it became is in the stage's outputs.
    precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    # torch: sentence-transformers on torch (fp32, bf16). onnx: the model exported to ONNX Runtime
    # (fp32, int8: dynamic quantisation); openvino: that export on OpenVINO (fp32; the dynamic
    # int8 graph runs there far slower than fp32). The re-scoring reference is always torch fp32,
    # so the pairs found do not depend on the backend.
    embed_backend: Literal["torch", "onnx", "openvino"] = "torch"
    compute: ComputeSettings = Field(default_factory=ComputeSettings)  # device (embedding)
    # None: the precision's own (RESCORE_MARGINS): what covers its largest pair-score error
    # measured against torch fp32 on real rows.
    rescore_margin: float | None = Field(None, ge=0.0, le=0.2)
    batch_size: int = Field(16, ge=1)
    cache: bool = Setting(True)  # embeddings cached on disk by content hash
    # Both engines give the same vectors and pairs (tested), so the engine is a setting.
    engine: Literal["local", "ray"] = Setting("local")
    ray_address: str | None = Setting(None)  # None: a local Ray; "auto" or ray://host:10001

    @model_validator(mode="after")
    def _backend_precision(self) -> EmbeddingSettings:
        if self.precision != "auto" and self.precision not in EMBED_PRECISIONS[self.embed_backend]:
            raise ValueError(
                f"precision {self.precision} does not run on embed_backend {self.embed_backend} "
                f"(it runs {' or '.join(EMBED_PRECISIONS[self.embed_backend])})"
            )
        return self

    @property
    def effective_rescore_margin(self) -> float:
        """`rescore_margin`, or the precision's default; 0 for the reference (torch fp32).
        Asked of a resolved precision (platypus.similarity.engine.resolve_embedding)."""
        if self.precision == "auto":
            raise ValueError("precision auto is resolved before it is used")
        if (self.embed_backend, self.precision) == ("torch", "fp32"):
            return 0.0
        if self.rescore_margin is not None:
            return self.rescore_margin
        return RESCORE_MARGINS[self.precision]


# Precisions each embedding backend runs (onnx/openvino have no fast bf16 on CPUs; torch int8
# would be another quantisation than the exported one).
EMBED_PRECISIONS = {"torch": ("fp32", "bf16"), "onnx": ("fp32", "int8"), "openvino": ("fp32",)}
# Default re-scoring margins, above the largest pair-score error against torch fp32 measured on
# real rows near the threshold (benchmarks/dedup.py): bf16 0.003, onnx int8 0.055, fp32 on ONNX
# Runtime or OpenVINO 1e-6.
RESCORE_MARGINS = {"bf16": 0.02, "int8": 0.08, "fp32": 0.001}


# The dataset conventions people bring, as column mappings (`format:`): Alpaca's
# instruction/input/output (input may be absent), TRL's prompt/completion, a chat `messages`
# column of {role, content} and ShareGPT's `conversations` of {from, value}.
DATA_FORMATS: dict[str, tuple[list[str] | None, str | None]] = {
    "alpaca": (["instruction", "input", "output"], None),
    "prompt_completion": (["prompt", "completion"], None),
    "messages": (None, "messages"),
    "sharegpt": (None, "conversations"),
}
OPTIONAL_COLUMNS = {"input"}  # alpaca rows without an input column have an empty one


class ColumnMapping(BaseModel):
    """Which columns of a dataset of any schema hold the text (`platypus.data.columns`), for
    dedup, decontamination and training. Unset: the project's schema (id, instruction, input,
    output, data_source). Set: rows of any columns are read, compared or trained on through the
    mapped text, and written back unchanged, in the input's format."""

    model_config = STRICT
    # A named convention (DATA_FORMATS) instead of naming the columns: alpaca,
    # prompt_completion, messages or sharegpt; `records` is the project's own schema.
    format: Literal["records", "alpaca", "prompt_completion", "messages", "sharegpt"] | None = None
    # [prompt, completion]: every field but the last is the prompt (the first is the
    # instruction, the others its input), compared as Platypus compared instruction + input; the
    # last is the response, whose length decides which duplicate stays. One field is both.
    text_fields: list[str] | None = None
    # A chat column (a list of {role, content}, or ShareGPT's {from, value}): user turns are the
    # prompt, assistant turns the response; system and tool turns are context (not compared).
    messages_field: str | None = None
    id_field: str | None = None  # the rows' ids (unique); None: the 0-based row index

    @property
    def mapped(self) -> bool:
        return self.columns() != (None, None)

    def columns(self) -> tuple[list[str] | None, str | None]:
        """(text fields, messages field) in effect: the named format's or the explicit ones."""
        if self.format in DATA_FORMATS:
            return DATA_FORMATS[self.format]
        return self.text_fields, self.messages_field

    def mapping_fields(self) -> dict:
        """This mapping's own settings, to hand to another stage's config."""
        return self.model_dump(include=set(ColumnMapping.model_fields))

    @model_validator(mode="after")
    def _one_mapping(self) -> ColumnMapping:
        if self.format is not None and (self.text_fields or self.messages_field):
            raise ValueError("format names the columns itself: give format or "
                             "text_fields/messages_field, not both")  # fmt: skip
        if self.text_fields is not None and self.messages_field is not None:
            raise ValueError("text_fields and messages_field exclude each other: give one")
        if self.text_fields is not None:
            if not self.text_fields or not all(f.strip() for f in self.text_fields):
                raise ValueError("text_fields: name at least one column, none empty")
            if len(set(self.text_fields)) != len(self.text_fields):
                raise ValueError(f"text_fields {self.text_fields} names a column twice")
        if self.id_field is not None and not self.mapped:
            raise ValueError("id_field needs a format, text_fields or messages_field (the row "
                             "mapping)")  # fmt: skip
        return self


class DedupConfig(EmbeddingSettings, ColumnMapping):
    """Similarity exclusion. `input` defaults to the build stage's jsonl."""

    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/data/dedup")
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    search: Literal["exact", "ivf"] = "exact"
    ivf_nlist: int | None = Field(None, ge=1)  # None: 4 * sqrt(rows)
    ivf_nprobe: int = Field(16, ge=1)
    ray_blocks: int = Setting(4, ge=1)  # query blocks (tasks) for the Ray pair search
    seed: int = Seed(42)  # IVF's k-means and the MinHash permutations
    # Near duplicates after the exact stage (platypus.data.dedup.minhash):
    # - embedding: every pair at cosine >= threshold;
    # - minhash: MinHash-LSH pairs at estimated Jaccard >= minhash_threshold on shingles of the
    #   compared text; nothing is embedded (lexical copies, not paraphrases);
    # - minhash+embedding: those LSH pairs, each kept only when its cosine is >= threshold too;
    #   only rows in an LSH pair are embedded. Its pairs are the embedding pairs that are also
    #   lexical near-copies.
    method: Literal["embedding", "minhash", "minhash+embedding"] = "embedding"
    minhash_threshold: float = Field(0.7, gt=0.0, le=1.0)  # estimated Jaccard
    minhash_num_perm: int = Field(128, ge=2)
    minhash_shingle: int = Field(5, ge=1)  # shingle size, in minhash_unit
    minhash_unit: Literal["char", "word"] = "char"


def _known_task(name: str) -> str:
    from platypus.tasks.registry import GROUPS, TASKS

    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known: {', '.join([*TASKS, *GROUPS])}")
    return name


def _v1_tasks() -> list[str]:
    """The Open LLM Leaderboard v1's six: what an eval or a contamination check covers unless
    told otherwise (`leaderboard-v2` names the v2 six)."""
    from platypus.tasks.registry import GROUPS

    return list(GROUPS["leaderboard-v1"])


def _expand_groups(value: Any) -> Any:
    """A task list may name groups (`leaderboard-v1`, `leaderboard-v2`) for their tasks."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value  # the field's own validation says what is wrong
    from platypus.tasks.registry import expand_groups

    return expand_groups(value)


# A benchmark task's name, checked against the task registry (platypus.tasks.registry.TASKS).
TaskName = Annotated[str, AfterValidator(_known_task)]

Category = Literal["duplicate", "gray-area", "similar-but-different"]


class DecontaminateConfig(EmbeddingSettings, ColumnMapping):
    """Contamination check. `input` defaults to the dedup stage's kept rows."""

    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/data/decontaminate")
    data_root: str = InputPath(default_factory=_data_root)
    benchmarks: list[TaskName] = Field(default_factory=_v1_tasks)
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
    ngram: int = Field(13, ge=1)
    min_ngram_words: int = Field(8, ge=1)
    duplicate_ngram_coverage: float = Field(0.5, gt=0.0, le=1.0)
    # An n-gram shared by more benchmark questions than this is their template, counted for none.
    ngram_template_items: int = Field(3, ge=1)
    remove: list[Category] = ["duplicate", "gray-area"]
    # Optional: an LLM judges pairs in the uncertain band (similar-but-different with cosine >=
    # judge_low); those it calls the same question become duplicates. judge_model None: the
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

    _benchmark_groups = field_validator("benchmarks", mode="before")(_expand_groups)

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


class DataStages(BaseModel):
    model_config = STRICT
    build: BuildConfig = Field(default_factory=BuildConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    decontaminate: DecontaminateConfig = Field(default_factory=DecontaminateConfig)

    @model_validator(mode="after")
    def _one_data_root(self) -> DataStages:
        # Benchmarks usually sit beside the sources: follow the build unless told otherwise.
        if "data_root" not in self.decontaminate.model_fields_set:
            self.decontaminate.data_root = self.build.data_root
        return self


class EvalConfig(BaseModel):
    """Leaderboard evaluation by log-likelihood (lm-evaluation-harness prompts and metrics)."""

    model_config = STRICT
    model: str | None = InputPath(None)  # None: the packaged SmolLM2; a folder or hub id
    adapter: str | None = InputPath(None)  # a PEFT adapter folder applied on top of `model`
    # None: the harness's own six (leaderboard-v2: the v2 six; else the v1 six); group names
    # (leaderboard-v1, leaderboard-v2) stand for their tasks
    tasks: list[TaskName] = Field(None, validate_default=False)  # type: ignore[assignment]
    data_root: str = InputPath(default_factory=_data_root)
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

    _task_groups = field_validator("tasks", mode="before")(_expand_groups)

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


class LoraSettings(BaseModel):
    model_config = STRICT
    # Bounded here against typos (1e9 would allocate hundreds of GB); training also refuses a
    # rank above the targeted layers' smallest dimension.
    r: int = Field(16, ge=1, le=65536)
    alpha: float = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(["gate_proj", "up_proj", "down_proj"], min_length=1)


class TrainConfig(ColumnMapping):
    """LoRA fine-tuning; the defaults are the Platypus recipe. `input` defaults to the
    decontaminate stage's clean rows."""

    model_config = STRICT
    model: str | None = InputPath(None)  # None: the packaged SmolLM2; a folder or hub id
    input: str | None = InputPath(None)
    output_dir: str = Setting("runs/train")
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(4e-4, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    # Warmup is capped at this fraction of the run, so short runs still decay (100 of 20 steps
    # would never reach the peak rate).
    warmup_steps: int = Field(100, ge=0)
    warmup_max_fraction: float = Field(0.2, ge=0.0, le=1.0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)  # stop after this many optimizer steps
    global_batch_size: int = Field(16, ge=1)  # = micro x accumulation x processes
    micro_batch_size: int = Field(4, ge=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(1.0, gt=0)
    max_length: int = Field(2048, ge=8)
    overlong: Literal["truncate", "skip"] = "truncate"
    batching: Literal["length_grouped", "packed", "random"] = "length_grouped"
    # A name in platypus.train.template.FORMATS: alpaca, or the tokenizer's chat_template; auto:
    # chat_template for chat rows (messages, sharegpt) when the tokenizer has one, else alpaca.
    prompt_format: str = "auto"
    limit: int | None = Field(None, ge=1)  # train on N rows drawn with `seed` (quick runs)
    val_size: int = Field(200, ge=0)  # held-out rows (seeded) for validation loss; 0: none
    eval_every: int | None = Setting(None, ge=1)  # validation every N steps (and at start/end)
    save_every: int | None = Setting(None, ge=1)  # checkpoint every N steps
    resume: bool = Setting(True)  # continue from the newest checkpoint in output_dir
    # Experiment trackers (names in platypus.train.tracking.TRACKERS), through accelerate.
    report_to: list[str] = Setting([])
    # bf16 autocast (LoRA weights and optimizer stay fp32). auto: on a CPU with `compute.dtype:
    # auto` the host's probe decides (bf16 only where its matmuls are >= 1.2x faster), elsewhere
    # bf16; what it became is in summary.json and part of a checkpoint's identity.
    bf16: bool | Literal["auto"] = True
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    gradient_checkpointing: bool = False
    # GPU speed switches (platypus.train.speed; each refused in one line where its library or
    # device is missing). compile: torch.compile the loss module (inductor; CPUs too). liger:
    # Liger Kernel's RMSNorm/SwiGLU/RoPE and its fused linear cross-entropy on the response
    # positions (CUDA). activation_offloading: the backward's saved tensors in pinned CPU memory
    # (CUDA; same numbers, less GPU memory). Padding-free packing is `batching: packed`.
    compile: bool = False
    liger: bool = False
    activation_offloading: bool = Setting(False)
    # On a CPU, hand the heap pages each micro-batch freed back to the OS after it
    # (platypus.memory.release_free_memory): a lower, steadier peak (SmolLM2, three steps of 16
    # rows of up to 512 tokens: 6.4 GB in both runs, against 6.8-9.4 GB in three without) for
    # more time (the pages are faulted in again): 8-28% over three steps, 20-35% over the
    # 320-row training benchmark (benchmarks/results/train-cpu-2core.md). auto: only after a
    # micro-batch that leaves less than a quarter of the memory limit (the container's, else
    # the machine's) available. Changes no number; no effect on a GPU.
    cpu_release_memory: bool | Literal["auto"] = Setting("auto")
    seed: int = Seed(42)

    @field_validator("prompt_format", mode="after")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from platypus.train.template import AUTO, FORMATS, unknown_format

        if value not in FORMATS and value != AUTO:
            raise ValueError(unknown_format(value))
        return value

    @field_validator("report_to", mode="after")
    @classmethod
    def _known_trackers(cls, value: list[str]) -> list[str]:
        from platypus.train.tracking import TRACKERS, unknown_tracker

        for name in value:
            if name not in TRACKERS:
                raise ValueError(unknown_tracker(name))
        return list(dict.fromkeys(value))  # a tracker named twice logs once


def _fold_parameters(data: Any, own: set[str], where: str) -> Any:
    """Method parameters written beside the merge's own fields (`t: 0.3`, a model's
    `weight: 0.7`, as recipes wrote them before `parameters:`) moved into `parameters`, where
    the method checks their names and values."""
    if not isinstance(data, dict):
        return data
    loose = {k: v for k, v in data.items() if k not in own}
    if not loose:
        return data
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        return data  # the field's own validation says what is wrong
    both = sorted(set(loose) & set(params))
    if both:
        raise ValueError(f"{where}: {both[0]} is given both beside and in parameters")
    kept = {k: v for k, v in data.items() if k in own}
    return kept | {"parameters": {**params, **loose}}


class MergeInput(BaseModel):
    """One model of a merge and its own method parameters (mergekit's per-model
    `parameters`, e.g. weight, density)."""

    model_config = STRICT
    model: str = InputPath()  # a model folder
    parameters: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _loose_parameters(cls, data: Any) -> Any:
        return _fold_parameters(data, {"model", "parameters"}, "models")

    @field_validator("parameters", mode="after")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        from platypus.merge.parameters import check_setting

        return {k: check_setting(f"parameters.{k}", v) for k, v in value.items()}


class SliceSource(MergeInput):
    """Layers `layer_range: [a, b]` (a to b-1) of one model in a slice, with its own method
    parameters (mergekit's InputSliceDefinition)."""

    layer_range: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]

    @model_validator(mode="before")
    @classmethod
    def _loose_parameters(cls, data: Any) -> Any:
        return _fold_parameters(data, {"model", "layer_range", "parameters"}, "sources")

    @field_validator("layer_range", mode="after")
    @classmethod
    def _nonempty(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] >= value[1]:
            raise ValueError(f"[{value[0]}, {value[1]}] holds no layer (layers a to b-1)")
        return value


class MergeSlice(BaseModel):
    """Output layers made of the same number of layers of each source, merged by the method
    (passthrough: one source, copied); `parameters` before the merge's (mergekit's
    OutputSliceDefinition; `platypus.merge.slices`)."""

    model_config = STRICT
    sources: list[SliceSource] = Field(min_length=1)
    parameters: dict[str, Any] = {}

    @field_validator("parameters", mode="after")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        from platypus.merge.parameters import check_setting

        return {k: check_setting(f"parameters.{k}", v) for k, v in value.items()}

    @model_validator(mode="after")
    def _same_lengths(self) -> MergeSlice:
        lengths = [b - a for a, b in (s.layer_range for s in self.sources)]
        if len(set(lengths)) > 1:
            raise ValueError(f"the sources of a slice take as many layers each; got "
                             f"{', '.join(map(str, lengths))}")  # fmt: skip
        return self


class MergeConfig(BaseModel):
    """adapter: LoRA into its base. transplant: LoRA onto another fine-tune of the same base.
    Model merges (linear, slerp, task_arithmetic, ties, dare, model_stock, ...): `models`
    (with `base_model` where the method needs one), with mergekit's definitions. The method's
    parameters are mergekit's `parameters:` (here and per model: values, gradients, tensor
    filters; `platypus.merge.parameters`), declared and checked by the method; a mergekit
    config (`merge_method:` ...) is read as it is (`platypus.merge.mergekit_config`)."""

    model_config = STRICT
    method: str = "adapter"  # a name in platypus.merge.methods.METHODS
    base_model: str | None = InputPath(None)  # None: the adapter's base, else SmolLM2
    adapter: str | None = InputPath(None)  # None in a recipe: the train stage's adapter
    target_model: str | None = InputPath(None)  # transplant: the fine-tune receiving it
    models: list[MergeInput] = []
    # Instead of `models`: the output's layers, slice by slice (platypus.merge.slices)
    slices: list[MergeSlice] = []
    # The method's parameters (mergekit's `parameters:`; dare and della also read `seed`)
    parameters: dict[str, Any] = {}
    dtype: Literal["float32", "bfloat16", "float16"] | None = None  # None: keep the inputs'
    # The merged tokenizer's chat template (mergekit's key): auto (the inputs' most common), a
    # name of mergekit's packaged templates, or Jinja text; None: the layout model's own.
    chat_template: str | None = None
    # The output's tokenizer (mergekit's key): None or base: the layout model's; union: every
    # input's tokens; a model reference: that model's (platypus.merge.tokenizers)
    tokenizer_source: str | None = None
    force: bool = False
    max_shard_bytes: int = Field(2 * 1024**3, ge=1)
    # Recorded only (a setting): the merge is I/O bound and its arithmetic is float32 on the CPU
    compute: ComputeSettings = Field(
        default_factory=ComputeSettings, json_schema_extra={"role": SETTING}
    )
    overlap: list[str] = []  # the partners' fine-tuning sets: a data-overlap report
    overlap_threshold: float = Field(0.8, gt=0.0, le=1.0)
    output_dir: str = Setting("runs/merge")

    @model_validator(mode="before")
    @classmethod
    def _loose_parameters(cls, data: Any) -> Any:
        if isinstance(data, dict) and "merge_method" in data:
            from platypus.merge.mergekit_config import from_mergekit

            data = from_mergekit(data)
        return _fold_parameters(data, set(cls.model_fields), "merge")

    @field_validator("parameters", mode="after")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        from platypus.merge.parameters import check_setting

        return {k: check_setting(f"parameters.{k}", v) for k, v in value.items()}

    @field_validator("method", mode="after")
    @classmethod
    def _known_method(cls, value: str) -> str:
        from platypus.merge.methods import METHODS, unknown_method

        if value not in METHODS:
            raise ValueError(unknown_method(value))
        return value

    @field_validator("slices", mode="after")
    @classmethod
    def _slicing_method(cls, value: list[MergeSlice], info: Any) -> list[MergeSlice]:
        from platypus.merge.methods import METHODS, TensorMerge

        method = METHODS.get(info.data.get("method"))
        if value and method is not None and not isinstance(method, TensorMerge):
            raise ValueError(f"merge method {method.name!r} does not merge slices (passthrough, "
                             "linear, slerp and the other model merges do)")  # fmt: skip
        return value

    @field_validator("tokenizer_source", mode="after")
    @classmethod
    def _tokenizer_merge(cls, value: str | None, info: Any) -> str | None:
        from platypus.merge.methods import METHODS, TensorMerge

        if value in (None, "base"):
            return value
        if info.data.get("slices"):
            raise ValueError(f"tokenizer_source {value!r} with slices is not supported yet "
                             "(only with models)")  # fmt: skip
        method = METHODS.get(info.data.get("method"))
        if method is not None and not isinstance(method, TensorMerge):
            raise ValueError(f"tokenizer_source {value!r}: merge method {method.name!r} keeps "
                             "its model's tokenizer")  # fmt: skip
        return value


class Recipe(BaseModel):
    """A whole run: data -> train -> merge -> eval of the base, fine-tuned and merged models."""

    model_config = STRICT
    name: str = "recipe"
    run_dir: str | None = Setting(None)  # stage folders of `platypus run`; None: runs/<name>
    eval_models: list[Literal["base", "finetuned", "merged"]] = ["base", "finetuned", "merged"]
    data: DataStages = Field(default_factory=DataStages)
    train: TrainConfig = Field(default_factory=TrainConfig)
    merge: MergeConfig = Field(default_factory=MergeConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return plain_name(value)

    @model_validator(mode="after")
    def _carry_mapping(self) -> Recipe:
        """A dataset of another schema flows dedup -> decontaminate -> train: a stage fed by the
        one before it (no `input` of its own) reads its rows under that stage's column mapping
        unless it names one itself."""
        chain = (self.data.dedup, self.data.decontaminate, self.train)
        for upstream, downstream in zip(chain, chain[1:], strict=False):
            if upstream.mapped and not downstream.mapped and downstream.input is None:
                for key, value in upstream.mapping_fields().items():
                    setattr(downstream, key, value)
        return self


class RecipeYAMLError(yaml.YAMLError):
    """Valid YAML that a recipe refuses: a repeated key, or past the bounds below."""


# A recipe is a page of settings: these bound what parsing one may cost. An alias bomb (anchors
# referring to anchors, 9 levels deep) expands to billions of nodes from a few hundred bytes.
MAX_RECIPE_BYTES = 1 << 20
MAX_RECIPE_ALIASES = 100
MAX_RECIPE_DEPTH = 32
MAX_RECIPE_NODES = 100_000  # with every alias expanded: a full recipe has a few hundred


class RecipeLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with a repeated key (plain YAML keeps the last one),
    more than MAX_RECIPE_ALIASES alias references and nesting deeper than MAX_RECIPE_DEPTH."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            expanded = _expanded_size(node, {})
            if expanded > MAX_RECIPE_NODES:
                raise RecipeYAMLError(
                    f"{expanded:,} values once its aliases are expanded (at most "
                    f"{MAX_RECIPE_NODES:,}): alias references nest too deeply"
                )
        return node

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_RECIPE_ALIASES:
                mark = self.peek_event().start_mark
                raise RecipeYAMLError(
                    f"more than {MAX_RECIPE_ALIASES} alias references (line {mark.line + 1})"
                )
        self._depth += 1
        try:
            if self._depth > MAX_RECIPE_DEPTH:
                mark = self.peek_event().start_mark
                raise RecipeYAMLError(
                    f"nested deeper than {MAX_RECIPE_DEPTH} levels (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` keys may be overridden: that is their purpose
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader reports it
                continue
            if repeated:
                line = key_node.start_mark.line + 1
                raise RecipeYAMLError(f"duplicate key {key!r} at line {line}")
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, seen: dict) -> int:
    """Nodes in the tree `node` stands for once aliases (shared nodes) are expanded: computed on
    the shared graph, so it costs the graph's size, not the expansion's."""
    known = seen.get(id(node))
    if known is not None:
        return known
    seen[id(node)] = 1  # a recursive alias counts once (SafeLoader refuses what it can't build)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    seen[id(node)] = size
    return size


def load_recipe(path: str | Path) -> Recipe:
    """Parse and validate a YAML recipe; every problem becomes one readable line."""
    path = Path(path)
    if not path.is_file():
        raise PlatypusError(f"{path}: recipe not found")
    if path.stat().st_size > MAX_RECIPE_BYTES:
        raise PlatypusError(f"{path}: larger than {MAX_RECIPE_BYTES:,} bytes; not a recipe")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=RecipeLoader) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise PlatypusError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise PlatypusError(f"{path}: a recipe is a mapping of stage names to settings")
    if "merge_method" in raw:  # a mergekit config: the merge section of a recipe
        raw = {"merge": raw}
    try:
        return Recipe.model_validate(raw)
    except ValidationError as exc:
        raise PlatypusError(f"{path}: {format_validation_error(exc)}") from None


def validated(model: type[BaseModel], data: dict, where: str) -> Any:
    """`model.model_validate(data)`, with any problem turned into one readable line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PlatypusError(f"{where}: {format_validation_error(exc)}") from None


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_validation_error(exc: ValidationError, most: int = 5, width: int = 500) -> str:
    """The errors as one line: at most `most` of them, each cut to `width` characters (a key or
    value of megabytes is named, not echoed)."""
    parts = []
    errors = exc.errors()
    for err in errors[:most]:
        where = ".".join(_short(str(p), 60) for p in err["loc"]) or "(top level)"
        part = f"{where}: {err['msg']}"
        parts.append(_short(part, width))
    if len(errors) > most:
        parts.append(f"and {len(errors) - most} more")
    return "; ".join(parts)
