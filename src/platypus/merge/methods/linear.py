"""linear: sum(w_i * T_i) / sum(w_i), normalised by default (mergekit's `linear`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from platypus.merge.methods.base import Parameter, TensorMerge, work

if TYPE_CHECKING:
    import torch


def linear(tensors: Sequence[torch.Tensor], weights: Sequence[float], normalize: bool = True):
    import torch

    out = torch.zeros_like(work(tensors[0]))
    for t, w in zip(tensors, weights, strict=True):
        out.add_(work(t), alpha=w)
    if normalize:
        out.div_(sum(weights))
    return out


class Linear(TensorMerge):
    name = "linear"
    summary = "weighted average of the models"
    parameters = (
        Parameter("weight", 1.0, per_model=True, help="the model's share"),
        Parameter("normalize", True, help="divide by the sum of the weights"),
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return linear(tensors, settings["weight"], settings["normalize"])


LINEAR = Linear()
