"""Per-tensor merge methods, with mergekit's definitions (mergekit 0.1.5) so results agree.

All arithmetic runs in float32 (float64 inputs stay float64); the caller casts the result.
linear: sum(w_i * T_i) / sum(w_i) (normalised by default).
slerp: spherical interpolation between the base (t=0) and the other model (t=1), each tensor
    taken as one vector, linear where the two are (anti)parallel.
task_arithmetic: base + lambda * sum(w_i * (T_i - base)).
ties: deltas trimmed to the top `density` fraction by magnitude, weighted, a sign elected per
    entry by the sum, only deltas agreeing with it summed and divided by their weights.
dare_linear / dare_ties: deltas dropped at random with keep-probability `density` and rescaled
    to keep their L1 norm, then summed (linear) or sign-elected (ties). The randomness is a
    generator seeded from (seed, tensor name): reproducible and independent of tensor order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

METHODS = ("linear", "slerp", "task_arithmetic", "ties", "dare_linear", "dare_ties")
NEEDS_BASE = {"slerp", "task_arithmetic", "ties", "dare_linear", "dare_ties"}
# (sparsification, consensus, normalize default, rescale default) as mergekit registers them.
TASK_ARITHMETIC = {
    "task_arithmetic": (None, False, False, False),
    "ties": ("magnitude", True, True, False),
    "dare_linear": ("random", False, False, True),
    "dare_ties": ("random", True, False, True),
}


def _work(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.float64 if t.dtype == torch.float64 else torch.float32)


def linear(tensors: Sequence[torch.Tensor], weights: Sequence[float], normalize: bool = True):
    out = torch.zeros_like(_work(tensors[0]))
    for t, w in zip(tensors, weights, strict=True):
        out.add_(_work(t), alpha=w)
    if normalize:
        out.div_(sum(weights))
    return out


def slerp(
    base: torch.Tensor,
    other: torch.Tensor,
    t: float,
    dot_threshold: float = 0.9995,
    eps: float = 1e-8,
) -> torch.Tensor:
    a, b = _work(base), _work(other)
    shape = a.shape
    a, b = a.reshape(1, -1), b.reshape(1, -1)
    if a.shape[1] == 0:
        return ((1 - t) * a + t * b).reshape(shape)
    norm_a = torch.linalg.vector_norm(a, dim=1, keepdim=True)
    norm_b = torch.linalg.vector_norm(b, dim=1, keepdim=True)
    norm_a = torch.where(norm_a > eps, norm_a, 1)
    norm_b = torch.where(norm_b > eps, norm_b, 1)
    dot = ((a / norm_a) * (b / norm_b)).sum(dim=1, keepdim=True).clamp(-1, 1)
    parallel = dot.abs() > dot_threshold
    theta = torch.acos(torch.where(parallel, 0, dot))
    sin_theta = torch.sin(theta)
    coef_a = torch.where(parallel, 1 - t, torch.sin((1 - t) * theta) / sin_theta)
    coef_b = torch.where(parallel, t, torch.sin(t * theta) / sin_theta)
    return (coef_a * a + coef_b * b).reshape(shape)


def magnitude_mask(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the `density` fraction of entries largest in magnitude (at least one)."""
    k = max(1, int(density * delta.numel()))
    mask = torch.zeros(delta.numel(), dtype=delta.dtype)
    # A full sort, as mergekit does: which of several equal magnitudes at the cut survive is
    # the sort's order, so a selection algorithm would disagree with it on ties.
    mask[torch.argsort(delta.abs().reshape(-1).float(), descending=True)[:k]] = 1
    return mask.reshape(delta.shape)


def random_mask(shape, density: float, seed: int, name: str, index: int) -> torch.Tensor:
    digest = hashlib.sha256(f"{seed}/{name}/{index}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    return torch.bernoulli(torch.full(shape, density, dtype=torch.float32), generator=generator)


def _l1_rescaled(delta: torch.Tensor, mask: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    masked = delta * mask
    before, after = delta.abs().sum(), masked.abs().sum()
    if before < eps or after < eps:
        return masked
    return masked * (before / after)


def task_arithmetic(
    method: str,
    base: torch.Tensor,
    tensors: Sequence[torch.Tensor],
    weights: Sequence[float],
    densities: Sequence[float],
    *,
    normalize: bool | None = None,
    rescale: bool | None = None,
    scale: float = 1.0,
    seed: int = 0,
    name: str = "",
    masks: Sequence[torch.Tensor] | None = None,
) -> torch.Tensor:
    """task_arithmetic, ties, dare_linear, dare_ties. `masks` replaces the random masks (tests
    replay another tool's draws through it)."""
    sparsify, consensus, default_normalize, default_rescale = TASK_ARITHMETIC[method]
    normalize = default_normalize if normalize is None else normalize
    rescale = default_rescale if rescale is None else rescale
    b = _work(base)
    deltas = []
    for i, (t, density) in enumerate(zip(tensors, densities, strict=True)):
        delta = _work(t) - b
        if sparsify and density < 1:
            if density <= 0:
                mask = torch.zeros_like(delta)
            elif sparsify == "magnitude":
                mask = magnitude_mask(delta, density)
            else:
                mask = (
                    masks[i]
                    if masks is not None
                    else random_mask(delta.shape, density, seed, name, i)
                )
            delta = _l1_rescaled(delta, mask.to(delta.dtype)) if rescale else delta * mask
        deltas.append(delta)
    stacked = torch.stack(deltas)
    w = torch.tensor(list(weights), dtype=stacked.dtype).reshape(-1, *([1] * b.dim()))
    stacked = stacked * w
    if consensus:
        sign = stacked.sign()
        majority = (stacked.sum(dim=0) >= 0).to(stacked.dtype) * 2 - 1
        agree = (sign == majority).to(stacked.dtype)
        mixed = (stacked * agree).sum(dim=0)
        divisor = (w * agree).sum(dim=0)
        divisor[divisor == 0] = 1
    else:
        mixed = stacked.sum(dim=0)
        divisor = w.sum(dim=0).expand_as(mixed).clone()
        divisor[divisor.abs() < 1e-8] = 1
    if normalize:
        mixed = mixed / divisor
    if scale != 1:
        mixed = mixed * scale
    return b + mixed


def finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all()) if t.is_floating_point() else True
