"""A large tensor is merged slice by slice and its inputs are freed as they are read, with the
output of the whole-tensor computation: the same bits where every step is entry by entry, the
same within float32 rounding where a norm or a sum over the whole tensor is accumulated
slice by slice."""

import pytest
import torch

from platypus.merge.methods import METHODS
from platypus.merge.methods import base as method_base

# The methods whose merge_tensor reads the merge's settings alone (no config beyond them).
SETTINGS = {
    "task_arithmetic": {},
    "ties": {"density": [0.4, 0.6]},
    "breadcrumbs": {"density": [0.5, 0.5], "gamma": [0.05, 0.1]},
    "breadcrumbs_ties": {"density": [0.5, 0.7], "gamma": [0.02, 0.02]},
    "dare_linear": {"density": [0.5, 0.3]},
    "dare_ties": {"density": [0.5, 0.3]},
    "della": {"density": [0.5, 0.4], "epsilon": [0.1, 0.2]},
    "della_linear": {"density": [0.5, 0.4], "epsilon": [0.1, 0.2]},
    "sce": {"select_topk": 0.5},
    "ram": {},
    "ramplus_tl": {},
    "multislerp": {},
    "nuslerp": {},
}
EXACT = {"task_arithmetic", "ties", "breadcrumbs", "breadcrumbs_ties", "dare_linear",
         "dare_ties", "della", "della_linear", "ram"}  # fmt: skip


def _inputs(shape, seed=3):
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g)
    # deltas rounded to a grid, so magnitudes tie at the cuts as bf16 deltas do
    models = [base + (torch.randn(shape, generator=g) * 4).round() / 100 for _ in range(2)]
    return base, models


def _merge(name, base, models, monkeypatch, chunk):
    method = METHODS[name]
    settings = method.defaults | {"weight": [0.6, 0.4]} | SETTINGS[name]
    settings = {k: v for k, v in settings.items() if k in method.defaults}
    monkeypatch.setattr(method_base, "CHUNK", chunk)
    return method.merge_tensor("model.layers.0.mlp.up_proj.weight", base.clone(),
                               [m.clone() for m in models], settings)  # fmt: skip


@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("shape", [(96, 80), (1000,), ()])
def test_sliced_merge_equals_the_whole_tensor_merge(monkeypatch, name, shape):
    base, models = _inputs(shape)
    whole = _merge(name, base, models, monkeypatch, 1 << 40)
    sliced = _merge(name, base, models, monkeypatch, 97)  # slices that split rows unevenly
    assert sliced.shape == whole.shape and sliced.dtype == whole.dtype
    if name in EXACT:
        assert torch.equal(sliced, whole), name
    else:
        torch.testing.assert_close(sliced, whole, rtol=1e-5, atol=1e-6)
    if shape:  # a one-entry tensor may keep nothing at density 0.5
        assert not torch.equal(whole, base)  # the merge did something


@pytest.mark.parametrize("name", ["slerp", "model_stock", "nearswap", "karcher"])
@pytest.mark.parametrize("shape", [(96, 80), (1000,)])
def test_more_merges_over_slices_are_the_whole_tensor_merge(monkeypatch, name, shape):
    """Their entry-by-entry steps run slice by slice: the same bits as the whole tensor."""
    base, models = _inputs(shape)
    method = METHODS[name]
    merged = []
    for chunk in (1 << 40, 97):
        monkeypatch.setattr(method_base, "CHUNK", chunk)
        merged.append(method.merge_tensor("w", base.clone(), [m.clone() for m in models],
                                          method.defaults | {"t": 0.3}))  # fmt: skip
    assert torch.equal(merged[0], merged[1]) and not torch.equal(merged[0], base)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_streaming_loops_inputs_are_freed_as_they_are_read(name):
    # merge_tensor's list is the loop's own fresh reads: each entry is dropped once read (its
    # memory becomes the delta), and the result is a merge of the same values.
    base, models = _inputs((64, 48))
    method = METHODS[name]
    settings = {k: v for k, v in (method.defaults | {"weight": [0.6, 0.4]} | SETTINGS[name])
                .items() if k in method.defaults}  # fmt: skip
    given = [m.clone() for m in models]
    merged = method.merge_tensor("x", base.clone(), given, settings)
    assert given == [None, None]
    again = method.merge_tensor("x", base.clone(), [m.clone() for m in models], settings)
    assert torch.equal(merged, again)


def test_by_chunks_is_the_function_applied_whole():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(10, 33, generator=g), torch.randn(10, 33, generator=g)

    def fn(x, y):
        return torch.where(x > 0, x * y, y - x).sqrt().nan_to_num()

    whole = fn(a, b)
    method_base.CHUNK, old = 17, method_base.CHUNK
    try:
        assert torch.equal(method_base.by_chunks(fn, a, b), whole)
    finally:
        method_base.CHUNK = old
