"""model_stock, breadcrumbs(_ties) and della(_linear) against mergekit 0.1.5 on small Llamas."""

import pytest
import torch
from safetensors.torch import load_file
from test_merge import _mergekit, tiny_llama

from platypus.cli import main
from platypus.config import MergeConfig
from platypus.errors import PlatypusError
from platypus.merge.methods import get
from platypus.merge.methods.task_arithmetic import della_mask, task_arithmetic
from platypus.merge.run import merge


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-more")
    base = tiny_llama(root / "base", 0)
    return {"base": base, **{k: tiny_llama(root / k, s, base) for s, k in enumerate("abc", 1)}}


def _both(tmp_path, tiny, method, models: dict, shared: dict | None = None):
    """mergekit's and our merge of `models` (name -> per-model parameters) onto the base."""
    shared = shared or {}
    mk = {
        "merge_method": method,
        "base_model": str(tiny["base"]),
        "models": [{"model": str(tiny[k]), "parameters": p} for k, p in models.items()],
        "parameters": shared,
        "dtype": "float32",
    }
    want = _mergekit(tmp_path, method, mk)
    out = tmp_path / "ours"
    merge(
        MergeConfig(
            method=method,
            base_model=str(tiny["base"]),
            models=[{"model": str(tiny[k]), **p} for k, p in models.items()],
            output_dir=str(out),
            **shared,
        )
    )
    return want, load_file(out / "model.safetensors")


DETERMINISTIC = {
    "model_stock": ({"a": {}, "b": {}, "c": {}}, {}),
    "model_stock-filter_wise": ({"a": {}, "b": {}, "c": {}}, {"filter_wise": True}),
    "breadcrumbs": (
        {"a": {"weight": 0.6, "density": 0.5, "gamma": 0.05}, "b": {"weight": 0.8, "density": 0.7}},
        {},
    ),
    "breadcrumbs_ties": (
        {"a": {"weight": 0.6, "density": 0.5}, "b": {"weight": 0.8, "density": 0.3, "gamma": 0.1}},
        {"normalize": True},
    ),
}


@pytest.mark.parametrize("case", list(DETERMINISTIC))
def test_matches_mergekit(tmp_path, tiny, case):
    pytest.importorskip("mergekit")
    method = case.split("-")[0]
    models, shared = DETERMINISTIC[case]
    want, got = _both(tmp_path, tiny, method, models, shared)
    base = load_file(tiny["base"] / "model.safetensors")
    assert got.keys() == want.keys()
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6, rtol=1e-5), (case, k)
        assert not torch.equal(got[k], base[k]), (case, k)  # every tensor took part


def test_breadcrumbs_drops_outliers_and_the_smallest():
    base = torch.zeros(1000)
    delta = torch.randperm(1000).float() + 1  # magnitudes 1..1000, shuffled
    got = task_arithmetic("breadcrumbs", base, [delta], [1.0], [0.5], extra=[0.1])
    kept = delta[got != 0]
    assert kept.numel() == 500 and kept.min() == 401 and kept.max() == 900


@pytest.mark.parametrize("method", ["della", "della_linear"])
def test_della_matches_mergekit_given_its_random_draws(tmp_path, tiny, method):
    """mergekit draws DELLA's drops from torch's global generator in its own tensor order: its
    draw (read back from a single-model merge) replayed through our code gives its result."""
    pytest.importorskip("mergekit")
    params = {"weight": 0.9, "density": 0.4, "epsilon": 0.2}
    want, ours = _both(tmp_path, tiny, method, {"a": params})
    base = load_file(tiny["base"] / "model.safetensors")
    a = load_file(tiny["a"] / "model.safetensors")
    for k in want:
        mask = (want[k] != base[k]).float()
        got = task_arithmetic(method, base[k], [a[k]], [0.9], [0.4], masks=[mask], extra=[0.2])
        assert torch.allclose(got, want[k], atol=1e-6), k
    # Our own draw keeps about `density` of each delta, like mergekit's.
    k = "model.layers.0.mlp.up_proj.weight"
    for merged in (want, ours):
        assert 0.37 < float((merged[k] != base[k]).float().mean()) < 0.43


def test_della_draw_is_mergekits_for_the_same_seed():
    """Same generator state, same keep-probabilities: our mask is mergekit's, entry for entry
    (rows of a matrix, and a 1-d tensor taken as one row)."""
    pytest.importorskip("mergekit")
    from mergekit.sparsify import RescaleNorm, della_magprune

    from platypus.merge.methods.task_arithmetic import l1_rescaled_

    for shape in ((48, 64), (300,)):
        delta = torch.randn(shape)
        torch.manual_seed(11)
        theirs = della_magprune(delta, 0.3, 0.1, rescale_norm=RescaleNorm.l1)
        mask = della_mask(delta, 0.3, 0.1, torch.Generator().manual_seed(11))
        assert torch.equal((theirs != 0).float(), mask)
        assert torch.allclose(l1_rescaled_(delta.clone(), mask), theirs, atol=1e-6)
    # Larger magnitudes are kept more often: top quarter vs bottom quarter of each row.
    delta = torch.randn(256, 512)
    mask = della_mask(delta, 0.5, 0.3, torch.Generator().manual_seed(0))
    order = delta.abs().argsort(dim=1)
    low, high = mask.gather(1, order[:, :128]).mean(), mask.gather(1, order[:, -128:]).mean()
    assert 0.24 < float(low) < 0.30 and 0.70 < float(high) < 0.76


def test_della_same_seed_same_model(tmp_path, tiny):
    runs = []
    for seed in (3, 3, 4):
        out = tmp_path / f"d{len(runs)}"
        merge(
            MergeConfig(
                method="della",
                base_model=str(tiny["base"]),
                seed=seed,
                models=[{"model": str(tiny["a"]), "density": 0.5}],
                output_dir=str(out),
            )
        )
        runs.append(load_file(out / "model.safetensors")["model.layers.1.self_attn.o_proj.weight"])
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_parameters_refused_in_one_line(tmp_path, tiny, capsys):
    bad = MergeConfig(
        method="della",
        base_model=str(tiny["base"]),
        models=[{"model": str(tiny["a"]), "density": 0.1, "epsilon": 0.15}],
    )
    with pytest.raises(PlatypusError, match=r"density 0.1 \+/- epsilon 0.15"):
        get("della").validate(bad)
    capsys.readouterr()
    code = main(["merge", "--method", "model_stock", "--base-model", str(tiny["base"]),
                 "--models", str(tiny["a"]), "--output-dir", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "at least two other models" in err and err.count("\n") == 1, err
