"""A whole run's configuration (`Recipe`, loaded from YAML recipes in `recipes/`): each stage's
section is that stage's own config (its package's `config.py`), assembled here above them. The
shared pieces they build on live in `platypus.settings`; this module re-exports the names that
were always imported from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from platypus.data.build.config import BuildConfig, SourceConfig
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.dedup.config import DedupConfig
from platypus.errors import PlatypusError
from platypus.eval.config import EvalConfig
from platypus.merge.config import MergeConfig, MergeInput, MergeSlice, SliceSource
from platypus.settings import (
    EMBED_PRECISIONS,
    INPUT,
    SETTING,
    STRICT,
    ColumnMapping,
    ComputeSettings,
    EmbeddingSettings,
    Setting,
    field_role,
    format_validation_error,
    plain_name,
    result_config,
    validated,
)
from platypus.train.config import LoraSettings, TrainConfig
from platypus.yaml_loader import MAX_RECIPE_BYTES, RecipeLoader, RecipeYAMLError

__all__ = [
    "EMBED_PRECISIONS", "INPUT", "SETTING", "BuildConfig", "ColumnMapping", "ComputeSettings",
    "DataStages", "DecontaminateConfig", "DedupConfig", "EmbeddingSettings", "EvalConfig",
    "LoraSettings", "MergeConfig", "MergeInput", "MergeSlice", "Recipe", "RecipeLoader",
    "RecipeYAMLError", "SliceSource", "SourceConfig", "TrainConfig", "field_role",
    "format_validation_error", "load_recipe", "result_config", "validated",
]  # fmt: skip


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


class Recipe(BaseModel):
    """A whole run: data -> train -> merge -> eval of the base, fine-tuned and merged models.
    A plug-in stage (registered, with a top-level `section` that is no field here) has its
    section too, validated by the stage's own config model (`section()` gives any stage's)."""

    model_config = STRICT
    # the plug-in stages' sections, by name
    _plugins: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
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

    @model_validator(mode="wrap")
    @classmethod
    def _plugin_sections(cls, data: Any, handler: Any) -> Recipe:
        stages: dict = {}
        claimed: dict = {}
        if isinstance(data, dict):
            from platypus.pipeline.stages import STAGES

            stages = {s.section: s for s in STAGES.values() if s.section not in cls.model_fields}
            claimed = {k: v for k, v in data.items() if k in stages}
            data = {k: v for k, v in data.items() if k not in claimed}
        recipe = handler(data)
        for section, value in claimed.items():
            try:
                recipe._plugins[section] = stages[section].config_model.model_validate(value or {})
            except ValidationError as exc:
                raise ValueError(f"{section}: {format_validation_error(exc)}") from None
        return recipe

    @model_serializer(mode="wrap")
    def _with_plugin_sections(self, handler: Any) -> dict:
        """Dumped with the plug-in sections, so a dump validates back to the same recipe."""
        return handler(self) | {k: v.model_dump() for k, v in self._plugins.items()}

    def section(self, path: str, model: type[BaseModel]) -> BaseModel:
        """The configuration at the dotted `path` (`data.dedup`, `train`, a plug-in stage's
        name); a plug-in section the recipe leaves out is `model`'s defaults."""
        if path.split(".")[0] not in type(self).model_fields:
            return self._plugins.get(path) or model()
        node: Any = self
        for part in path.split("."):
            node = getattr(node, part)
        return node

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
