"""What the stages' command-line flags share: allowed values read from the config models, comma
lists, the column-mapping flags of commands that read datasets. The stages declare their own
flags (`Stage.add_flags`); `platypus.cli` assembles the commands from the registry."""

from __future__ import annotations

import argparse
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from platypus.settings import ColumnMapping


def choices(model: type[BaseModel], field: str) -> list[str]:
    """A config field's allowed values, so the CLI offers exactly what a recipe accepts."""
    annotation = model.model_fields[field].annotation
    options = [annotation] if get_origin(annotation) is Literal else get_args(annotation)
    return next(list(get_args(a)) for a in options if get_origin(a) is Literal)


def split(text: str) -> list[str]:
    """A comma-separated flag value as its parts."""
    return [part.strip() for part in text.split(",") if part.strip()]


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The named flags that were given, as config updates."""
    return {k: v for k in names if (v := getattr(args, k)) is not None}


def batch_size(text: str) -> int | str:
    """--batch-size: a whole number, or auto."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number or auto") from None


def add_mapping_flags(parser: argparse.ArgumentParser) -> None:
    """Any dataset: rows of any schema, written back in their own format."""
    parser.add_argument(
        "--format",
        choices=choices(ColumnMapping, "format"),
        help="the dataset's convention (training detects it when not given): alpaca "
        "(instruction, input, output), prompt_completion, messages ({role, content} lists), "
        "sharegpt (conversations of {from, value}), records (this project's schema)",
    )
    parser.add_argument(
        "--text-fields",
        metavar="A,B",
        help="columns of a dataset of any schema: the prompt, then the response (e.g. "
        "prompt,completion); rows come out unchanged, in the input's format",
    )
    parser.add_argument(
        "--messages-field",
        metavar="COLUMN",
        help="a chat column ({role, content} lists): user turns are the prompt, assistant "
        "turns the response",
    )
    parser.add_argument("--id-field", metavar="COLUMN", help="the rows' ids (default: row index)")


def mapping_updates(args: argparse.Namespace) -> dict:
    """--format / --text-fields a,b / --messages-field / --id-field: the column mapping of any
    dataset."""
    updates = given(args, "format", "messages_field", "id_field")
    if args.text_fields is not None:
        updates["text_fields"] = split(args.text_fields)
    return updates
