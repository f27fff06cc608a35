"""nuslerp, multislerp, karcher and nearswap against mergekit 0.1.5: the tensor functions on
random tensors, then whole merges of small Llamas."""

import itertools

import pytest
import torch
from safetensors.torch import load_file
from test_merge import _mergekit, tiny_llama

from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.merge.methods import get
from platypus.merge.methods.geometric import karcher, multislerp, nuslerp_merge
from platypus.merge.methods.nearswap import nearswap
from platypus.merge.run import merge

SHAPES = [(48, 32), (40,), (6, 10, 4), (1, 16)]


def _mk(method: str, tensors, base=None, dtype=None, **parameters):
    """mergekit's merge of one tensor group: `tensors` in order, `base` (if any) after them as
    its planner puts a base not among the models."""
    pytest.importorskip("mergekit")
    from mergekit import merge_methods
    from mergekit.merge_methods.api import merge_tensors

    inputs = list(tensors) + ([base] if base is not None else [])
    return merge_tensors(
        inputs,
        merge_methods.get(method),
        parameters=parameters,
        base_index=len(tensors) if base is not None else None,
        dtype=dtype,
    )


def _same(got, want, exact=True):
    assert got.dtype == want.dtype and got.shape == want.shape
    if exact:
        assert torch.equal(got, want), (got - want).abs().max()
    else:
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SHAPES)
def test_nuslerp_tensor_matches_mergekit(seed, shape):
    g = torch.Generator().manual_seed(seed)
    a, b, base = (torch.randn(shape, generator=g) for _ in range(3))
    for (w, row_wise, flatten), with_base in itertools.product(
        itertools.product([(1.0, 1.0), (0.3, 0.9), (2.0, -0.5), (1.0, -1.0)], [0, 1], [0, 1]),
        [False, True],
    ):
        kw = {"nuslerp_row_wise": bool(row_wise), "nuslerp_flatten": bool(flatten)}
        want = _mk("nuslerp", [a, b], base if with_base else None, weight=list(w), **kw)
        got = nuslerp_merge(base if with_base else None, [a, b], w, bool(row_wise), bool(flatten))
        _same(got, want)
    # (anti)parallel rows and vectors take the linear branch, as in mergekit
    for other in (2 * a, -a, torch.zeros_like(a)):
        for row_wise, flatten in itertools.product([False, True], repeat=2):
            kw = {"nuslerp_row_wise": row_wise, "nuslerp_flatten": flatten}
            want = _mk("nuslerp", [a, other], weight=[0.4, 0.6], **kw)
            _same(nuslerp_merge(None, [a, other], [0.4, 0.6], row_wise, flatten), want)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SHAPES)
def test_multislerp_tensor_matches_mergekit(seed, shape):
    g = torch.Generator().manual_seed(seed)
    ts = [torch.randn(shape, generator=g) for _ in range(4)]
    base = torch.randn(shape, generator=g)
    weights = [0.5, 1.5, -0.3, 2.0]
    for n, with_base, normalize, eps in itertools.product(
        [1, 2, 3, 4], [False, True], [True, False], [1e-8, 1e-3]
    ):
        b = base if with_base else None
        want = _mk(
            "multislerp", ts[:n], b, weight=weights[:n], normalize_weights=normalize, eps=eps
        )
        got = multislerp(b, ts[:n], weights[:n], normalize_weights=normalize, eps=eps)
        _same(got, want)


def test_multislerp_opposite_models():
    a = torch.randn(8, 8)
    # two: mergekit's weighted-sum fallback
    want = _mk("multislerp", [a, -a], weight=[1.0, 1.0])
    _same(multislerp(None, [a, -a], [1.0, 1.0]), want)
    # three that cancel: mergekit's ValueError, ours one line naming the tensor
    with pytest.raises(ValueError):
        _mk("multislerp", [a, -a, a], weight=[1.0, 2.0, 1.0])
    with pytest.raises(PlatypusError, match=r"^multislerp: x\.weight: [^\n]*$"):
        multislerp(None, [a, -a, a], [1.0, 2.0, 1.0], name="x.weight")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SHAPES)
def test_karcher_tensor_matches_mergekit(seed, shape):
    g = torch.Generator().manual_seed(seed)
    center = torch.randn(shape, generator=g)
    # near each other (the iteration converges) and far apart (it may not within max_iter)
    near = [center + 0.3 * torch.randn(shape, generator=g) for _ in range(4)]
    far = [torch.randn(shape, generator=g) * (i + 1) for i in range(4)]
    for ts, n, max_iter, tol in itertools.product(
        [near, far], [1, 2, 3, 4], [10, 1, 50], [1e-5, 1e-2]
    ):
        want = _mk("karcher", ts[:n], max_iter=max_iter, tol=tol)
        _same(karcher(ts[:n], max_iter=max_iter, tol=tol), want)


def test_karcher_zero_and_float64_like_mergekit():
    a, b = torch.randn(16, 8), torch.randn(16, 8)
    for ts in ([a, torch.zeros_like(a), b], [torch.zeros_like(a)] * 3, [a, a.clone()]):
        _same(karcher(ts), _mk("karcher", ts))
    ts = [a.double(), b.double(), (a - b).double()]
    got = karcher(ts)
    assert got.dtype == torch.float64
    _same(got, _mk("karcher", ts))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES)
def test_nearswap_tensor_matches_mergekit(seed, shape):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g)
    other = base + 0.01 * torch.randn(shape, generator=g)
    other.view(-1)[0] = base.view(-1)[0]  # identical entries: |diff| clamped to 1e-6
    for t in (0.0, 1e-4, 0.005, 0.5, 2.0):
        want = _mk("nearswap", [other], base, t=t)
        _same(nearswap(base, other, t), want)


def test_half_precision_inputs_computed_in_float32():
    """bfloat16 inputs: our functions compute in float32, which is mergekit's result with
    `dtype: float32` (without it mergekit computes in bfloat16)."""
    g = torch.Generator().manual_seed(5)
    a, b, c, base = (torch.randn(32, 16, generator=g).bfloat16() for _ in range(4))
    f32 = torch.float32
    _same(nuslerp_merge(base, [a, b], [1.0, 2.0]), _mk("nuslerp", [a, b], base, f32, weight=[1, 2]))
    _same(multislerp(None, [a, b, c], [1, 1, 1]), _mk("multislerp", [a, b, c], None, f32, weight=1))
    _same(karcher([a, b, c]), _mk("karcher", [a, b, c], None, f32))
    _same(nearswap(base, a, 0.3), _mk("nearswap", [a], base, f32, t=0.3))


# Whole merges of small Llamas: mergekit's run_merge on its config vs platypus' merge().


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-geometric")
    base = tiny_llama(root / "base", 0)
    return {"base": base, **{k: tiny_llama(root / k, s, base) for s, k in enumerate("abc", 1)}}


def _both(tmp_path, tiny, method, models: dict, shared: dict, base, listed, as_mergekit=False):
    """mergekit's merge (its config: `models` name -> per-model parameters, `shared` the
    merge's parameters, the base first among the models if `listed`) and ours of the same
    config, written our way or (`as_mergekit`) given as mergekit's."""
    mk_models = [{"model": str(tiny[k]), "parameters": p} for k, p in models.items()]
    if listed:
        mk_models.insert(0, {"model": str(tiny[base])})
    mk = {"merge_method": method, "models": mk_models, "parameters": shared, "dtype": "float32"}
    if base is not None:
        mk["base_model"] = str(tiny[base])
    want = _mergekit(tmp_path, method, mk)
    out = tmp_path / "ours"
    if as_mergekit:
        ours = MergeConfig.model_validate(mk | {"output_dir": str(out)})
    else:
        ours = MergeConfig(
            method=method,
            base_model=str(tiny[base]) if base is not None else None,
            models=[
                {"model": m["model"], "parameters": m.get("parameters") or {}} for m in mk_models
            ],
            parameters=shared,
            output_dir=str(out),
        )
    merge(ours)
    return want, load_file(out / "model.safetensors")


W = {"a": {"weight": 0.3}, "b": {"weight": 0.9}}
E2E = {
    # name: (method, models, shared parameters, base, base listed among the models)
    "nuslerp-flat-base": ("nuslerp", W, {}, "base", False),
    "nuslerp-rows-base": (
        "nuslerp",
        W,
        {"nuslerp_flatten": False, "nuslerp_row_wise": True},
        "base",
        True,
    ),
    "nuslerp-columns-base": ("nuslerp", W, {"nuslerp_flatten": False}, "base", False),
    "nuslerp-flat-rowwise": ("nuslerp", W, {"nuslerp_row_wise": True}, None, False),
    "nuslerp-columns": ("nuslerp", W, {"nuslerp_flatten": False}, None, False),
    "nuslerp-rows": (
        "nuslerp",
        W,
        {"nuslerp_flatten": False, "nuslerp_row_wise": True},
        None,
        False,
    ),
    "multislerp-base": (
        "multislerp",
        {"a": {"weight": 0.5}, "b": {"weight": 1.5}, "c": {"weight": [0.2, 1.0]}},
        {"normalize_weights": False},
        "base",
        True,
    ),
    "multislerp": (
        "multislerp",
        {"a": {"weight": 0.5}, "b": {"weight": 1.5}, "c": {}},
        {"normalize_weights": True, "weight": 0.7, "eps": 1e-6},
        None,
        False,
    ),
    "karcher": ("karcher", {"a": {}, "b": {}, "c": {}}, {"max_iter": 3, "tol": 1e-7}, None, False),
    "karcher-base": ("karcher", {"a": {}, "b": {}}, {"max_iter": 25, "tol": 1e-6}, "base", False),
    "karcher-base-listed": ("karcher", {"a": {}, "b": {}}, {}, "base", True),
    "nearswap": ("nearswap", {"a": {}}, {"t": 0.01}, "base", True),
    "nearswap-filtered": (
        "nearswap",
        {"b": {}},
        {"t": [{"filter": "mlp", "value": [0.002, 0.03]}, {"value": 0.01}]},
        "base",
        False,
    ),
}


@pytest.mark.parametrize(
    "case",
    list(E2E)
    + [f"{c}-as-mergekit" for c in ("multislerp-base", "karcher-base-listed", "nearswap")],
)
def test_merge_matches_mergekit(tmp_path, tiny, case):
    pytest.importorskip("mergekit")
    method, models, shared, base, listed = E2E[case.removesuffix("-as-mergekit")]
    as_mk = case.endswith("-as-mergekit")
    want, got = _both(tmp_path, tiny, method, models, shared, base, listed, as_mk)
    inputs = [load_file(tiny[k] / "model.safetensors") for k in ["base", *models]]
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].dtype == want[k].dtype == torch.float32
        assert torch.equal(got[k], want[k]), (case, k, (got[k] - want[k]).abs().max())
        assert not any(torch.equal(got[k], i[k]) for i in inputs), (case, k)  # a real merge


@pytest.mark.parametrize(
    ("method", "models", "base", "message"),
    [
        ("nuslerp", "abc", None, "merges exactly two models; got 3"),
        ("nuslerp", "a", "base", "merges exactly two models; got 1"),
        ("nuslerp", ["base", "a"], "base", "merges exactly two models; got 1"),  # base listed
        ("nearswap", "ab", "base", "merges the base with exactly one other model; got 2"),
        ("multislerp", "", None, "needs `models`"),
        ("karcher", "", "base", "needs `models`"),
    ],
)
def test_wrong_number_of_models_is_one_line(tmp_path, tiny, method, models, base, message):
    config = MergeConfig(
        method=method,
        base_model=str(tiny[base]) if base else None,
        models=[{"model": str(tiny[k])} for k in models],
        parameters={"t": 0.01} if method == "nearswap" else {},
        output_dir=str(tmp_path / "o"),
    )
    for check in (get(method).validate, merge):
        with pytest.raises(PlatypusError) as error:
            check(config)
        assert str(error.value) == f"merge method {method!r} {message}"
    assert not (tmp_path / "o").exists()


def test_parameters_checked_in_one_line(tmp_path, tiny):
    def config(method, parameters, models="a"):
        return MergeConfig(
            method=method,
            base_model=str(tiny["base"]),
            models=[{"model": str(tiny[k])} for k in models],
            parameters=parameters,
            output_dir=str(tmp_path / "o"),
        )

    with pytest.raises(PlatypusError, match=r"^merge method 'nearswap' needs parameters\.t"):
        merge(config("nearswap", {}))
    with pytest.raises(PlatypusError, match=r"^nearswap: parameters\.t gives no value for "):
        merge(config("nearswap", {"t": [{"filter": "mlp", "value": 0.01}]}))
    with pytest.raises(PlatypusError, match=r"^karcher: max_iter is a whole number, got 2\.5$"):
        merge(config("karcher", {"max_iter": 2.5}, "ab"))
    with pytest.raises(PlatypusError, match=r"^merge method 'nuslerp': parameters has no "):
        merge(config("nuslerp", {"t": 0.5}, "ab"))


def test_registered_with_mergekit_defaults():
    pytest.importorskip("mergekit")
    from mergekit import merge_methods

    for name in ("nuslerp", "multislerp", "karcher", "nearswap"):
        ours = {p.mergekit_name: p for p in get(name).parameters}
        theirs = {p.name: p for p in merge_methods.get(name).spec.parameters}
        assert ours.keys() == theirs.keys(), name
        for key, p in theirs.items():
            assert ours[key].per_model == (p.scope != "shared"), (name, key)
            if not p.required:
                assert ours[key].default == p.default, (name, key)
    # mergekit requires these; ours: equal weights, and t stays required
    assert get("nuslerp").parameter("weight").default == 1.0
    assert get("nearswap").parameter("t").default is None
