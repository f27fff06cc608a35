"""The shared layer of configuration: field roles (what enters a result's identity), the compute,
embedding and column-mapping settings several stages share, and one-line validation errors.
Imports nothing above it: each stage's config (its package's `config.py`) builds on these, and
the names a stage's fields refer to (tasks, merge methods, sources, ...) are checked by that
stage's config against its own registry."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


def default_data_root() -> str:
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
