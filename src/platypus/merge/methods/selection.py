"""Magnitude selections without a full sort, with the output of mergekit's sort-based ones.

mergekit picks the top `k` magnitudes of a delta by `argsort(|delta|, descending=True)[:k]`
(ties) and breadcrumbs' band by `sort(|delta|).indices[bottom:bottom + keep]`, both torch's
unstable sort of the float32 magnitudes. The set chosen is the one with magnitudes beyond the
cut values (found here with `torch.kthvalue`, a selection in linear time) plus, where several
entries share a cut value and only some of them fit, the ones the sort happened to order
first: that order is the unstable sort's, which nothing but the same sort reproduces. So:

- no entry at a cut is left over (the cut falls between two distinct magnitudes, the usual
  case for float32 deltas): the threshold mask is the sort's mask exactly;
- the cut value is 0: which zero entries are kept changes nothing in `delta * mask` (each is
  `delta` itself either way, its sign included), nor in the L1 norms that rescaling reads;
- otherwise (ties of a nonzero magnitude split by the cut, common in deltas of bf16 weights)
  the same full sort as mergekit, so the output is its output in every case.

NaN magnitudes (sorted as the largest by torch) take the sort path as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def magnitudes(delta: torch.Tensor) -> torch.Tensor:
    """|delta| flattened, in float32 (mergekit sorts float32 magnitudes on the CPU)."""
    return delta.abs().reshape(-1).float()


def top_k_mask(delta: torch.Tensor, k: int) -> torch.Tensor:
    """A 0/1 mask (delta's dtype and shape) that keeps the `k` entries largest in magnitude,
    with `delta * mask` equal to that of mergekit's `argsort(descending=True)[:k]` mask."""
    import torch

    w = magnitudes(delta)
    n = w.numel()
    if k >= n:
        return torch.ones_like(delta)
    if k <= 0:
        return torch.zeros_like(delta)
    if not bool(torch.isnan(w).any()):
        cut = torch.kthvalue(w, n - k + 1).values  # the k-th largest
        kept = w >= cut
        if float(cut) == 0 or int(kept.sum()) == k:
            return kept.to(delta.dtype).reshape(delta.shape)
        del kept
    mask = torch.zeros(n, dtype=delta.dtype)
    mask[torch.argsort(w, descending=True)[:k]] = 1
    return mask.reshape(delta.shape)


def band_mask(delta: torch.Tensor, bottom: int, keep: int) -> torch.Tensor:
    """A 0/1 mask keeping the entries at ranks [bottom, bottom + keep) of the magnitudes in
    ascending order, with `delta * mask` equal to that of mergekit's `sort(...).indices` mask."""
    import torch

    w = magnitudes(delta)
    n = w.numel()
    bottom = max(0, bottom)
    keep = min(keep, n - bottom)
    if keep <= 0:
        return torch.zeros_like(delta)
    if not bool(torch.isnan(w).any()):
        low = torch.kthvalue(w, bottom + 1).values
        high = low if keep == 1 else torch.kthvalue(w, bottom + keep).values
        above = w > high
        # the lower cut: every entry at `low` kept, or `low` is 0 (which zeros: no matter)
        low_ok = float(low) == 0 or int((w < low).sum()) == bottom
        # the upper cut: every entry at `high` kept, i.e. exactly n - bottom - keep above it
        high_ok = int(above.sum()) == n - bottom - keep or (float(high) == 0)
        if low_ok and high_ok:
            return ((w >= low) & ~above).to(delta.dtype).reshape(delta.shape)
        del above
    mask = torch.zeros(n, dtype=delta.dtype)
    mask[torch.sort(w, descending=False).indices[bottom : bottom + keep]] = 1
    return mask.reshape(delta.shape)


def inverse_permutation(order: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """`order.argsort(dim)` for a permutation along `dim` (each rank's position), by a scatter
    instead of a second sort: a permutation has no ties, so the two agree exactly."""
    import torch

    ranks = torch.empty_like(order)
    positions = torch.arange(order.shape[dim], dtype=order.dtype)
    shape = [1] * order.dim()
    shape[dim] = -1
    return ranks.scatter_(dim, order, positions.reshape(shape).expand_as(order))
