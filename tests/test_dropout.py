"""LoRA's CPU dropout against torch.nn.Dropout: the same distribution, scaling, gradient and
determinism (platypus.train.dropout)."""

import pytest
import torch
from torch import nn

from platypus.train.dropout import CpuDropout, use_cpu_dropout

N = 1_200_000
P = 0.05


def _sigmas(count: float, n: int, p: float) -> float:
    """How many standard deviations a binomial count is from n * p."""
    return abs(count - n * p) / (n * p * (1 - p)) ** 0.5


def test_drops_each_element_with_p_and_scales_the_rest_like_torch():
    torch.manual_seed(0)
    x = torch.ones(N)
    ours, theirs = CpuDropout(P), nn.Dropout(P)
    y, t = ours(x), theirs(x)
    assert ours.p == pytest.approx(P, abs=1 / 65536)  # 3,277 of 65,536 levels
    for out, p in ((y, ours.p), (t, P)):
        dropped = int((out == 0).sum())
        assert _sigmas(dropped, N, p) < 5, dropped
        kept = out[out != 0]
        assert torch.all(kept == kept[0]) and float(kept[0]) == pytest.approx(1 / (1 - p))
    assert float(y[y != 0][0]) == pytest.approx(float(t[t != 0][0]), rel=1e-5)
    assert float(y.mean()) == pytest.approx(1.0, abs=5e-3)  # unbiased, as torch's
    # Elements that share one 64-bit draw (three per draw) are independent: both of a pair
    # of neighbours dropped as often as p squared, in each of the three positions.
    drop = (y == 0).view(-1, 3)
    for a, b in ((0, 1), (1, 2), (0, 2)):
        both = int((drop[:, a] & drop[:, b]).sum())
        assert _sigmas(both, drop.shape[0], ours.p**2) < 5, (a, b, both)


def test_eval_mode_and_p_zero_pass_the_input_through():
    x = torch.randn(64, 32)
    drop = CpuDropout(P).eval()
    assert drop(x) is x
    assert CpuDropout(0.0).train()(x) is x
    with pytest.raises(ValueError):
        CpuDropout(1.0)


def test_gradient_is_the_mask_times_the_scale_and_bf16_stays_bf16():
    torch.manual_seed(1)
    x = torch.randn(1000, 64, requires_grad=True)
    drop = CpuDropout(P)
    y = drop(x)
    g = torch.randn_like(y)
    y.backward(g)
    kept = y != 0
    assert torch.equal(x.grad[kept], g[kept] * drop.scale) and torch.all(x.grad[~kept] == 0)
    assert torch.allclose(y[kept], x.detach()[kept] * drop.scale)
    half = drop(torch.randn(8, 8, dtype=torch.bfloat16))
    assert half.dtype == torch.bfloat16


def test_masks_follow_torch_s_seed():
    x = torch.ones(10_000)
    torch.manual_seed(7)
    a = CpuDropout(P)(x)
    torch.manual_seed(7)
    b = CpuDropout(P)(x)
    c = CpuDropout(P)(x)
    assert torch.equal(a, b) and not torch.equal(b, c)


def test_lora_layers_get_it_and_the_model_is_otherwise_the_same(tiny_llama):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    lora = LoraConfig(r=4, lora_alpha=4, lora_dropout=P, target_modules=["gate_proj", "up_proj"])
    model = get_peft_model(model, lora)
    ids = torch.randint(0, 1000, (2, 12))
    before = model.eval()(input_ids=ids).logits
    assert use_cpu_dropout(model) == 4  # 2 layers x gate/up
    swapped = [m for m in model.modules() if isinstance(m, CpuDropout)]
    assert len(swapped) == 4 and all(m.p == pytest.approx(P, abs=1e-5) for m in swapped)
    assert not any(type(m) is nn.Dropout and m.p > 0 for m in model.modules())
    assert torch.equal(model.eval()(input_ids=ids).logits, before)
