"""The merge stage as the pipeline runs it: its model, card, input identities and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.cli_flags import choices, given, split
from platypus.contract import Stage, Summary
from platypus.errors import PlatypusError
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
    command = ("merge",)
    help = "adapter into base, adapter transplant, model merges"
    api_name = "merge"
    loads_models = True
    pushed = ("model", "model")
    summary_model = MergeSummary
    reads = {"adapter": "train.adapter"}
    # the base an adapter was trained on; the embedding the data stages compared texts with
    links = {"trained_base": "train.model", "embedding": "data.dedup"}
    artefacts = ("model", "card")
    last = "card"

    def wants(self, field: str, config: MergeConfig) -> bool:
        from platypus.merge.methods import METHODS

        return METHODS[config.method].uses_adapter

    def config(self, recipe) -> MergeConfig:
        from platypus.merge.methods import METHODS

        config = recipe.section(self.section, self.config_model)
        method = METHODS[config.method]
        wanted = method.uses_adapter or method.needs_base
        trained_base = self.linked(recipe, "trained_base")
        if wanted and config.base_model is None and trained_base is not None:
            # the adapter's base, or the base a method requires, is the model the recipe trains
            # (where a base is optional, as for multislerp, none given means none)
            config = config.model_copy(update={"base_model": trained_base})
        return config

    def add_flags(self, parser) -> None:
        from platypus.merge.methods import names

        parser.add_argument(
            "output", nargs="?", metavar="OUT",
            help="where to write the merged model (as --output-dir; mergekit-yaml's CONFIG OUT)",
        )  # fmt: skip
        parser.add_argument("--method", choices=names())
        parser.add_argument("--adapter", help="PEFT adapter folder (adapter, transplant)")
        parser.add_argument("--base-model", help="base model folder (default: the adapter's base)")
        parser.add_argument(
            "--target-model", help="transplant: the fine-tune receiving the adapter"
        )
        parser.add_argument("--models", help="comma-separated model folders to merge")
        parser.add_argument("--weights", help="comma-separated weights, one per model")
        parser.add_argument("--t", type=float, help="slerp: 0 = base, 1 = the other model")
        parser.add_argument("--dtype", choices=choices(MergeConfig, "dtype"))
        parser.add_argument("--force", action="store_true", help="transplant despite failed checks")

    def flag_updates(self, args, config: MergeConfig) -> dict:
        from platypus.train.stage import adapter_in

        updates = given(args, "method", "adapter", "base_model", "target_model", "dtype")
        if args.output is not None:  # `platypus merge CONFIG.yml OUT`, as mergekit-yaml takes it
            if args.output_dir and args.output_dir != args.output:
                raise PlatypusError(f"two outputs given: {args.output} and --output-dir "
                                    f"{args.output_dir}; name one")  # fmt: skip
            updates["output_dir"] = args.output
        if args.t is not None:  # before --set, which may set parameters.t again
            updates["parameters"] = {**config.parameters, "t": args.t}
        if "adapter" in updates:
            updates["adapter"] = adapter_in(updates["adapter"])
        if args.models:
            updates["models"] = _models(args)
        elif args.weights:
            raise PlatypusError("--weights needs --models")
        if args.force:
            updates["force"] = True
        return updates

    def output(self, artefact: str, config: MergeConfig, folder: Path) -> Path:
        from platypus.merge.run import CARD

        return folder if artefact == "model" else folder / CARD

    def outside(self, config: MergeConfig, recipe) -> dict:
        from platypus.hashing import file_sha256
        from platypus.merge.references import reference_identity

        base = config.base_model or self.linked(recipe, "trained_base")
        inputs = {"base": reference_identity(base)}
        inputs |= {m.model: reference_identity(m.model) for m in config.models}
        inputs |= {s.model: reference_identity(s.model) for p in config.slices for s in p.sources}
        if config.overlap:
            inputs["overlap"] = [file_sha256(p) for p in config.overlap]
            inputs["embedding"] = _embedding(self.linked(recipe, "embedding"))
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
            embedding=self.linked(recipe, "embedding"),
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


def _models(args) -> list[dict]:
    """--models a,b --weights 0.3,0.7: the models of a merge and their weights."""
    paths = split(args.models)
    try:
        weights = [float(w) for w in split(args.weights)] if args.weights else None
    except ValueError:
        raise PlatypusError(f"--weights {args.weights!r}: numbers separated by commas") from None
    if weights is not None and len(weights) != len(paths):
        raise PlatypusError(f"--weights: {len(weights)} values for {len(paths)} models")
    return [{"model": m, "parameters": {} if weights is None else {"weight": weights[i]}}
            for i, m in enumerate(paths)]  # fmt: skip


def _embedding(section) -> dict:
    """The embedding settings of a section that embeds (dedup's), as they identify a result."""
    settings = EmbeddingSettings.model_validate(
        section.model_dump(include=set(EmbeddingSettings.model_fields))
    )
    return result_config(settings)
