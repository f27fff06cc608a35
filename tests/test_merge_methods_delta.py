"""sce, arcee_fusion, ram and ramplus_tl against mergekit 0.1.5: its own functions on random
tensors, and its whole merge on small Llamas."""

import pytest
import torch
from safetensors.torch import load_file
from test_merge import _mergekit, tiny_llama

from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.merge.methods import get, names
from platypus.merge.methods.delta import arcee_fusion, fusion_threshold, ram, sce
from platypus.merge.run import merge

SHAPES = [(64, 32), (300,), (8, 16, 4), (1,), (5, 3)]


def _inputs(seed, shape, k, dtype=torch.float32, grid=None):
    """A base and `k` models near it; `grid`: deltas rounded to multiples of it (ties, zeros)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g, dtype=dtype)
    deltas = [0.02 * torch.randn(shape, generator=g, dtype=dtype) for _ in range(k)]
    if grid:
        deltas = [torch.round(d / grid) * grid for d in deltas]
    return base, [base + d for d in deltas]


def _theirs(method, base, tensors, **parameters):
    from mergekit.merge_methods.base import TensorGroup

    group = TensorGroup.from_tensors([base, *tensors], base_index=0)
    return method([group], parameters=parameters)[0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sce_is_mergekits(seed, shape):
    pytest.importorskip("mergekit")
    from mergekit.merge_methods.sce import sce_merge

    for k, grid, dtype in ((1, None, torch.float32), (2, 0.01, torch.float32),
                           (3, None, torch.float32), (3, 0.02, torch.float64)):  # fmt: skip
        base, tensors = _inputs(seed, shape, k, dtype, grid)
        for topk in (1.0, 0.7, 0.5, 0.1, 0.0):
            for int8 in (False, True):
                want = _theirs(sce_merge, base, tensors, select_topk=topk, int8_mask=int8)
                got = sce(base, tensors, topk)
                assert got.dtype == want.dtype and torch.equal(got, want), (k, grid, topk)


def test_sce_mask_selects_without_topk_unless_the_cut_is_tied(monkeypatch):
    """Untied variances at the cut: the radix selection's threshold mask, no topk (whose
    values and index copies are the memory peak of a large tensor); tied: topk, as mergekit."""
    from platypus.merge.methods.delta import sce_mask

    base, tensors = _inputs(0, (200, 300), 3)
    deltas = [t - base for t in tensors]
    want = sce_mask(deltas, 0.3)
    calls = []
    real = torch.topk
    monkeypatch.setattr(torch, "topk", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert torch.equal(sce_mask(deltas, 0.3), want) and not calls
    var = torch.var(torch.stack(deltas), dim=0, unbiased=False).reshape(-1)
    k = int(torch.count_nonzero(var) * 0.3)
    assert int(want.sum()) == k and torch.equal(want.reshape(-1), var >= var.topk(k).values[-1])
    base, tied = _inputs(1, (200, 300), 2, grid=0.01)
    sce_mask([t - base for t in tied], 0.3)
    assert calls  # deltas on a grid: variances tie at the cut


def test_sce_of_models_equal_to_the_base_is_the_base():
    pytest.importorskip("mergekit")
    from mergekit.merge_methods.sce import sce_merge

    base = torch.randn(16, 8)
    for topk in (1.0, 0.5):
        got = sce(base, [base.clone(), base.clone()], topk)
        assert torch.equal(got, base)
        assert torch.equal(got, _theirs(sce_merge, base, [base, base], select_topk=topk))


@pytest.mark.parametrize("shape", SHAPES + [(256, 512)])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_arcee_fusion_is_mergekits(seed, shape):
    pytest.importorskip("mergekit")
    from mergekit.merge_methods.arcee_fusion import arcee_fusion_merge_method

    base, (other,) = _inputs(seed, shape, 1)
    want = _theirs(arcee_fusion_merge_method, base, [other])
    got = arcee_fusion(base, other)
    assert torch.equal(got, want)
    taken = got != base
    assert 0 < int(taken.sum()) < base.numel() or base.numel() < 4


def test_fusion_threshold_is_exact_on_large_tensors():
    """mergekit samples 1,000,000 entries beyond that size; ours sorts nothing and is exact."""
    x = torch.rand(1_200_001, generator=torch.Generator().manual_seed(5))
    s = torch.sort(x).values
    n = x.numel() - 1
    q1, med, q3 = s[int(0.25 * n)], s[int(0.5 * n)], s[int(0.75 * n)]
    assert torch.equal(fusion_threshold(x), med + 1.5 * (q3 - q1))
    # negative or NaN importances (outside the radix selection's domain): kthvalue's quartiles
    for y in (x - 0.5, torch.cat([x, torch.tensor([float("nan")])])):
        n = y.numel() - 1
        q = [torch.kthvalue(y, int(f * n) + 1).values for f in (0.25, 0.5, 0.75)]
        want = q[1] + 1.5 * (q[2] - q[0])
        torch.testing.assert_close(fusion_threshold(y), want, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ram_and_ramplus_are_mergekits(seed, shape):
    pytest.importorskip("mergekit")
    from mergekit.merge_methods.ram import ram_merge, ramplus_tl_merge

    for k, grid in ((1, None), (2, 0.01), (3, None), (4, 0.01)):
        base, tensors = _inputs(seed, shape, k, grid=grid)
        for eps in (1e-5, 0.01, 0.02):
            want = _theirs(ram_merge, base, tensors, epsilon=eps)
            assert torch.equal(ram(base, tensors, eps), want), (k, grid, eps)
            for r, alpha in ((0.1, 0.2), (0.5, 1.0), (2.0, 0.05)):
                want = _theirs(ramplus_tl_merge, base, tensors, r=r, alpha=alpha, epsilon=eps)
                got = ram(base, tensors, eps, (r, alpha))
                assert torch.equal(got, want), (k, grid, eps, r, alpha)


def test_registered_with_mergekits_names_and_parameters():
    pytest.importorskip("mergekit")
    from mergekit.merge_methods import registry
    from mergekit.merge_methods.base import BasePolicy

    theirs = {m.spec.name: m.spec for m in registry.registered_methods()}
    for name in ("sce", "arcee_fusion", "ram", "ramplus_tl"):
        assert name in names()
        ours = get(name)
        contract = theirs[name].contract
        assert ours.needs_base and contract.base == BasePolicy.REQUIRED
        base = int(contract.min_inputs > 1)  # mergekit counts the base where it asks for two
        assert (ours.min_models, ours.max_models) == (
            contract.min_inputs - base,
            None if contract.max_inputs is None else contract.max_inputs - base,
        )
        assert {(p.mergekit_name, p.default, p.per_model) for p in ours.parameters} == {
            (p.name, p.default, False) for p in theirs[name].parameters
        }


# --- whole merges --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-delta")
    base = tiny_llama(root / "base", 0)
    return {"base": base, **{k: tiny_llama(root / k, s, base) for s, k in enumerate("abc", 1)}}


def _mk_config(tiny, method, models, shared, base_listed=False):
    listed = [{"model": str(tiny["base"])}] if base_listed else []
    return {
        "merge_method": method,
        "base_model": str(tiny["base"]),
        "models": listed + [{"model": str(tiny[k]), "parameters": p} for k, p in models.items()],
        "parameters": shared,
        "dtype": "float32",
    }


CASES = {
    # the base listed among the models, as mergekit configs often do: it is the base only
    "sce": ({"a": {}, "b": {}, "c": {}}, {"select_topk": 0.4}, True),
    "sce-filtered": (
        {"a": {}, "b": {}},
        {"select_topk": [{"filter": "self_attn", "value": 0.3}, {"value": [0.9, 0.5]}]},
        False,
    ),
    "arcee_fusion": ({"a": {}}, {}, False),
    "arcee_fusion-listed": ({"b": {}}, {}, True),
    "ram": ({"a": {}, "b": {}, "c": {}}, {"epsilon": 0.02}, True),
    "ramplus_tl": ({"a": {}, "b": {}, "c": {}}, {"r": 0.5, "alpha": 0.4, "epsilon": 0.015}, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_mergekit(tmp_path, tiny, case):
    pytest.importorskip("mergekit")
    method = case.split("-")[0]
    models, shared, listed = CASES[case]
    mk = _mk_config(tiny, method, models, shared, listed)
    want = _mergekit(tmp_path, method, mk)
    base = load_file(tiny["base"] / "model.safetensors")
    # the same mergekit config, and ours written out (the base listed too, where mergekit's is)
    direct = MergeConfig(
        method=method,
        base_model=str(tiny["base"]),
        models=[{"model": m["model"], "parameters": m.get("parameters", {})} for m in mk["models"]],
        parameters=shared,
        output_dir=str(tmp_path / "direct"),
    )
    as_mergekit = MergeConfig.model_validate(mk | {"output_dir": str(tmp_path / "mk-config")})
    for config in (direct, as_mergekit):
        merge(config)
        got = load_file(tmp_path / config.output_dir / "model.safetensors")
        assert got.keys() == want.keys()
        for k in want:
            assert torch.allclose(got[k], want[k], atol=1e-6, rtol=0), (case, k)
        changed = sum(not torch.equal(got[k], base[k]) for k in want)
        # arcee_fusion takes outliers only: a 64-entry norm may have none
        assert changed == len(want) or (method == "arcee_fusion" and changed > len(want) // 2)


def test_sce_weights_are_no_parameter(tmp_path, tiny):
    """mergekit 0.1.5's sce reads no per-model weight (it ignores one); ours says so."""
    pytest.importorskip("mergekit")
    models = {"a": {"weight": 0.2}, "b": {"weight": 0.9}}
    weighted = _mergekit(
        tmp_path / "w", "sce", _mk_config(tiny, "sce", models, {"select_topk": 0.5})
    )
    plain = {"a": {}, "b": {}}
    unweighted = _mergekit(
        tmp_path / "u", "sce", _mk_config(tiny, "sce", plain, {"select_topk": 0.5})
    )
    assert all(torch.equal(weighted[k], unweighted[k]) for k in weighted)
    config = MergeConfig.model_validate(
        _mk_config(tiny, "sce", models, {"select_topk": 0.5}) | {"output_dir": str(tmp_path / "o")}
    )
    with pytest.raises(PlatypusError) as err:
        merge(config)
    assert "no parameter 'weight'" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("method", "models", "says"),
    [
        ("arcee_fusion", "ab", "merges the base with exactly one other model; got 2"),
        ("arcee_fusion", "", "needs `models`"),
        ("arcee_fusion", "-", "merges the base with exactly one other model; got 0"),
        ("sce", "-", "merges the base with at least one other model; got 0"),
        ("ram", "", "needs `models`"),
        ("ramplus_tl", "-", "merges the base with at least one other model; got 0"),
    ],
)
def test_wrong_number_of_models_is_one_line(tmp_path, tiny, method, models, says):
    """'-': only the base, listed among the models (mergekit takes it as the base alone)."""
    paths = [str(tiny["base"] if k == "-" else tiny[k]) for k in models]
    config = MergeConfig(
        method=method,
        base_model=str(tiny["base"]),
        models=[{"model": p} for p in paths],
        output_dir=str(tmp_path / "o"),
    )
    with pytest.raises(PlatypusError) as err:
        merge(config)
    message = str(err.value)
    assert says in message and "\n" not in message, message
    assert not (tmp_path / "o").exists()
