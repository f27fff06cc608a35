"""slerp: spherical interpolation between the base (t=0) and one other model (t=1), each tensor
taken as one vector, linear where the two are (anti)parallel (mergekit's `slerp`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from platypus.merge.methods.base import Parameter, TensorMerge, by_chunks, work

if TYPE_CHECKING:
    import torch


def slerp(
    base: torch.Tensor,
    other: torch.Tensor,
    t: float,
    dot_threshold: float = 0.9995,
    eps: float = 1e-8,
) -> torch.Tensor:
    import torch

    a, b = work(base), work(other)
    shape = a.shape
    a, b = a.reshape(1, -1), b.reshape(1, -1)
    if a.shape[1] == 0:
        return ((1 - t) * a + t * b).reshape(shape)
    norm_a = torch.linalg.vector_norm(a, dim=1, keepdim=True)
    norm_b = torch.linalg.vector_norm(b, dim=1, keepdim=True)
    norm_a = torch.where(norm_a > eps, norm_a, 1).reshape(())
    norm_b = torch.where(norm_b > eps, norm_b, 1).reshape(())
    # The products of the unit vectors' entries into one tensor slice by slice (no whole-tensor
    # temporaries; the same bits), then summed whole, as mergekit sums them.
    products = by_chunks(lambda x, y: (x / norm_a) * (y / norm_b), a, b)
    dot = products.sum(dim=1, keepdim=True).clamp(-1, 1)
    del products
    parallel = dot.abs() > dot_threshold
    theta = torch.acos(torch.where(parallel, 0, dot))
    sin_theta = torch.sin(theta)
    coef_a = torch.where(parallel, 1 - t, torch.sin((1 - t) * theta) / sin_theta).reshape(())
    coef_b = torch.where(parallel, t, torch.sin(t * theta) / sin_theta).reshape(())
    return by_chunks(lambda x, y: coef_a * x + coef_b * y, a, b).reshape(shape)


class Slerp(TensorMerge):
    name = "slerp"
    summary = "spherical interpolation between the base and one other model"
    needs_base = True
    min_models = max_models = 1
    # mergekit requires t; 0.5 (halfway) is platypus' default.
    parameters = (Parameter("t", 0.5, help="0: the base, 1: the other model"),)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return slerp(base, tensors[0], settings["t"])


SLERP = Slerp()
