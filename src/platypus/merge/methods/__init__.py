"""Merge methods by name, in the style of mergekit's registry.

A method is an object (`MergeMethod`) that names itself, declares the inputs it takes
(`needs_base`, `uses_adapter`, `min_models`/`max_models`) and the parameters it reads with their
defaults (`parameters`), checks a config (`validate`) and writes the merge (`run`). `merge()`,
the config's `method` field and the CLI's `--method` all read `METHODS`, so a new method is a
module defining it plus one line below. Importing this package does not import torch.
"""

from __future__ import annotations

from platypus.errors import PlatypusError
from platypus.merge.methods import (
    adapter,
    delta,
    extract,
    geometric,
    linear,
    model_stock,
    nearswap,
    passthrough,
    slerp,
    task_arithmetic,
)
from platypus.merge.methods.base import MergeMethod, Parameter, TensorMerge


def _registry(*methods: MergeMethod) -> dict[str, MergeMethod]:
    registry: dict[str, MergeMethod] = {}
    for m in methods:
        if m.name in registry:
            raise ValueError(f"merge method {m.name!r} is registered twice")
        registry[m.name] = m
    return registry


METHODS: dict[str, MergeMethod] = _registry(
    adapter.ADAPTER,
    adapter.TRANSPLANT,
    linear.LINEAR,
    slerp.SLERP,
    *task_arithmetic.FAMILY,
    model_stock.MODEL_STOCK,
    extract.EXTRACT_LORA,
    *delta.METHODS,
    geometric.NUSLERP,
    geometric.MULTISLERP,
    geometric.KARCHER,
    nearswap.NEARSWAP,
    passthrough.PASSTHROUGH,
)


def names() -> list[str]:
    """The registered names, sorted."""
    return sorted(METHODS)


def unknown_method(name: str) -> str:
    return f"unknown merge method {name!r}; registered: {', '.join(names())}"


def get(name: str) -> MergeMethod:
    """The method called `name`; a one-line PlatypusError naming the registered ones if none."""
    try:
        return METHODS[name]
    except KeyError:
        raise PlatypusError(unknown_method(name)) from None


__all__ = ["METHODS", "MergeMethod", "Parameter", "TensorMerge", "get", "names", "unknown_method"]
