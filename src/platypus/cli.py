"""`platypus`: one command, a subcommand per stage of the pipeline."""

from __future__ import annotations

import argparse
import errno
import os
import sqlite3
import sys
from typing import Literal, get_args, get_origin

from pydantic import BaseModel

from platypus.config import Recipe, load_recipe
from platypus.data.dedup.config import DedupConfig
from platypus.errors import PlatypusError
from platypus.eval.config import EvalConfig
from platypus.merge.config import MergeConfig
from platypus.settings import ComputeSettings, validated
from platypus.train.config import TrainConfig
from platypus.version import __version__


def _choices(model: type[BaseModel], field: str) -> list[str]:
    """A config field's allowed values, so the CLI offers exactly what a recipe accepts."""
    annotation = model.model_fields[field].annotation
    options = [annotation] if get_origin(annotation) is Literal else get_args(annotation)
    return next(list(get_args(a)) for a in options if get_origin(a) is Literal)


def _recipe(args: argparse.Namespace) -> Recipe:
    """The recipe named by `--recipe` or positionally (`platypus train recipe.yml`, as axolotl
    users type it); the defaults without one."""
    named, given = getattr(args, "recipe", None), getattr(args, "recipe_file", None)
    if named and given and named != given:
        raise PlatypusError(f"two recipes given: {given} and --recipe {named}; name one")
    path = named or given
    return load_recipe(path) if path else Recipe()


DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


def _data_positional(args: argparse.Namespace) -> None:
    """`platypus train my_alpaca.jsonl`: on a command that reads a dataset, a positional that
    is a data file or a folder (not a YAML recipe) is the `--input`."""
    from pathlib import Path

    given = getattr(args, "recipe_file", None)
    if not given or not hasattr(args, "input"):
        return
    path = Path(given)
    if path.suffix.lower() not in DATA_SUFFIXES and not path.is_dir():
        return
    if args.input and args.input != given:
        raise PlatypusError(f"two inputs given: {given} and --input {args.input}; name one")
    args.input, args.recipe_file = given, None


def _adapter_folder(stage_name: str, path: str) -> str:
    """An adapter folder as the API takes it: the adapter itself, or a training output folder
    (resolved to its adapter as the API resolves it)."""
    from pathlib import Path

    from platypus.api import artefact_in
    from platypus.pipeline.stages import STAGES

    folder = Path(path)
    found = artefact_in(STAGES[stage_name], "adapter", folder) if folder.is_dir() else None
    return str(found) if found is not None else path


def _batch_size(text: str) -> int | str:
    """--batch-size: a whole number, or auto."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or auto") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run_stage_command(name: str, args: argparse.Namespace, updates: dict) -> int:
    """One stage on its own: its recipe section, then the flags, then `--set` overrides; inputs
    an earlier stage would feed default to that stage's own output folder."""
    from platypus.overrides import apply_overrides
    from platypus.pipeline.stage import run_stage
    from platypus.pipeline.stages import STAGES, fed_inputs

    stage = STAGES[name]
    recipe = _recipe(args)
    config = stage.config(recipe)
    config = validated(type(config), config.model_dump() | updates, "command line")
    overrides = list(args.set or [])
    if getattr(args, "trust_remote_code", False):
        overrides.append("compute.trust_remote_code=true")
    if getattr(args, "device", None):
        overrides.append(f"compute.device={args.device}")
    config = apply_overrides(config, overrides)

    def own_folder(name: str):
        producer = STAGES[name]
        upstream = producer.config(recipe)
        return upstream, producer.default_output_dir(upstream)

    fed = fed_inputs(stage, config, own_folder)
    unset = {f: path for f, (_, path) in fed.items() if getattr(config, f) is None}
    config = config.model_copy(update=unset)
    out = stage.default_output_dir(config)
    summary, _ = run_stage(stage, config, out, recipe)
    if os.environ.get("RANK", "0") == "0":  # one report per run, not per process
        print("\n".join(stage.describe(summary, config, out)))
        if getattr(args, "push_to_hub", None):
            from platypus.hub import push_stage

            print(push_stage(name, config, out, args.push_to_hub))
    return 0


def _flags(args: argparse.Namespace, *names: str) -> dict:
    return {k: v for k in names if (v := getattr(args, k)) is not None}


def cmd_data_build(args: argparse.Namespace) -> int:
    updates = _flags(args, "data_root", "output_dir", "seed")
    if args.only:
        wanted = set(_split(args.only))
        sources = _recipe(args).data.build.sources
        unknown = wanted - set(sources)
        if unknown:
            raise PlatypusError(f"--only: unknown sources {sorted(unknown)}")
        updates["sources"] = {
            name: src.model_dump() | {"enabled": name in wanted} for name, src in sources.items()
        }
    return run_stage_command("build", args, updates)


def _mapping(args: argparse.Namespace) -> dict:
    """--format / --text-fields a,b / --messages-field / --id-field: the column mapping of any
    dataset."""
    updates = _flags(args, "format", "messages_field", "id_field")
    if args.text_fields is not None:
        updates["text_fields"] = _split(args.text_fields)
    return updates


def cmd_data_dedup(args: argparse.Namespace) -> int:
    names = ("input", "output_dir", "threshold", "precision", "embed_backend", "batch_size",
             "search", "engine")  # fmt: skip
    updates = _flags(args, *names, "method", "minhash_threshold") | _mapping(args)
    return run_stage_command("dedup", args, updates)


def cmd_data_decontaminate(args: argparse.Namespace) -> int:
    updates = _flags(args, "input", "output_dir", "data_root") | _mapping(args)
    if args.benchmarks is not None:
        updates["benchmarks"] = _split(args.benchmarks)
    if args.mmlu_subjects is not None:
        updates["mmlu_subjects"] = _split(args.mmlu_subjects)
    return run_stage_command("decontaminate", args, updates)


def cmd_eval(args: argparse.Namespace) -> int:
    names = ("model", "adapter", "limit", "sample", "batch_size", "output_dir", "data_root")
    updates = _flags(args, *names, "contamination", "engine", "harness", "num_fewshot")
    if "adapter" in updates:
        updates["adapter"] = _adapter_folder("eval", updates["adapter"])
    if args.tasks is not None:
        updates["tasks"] = _split(args.tasks)
    if args.bf16:
        updates["bf16"] = True
    if args.no_cache:
        updates["cache"] = False
    return run_stage_command("eval", args, updates)


def cmd_train(args: argparse.Namespace) -> int:
    names = ("input", "model", "output_dir", "max_steps", "limit", "micro_batch_size")
    updates = _flags(args, *names, "batching", "seed", "val_size", "prompt_format")
    updates |= _mapping(args)
    if args.no_bf16:
        updates["bf16"] = False
    if args.no_resume:
        updates["resume"] = False
    return run_stage_command("train", args, updates)


def cmd_merge(args: argparse.Namespace) -> int:
    names = ("method", "adapter", "base_model", "target_model", "output_dir", "dtype")
    updates = _flags(args, *names)
    if args.output is not None:  # `platypus merge CONFIG.yml OUT`, as mergekit-yaml takes it
        if args.output_dir and args.output_dir != args.output:
            raise PlatypusError(f"two outputs given: {args.output} and --output-dir "
                                f"{args.output_dir}; name one")  # fmt: skip
        updates["output_dir"] = args.output
    if args.t is not None:
        args.set = [f"parameters.t={args.t}", *(args.set or [])]
    if "adapter" in updates:
        updates["adapter"] = _adapter_folder("merge", updates["adapter"])
    if args.models:
        paths = _split(args.models)
        try:
            weights = [float(w) for w in _split(args.weights)] if args.weights else None
        except ValueError:
            msg = f"--weights {args.weights!r}: numbers separated by commas"
            raise PlatypusError(msg) from None
        if weights is not None and len(weights) != len(paths):
            raise PlatypusError(f"--weights: {len(weights)} values for {len(paths)} models")
        updates["models"] = [{"model": m, "parameters": {} if weights is None else
                              {"weight": weights[i]}} for i, m in enumerate(paths)]  # fmt: skip
    elif args.weights:
        raise PlatypusError("--weights needs --models")
    if args.force:
        updates["force"] = True
    return run_stage_command("merge", args, updates)


def cmd_run(args: argparse.Namespace) -> int:
    from platypus.pipeline.run import Pipeline

    recipe = load_recipe(args.recipe)
    Pipeline(recipe, args.run_dir).run()
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from platypus.chat import run

    return run(args)


def cmd_plan(args: argparse.Namespace) -> int:
    import json

    from platypus.plan import plan_recipe

    plan = plan_recipe(load_recipe(args.recipe), args.hardware)
    print(json.dumps(plan.to_json(), indent=2) if args.json else plan.table())
    return 0


def merge_methods() -> list[str]:
    from platypus.merge.methods import names

    return names()


def task_names() -> str:
    from platypus.tasks import TASKS

    return ",".join(TASKS)


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
    d.add_argument(
        "--embed-backend",
        choices=_choices(DedupConfig, "embed_backend"),
        help="torch (precision fp32, bf16), onnx (fp32, int8: ONNX Runtime) or openvino (fp32)",
    )
    d.add_argument("--batch-size", type=int, help="embedding batch size")
    d.add_argument(
        "--search", choices=_choices(DedupConfig, "search"), help="all pairs, or faiss IVF"
    )
    d.add_argument("--engine", choices=_choices(DedupConfig, "engine"), help="run on Ray Data")
    d.add_argument(
        "--method",
        choices=_choices(DedupConfig, "method"),
        help="near duplicates by embedding cosine (default), MinHash-LSH (lexical, no "
        "embedding), or MinHash-LSH pairs confirmed by cosine",
    )
    d.add_argument(
        "--minhash-threshold", type=float, help="estimated Jaccard for MinHash pairs (default 0.7)"
    )
    d.set_defaults(func=cmd_data_dedup)
    c = data_steps.add_parser("decontaminate", help="flag and remove benchmark leaks")
    c.add_argument("--recipe", help="YAML recipe; its data.decontaminate section is used")
    c.add_argument("--input", help="records to check (default: the dedup output)")
    c.add_argument("--output-dir", help="where to write the clean set, leak table and report")
    c.add_argument("--data-root", help="folder with the benchmark data (default ../shared/data)")
    c.add_argument("--benchmarks", help=f"comma-separated: {task_names()}")
    c.add_argument("--mmlu-subjects", help="comma-separated MMLU subjects (default: all 57)")
    c.set_defaults(func=cmd_data_decontaminate)

    t = stages.add_parser("train", help="LoRA fine-tuning (the Platypus recipe by default)")
    for sub in (d, c, t):  # any dataset: rows of any schema, written back in their own format
        sub.add_argument(
            "--format",
            choices=_choices(TrainConfig, "format"),
            help="the dataset's convention (training detects it when not given): alpaca "
            "(instruction, input, output), prompt_completion, messages ({role, content} lists), "
            "sharegpt (conversations of {from, value}), records (this project's schema)",
        )
        sub.add_argument(
            "--text-fields",
            metavar="A,B",
            help="columns of a dataset of any schema: the prompt, then the response (e.g. "
            "prompt,completion); rows come out unchanged, in the input's format",
        )
        sub.add_argument(
            "--messages-field",
            metavar="COLUMN",
            help="a chat column ({role, content} lists): user turns are the prompt, assistant "
            "turns the response",
        )
        sub.add_argument("--id-field", metavar="COLUMN", help="the rows' ids (default: row index)")

    t.add_argument("--recipe", help="YAML recipe; its train section is used")
    t.add_argument("--input", help="records to train on (default: the decontaminate output)")
    t.add_argument("--model", help="base model folder or hub id (default: packaged SmolLM2)")
    t.add_argument("--output-dir", help="where to write the adapter, metrics and checkpoints")
    t.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    t.add_argument("--limit", type=int, help="train on N rows drawn with the seed")
    t.add_argument("--micro-batch-size", type=int, help="examples per forward pass")
    t.add_argument("--batching", choices=_choices(TrainConfig, "batching"))
    t.add_argument(
        "--prompt-format",
        choices=["auto", "alpaca", "chat_template"],
        help="alpaca (the Platypus template) or the tokenizer's chat_template (default auto: "
        "chat_template for chat data, else alpaca)",
    )
    t.add_argument("--seed", type=int)
    t.add_argument("--no-bf16", action="store_true", help="fp32 compute (default: bf16 autocast)")
    t.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    t.set_defaults(func=cmd_train)

    m = stages.add_parser("merge", help="adapter into base, adapter transplant, model merges")
    m.add_argument("--recipe", help="YAML recipe; its merge section is used")
    m.add_argument("--method", choices=merge_methods())
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

    e = stages.add_parser("eval", help="leaderboard tasks (log-likelihood; GSM8K generated)")
    e.add_argument("--recipe", help="YAML recipe; its eval section is used")
    e.add_argument("--model", help="model folder or hub id (default: packaged SmolLM2)")
    e.add_argument("--adapter", help="PEFT adapter folder applied on top of the model")
    e.add_argument("--tasks", help=f"comma-separated: {task_names()}")
    e.add_argument("--limit", type=int, help="N items of each task (see --sample)")
    e.add_argument(
        "--sample",
        choices=_choices(EvalConfig, "sample"),
        help="which N items: first (default) or "
        "stratified (every MMLU subject in proportion, spread through each file)",
    )
    e.add_argument(
        "--batch-size",
        type=_batch_size,
        metavar="N|auto",
        help="questions per forward pass (default 8); auto: the largest that fits the device's "
        "free memory (recorded in results.json; scores do not depend on it)",
    )
    e.add_argument(
        "--num-fewshot",
        type=int,
        metavar="N",
        help="few-shot examples per item for every task (default: each task's own: ARC 25, "
        "HellaSwag 10, MMLU 5, TruthfulQA 0, Winogrande 5, GSM8K 5)",
    )
    e.add_argument("--data-root", help="folder with the benchmark data (default ../shared/data)")
    e.add_argument("--output-dir", help="where to write results.json and results.md")
    e.add_argument("--contamination", help="leaks.jsonl: split scores into clean/contaminated")
    e.add_argument(
        "--engine",
        choices=_choices(EvalConfig, "engine"),
        help="platypus (default) or lm-eval: the same items through lm-evaluation-harness",
    )
    e.add_argument(
        "--harness",
        choices=_choices(EvalConfig, "harness"),
        help="whose rules: lm-eval-0.4 (default) or leaderboard-v1 (b281b09's few-shot draws, "
        "MMLU as the mean of subjects, the six-task average)",
    )
    e.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on CPU)")
    e.add_argument("--no-cache", action="store_true", help="recompute cached task results")
    e.set_defaults(func=cmd_eval)

    for sub in (b, d, c, t, m, e):
        sub.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override any field of this stage's configuration (YAML value), e.g. "
            "--set threshold=0.85; repeatable",
        )

    for sub, section in ((b, "data.build"), (d, "data.dedup"), (c, "data.decontaminate"),
                         (t, "train"), (m, "merge"), (e, "eval")):  # fmt: skip
        sub.add_argument(
            "recipe_file", nargs="?", metavar="RECIPE",
            help=f"YAML recipe (as --recipe): its {section} section is used; on a command "
            "that reads a dataset, a .jsonl/.json/.parquet file or a folder is the --input",
        )  # fmt: skip
    m.add_argument(
        "output", nargs="?", metavar="OUT",
        help="where to write the merged model (as --output-dir; mergekit-yaml's CONFIG OUT)",
    )  # fmt: skip
    for sub in (d, c, t, m, e):
        sub.add_argument(
            "--device",
            choices=_choices(ComputeSettings, "device"),
            help="where models run (compute.device; default auto: CUDA when present)",
        )
    t.add_argument("--val-size", type=int, help="held-out rows for the validation loss (0: none)")
    for sub in (d, c, t, m, e):
        sub.add_argument(
            "--trust-remote-code",
            action="store_true",
            help="run Python code a model folder ships (its config's auto_map); without it such "
            "a folder is refused (compute.trust_remote_code)",
        )

    for sub in (b, t, m):
        sub.add_argument(
            "--push-to-hub",
            metavar="REPO",
            help="upload the finished output (set, adapter, merged model) to this hub repository",
        )

    p = stages.add_parser("plan", help="memory per device and hours of each stage, before a run")
    p.add_argument("recipe", help="YAML recipe, e.g. recipes/platypus2-13b.yaml")
    p.add_argument(
        "--hardware",
        default="cpu",
        choices=["1xA100-80GB", "4xA100-80GB", "1xH100-80GB", "cpu"],
        help="what to plan for (default cpu: this machine, its speed probed)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable, per stage")
    p.set_defaults(func=cmd_plan)

    r = stages.add_parser(
        "run", help="the whole recipe: data, train, merge, eval, report (finished stages skipped)"
    )
    r.add_argument("recipe", help="YAML recipe, e.g. recipes/quickstart.yaml")
    r.add_argument("--run-dir", help="folder for the stage outputs (default: runs/<name>)")
    r.set_defaults(func=cmd_run)
    for sub in (b, d, c, t, m, e, p, r):  # a bad flag is reported with its command's usage
        sub.set_defaults(parser=sub)

    from platypus.chat import add_arguments

    ch = stages.add_parser("chat", help="try a model as trained: one prompt, a session, a jsonl")
    add_arguments(ch)
    g = stages.add_parser("generate", help="a jsonl of prompts to a jsonl of completions")
    add_arguments(g, batch_only=True)
    for sub in (ch, g):
        sub.set_defaults(func=cmd_chat, parser=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from platypus import quiet

    quiet.install()
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's own usage, not the top level's
        getattr(args, "parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        _data_positional(args)
        return args.func(args)
    except PlatypusError as exc:
        print(f"platypus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("platypus: interrupted", file=sys.stderr)
        return 130
    except (OSError, sqlite3.Error) as exc:
        if not _disk_full(exc):
            raise
        where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
        print(
            f"platypus: error: the disk is full{where}; the stage stopped before replacing "
            "anything, so earlier finished results are as they were",
            file=sys.stderr,
        )
        return 2


def _disk_full(exc: BaseException) -> bool:
    """No space left (or quota exceeded), as the OS or SQLite (the embedding cache) says it."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc).lower()
    return "database or disk is full" in text or "disk i/o error" in text


if __name__ == "__main__":
    sys.exit(main())
