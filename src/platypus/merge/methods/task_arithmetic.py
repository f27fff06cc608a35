"""The task-arithmetic family, with mergekit's definitions (its GeneralizedTaskArithmeticMerge).

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
from typing import TYPE_CHECKING, Any, Literal

from platypus.merge.methods.base import Parameter, TensorMerge, work

if TYPE_CHECKING:
    import torch


class TaskArithmetic(TensorMerge):
    """One member of the family: how deltas are sparsified, whether signs are elected, and the
    defaults of `normalize` and `rescale` (mergekit registers the same four)."""

    needs_base = True

    def __init__(
        self,
        name: str,
        summary: str,
        sparsify: Literal["magnitude", "random"] | None,
        consensus: bool,
        normalize: bool,
        rescale: bool,
    ):
        self.name = name
        self.summary = summary
        self.sparsify = sparsify
        self.consensus = consensus
        params = [
            Parameter("weight", 1.0, per_model=True, help="the delta's weight"),
            Parameter("normalize", normalize, help="divide by the sum of the weights"),
            Parameter("scale", 1.0, mergekit="lambda", help="factor on the merged delta"),
        ]
        if sparsify:
            params += [
                Parameter("density", 1.0, per_model=True, help="fraction of the delta kept"),
                Parameter("rescale", rescale, help="rescale kept deltas to their L1 norm"),
            ]
        if sparsify == "random":
            params.append(Parameter("seed", 0, help="seeds the random drops"))
        self.parameters = tuple(params)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        n = len(tensors)
        return task_arithmetic(
            self,
            base,
            tensors,
            settings["weight"],
            settings.get("density", [1.0] * n),
            normalize=settings["normalize"],
            rescale=settings.get("rescale"),
            scale=settings["scale"],
            seed=settings.get("seed", 0),
            name=name,
        )


TASK_ARITHMETIC = TaskArithmetic(
    "task_arithmetic", "base plus the weighted sum of the models' deltas", None, False, False, False
)
TIES = TaskArithmetic(
    "ties", "deltas trimmed by magnitude, signs elected", "magnitude", True, True, False
)
DARE_LINEAR = TaskArithmetic(
    "dare_linear", "deltas dropped at random and rescaled, summed", "random", False, False, True
)
DARE_TIES = TaskArithmetic(
    "dare_ties", "deltas dropped at random and rescaled, signs elected", "random", True, False, True
)
FAMILY = (TASK_ARITHMETIC, TIES, DARE_LINEAR, DARE_TIES)
_BY_NAME = {m.name: m for m in FAMILY}


def magnitude_mask(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the `density` fraction of entries largest in magnitude (at least one)."""
    import torch

    k = max(1, int(density * delta.numel()))
    mask = torch.zeros(delta.numel(), dtype=delta.dtype)
    # A full sort, as mergekit does: which of several equal magnitudes at the cut survive is
    # the sort's order, so a selection algorithm would disagree with it on ties.
    mask[torch.argsort(delta.abs().reshape(-1).float(), descending=True)[:k]] = 1
    return mask.reshape(delta.shape)


def random_mask(shape, density: float, seed: int, name: str, index: int) -> torch.Tensor:
    import torch

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
    method: str | TaskArithmetic,
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
    """One tensor merged by `method` (a member of the family or its name); None for normalize
    or rescale is the method's default. `masks` replaces the random masks (tests replay
    another tool's draws through it)."""
    import torch

    spec = _BY_NAME[method] if isinstance(method, str) else method
    defaults = spec.defaults
    normalize = defaults["normalize"] if normalize is None else normalize
    rescale = defaults.get("rescale", False) if rescale is None else rescale
    b = work(base)
    deltas = []
    for i, (t, density) in enumerate(zip(tensors, densities, strict=True)):
        delta = work(t) - b
        if spec.sparsify and density < 1:
            if density <= 0:
                mask = torch.zeros_like(delta)
            elif spec.sparsify == "magnitude":
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
    if spec.consensus:
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
