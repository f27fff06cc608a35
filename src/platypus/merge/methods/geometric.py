"""Spherical merges with mergekit 0.1.5's definitions (its nuslerp.py, multislerp.py, karcher.py).

nuslerp: slerp between two models at t = w_2 / (w_1 + w_2) (0.5 when the weights cancel), of
    the tensors or, given a base, of their deltas from it; each tensor as one vector
    (`nuslerp_flatten`, the default), else per row (`nuslerp_row_wise`) or per column.
multislerp: barycentric interpolation of any number of models (or their deltas from a base) on
    the hypersphere: the weighted mean direction, the models' tangent vectors there averaged and
    mapped back, scaled by the weighted mean norm.
karcher: the equally weighted Karcher (Riemannian) mean of the models' directions on the unit
    sphere by fixed-point iteration (`max_iter`, `tol`), scaled by their mean norm. As in
    mergekit a `base_model`, when given, is one more input averaged like the models.

A `base_model` listed among `models` is the base, not a model, as in mergekit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError
from platypus.merge.methods import base as method_base
from platypus.merge.methods.base import (
    Parameter,
    TensorMerge,
    by_chunks,
    minus,
    same_model,
    taken,
    without_base,
    work,
)

if TYPE_CHECKING:
    import torch

    from platypus.merge.config import MergeConfig


def nuslerp(
    t: float,
    v0: torch.Tensor,
    v1: torch.Tensor,
    dim: int = -1,
    eps: float = 1e-8,
    flatten: bool = False,
) -> torch.Tensor:
    """Spherical interpolation of v0 (t=0) and v1 (t=1) along `dim` (each tensor as one vector
    if `flatten`), linear where the two are (anti)parallel: mergekit's `nuslerp`."""
    import torch

    out_shape = v0.shape
    if flatten:
        v0, v1 = v0.reshape(-1), v1.reshape(-1)
    elif dim != -1:
        v0, v1 = v0.transpose(dim, -1), v1.transpose(dim, -1)
    v0_u = v0 / torch.norm(v0, dim=-1, keepdim=True).clamp(min=1e-7)
    v1_u = v1 / torch.norm(v1, dim=-1, keepdim=True).clamp(min=1e-7)
    cos_theta = torch.sum(v0_u * v1_u, dim=-1, keepdim=True).clamp(-1, 1)
    colinear = (1 - cos_theta.square()) <= eps**2
    theta = torch.acos(torch.where(colinear, 0, cos_theta))
    sin_theta = torch.sin(theta)
    result = (torch.sin((1 - t) * theta) * v0 + torch.sin(t * theta) * v1) / sin_theta
    result = torch.where(colinear, (1 - t) * v0 + t * v1, result)
    if dim != -1 and not flatten:
        result = result.transpose(dim, -1)
    return result.reshape(out_shape)


def nuslerp_merge(
    base: torch.Tensor | None,
    tensors: list,
    weights: Sequence[float],
    row_wise: bool = False,
    flatten: bool = True,
    consume: bool = False,
) -> torch.Tensor:
    """Two models at t = w_2 / (w_1 + w_2), of their deltas from `base` where one is given.
    `consume`: `tensors` is the streaming loop's own list (each input becomes its delta in its
    own memory). A whole-tensor slerp (`flatten`) of a large tensor runs over slices
    (`nuslerp_flat`)."""
    b = work(base) if base is not None else None
    pair = []
    for i in range(2):
        v, own = taken(tensors, i, consume)
        pair.append(v if b is None else minus(v, b, own))
        del v
    total = sum(weights)
    t = 0.5 if abs(total) < 1e-6 else weights[1] / total
    if flatten and pair[0].numel() > method_base.CHUNK:
        merged = nuslerp_flat(t, *pair)
    else:
        merged = nuslerp(t, *pair, dim=0 if row_wise else -1, flatten=flatten)
    return merged if b is None else merged.add_(b)


def nuslerp_flat(t: float, v0: torch.Tensor, v1: torch.Tensor, eps: float = 1e-8):
    """`nuslerp(t, v0, v1, flatten=True)` over slices: the norms and the cosine are the same
    sums accumulated slice by slice (equal within float32 rounding), and the interpolation,
    entry by entry, runs in `by_chunks`; the memory is the two deltas and the result."""
    import torch

    n0 = torch.norm(v0).clamp(min=1e-7)
    n1 = torch.norm(v1).clamp(min=1e-7)
    a, b = v0.reshape(-1), v1.reshape(-1)
    step = method_base.CHUNK
    cos_theta = sum(
        ((a[s : s + step] / n0) * (b[s : s + step] / n1)).sum() for s in range(0, a.numel(), step)
    ).clamp(-1, 1)
    if (1 - cos_theta.square()) <= eps**2:  # (anti)parallel: linear
        return by_chunks(lambda x, y: (1 - t) * x + t * y, v0, v1)
    theta = torch.acos(cos_theta)
    sin_theta = torch.sin(theta)
    w0, w1 = torch.sin((1 - t) * theta), torch.sin(t * theta)
    return by_chunks(lambda x, y: (w0 * x + w1 * y) / sin_theta, v0, v1)


def multislerp(
    base: torch.Tensor | None,
    tensors: list,
    weights: Sequence[float],
    normalize_weights: bool = True,
    eps: float = 1e-8,
    name: str = "",
    consume: bool = False,
) -> torch.Tensor:
    """Barycentric interpolation on the hypersphere (of the deltas from `base` if given):
    mergekit's `multislerp`, its ValueError a one-line PlatypusError. The models are kept
    apart and the entry-by-entry steps run slice by slice (`by_chunks`), so a large tensor
    holds its inputs, the mean and the tangent, not five stacks of the models; the norms and
    dot products over the whole tensor are the same sums accumulated per model and per slice
    (equal to mergekit's within float32 rounding). `consume`: `tensors` is the streaming
    loop's own list (each entry freed once read)."""
    import torch

    if len(tensors) == 1:
        return work(tensors[0])
    b = work(base) if base is not None else None
    shape = tensors[0].shape
    flats = []
    for i in range(len(tensors)):
        t, own = taken(tensors, i, consume)
        if b is not None:
            t = minus(t, b, own)
        flats.append(t.reshape(-1))
        del t
    w = torch.tensor(list(weights), dtype=flats[0].dtype)
    if normalize_weights:
        w = w / w.sum()
    norms = torch.stack([torch.norm(f) for f in flats]).reshape(-1, 1)
    ws = w.view(-1, 1)

    def units(parts) -> torch.Tensor:
        return torch.stack(parts) / (norms + eps)

    mean = by_chunks(lambda *parts: (units(parts) * ws).sum(0), *flats)
    mean_norm = torch.norm(mean)
    if mean_norm < eps:
        if len(flats) == 2:  # mergekit falls back to the weighted sum
            res = (flats[0] * w[0] + flats[1] * w[1]).view(shape)
            return res + b if b is not None else res
        raise PlatypusError(
            f"multislerp: {name or 'a tensor'}: the weighted sum of the models' directions is "
            "zero (opposite models with balancing weights); use other weights"
        )
    mean = mean.div_(mean_norm)
    step = method_base.CHUNK
    dots = torch.stack([
        sum((f[s : s + step] / (norms[i] + eps) * mean[s : s + step]).sum()
            for s in range(0, f.numel(), step))
        for i, f in enumerate(flats)
    ]).reshape(-1, 1)  # fmt: skip
    tangent = by_chunks(lambda m, *parts: ((units(parts) - dots * m) * ws).sum(0), mean, *flats)
    tangent_norm = torch.norm(tangent) + eps
    result = mean.mul_(torch.cos(tangent_norm)).add_(
        tangent.mul_(torch.sin(tangent_norm) / tangent_norm)
    )
    del tangent
    result = result.mul_((norms.squeeze(-1) * w).sum()).view(shape)
    return result.add_(b) if b is not None else result


def karcher(
    tensors: Sequence[torch.Tensor],
    alphas: Sequence[float] | None = None,
    max_iter: int = 10,
    tol: float = 1e-5,
) -> torch.Tensor:
    """The weighted (default: equal) Karcher mean of the tensors' directions on the unit
    sphere, scaled by their weighted norm: mergekit's `karcher_merge_tensors`, in float32."""
    import torch

    tensors = [work(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    if alphas is None:
        alphas = [1.0 / len(tensors)] * len(tensors)
    norms = [torch.linalg.vector_norm(t) for t in tensors]
    units = [
        torch.zeros_like(t) if n.item() == 0.0 else t / n
        for t, n in zip(tensors, norms, strict=True)
    ]
    valid = [i for i, n in enumerate(norms) if n.item() > tol]
    if not valid:
        return sum(t * 0 for t in tensors)
    alpha_sum = sum(alphas[i] for i in valid)
    weights = [alphas[i] / alpha_sum for i in valid]
    points = [units[i] for i in valid]

    mean = torch.zeros_like(points[0])
    for alpha, unit in zip(weights, points, strict=True):
        mean += alpha * unit
    mean_norm = torch.linalg.vector_norm(mean)
    mean = points[0].clone() if mean_norm.item() < tol else mean / mean_norm
    for _ in range(max_iter):
        tangent = torch.zeros_like(mean)
        for alpha, unit in zip(weights, points, strict=True):
            dot = torch.clamp(torch.dot(mean.flatten(), unit.flatten()), -1.0, 1.0)
            theta = torch.arccos(dot)
            if theta.item() < tol:
                continue
            # entry by entry, slice by slice: the same bits without whole-tensor temporaries
            step = alpha * (theta / torch.sin(theta))
            tangent = by_chunks(
                lambda g, u, m, s=step, d=dot: g + s * (u - d * m), tangent, unit, mean
            )
        tangent_norm = torch.linalg.vector_norm(tangent)
        if tangent_norm.item() < tol:
            break
        cos, sin = torch.cos(tangent_norm), torch.sin(tangent_norm)
        mean = by_chunks(
            lambda m, g, c=cos, s=sin, n=tangent_norm: c * m + s * (g / n), mean, tangent
        )
        unit_norm = torch.linalg.vector_norm(mean)
        if unit_norm.item() > tol:
            mean = mean / unit_norm
    scale = sum(alpha * norm for alpha, norm in zip(alphas, norms, strict=True))
    return scale * mean


class OptionalBase(TensorMerge):
    """A merge of `models` that also reads `base_model` when one is given (mergekit's optional
    base): merge_tensor's `base` is None without one. A base listed in `models` is the base."""

    optional_base = True

    def validate(self, config: MergeConfig) -> None:
        super().validate(without_base(config))

    def run(self, config: MergeConfig, out: Path) -> tuple[Path, dict]:
        return super().run(without_base(config), out)


class NuSlerp(OptionalBase):
    name = "nuslerp"
    summary = "spherical interpolation of two models (or of their deltas from a base)"
    min_models = max_models = 2
    parameters = (
        Parameter("weight", 1.0, per_model=True, help="t = w_2 / (w_1 + w_2)"),
        Parameter("nuslerp_row_wise", False, help="per row, not per column (if not flattened)"),
        Parameter("nuslerp_flatten", True, help="each tensor as one vector"),
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return nuslerp_merge(
            base,
            tensors,
            settings["weight"],
            row_wise=settings["nuslerp_row_wise"],
            flatten=settings["nuslerp_flatten"],
            consume=True,  # the streaming loop's own list: each input freed once read
        )


class MultiSlerp(OptionalBase):
    name = "multislerp"
    summary = "barycentric interpolation of models (or of their deltas from a base) on a sphere"
    min_models = 1
    parameters = (
        Parameter("weight", 1.0, per_model=True, help="the model's share"),
        Parameter("normalize_weights", True, help="divide the weights by their sum"),
        Parameter("eps", 1e-8, help="numerical floor"),
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return multislerp(
            base,
            tensors,
            settings["weight"],
            normalize_weights=settings["normalize_weights"],
            eps=settings["eps"],
            name=name,
            consume=True,  # the streaming loop's own list: each input freed once read
        )


class Karcher(TensorMerge):
    name = "karcher"
    summary = "equally weighted Karcher mean of the models' directions, at their mean norm"
    min_models = 1
    parameters = (
        Parameter("max_iter", 10, help="fixed-point iterations at most"),
        Parameter("tol", 1e-5, help="stop once the tangent step is below this"),
    )

    def run(self, config: MergeConfig, out: Path) -> tuple[Path, dict]:
        # mergekit adds a base_model not among `models` as one more input (after them), and
        # karcher averages every input alike.
        from platypus.merge.config import MergeInput

        base = config.base_model
        if base is not None and not any(same_model(m.model, base) for m in config.models):
            config = config.model_copy(update={"models": [*config.models, MergeInput(model=base)]})
        return super().run(config, out)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        max_iter = settings["max_iter"]
        if isinstance(max_iter, bool) or not isinstance(max_iter, int):
            raise PlatypusError(f"karcher: max_iter is a whole number, got {max_iter!r}")
        return karcher(tensors, max_iter=max_iter, tol=settings["tol"])


NUSLERP = NuSlerp()
MULTISLERP = MultiSlerp()
KARCHER = Karcher()
