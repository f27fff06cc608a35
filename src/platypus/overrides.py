"""Generic `--set key.path=value` overrides on a configuration, so that every field of a stage can
be changed from the command line without a flag of its own.

Values are read as YAML: `--set threshold=0.85`, `--set lora.r=8`, `--set tasks=[mmlu,hellaswag]`,
`--set models.0.weight=0.3`, `--set judge_model=null`. The result is validated like a recipe:
an unknown key or a wrong type is one line naming the key.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from platypus.errors import PlatypusError
from platypus.settings import validated
from platypus.yaml_loader import RecipeLoader, RecipeYAMLError


def parse_assignment(text: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    path = [p for p in key.strip().split(".") if p]
    if not sep or not path:
        raise PlatypusError(f"--set {text!r}: expected key=value, e.g. --set threshold=0.85")
    try:
        # the recipe's own loader: its bounds on aliases and depth hold for --set values too
        value = yaml.load(raw, Loader=RecipeLoader) if raw.strip() else ""
    except RecipeYAMLError as exc:
        raise PlatypusError(f"--set {key.strip()[:80]}: {exc}") from None
    except yaml.YAMLError:
        value = raw  # not YAML: take the text as it is
    return path, value


def _assign(node: Any, path: list[str], value: Any, where: str) -> None:
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        try:
            index = int(head)
            node[index]  # noqa: B018 (bounds check)
        except (ValueError, IndexError):
            msg = f"--set {where}: {head!r} is not an index of a list of {len(node)}"
            raise PlatypusError(msg) from None
        if rest:
            _assign(node[index], rest, value, where)
        else:
            node[index] = value
        return
    if not isinstance(node, dict):
        raise PlatypusError(f"--set {where}: {head!r} is below a value that is not a section")
    if rest:
        child = node.get(head)
        if child is None:
            child = node[head] = {}
        _assign(child, rest, value, where)
    else:
        node[head] = value


def apply_overrides(config: BaseModel, assignments: list[str]) -> BaseModel:
    """`config` with each `key.path=value` applied, validated as a whole."""
    if not assignments:
        return config
    data = config.model_dump()
    for text in assignments:
        path, value = parse_assignment(text)
        _assign(data, path, value, text.partition("=")[0])
    return validated(type(config), data, "--set")
