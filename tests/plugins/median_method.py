"""A merge method: the element-wise median of the models' tensors (the middle value where the
models disagree, robust to one outlier among three)."""

from __future__ import annotations

from typing import Any

from platypus.merge.methods.base import TensorMerge, work


class Median(TensorMerge):
    name = "median"
    summary = "element-wise median of the models"
    min_models = 2

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        import torch

        return torch.stack([work(t) for t in tensors]).median(dim=0).values


MEDIAN = Median()
