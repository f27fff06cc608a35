"""The selections without a full sort (selection.py) against mergekit 0.1.5's sort-based
sparsifications, bit for bit, on random deltas with and without exact ties."""

import pytest
import torch

from platypus.merge.methods import selection
from platypus.merge.methods.delta import sce_mask
from platypus.merge.methods.task_arithmetic import (
    della_probabilities,
    magnitude_mask,
    outlier_mask,
)

DENSITIES = (0.01, 0.1, 0.3, 0.5, 0.9, 0.99)


def _delta(kind: str, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(n, generator=g)
    if kind == "rounded":  # a handful of distinct magnitudes: every cut splits a tie
        d = (d * 3).round() / 3
    elif kind == "zeros":  # most entries unchanged from the base
        d = torch.where(torch.rand(n, generator=g) < 0.6, torch.zeros(n), d)
    elif kind == "bf16":  # the difference of two bf16 weights: many exact ties
        a = (torch.randn(n, generator=g) * 0.02).bfloat16().float()
        d = a - (torch.randn(n, generator=g) * 0.02).bfloat16().float()
    elif kind == "signed-zeros":
        d = torch.where(torch.rand(n, generator=g) < 0.5, torch.full((n,), -0.0), d)
    return d


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal values and equal signs (so -0.0 is not 0.0)."""
    return torch.equal(a, b) and torch.equal(a.signbit(), b.signbit())


KINDS = ("continuous", "rounded", "zeros", "bf16", "signed-zeros")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 7, 4096, 100_003])
def test_magnitude_equals_mergekits_sort(kind, n):
    mk = pytest.importorskip("mergekit.sparsify")
    d = _delta(kind, n, seed=n)
    for density in DENSITIES:
        assert _same(d * magnitude_mask(d, density), mk.magnitude(d, density)), density
        for rescale in (None, mk.RescaleNorm.l1):
            ours = d * magnitude_mask(d, density)
            if rescale is not None:
                before, after = d.abs().sum(), ours.abs().sum()
                ours = ours if after < 1e-7 else ours * (before / after)
            assert _same(ours, mk.magnitude(d, density, rescale_norm=rescale))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 7, 4096, 100_003])
def test_outliers_equal_mergekits_sort(kind, n):
    mk = pytest.importorskip("mergekit.sparsify")
    d = _delta(kind, n, seed=n + 1)
    for density in DENSITIES:
        for gamma in (0.0, 0.01, 0.1, 0.5):
            want = mk.magnitude_outliers(d, density, gamma=gamma)
            assert _same(d * outlier_mask(d, density, gamma), want), (density, gamma)


def test_matrix_shapes_and_dtypes():
    mk = pytest.importorskip("mergekit.sparsify")
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        d = (torch.randn(64, 48, generator=g) * 4).round().to(dtype)
        mask = magnitude_mask(d, 0.3)
        assert mask.shape == d.shape and mask.dtype == torch.bool  # a quarter of a float's memory
        assert _same(d * mask, mk.magnitude(d, 0.3))
        assert _same(d * outlier_mask(d, 0.3, 0.05), mk.magnitude_outliers(d, 0.3, gamma=0.05))


def test_fast_path_is_exact_where_no_tie_is_split():
    """Distinct magnitudes: the threshold mask is the sort's mask itself, not only its product."""
    d = torch.randn(10_000, generator=torch.Generator().manual_seed(3))
    order = torch.argsort(d.abs(), descending=True)
    want = torch.zeros(d.numel())
    want[order[:2_500]] = 1
    assert torch.equal(selection.top_k_mask(d, 2_500), want.bool())
    asc = torch.sort(d.abs()).indices
    want = torch.zeros(d.numel())
    want[asc[1_000:6_000]] = 1
    assert torch.equal(selection.band_mask(d, 1_000, 5_000), want.bool())


def test_nan_takes_the_sort():
    d = torch.tensor([1.0, float("nan"), -3.0, 2.0, float("nan"), 0.5])
    order = torch.argsort(d.abs(), descending=True)
    want = torch.zeros(6)
    want[order[:3]] = 1
    assert torch.equal(selection.top_k_mask(d, 3), want.bool())


def test_inverse_permutation_is_the_second_argsort():
    x = (torch.randn(37, 129, generator=torch.Generator().manual_seed(1)) * 2).round()
    order = x.abs().argsort(dim=1)
    assert torch.equal(selection.inverse_permutation(order, dim=1), order.argsort(dim=1))


@pytest.mark.parametrize("shape", [(129,), (37, 129)])
def test_della_probabilities_equal_mergekits(shape):
    """mergekit's della_magprune ranks by argsort then argsort; the same probabilities."""
    x = (torch.randn(*shape, generator=torch.Generator().manual_seed(2)) * 2).round()
    rows = x.unsqueeze(0) if x.dim() < 2 else x
    ranks = torch.argsort(rows.abs(), dim=1).argsort(dim=1).float() + 1
    low = ranks.min(dim=1, keepdim=True).values
    high = ranks.max(dim=1, keepdim=True).values
    want = (0.35 + ((ranks - low) / (high - low)).clamp(0, 1) * 0.3).reshape(x.shape)
    assert torch.equal(della_probabilities(x, 0.5, 0.15), want)


@pytest.mark.parametrize("density", [0.05, 0.5, 0.95])
def test_sce_mask_equals_mergekits_topk(density):
    """Unsorted topk chooses the same set as mergekit's sorted one, ties included."""
    sce = pytest.importorskip("mergekit.merge_methods.sce")
    g = torch.Generator().manual_seed(4)
    deltas = (torch.randn(3, 300, 201, generator=g) * 2).round()
    want = sce.sce_mask(deltas, density, torch.float32)
    assert torch.equal(sce_mask(list(deltas), density), want.bool())  # ours: a boolean mask


def test_no_sort_unless_a_nonzero_tie_is_split(monkeypatch):
    """Distinct magnitudes, or ties only at 0 (unchanged entries): no sort runs."""

    def no_sort(*args, **kwargs):
        raise AssertionError("sorted")

    d = _delta("zeros", 50_000, seed=5)
    monkeypatch.setattr(torch, "argsort", no_sort)
    monkeypatch.setattr(torch, "sort", no_sort)
    for density in (0.1, 0.39, 0.7, 0.95):  # above 0.4 the cut lands in the zeros
        magnitude_mask(d, density)
        outlier_mask(d, density, 0.01)


@pytest.mark.parametrize("method", ["ties", "breadcrumbs_ties", "dare_ties", "della"])
def test_models_sparsified_in_threads_merge_the_same(monkeypatch, method):
    from platypus.merge.methods import task_arithmetic as ta

    g = torch.Generator().manual_seed(6)
    base = torch.randn(96, 80, generator=g)
    tensors = [base + (torch.randn(96, 80, generator=g) * 4).round() / 100 for _ in range(3)]
    args = (method, base, tensors, [0.5, 0.3, 0.2], [0.4, 0.5, 0.6])
    monkeypatch.setattr(ta, "PARALLEL", 1 << 62)
    alone = ta.task_arithmetic(*args, name="x")
    monkeypatch.setattr(ta, "PARALLEL", 1)
    assert torch.equal(ta.task_arithmetic(*args, name="x"), alone)


@pytest.mark.parametrize("chunk", [1013, 1 << 22])
def test_radix_selection_is_kthvalue(monkeypatch, chunk):
    """The k-th smallest magnitude by histograms of the float bits is kthvalue's, bit for bit:
    distinct values, many ties, all zeros, denormals, inf, one entry; in slices or whole."""
    monkeypatch.setattr(selection, "SELECT_CHUNK", chunk)
    g = torch.Generator().manual_seed(8)
    cases = [
        torch.randn(20_000, generator=g).abs(),
        (torch.randn(20_000, generator=g) * 4).round().abs(),  # ties at every cut
        torch.zeros(500),
        torch.rand(3_000, generator=g) * 1e-40,  # subnormal floats
        torch.tensor([float("inf"), 1.0, 0.0, 1.0]),
        torch.tensor([3.0]),
        torch.randn(20_000, generator=g),  # negative values (kth_smallest_many only)
        torch.tensor([-0.0, 0.0, -1e-40, 1e-40, -float("inf"), 2.0, -2.0, -2.0]),
    ]
    for w in cases:
        n = w.numel()
        ks = sorted({1, 2, n // 3, n // 2, n - 1, n} & set(range(1, n + 1)))
        for k in ks if bool((w >= 0).all()) else ():
            assert selection.kth_smallest(w, k).item() == torch.kthvalue(w, k).values.item()
        # several ranks in the same two passes (ranks in one high bucket or in several)
        many = selection.kth_smallest_many(w, ks + ks[:1])
        assert [v.item() for v in many] == [torch.kthvalue(w, k).values.item() for k in ks + ks[:1]]
    with pytest.raises(ValueError):
        selection.kth_smallest(torch.ones(3), 4)


def test_the_tie_path_sorts_in_place_as_argsort_orders():
    # the magnitudes' own buffer takes the sorted values: the order is argsort's
    w = (torch.randn(200_000, generator=torch.Generator().manual_seed(9)) * 4).round().abs()
    for descending in (True, False):
        want = torch.argsort(w, descending=descending)
        assert torch.equal(selection._sorted_in_place(w.clone(), descending), want)
