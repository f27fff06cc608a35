"""The merge stage's configuration: the method, its models or slices, and mergekit's
`parameters:` (declared and checked by the method, `platypus.merge.parameters`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from platypus.settings import SETTING, STRICT, ComputeSettings, InputPath, Setting


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
