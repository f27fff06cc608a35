"""sce, arcee_fusion, ram and ramplus_tl: merges of the models' deltas from the base, with
mergekit 0.1.5's definitions (its sce.py, arcee_fusion.py and ram.py).

sce: the deltas' entries outside the top `select_topk` fraction by variance across the models
    are zeroed; each delta weighs its mean square (normalised to sum 1), a sign is elected per
    entry by the sum, and the agreeing deltas are averaged with those weights (SCE, arXiv
    2408.07990). mergekit's sce reads no per-model weight.
arcee_fusion: the base takes the other model's entries whose importance, |delta| times the KL
    divergence of the rows' softmaxes, reaches median + 1.5 IQR of the tensor's importances.
ram: entries where one delta exceeds `epsilon` in magnitude take that delta, entries where
    several do take their mean (Reinforced Agent Merging, arXiv 2601.13572).
ramplus_tl: ram, each model's unique entries scaled by 1 + r * min(shared/unique, alpha), its
    counts of shared and unique entries in the tensor.

As in mergekit, a base also listed among `models` is the base only: it is no other model.
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
    taken,
    without_base,
    work,
)
from platypus.merge.methods.selection import kth_smallest, kth_smallest_many, radix_selectable

if TYPE_CHECKING:
    import torch

    from platypus.merge.config import MergeConfig


class DeltaMerge(TensorMerge):
    """A method on the base and the models' deltas from it; a model that is the base (the same
    folder) is dropped from `models`, as mergekit takes it for the base alone."""

    needs_base = True

    def validate(self, config: MergeConfig) -> None:
        others = without_base(config)
        if config.models and not others.models:
            raise PlatypusError(f"merge method {self.name!r} merges {self._arity()}; got 0")
        super().validate(others)

    def run(self, config: MergeConfig, out: Path):
        return super().run(without_base(config), out)


def deltas_from(base: torch.Tensor, tensors: list, consume: bool = False) -> list[torch.Tensor]:
    """Each model's delta from `base` (float32 work dtype). `consume`: `tensors` is the
    streaming loop's own list of fresh reads: each entry is dropped and its memory becomes the
    delta, so a large tensor never has inputs and deltas alive at once."""
    out = []
    for i in range(len(tensors)):
        t, own = taken(tensors, i, consume)
        out.append(minus(t, base, own))
        del t
    return out


# --- sce ---------------------------------------------------------------------------------------


def sce_mask(deltas: Sequence[torch.Tensor], density: float) -> torch.Tensor:
    """1 on the `density` fraction of the entries (of those varying at all) with the largest
    variance across the models, 0 elsewhere (mergekit's sce_mask: its topk, so its ties)."""
    import torch

    if density <= 0:
        return torch.zeros_like(deltas[0], dtype=torch.bool)
    if density >= 1:
        return torch.ones_like(deltas[0], dtype=torch.bool)
    # per entry across the models: the same computation slice by slice
    var = by_chunks(lambda *ds: torch.var(torch.stack(ds), dim=0, unbiased=False), *deltas)
    k = int(torch.count_nonzero(var) * density)
    if k == 0:
        return torch.zeros_like(var, dtype=torch.bool)  # multiplies as mergekit's 0/1 floats
    # |var| in place: the same values as mergekit's var.abs(), without a copy
    flat = var.abs_().view(-1)
    if radix_selectable(flat):
        # The k-th largest variance by a radix selection (its memory: two histograms): where no
        # other entry shares it, the entries at or above it are the only k-set, topk's.
        kept = flat >= kth_smallest(flat, flat.numel() - k + 1)
        if int(kept.sum()) == k:
            return kept.view(var.shape)
        del kept
    # A tie at the cut: which of the tied entries topk keeps is its own. torch's CPU topk
    # selects (nth_element or partial_sort) and only then sorts the k it chose when `sorted`:
    # unsorted is the same set, so the same mask, without that sort.
    _, indices = torch.topk(flat, k=k, largest=True, sorted=False)
    del flat
    mask = torch.zeros_like(var, dtype=torch.bool)  # multiplies as mergekit's 0/1 floats
    del var
    mask.view(-1)[indices] = True
    return mask


def sce_weights(deltas: Sequence[torch.Tensor]) -> torch.Tensor:
    """Each delta's mean square over the sum of them (equal weights where that sum is < 1e-6)."""
    import torch

    weights = torch.stack([d.square().reshape(-1).mean() for d in deltas])
    total = torch.sum(weights).item()
    if abs(total) < 1e-6:
        return torch.ones_like(weights) / weights.shape[0]
    return weights / total


def sign_agreement(deltas: torch.Tensor) -> torch.Tensor:
    """True where a delta's sign is the one elected by the deltas' sum (>= 0: positive); zero
    entries agree with neither (mergekit's get_mask, method 'sum'). `deltas`: stacked."""
    majority = (deltas.sum(dim=0) >= 0).to(deltas.dtype) * 2 - 1
    return deltas.sign() == majority


def sce(base: torch.Tensor, tensors: list, select_topk: float = 1.0, consume: bool = False):
    """mergekit's sce; the deltas are kept apart and the entry-by-entry steps run slice by
    slice (`by_chunks`), so the memory is the deltas', not four stacks of them."""
    import torch

    b = work(base)
    if not tensors:
        return b
    deltas = deltas_from(b, tensors, consume)
    if select_topk < 1:
        mask = sce_mask(deltas, select_topk)
        for d in deltas:
            d.mul_(mask)
        del mask
    weights = sce_weights(deltas).reshape(-1, 1)

    def merged(base_part: torch.Tensor, *parts: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack(parts)
        erased = weights * sign_agreement(stacked)
        mixed = (stacked * erased).sum(dim=0)
        return base_part + mixed / torch.sum(erased, dim=0).clamp(min=1e-6)

    return by_chunks(merged, b, *deltas)


class Sce(DeltaMerge):
    name = "sce"
    summary = "deltas selected by variance, weighted by their mean square, signs elected"
    parameters = (
        Parameter("select_topk", 1.0, help="fraction of entries kept, by variance across models"),
        Parameter("int8_mask", False, help="mergekit's memory option; no effect here"),
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return sce(base, tensors, settings["select_topk"], consume=True)


# --- arcee_fusion ------------------------------------------------------------------------------


def fusion_importance(model: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """|model - base| times the KL divergence of the last axis' softmaxes (each + 1e-8)."""
    import torch
    import torch.nn.functional as F

    eps = 1e-8
    p = F.softmax(model, dim=-1) + eps
    q = F.softmax(base, dim=-1) + eps
    kl = torch.sum(p * torch.log(p / q), dim=-1, keepdim=True)
    return (model - base).abs() * kl


def fusion_threshold(importance: torch.Tensor) -> torch.Tensor:
    """median + 1.5 (q3 - q1), each quantile the sorted value at floor(q (n - 1)), as mergekit.
    mergekit estimates them from a random sample of 1,000,000 entries (with replacement, from
    torch's global generator) in larger tensors; here they are exact at every size."""
    import torch

    flat = importance.reshape(-1)
    at = (torch.tensor([0.25, 0.5, 0.75]) * (flat.numel() - 1)).long()
    ranks = [int(i) + 1 for i in at]
    if radix_selectable(flat):
        # the three by one radix selection (two passes, no copy), kthvalue's values (about
        # 40% of the importances are slightly negative: KL rounding for near-equal rows)
        q1, median, q3 = kth_smallest_many(flat, ranks)
    else:
        q1, median, q3 = (torch.kthvalue(flat, k).values for k in ranks)
    return median + 1.5 * (q3 - q1)


def arcee_fusion(base: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    b, m = work(base), work(other)
    importance = fusion_importance(m, b)
    mask = (importance >= fusion_threshold(importance)).to(b.dtype)
    return b + (m - b) * mask


class ArceeFusion(DeltaMerge):
    name = "arcee_fusion"
    summary = "the other model's entries whose delta matters most, by |delta| times KL"
    min_models = 1
    max_models = 1

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return arcee_fusion(base, tensors[0])


# --- ram, ramplus_tl ---------------------------------------------------------------------------


def ram(
    base: torch.Tensor,
    tensors: list,
    epsilon: float = 1e-5,
    plus: tuple[float, float] | None = None,
    consume: bool = False,
) -> torch.Tensor:
    """RAM; `plus` = (r, alpha): RAM+ (tensor-local), unique entries rescaled per model. Entry by
    entry over slices (`by_chunks`); RAM+'s per-model counts (integers, exact in any order)
    are summed over the slices first."""
    import torch

    b = work(base)
    if not tensors:
        return b
    deltas = deltas_from(b, tensors, consume)
    n = len(deltas)

    def masks(parts: Sequence[torch.Tensor]):
        flat = torch.stack(parts)
        nonzero = flat.abs() > epsilon
        counts = nonzero.sum(dim=0, keepdim=True)
        return flat, nonzero, counts, counts > 1, counts == 1

    gain = None
    if plus is not None:
        r, alpha = plus
        shared_counts = torch.zeros(n, dtype=torch.int64)
        unique_counts = torch.zeros(n, dtype=torch.int64)
        flats = [d.reshape(-1) for d in deltas]
        step = method_base.CHUNK
        for start in range(0, flats[0].numel(), step):
            _, nonzero, _, overlap, unique = masks([f[start : start + step] for f in flats])
            shared_counts += (nonzero & overlap).sum(dim=1)
            unique_counts += (nonzero & unique).sum(dim=1)
        rho = shared_counts / unique_counts.clamp(min=epsilon)
        gain = (1 + r * rho.clamp(min=0, max=alpha)).unsqueeze(-1)

    def merged(base_part: torch.Tensor, *parts: torch.Tensor) -> torch.Tensor:
        flat, nonzero, counts, overlap, unique = masks(parts)
        kept = flat * nonzero
        unique_part = kept * unique
        if gain is not None:
            unique_part = unique_part * gain
        return base_part + (unique_part + (kept * overlap / counts.clamp(min=1))).sum(dim=0)

    return by_chunks(merged, b, *deltas)


_EPSILON = Parameter("epsilon", 1e-5, help="a delta entry counts where its magnitude exceeds it")


class Ram(DeltaMerge):
    name = "ram"
    summary = "each entry's delta where one model changes it, their mean where several do"
    parameters = (_EPSILON,)

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        return ram(base, tensors, settings["epsilon"], consume=True)


class RamPlus(DeltaMerge):
    name = "ramplus_tl"
    summary = "ram with each model's unique entries scaled up by its share of shared ones"
    parameters = (
        Parameter("r", 0.1, help="scale of the shared/unique ratio in the unique entries' gain"),
        Parameter("alpha", 0.2, help="cap on the shared/unique ratio"),
        _EPSILON,
    )

    def merge_tensor(self, name, base, tensors, settings: dict[str, Any]):
        plus = (settings["r"], settings["alpha"])
        return ram(base, tensors, settings["epsilon"], plus, consume=True)


SCE = Sce()
ARCEE_FUSION = ArceeFusion()
RAM = Ram()
RAMPLUS_TL = RamPlus()
METHODS = (SCE, ARCEE_FUSION, RAM, RAMPLUS_TL)
