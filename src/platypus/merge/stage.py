"""The merge stage as the pipeline runs it: its model, card, input identities and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.contract import Stage, Summary
from platypus.merge.config import MergeConfig
from platypus.settings import EmbeddingSettings, result_config


class MergeSummary(Summary):
    method: str
    seconds: float
    peak_rss_mb: float
    weight_files: int
    compatibility: dict | None = None


class MergeStage(Stage):
    name = "merge"
    section = "merge"
    config_model = MergeConfig
    summary_model = MergeSummary
    reads = {"adapter": "train.adapter"}
    artefacts = ("model", "card")
    last = "card"

    def wants(self, field: str, config: MergeConfig) -> bool:
        from platypus.merge.methods import METHODS

        return METHODS[config.method].uses_adapter

    def config(self, recipe) -> MergeConfig:
        from platypus.merge.methods import METHODS

        config = recipe.merge
        method = METHODS[config.method]
        wanted = method.uses_adapter or method.needs_base
        if wanted and config.base_model is None and recipe.train.model is not None:
            # the adapter's base, or the base a method requires, is the model the recipe trains
            # (where a base is optional, as for multislerp, none given means none)
            config = config.model_copy(update={"base_model": recipe.train.model})
        return config

    def output(self, artefact: str, config: MergeConfig, folder: Path) -> Path:
        from platypus.merge.run import CARD

        return folder if artefact == "model" else folder / CARD

    def outside(self, config: MergeConfig, recipe) -> dict:
        from platypus.hashing import file_sha256
        from platypus.merge.references import reference_identity

        inputs = {"base": reference_identity(config.base_model or recipe.train.model)}
        inputs |= {m.model: reference_identity(m.model) for m in config.models}
        inputs |= {s.model: reference_identity(s.model) for p in config.slices for s in p.sources}
        if config.overlap:
            inputs["overlap"] = [file_sha256(p) for p in config.overlap]
            inputs["embedding"] = _embedding(recipe)
        return inputs

    def check(self, config: MergeConfig) -> None:
        from platypus.merge.methods import get

        if config.method != "adapter" or config.adapter:  # a recipe fills the adapter in later
            get(config.method).validate(config)
        if config.chat_template and config.chat_template != "auto":  # a name that exists
            from platypus.merge.chat_template import resolve_chat_template

            resolve_chat_template(config.chat_template, [])

    def run(self, config: MergeConfig, out: Path, recipe) -> MergeSummary:
        from platypus.merge.run import merge

        card = merge(
            config.model_copy(update={"output_dir": str(out)}),
            embedding=recipe.data.dedup,
        ).card
        return MergeSummary(
            method=card["method"],
            seconds=card["seconds"],
            peak_rss_mb=card["peak_rss_mb"],
            weight_files=len(card["output"]),
            compatibility=card.get("compatibility"),
        )

    def describe(self, summary: MergeSummary, config: BaseModel, out: Path) -> list[str]:
        extra = ""
        if c := summary.compatibility:
            extra = f"; ||delta||/||W|| max {c['delta_ratio_max']:.4f} over {c['modules']} weights"
        return [
            f"merged ({summary.method}) in {summary.seconds} s, peak RSS "
            f"{summary.peak_rss_mb:,.0f} MB{extra} -> {out}"
        ]


def _embedding(recipe) -> dict:
    settings = EmbeddingSettings.model_validate(
        recipe.data.dedup.model_dump(include=set(EmbeddingSettings.model_fields))
    )
    return result_config(settings)
