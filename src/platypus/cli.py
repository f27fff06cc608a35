"""`platypus`: one command, a subcommand per stage of the pipeline."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel

from platypus import __version__
from platypus.config import (
    BuildConfig,
    DecontaminateConfig,
    DedupConfig,
    EvalConfig,
    MergeConfig,
    Recipe,
    SourceConfig,
    TrainConfig,
    load_recipe,
    validated,
)
from platypus.errors import PlatypusError


def _choices(model: type[BaseModel], field: str) -> list[str]:
    """A config field's allowed values, so the CLI offers exactly what a recipe accepts."""
    annotation = model.model_fields[field].annotation
    options = [annotation] if get_origin(annotation) is Literal else get_args(annotation)
    return next(list(get_args(a)) for a in options if get_origin(a) is Literal)


def _recipe(args: argparse.Namespace) -> Recipe:
    return load_recipe(args.recipe) if getattr(args, "recipe", None) else Recipe()


def cmd_data_build(args: argparse.Namespace) -> int:
    from platypus.data.build import build

    config = _recipe(args).data.build
    updates = {
        k: v for k in ("data_root", "output_dir", "seed") if (v := getattr(args, k)) is not None
    }
    config = validated(BuildConfig, config.model_dump() | updates, "command line")
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - set(config.sources)
        if unknown:
            raise PlatypusError(f"--only: unknown sources {sorted(unknown)}")
        for name, src in config.sources.items():
            config.sources[name] = SourceConfig.model_validate(
                src.model_dump() | {"enabled": name in wanted}
            )
    result = build(config)
    print(f"built {len(result.records):,} rows -> {result.paths['jsonl']}")
    for s in result.sources:
        if s.enabled:
            print(f"  {s.name:<11} {s.raw_rows:>7,} read {s.kept:>7,} kept")
    print(f"card: {result.paths['card']}  sha256: {result.content_hash[:16]}")
    return 0


def _dedup_input(recipe: Recipe) -> str:
    from platypus.data.build import output_paths

    build = recipe.data.build
    return recipe.data.dedup.input or str(output_paths(Path(build.output_dir), build.name)["jsonl"])


def cmd_data_dedup(args: argparse.Namespace) -> int:
    from platypus.data.dedup.run import dedup

    recipe = _recipe(args)
    names = ("output_dir", "threshold", "precision", "batch_size", "search", "engine")
    updates = {k: v for k in names if (v := getattr(args, k)) is not None}
    config = validated(DedupConfig, recipe.data.dedup.model_dump() | updates, "command line")
    source = args.input or _dedup_input(recipe)
    result = dedup(config, source, config.output_dir)
    _print_dedup(result)
    return 0


def _print_dedup(result) -> None:
    exact = sum(m.stage == "exact" for m in result.removals)
    near = len(result.removals) - exact
    print(f"{len(result.records):,} rows: {exact:,} exact and {near:,} near duplicates removed, "
          f"{len(result.kept):,} kept -> {result.paths['kept']}")  # fmt: skip
    print(f"report: {result.paths['report']}  (embedded {result.embedded:,} texts, rest cached)")


def _decontaminate_input(recipe: Recipe) -> str:
    return recipe.data.decontaminate.input or str(Path(recipe.data.dedup.output_dir) / "kept.jsonl")


def cmd_data_decontaminate(args: argparse.Namespace) -> int:
    from platypus.data.decontaminate.run import decontaminate

    recipe = _recipe(args)
    updates = {k: v for k in ("output_dir", "data_root") if (v := getattr(args, k)) is not None}
    if args.benchmarks:
        updates["benchmarks"] = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    if args.mmlu_subjects:
        updates["mmlu_subjects"] = [b.strip() for b in args.mmlu_subjects.split(",") if b.strip()]
    base = recipe.data.decontaminate.model_dump()
    config = validated(DecontaminateConfig, base | updates, "command line")
    result = decontaminate(config, args.input or _decontaminate_input(recipe), config.output_dir)
    _print_decontaminate(result)
    return 0


def _print_decontaminate(result) -> None:
    from platypus.data.decontaminate.classify import CATEGORIES

    by = Counter(leak.category for leak in result.leaks)
    flagged = ", ".join(f"{by[c]:,} {c}" for c in CATEGORIES)
    print(
        f"{len(result.records):,} rows vs {len(result.items):,} benchmark items: {flagged} pairs; "
        f"{len(result.removed_ids):,} rows removed, {len(result.clean):,} clean -> "
        f"{result.paths['clean_jsonl']}"
    )
    print(f"report: {result.paths['report_md']}")


def cmd_eval(args: argparse.Namespace) -> int:
    from platypus.eval.runner import run_eval

    recipe = _recipe(args)
    names = ("model", "adapter", "limit", "sample", "batch_size", "output_dir", "data_root")
    names += ("contamination",)
    updates = {k: v for k in names if (v := getattr(args, k)) is not None}
    if args.tasks:
        updates["tasks"] = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.bf16:
        updates["bf16"] = True
    if args.no_cache:
        updates["cache"] = False
    config = validated(EvalConfig, recipe.eval.model_dump() | updates, "command line")
    from platypus.eval.runner import table

    results = run_eval(config)
    print(table(results))
    print(f"results: {Path(config.output_dir) / 'results.json'}")
    return 0


def _train_input(recipe: Recipe) -> str:
    return recipe.train.input or str(Path(recipe.data.decontaminate.output_dir) / "clean.jsonl")


def cmd_train(args: argparse.Namespace) -> int:
    from platypus.train.loop import train

    recipe = _recipe(args)
    names = ("model", "output_dir", "max_steps", "limit", "micro_batch_size", "batching", "seed")
    updates = {k: v for k in names if (v := getattr(args, k)) is not None}
    if args.no_bf16:
        updates["bf16"] = False
    if args.no_resume:
        updates["resume"] = False
    config = validated(TrainConfig, recipe.train.model_dump() | updates, "command line")
    result = train(config, args.input or _train_input(recipe))
    _print_train(result)
    return 0


def _print_train(result) -> None:
    s = result.summary
    if os.environ.get("RANK", "0") != "0":  # one line per run, not per process
        return
    val = ""
    if s["val_loss_start"] is not None:
        val = f", held-out loss {s['val_loss_start']:.4f} -> {s['val_loss_end']:.4f}"
    print(f"trained {s['steps']} steps on {s['examples']:,} examples ({s['processes']} process"
          f"{'es' if s['processes'] > 1 else ''}){val}; {s['tokens_per_s']:,.0f} tokens/s, "
          f"peak RSS {s['peak_memory_mb']['rss']:,.0f} MB -> {result.adapter_dir}")  # fmt: skip


def _merge_config(recipe: Recipe, args: argparse.Namespace | None = None) -> MergeConfig:
    base = recipe.merge.model_dump()
    if base["method"] in ("adapter", "transplant") and not base["adapter"]:
        base["adapter"] = str(Path(recipe.train.output_dir) / "adapter")
    updates = {}
    if args is not None:
        names = ("method", "adapter", "base_model", "target_model", "output_dir", "dtype", "t")
        updates = {k: v for k in names if (v := getattr(args, k)) is not None}
        if args.models:
            paths = [m.strip() for m in args.models.split(",") if m.strip()]
            weights = (
                [float(w) for w in args.weights.split(",")] if args.weights else [1.0] * len(paths)
            )
            if len(weights) != len(paths):
                raise PlatypusError(f"--weights: {len(weights)} values for {len(paths)} models")
            updates["models"] = [
                {"model": m, "weight": w} for m, w in zip(paths, weights, strict=True)
            ]
        if args.force:
            updates["force"] = True
    return validated(MergeConfig, base | updates, "command line")


def cmd_merge(args: argparse.Namespace) -> int:
    from platypus.merge.run import merge

    result = merge(_merge_config(_recipe(args), args))
    _print_merge(result)
    return 0


def _print_merge(result) -> None:
    card = result.card
    extra = ""
    if "compatibility" in card:
        c = card["compatibility"]
        extra = f"; ||delta||/||W|| max {c['delta_ratio_max']:.4f} over {c['modules']} weights"
    print(
        f"merged ({card['method']}) in {card['seconds']} s, peak RSS {card['peak_rss_mb']:,.0f} MB"
        f"{extra} -> {result.output_dir}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from platypus.pipeline.run import Pipeline

    recipe = load_recipe(args.recipe)
    Pipeline(recipe, args.run_dir).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="platypus", description=__doc__)
    parser.add_argument("--version", action="version", version=f"platypus {__version__}")
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")

    data = stages.add_parser("data", help="build, dedup and decontaminate the instruction set")
    data_steps = data.add_subparsers(dest="step", required=True, metavar="STEP")
    b = data_steps.add_parser("build", help="build the set from its sources")
    b.add_argument("--recipe", help="YAML recipe; its data.build section is used")
    b.add_argument("--data-root", help="folder with the source data (default ../shared/data)")
    b.add_argument("--output-dir", help="where to write the set and its card")
    b.add_argument("--seed", type=int, help="seed for the build's random choices")
    b.add_argument("--only", help="comma-separated sources to build (others disabled)")
    b.set_defaults(func=cmd_data_build)
    d = data_steps.add_parser("dedup", help="exact and near-duplicate removal")
    d.add_argument("--recipe", help="YAML recipe; its data.dedup section is used")
    d.add_argument("--input", help="records to dedup (default: the build output)")
    d.add_argument("--output-dir", help="where to write kept rows, removals and the report")
    d.add_argument("--threshold", type=float, help="cosine similarity threshold (default 0.8)")
    d.add_argument(
        "--precision", choices=_choices(DedupConfig, "precision"), help="embedding precision"
    )
    d.add_argument("--batch-size", type=int, help="embedding batch size")
    d.add_argument(
        "--search", choices=_choices(DedupConfig, "search"), help="all pairs, or faiss IVF"
    )
    d.add_argument("--engine", choices=_choices(DedupConfig, "engine"), help="run on Ray Data")
    d.set_defaults(func=cmd_data_dedup)
    c = data_steps.add_parser("decontaminate", help="flag and remove benchmark leaks")
    c.add_argument("--recipe", help="YAML recipe; its data.decontaminate section is used")
    c.add_argument("--input", help="records to check (default: the dedup output)")
    c.add_argument("--output-dir", help="where to write the clean set, leak table and report")
    c.add_argument("--data-root", help="folder with the benchmark data (default ../shared/data)")
    c.add_argument(
        "--benchmarks", help="comma-separated: arc_challenge,hellaswag,mmlu,truthfulqa_mc"
    )
    c.add_argument("--mmlu-subjects", help="comma-separated MMLU subjects (default: all 57)")
    c.set_defaults(func=cmd_data_decontaminate)

    t = stages.add_parser("train", help="LoRA fine-tuning (the Platypus recipe by default)")
    t.add_argument("--recipe", help="YAML recipe; its train section is used")
    t.add_argument("--input", help="records to train on (default: the decontaminate output)")
    t.add_argument("--model", help="base model folder or hub id (default: packaged SmolLM2)")
    t.add_argument("--output-dir", help="where to write the adapter, metrics and checkpoints")
    t.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    t.add_argument("--limit", type=int, help="train on N rows drawn with the seed")
    t.add_argument("--micro-batch-size", type=int, help="examples per forward pass")
    t.add_argument("--batching", choices=_choices(TrainConfig, "batching"))
    t.add_argument("--seed", type=int)
    t.add_argument("--no-bf16", action="store_true", help="fp32 compute (default: bf16 autocast)")
    t.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    t.set_defaults(func=cmd_train)

    m = stages.add_parser("merge", help="adapter into base, adapter transplant, model merges")
    m.add_argument("--recipe", help="YAML recipe; its merge section is used")
    m.add_argument("--method", choices=__import__("platypus.merge.methods").merge.methods.names())
    m.add_argument("--adapter", help="PEFT adapter folder (adapter, transplant)")
    m.add_argument("--base-model", help="base model folder (default: the adapter's base)")
    m.add_argument("--target-model", help="transplant: the fine-tune receiving the adapter")
    m.add_argument("--models", help="comma-separated model folders to merge")
    m.add_argument("--weights", help="comma-separated weights, one per model")
    m.add_argument("--t", type=float, help="slerp: 0 = base, 1 = the other model")
    m.add_argument("--dtype", choices=_choices(MergeConfig, "dtype"))
    m.add_argument("--output-dir", help="where to write the merged model")
    m.add_argument("--force", action="store_true", help="transplant despite failed checks")
    m.set_defaults(func=cmd_merge)

    e = stages.add_parser("eval", help="leaderboard tasks by log-likelihood")
    e.add_argument("--recipe", help="YAML recipe; its eval section is used")
    e.add_argument("--model", help="model folder or hub id (default: packaged SmolLM2)")
    e.add_argument("--adapter", help="PEFT adapter folder applied on top of the model")
    e.add_argument("--tasks", help="comma-separated: arc_challenge,hellaswag,mmlu,truthfulqa_mc")
    e.add_argument("--limit", type=int, help="N items of each task (see --sample)")
    e.add_argument(
        "--sample",
        choices=_choices(EvalConfig, "sample"),
        help="which N items: first (default) or "
        "stratified (every MMLU subject in proportion, spread through each file)",
    )
    e.add_argument("--batch-size", type=int, help="questions per forward pass (default 8)")
    e.add_argument("--data-root", help="folder with the benchmark data (default ../shared/data)")
    e.add_argument("--output-dir", help="where to write results.json and results.md")
    e.add_argument("--contamination", help="leaks.jsonl: split scores into clean/contaminated")
    e.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on CPU)")
    e.add_argument("--no-cache", action="store_true", help="recompute cached task results")
    e.set_defaults(func=cmd_eval)

    r = stages.add_parser(
        "run", help="the whole recipe: data, train, merge, eval, report (finished stages skipped)"
    )
    r.add_argument("recipe", help="YAML recipe, e.g. recipes/quickstart.yaml")
    r.add_argument("--run-dir", help="folder for the stage outputs (default: runs/<name>)")
    r.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PlatypusError as exc:
        print(f"platypus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("platypus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
