"""Merge parameters as mergekit reads them: a `parameters:` mapping on the merge and on each
model, whose values are resolved per tensor.

A value (a "setting") is one of
- a scalar (number, bool or string): that value everywhere;
- a list of numbers (a gradient): interpolated over the layers, the first value at layer 0 and
  the last at the last layer (a tensor outside the layers, embeddings and the final norm and
  head, takes the first); a list of non-numbers picks the value at that position;
- a filter list `[{filter: self_attn, value: ...}, ..., {value: ...}]` (or one such mapping):
  the first entry whose filter is a substring of the tensor's name (or that has no filter, or
  `*`) gives the setting, itself a scalar or a gradient.

This mirrors mergekit 0.1.5 (`mergekit.config.evaluate_setting`, its planner's layer fraction
`t = layer / (layers - 1)`), so one config merges the same under both. Where a per-model
parameter is not set on the model, the merge's own `parameters` give it, then the method's
default. Importing this module does not import torch.
"""

from __future__ import annotations

import re
from typing import Any

Scalar = (int, float, bool, str)
_LAYER = re.compile(r"\.layers\.(\d+)\.")


def check_setting(where: str, value: Any) -> Any:
    """`value` if it is a setting mergekit's schema accepts; else a ValueError (validation
    reports it with the field's place)."""
    if isinstance(value, Scalar):
        return value
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, Scalar) for v in value):
            return value
        if all(isinstance(v, dict) for v in value):
            for n, cond in enumerate(value):
                unknown = set(cond) - {"filter", "value"}
                if unknown or "value" not in cond:
                    raise ValueError(f"{where}[{n}]: a filter entry is {{filter, value}}, "
                                        f"got keys {sorted(cond)}")  # fmt: skip
                if cond.get("filter") is not None and not isinstance(cond["filter"], str):
                    raise ValueError(f"{where}[{n}].filter: a tensor-name substring")
                inner = cond["value"]
                if isinstance(inner, dict) or (
                    isinstance(inner, list) and not all(isinstance(v, Scalar) for v in inner)
                ):
                    raise ValueError(f"{where}[{n}].value: a value or a gradient list")  # fmt: skip
            return value
    raise ValueError(
        f"{where}: a value, a gradient list of values, or a list of {{filter, value}} entries; "
        f"got {value!r}"[:300]
    )


def layer_fraction(tensor_name: str, layers: int) -> float:
    """Where a tensor lies in the stack, as mergekit's gradients read it: layer i of n at
    i / (n - 1) (1 when there is one layer); tensors outside the layers at 0."""
    match = _LAYER.search(tensor_name)
    if match is None or layers < 1:
        return 0.0
    return int(match.group(1)) / (layers - 1) if layers > 1 else 1.0


def resolve(setting: Any, tensor_name: str, t: float) -> Any:
    """The setting's value for the tensor `tensor_name` at layer fraction `t`."""
    if isinstance(setting, dict):
        setting = [setting]
    if isinstance(setting, Scalar) or setting is None:
        return setting
    if not setting:
        return None
    if all(isinstance(e, Scalar) for e in setting):
        numeric = all(isinstance(e, int | float) and not isinstance(e, bool) for e in setting)
        if not numeric:
            return setting[int(t * (len(setting) - 1))]
        scaled = t * (len(setting) - 1)
        i0 = int(scaled)
        i1 = min(len(setting) - 1, i0 + 1)
        frac = scaled - i0
        return (1 - frac) * setting[i0] + frac * setting[i1]
    for cond in setting:
        pattern = cond.get("filter")
        if pattern is None or pattern == "*" or (tensor_name and pattern in tensor_name):
            return resolve(cond["value"], tensor_name, t)
    return None
