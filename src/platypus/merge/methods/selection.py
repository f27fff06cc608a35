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


# Entries per slice of the radix selection's passes: their temporaries are a slice's.
SELECT_CHUNK = 1 << 22


def radix_selectable(w: torch.Tensor) -> bool:
    """Whether `kth_smallest` takes `w`: float32 without NaN (NaN has no place in the bits'
    order that matches torch's); otherwise callers use torch's own selection or sort."""
    import torch

    return w.dtype == torch.float32 and not bool(torch.isnan(w).any())


def kth_smallest(w: torch.Tensor, k: int) -> torch.Tensor:
    """`torch.kthvalue(w, k).values` for `w` 1-d, `radix_selectable` (magnitudes; negative
    values too, see `kth_smallest_many`), by a radix selection over the float bits:
    a histogram of the high 16 bits finds the bucket holding rank k, a histogram of the low 16
    bits within it the value. Both passes run over slices, so the memory is two histograms and
    a slice's temporaries, where kthvalue copies `w` and adds an int64 index per entry (three
    times `w`'s memory)."""
    return kth_smallest_many(w, [k])[0]


def kth_smallest_many(w: torch.Tensor, ks: list[int]) -> list[torch.Tensor]:
    """`torch.kthvalue(w, k).values` for several ranks at once, `w` 1-d float32 without NaN, in
    the same two passes (the second keeps a low-bits histogram per distinct high bucket):
    arcee_fusion's three quartiles. Negative values are ordered by the usual key (a negative
    float's magnitude bits flipped, so the bits order as the values as signed integers)."""
    import torch

    n = w.numel()
    for k in ks:
        if not 1 <= k <= n:
            raise ValueError(f"k {k} out of range for {n} entries")

    def keys(start: int) -> torch.Tensor:
        bits = w[start : start + SELECT_CHUNK].view(torch.int32)
        return bits ^ ((bits >> 31) & 0x7FFFFFFF)

    def bucket(counts: torch.Tensor, rank: int) -> tuple[int, int]:
        """The bucket holding the rank-th smallest (1-based), and the rank within it."""
        cumulative = counts.cumsum(0)
        b = int(torch.searchsorted(cumulative, torch.tensor([rank]), right=False))
        below = int(cumulative[b - 1]) if b else 0
        return b, rank - below

    high_counts = torch.zeros(1 << 16, dtype=torch.int64)
    for start in range(0, n, SELECT_CHUNK):
        high_counts += torch.bincount((keys(start) >> 16) + (1 << 15), minlength=1 << 16)
    found = [bucket(high_counts, k) for k in ks]
    lows = {high: torch.zeros(1 << 16, dtype=torch.int64) for high, _ in found}
    for start in range(0, n, SELECT_CHUNK):
        part = keys(start)
        top = (part >> 16) + (1 << 15)
        for high, counts in lows.items():
            counts += torch.bincount(part[top == high] & 0xFFFF, minlength=1 << 16)
    values = []
    for high, rank in found:
        low, _ = bucket(lows[high], rank)
        key = torch.tensor([((high - (1 << 15)) << 16) | low], dtype=torch.int32)
        values.append((key ^ ((key >> 31) & 0x7FFFFFFF)).view(torch.float32)[0])
    return values


def magnitudes(delta: torch.Tensor) -> torch.Tensor:
    """|delta| flattened, in float32 (mergekit sorts float32 magnitudes on the CPU)."""
    return delta.abs().reshape(-1).float()


def top_k_mask(delta: torch.Tensor, k: int) -> torch.Tensor:
    """A boolean mask (delta's shape) that keeps the `k` entries largest in magnitude, with
    `delta * mask` equal to that of mergekit's `argsort(descending=True)[:k]` mask. Boolean,
    not float as mergekit's: a quarter of the memory, and `delta * mask` is the same."""
    import torch

    w = magnitudes(delta)
    n = w.numel()
    if k >= n:
        return torch.ones_like(delta, dtype=torch.bool)
    if k <= 0:
        return torch.zeros_like(delta, dtype=torch.bool)
    if radix_selectable(w):
        cut = kth_smallest(w, n - k + 1)  # the k-th largest
        kept = w >= cut
        if float(cut) == 0 or int(kept.sum()) == k:
            return kept.reshape(delta.shape)
        del kept
    mask = torch.zeros(n, dtype=torch.bool)
    mask[_sorted_in_place(w, descending=True)[:k]] = True
    return mask.reshape(delta.shape)


def _sorted_in_place(w: torch.Tensor, descending: bool) -> torch.Tensor:
    """`torch.sort(w, descending).indices` (argsort: torch's unstable sort, mergekit's), with
    `w` (this module's own magnitudes) as the values' buffer: the same sort on the same data,
    without a copy of `w` beside the int64 indices."""
    import torch

    indices = torch.empty(w.numel(), dtype=torch.int64)
    torch.sort(w, descending=descending, out=(w, indices))
    return indices


def band_mask(delta: torch.Tensor, bottom: int, keep: int) -> torch.Tensor:
    """A boolean mask keeping the entries at ranks [bottom, bottom + keep) of the magnitudes in
    ascending order, with `delta * mask` equal to that of mergekit's `sort(...).indices` mask."""
    import torch

    w = magnitudes(delta)
    n = w.numel()
    bottom = max(0, bottom)
    keep = min(keep, n - bottom)
    if keep <= 0:
        return torch.zeros_like(delta, dtype=torch.bool)
    if radix_selectable(w):
        low = kth_smallest(w, bottom + 1)
        high = low if keep == 1 else kth_smallest(w, bottom + keep)
        above = w > high
        # the lower cut: every entry at `low` kept, or `low` is 0 (which zeros: no matter)
        low_ok = float(low) == 0 or int((w < low).sum()) == bottom
        # the upper cut: every entry at `high` kept, i.e. exactly n - bottom - keep above it
        high_ok = int(above.sum()) == n - bottom - keep or (float(high) == 0)
        if low_ok and high_ok:
            return ((w >= low) & ~above).reshape(delta.shape)
        del above
    mask = torch.zeros(n, dtype=torch.bool)
    mask[_sorted_in_place(w, descending=False)[bottom : bottom + keep]] = True
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
