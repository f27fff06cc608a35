"""`platypus`: one command, a subcommand per stage of the pipeline."""

from __future__ import annotations

import argparse
import errno
import os
import sqlite3
import sys

from platypus.cli_flags import choices
from platypus.config import Recipe, load_recipe
from platypus.errors import PlatypusError
from platypus.settings import ComputeSettings, validated
from platypus.version import __version__


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


def run_stage_command(name: str, args: argparse.Namespace) -> int:
    """One stage on its own: its recipe section, then its flags, then `--set` overrides; inputs
    an earlier stage would feed default to that stage's own output folder."""
    from platypus.cli_flags import given, mapping_updates
    from platypus.overrides import apply_overrides
    from platypus.pipeline.stage import run_stage
    from platypus.pipeline.stages import STAGES, fed_inputs

    stage = STAGES[name]
    recipe = _recipe(args)
    config = stage.config(recipe)
    updates = given(args, "output_dir", *(f for f in stage.reads if hasattr(args, f)))
    if stage.reads_datasets:
        updates |= mapping_updates(args)
    updates |= stage.flag_updates(args, config)
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


def cmd_run(args: argparse.Namespace) -> int:
    from platypus.pipeline.run import Pipeline

    Pipeline(_recipe_with_overrides(args), args.run_dir).run()
    return 0


def _recipe_with_overrides(args: argparse.Namespace) -> Recipe:
    """The recipe named on the command line with its `--set` overrides (`train.lora.r=8`)."""
    from platypus.overrides import apply_overrides

    return apply_overrides(load_recipe(args.recipe), list(args.set or []))


def cmd_chat(args: argparse.Namespace) -> int:
    from platypus.chat import run

    return run(args)


def cmd_plan(args: argparse.Namespace) -> int:
    import json

    from platypus.plan import plan_recipe

    plan = plan_recipe(_recipe_with_overrides(args), args.hardware)
    print(json.dumps(plan.to_json(), indent=2) if args.json else plan.table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from platypus.pipeline.stages import STAGES

    parser = argparse.ArgumentParser(prog="platypus", description=__doc__)
    parser.add_argument("--version", action="version", version=f"platypus {__version__}")
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    groups: dict[str, argparse._SubParsersAction] = {}
    for stage in STAGES.values():
        if stage.command is None:
            continue
        *group, word = stage.command
        where = stages
        if group:  # `platypus data build`: the data stages share one group
            if group[0] not in groups:
                sub = stages.add_parser(group[0], help=GROUPS.get(group[0]))
                groups[group[0]] = sub.add_subparsers(dest="step", required=True, metavar="STEP")
            where = groups[group[0]]
        add_stage_command(where.add_parser(word, help=stage.help), stage)

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
    for sub in (p, r):
        sub.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override any field of the recipe (YAML value), e.g. --set train.lora.r=8 or "
            "--set data.dedup.threshold=0.85; repeatable",
        )
    r.set_defaults(func=cmd_run)
    for sub in (p, r):  # a bad flag is reported with its command's usage
        sub.set_defaults(parser=sub)

    from platypus.chat import add_arguments

    ch = stages.add_parser("chat", help="try a model as trained: one prompt, a session, a jsonl")
    add_arguments(ch)
    g = stages.add_parser("generate", help="a jsonl of prompts to a jsonl of completions")
    add_arguments(g, batch_only=True)
    for sub in (ch, g):
        sub.set_defaults(func=cmd_chat, parser=sub)
    return parser


GROUPS = {"data": "build, dedup and decontaminate the instruction set"}


def add_stage_command(sub: argparse.ArgumentParser, stage) -> None:
    """A stage's command: a recipe (positionally or --recipe), where its inputs and outputs are,
    the stage's own flags, --set; a model-loading stage's device flags; --push-to-hub where the
    stage declares what it pushes."""
    from platypus.cli_flags import add_mapping_flags

    sub.add_argument(
        "recipe_file", nargs="?", metavar="RECIPE",
        help=f"YAML recipe (as --recipe): its {stage.section} section is used; on a command "
        "that reads a dataset, a .jsonl/.json/.parquet file or a folder is the --input",
    )  # fmt: skip
    sub.add_argument("--recipe", help=f"YAML recipe; its {stage.section} section is used")
    sub.add_argument("--output-dir", help=f"where to write its {', '.join(stage.artefacts)}")
    stage.add_flags(sub)
    for field, ref in stage.reads.items():  # unless the stage's own flags name it already
        flag = f"--{field.replace('_', '-')}"
        if flag not in sub._option_string_actions:
            sub.add_argument(flag, help=f"what to read (default: the {ref.split('.')[0]} "
                             "stage's output)")  # fmt: skip
    if stage.reads_datasets:
        add_mapping_flags(sub)
    if stage.loads_models:
        sub.add_argument(
            "--device",
            choices=choices(ComputeSettings, "device"),
            help="where models run (compute.device; default auto: CUDA when present)",
        )
        sub.add_argument(
            "--trust-remote-code",
            action="store_true",
            help="run Python code a model folder ships (its config's auto_map); without it such "
            "a folder is refused (compute.trust_remote_code)",
        )
    if stage.pushed is not None:
        sub.add_argument(
            "--push-to-hub",
            metavar="REPO",
            help=f"upload the finished {stage.pushed[0]} to this hub repository",
        )
    sub.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override any field of this stage's configuration (YAML value), e.g. "
        "--set threshold=0.85; repeatable",
    )
    sub.set_defaults(func=lambda args: run_stage_command(stage.name, args), parser=sub)


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
