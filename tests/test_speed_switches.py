"""The training speed switches on a CPU (platypus.train.speed): the GPU-only ones refused in one
line, the fused head loss's hidden-state path computing the model's own loss (with a plain-torch
stand-in for Liger's kernel, which needs a GPU), and torch.compile keeping the numbers. Their GPU
runs are in tests/test_gpu.py."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import yaml

from conftest import read_jsonl, short_math_rows
from platypus.cli import main
from platypus.errors import PlatypusError
from platypus.io.records import read_records
from platypus.train.examples import tokenize
from platypus.train.loss import ResponseLoss
from platypus.train.plan import collate
from platypus.train.speed import check_fusable, linear_cross_entropy

SMALL = dict(max_length=192, micro_batch_size=4, global_batch_size=8, val_size=0, bf16=False,
             lora={"dropout": 0.0})  # fmt: skip


@pytest.fixture(scope="module")
def math_rows(tmp_path_factory):
    return short_math_rows(tmp_path_factory.mktemp("math"), max_output=300, rows=40)


def _train(tmp_path, data, name: str, train: dict, capsys, steps: int = 2) -> tuple[int, str]:
    recipe = tmp_path / f"{name}.yaml"
    recipe.write_text(yaml.safe_dump({"train": train}))
    out = tmp_path / name
    code = main(["train", "--input", str(data), "--output-dir", str(out), "--max-steps",
                 str(steps), "--recipe", str(recipe)])  # fmt: skip
    return code, capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU host's refusals")
def test_gpu_switches_are_refused_in_one_line_on_a_cpu(tmp_path, math_rows, tiny_llama, capsys,
                                                       monkeypatch):  # fmt: skip
    base = SMALL | {"model": str(tiny_llama)}
    installed = importlib.util.find_spec("liger_kernel") is not None
    cases = [({"activation_offloading": True}, "nothing to offload")]
    cases.append(({"liger": True}, "needs a CUDA device" if installed else "liger-kernel package"))
    for extra, expected in cases:
        code, err = _train(tmp_path, math_rows, "refused", base | extra, capsys)
        lines = [x for x in err.splitlines() if "error" in x]
        assert code == 2 and len(lines) == 1 and expected in lines[0], err
        assert "Traceback" not in err
    if not installed:  # the device check, as a host with the package would reach it
        real = importlib.util.find_spec

        def find_spec(name, *args):
            return object() if name == "liger_kernel" else real(name, *args)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)
        code, err = _train(tmp_path, math_rows, "refused", base | {"liger": True}, capsys)
        assert code == 2 and "needs a CUDA device (Liger's kernels" in err and "on cpu" in err


@pytest.mark.parametrize("packed", [False, True])
def test_the_head_loss_path_computes_the_models_own_loss(math_rows, packed):
    """ResponseLoss with a head loss (Liger's fused linear cross-entropy on a GPU) runs the model
    to its hidden states and applies the head at the predicted positions only: with the plain
    torch reference in its place it must give the loss of the model's own logits, padded and
    packed, with SmolLM2's tied embeddings."""
    from platypus.models import load_causal_lm

    model, tok = load_causal_lm()
    examples, _ = tokenize(read_records(math_rows)[:3], tok, max_length=192)
    batch = collate(examples, tok.eos_token_id, packed=packed)
    with torch.no_grad():
        want, n = ResponseLoss(model)(**batch)
        got, m = ResponseLoss(model, head_loss=linear_cross_entropy)(**batch)
    assert n == m == sum(e.response_tokens for e in examples)
    assert float(got) == pytest.approx(float(want), rel=1e-5)


def _tiny(config_class, **extra):
    config = config_class(vocab_size=300, hidden_size=64, intermediate_size=128,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          head_dim=16, **extra)  # fmt: skip
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config).eval()


def test_the_head_loss_keeps_gemma2_soft_capping_and_refuses_a_logit_scale():
    """Gemma2 caps its logits (tanh) before the loss: the fused loss gets the cap, and with it the
    hidden-state path matches the model's own capped logits. A model that scales its logits in
    its forward (Cohere) is refused, not silently trained on another loss."""
    from transformers import CohereConfig, Gemma2Config

    model = _tiny(Gemma2Config, final_logit_softcapping=0.02)
    cap = check_fusable(model)
    assert cap == 0.02
    ids = torch.randint(0, 300, (2, 12), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[:, :4] = 0

    def capped(w, h, t, b=None):
        return linear_cross_entropy(w, h, t, b, softcap=cap)

    with torch.no_grad():
        want, _ = ResponseLoss(model)(input_ids=ids, loss_mask=mask)
        got, _ = ResponseLoss(model, head_loss=capped)(input_ids=ids, loss_mask=mask)
        uncapped, _ = ResponseLoss(model, head_loss=linear_cross_entropy)(ids, mask)
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    assert abs(float(uncapped) - float(want)) > 1e-3 * float(want)  # the cap matters here
    cohere = _tiny(CohereConfig, logit_scale=0.0625)
    with pytest.raises(PlatypusError, match="logit_scale=0.0625"):
        check_fusable(cohere)


def _compiled_losses(tmp_path, math_rows, tiny_llama, capsys) -> dict[str, list[float]]:
    # one micro-batch per step and one step: one compilation (a new shape would be another)
    base = SMALL | {"model": str(tiny_llama), "global_batch_size": 4, "val_size": 4}
    losses = {}
    for name, extra in {"eager": {}, "compiled": {"compile": True}}.items():
        code, err = _train(tmp_path, math_rows, name, base | extra, capsys, steps=1)
        assert code == 0, err
        losses[name] = [m.get("loss", m.get("val_loss"))
                        for m in read_jsonl(tmp_path / name / "metrics.jsonl")]  # fmt: skip
    assert len(losses["eager"]) == 3  # held-out, step, held-out
    return losses


def test_a_compiled_run_trains_and_validates(tmp_path, math_rows, tiny_llama, capsys,
                                            monkeypatch):  # fmt: skip
    """`compile: true` through the trainer, with torch.compile's graph capture but the eager
    backend (seconds, where inductor's code generation takes half a minute: that run is the
    slow test below). The held-out pass once failed on the compiled module: `module or
    self.loss_module` asked the compiled wrapper for its len()."""
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **kw: real(model, backend="eager"))
    losses = _compiled_losses(tmp_path, math_rows, tiny_llama, capsys)
    assert losses["compiled"] == pytest.approx(losses["eager"], rel=1e-6)


@pytest.mark.slow
def test_compile_keeps_the_numbers(tmp_path, math_rows, tiny_llama, capsys):
    """`compile: true` with inductor (it runs on a CPU): the same step and held-out losses as
    eager within float tolerance."""
    losses = _compiled_losses(tmp_path, math_rows, tiny_llama, capsys)
    assert losses["compiled"] == pytest.approx(losses["eager"], rel=1e-4)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_padding_free_packing_keeps_examples_apart(math_rows, attention):
    """`batching: packed` is padding-free packing: one row, positions restarting at each example
    and no mask, which transformers turns into a block-diagonal mask on these attention paths
    (flash_attention_2's variable-length kernel on a GPU: tests/test_gpu.py). Each example's loss
    is what it has alone."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from platypus.models import prepared_path

    model = AutoModelForCausalLM.from_pretrained(prepared_path(), attn_implementation=attention)
    tok = AutoTokenizer.from_pretrained(prepared_path())
    examples, _ = tokenize(read_records(math_rows)[:3], tok, max_length=192)
    loss = ResponseLoss(model.eval())
    with torch.no_grad():
        alone = sum(float(loss(**collate([e], 0, packed=False))[0]) for e in examples)
        packed = collate(examples, 0, packed=True)
        together = float(loss(**packed)[0])
        del packed["position_ids"]  # one sequence: the examples would see each other
        joined = float(loss(**packed)[0])
    assert together == pytest.approx(alone, rel=1e-5)
    assert abs(joined - alone) > 1e-2 * alone
