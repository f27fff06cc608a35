"""Prompt formats: the Alpaca template and the tokenizer's own chat template (SmolLM2's)."""

import copy
import hashlib
import json

import pytest
import torch

from conftest import read_jsonl, short_math_rows
from platypus.cli import main
from platypus.data.record import Record
from platypus.errors import PlatypusError
from platypus.io.records import read_records
from platypus.models import prepared_path
from platypus.train.examples import tokenize
from platypus.train.plan import collate
from platypus.train.template import alpaca_prompt, prompt_format_of


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(prepared_path())


@pytest.fixture(scope="module")
def math_rows(tmp_path_factory):
    return short_math_rows(tmp_path_factory.mktemp("math"), max_output=400, rows=120)


def _turns(rec: Record, with_answer: bool) -> list[dict]:
    user = rec.instruction + (f"\n\n{rec.input}" if rec.input.strip() else "")
    turns = [{"role": "user", "content": user}]
    return turns + [{"role": "assistant", "content": rec.output}] if with_answer else turns


def test_chat_template_split_is_the_templates_rendering(tok, math_rows):
    records = read_records(math_rows)[:20] + [Record("in", "Add the numbers.", "2, 3", "5", "t")]
    examples, counts = tokenize(records, tok, max_length=4096, prompt_format="chat_template")
    assert counts == {"kept": len(records)}
    for rec, ex in zip(records, examples, strict=True):
        prompt = tok.apply_chat_template(
            _turns(rec, False), add_generation_prompt=True, return_dict=False
        )
        whole = tok.apply_chat_template(_turns(rec, True), return_dict=False)
        # Masked: exactly the user turn plus the generation prompt; learned: what follows.
        assert ex.ids[: ex.prompt_len] == prompt, rec.id
        assert ex.ids == whole, rec.id
        response = tok.decode(ex.ids[ex.prompt_len :])
        assert response == rec.output + "<|im_end|>\n"  # the template's end of turn
        assert tok.eos_token_id in ex.ids[ex.prompt_len :]
    user_with_input = tok.decode(examples[-1].ids[: examples[-1].prompt_len])
    turns = "user\nAdd the numbers.\n\n2, 3<|im_end|>\n<|im_start|>assistant\n"
    assert user_with_input.endswith(turns)
    # The loss mask covers the positions predicting the response, and only those.
    first = examples[0]
    mask = collate([first], 0, packed=False)["loss_mask"][0]
    assert int(mask.sum()) == first.response_tokens and mask[first.prompt_len - 1] == 1
    assert int(mask[: first.prompt_len - 1].sum()) == 0


def test_alpaca_stays_the_default_and_unchanged(tok, math_rows):
    records = read_records(math_rows)[:10]
    default, _ = tokenize(records, tok, max_length=4096)
    for rec, ex in zip(records, default, strict=True):
        prompt = tok(alpaca_prompt(rec.instruction, rec.input)).input_ids
        response = tok(rec.output, add_special_tokens=False).input_ids
        assert ex.ids == prompt + response + [tok.eos_token_id]
        assert ex.prompt_len == len(prompt)
    chat, _ = tokenize(records, tok, max_length=4096, prompt_format="chat_template")
    assert all(a.ids != c.ids for a, c in zip(default, chat, strict=True))


def test_a_tokenizer_without_a_chat_template_is_refused(tok, math_rows, tmp_path, capsys):
    plain = copy.deepcopy(tok)
    plain.chat_template = None
    records = read_records(math_rows)[:2]
    with pytest.raises(PlatypusError, match="has no chat template; use prompt_format: alpaca"):
        tokenize(records, plain, max_length=512, prompt_format="chat_template")
    # The same through the command: a model folder whose tokenizer has no template.
    model = tmp_path / "no-template"
    model.mkdir()
    for f in prepared_path().iterdir():
        if f.name != "chat_template.jinja":
            (model / f.name).symlink_to(f)
    argv = ["train", "--input", str(math_rows), "--model", str(model), "--output-dir",
            str(tmp_path / "out"), "--set", "prompt_format=chat_template",
            "--set", "val_size=8"]  # fmt: skip
    assert main(argv) == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(errors) == 1 and "has no chat template" in errors[0], errors
    assert main(["train", "--input", str(math_rows), "--set", "prompt_format=chatml"]) == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(errors) == 1 and "unknown prompt_format 'chatml'" in errors[0], errors


# The chat-template run is slow-only (22 s): the default suite keeps alpaca's run, and the chat
# template's rendering and loss mask are checked without training above.
@pytest.mark.parametrize(
    "prompt_format", ["alpaca", pytest.param("chat_template", marks=pytest.mark.slow)]
)
def test_training_with_each_format_lowers_held_out_loss(
    prompt_format, tok, math_rows, tmp_path, capsys
):
    out = tmp_path / "run"
    # fp32: CPUs without bf16 instructions emulate bf16 autocast, slowly.
    argv = ["train", "--input", str(math_rows), "--output-dir", str(out), "--max-steps", "4",
            "--micro-batch-size", "4", "--set", f"prompt_format={prompt_format}",
            "--set", "global_batch_size=4", "--set", "val_size=8", "--set", "max_length=192",
            "--set", "learning_rate=1e-3", "--set", "lora.dropout=0.0", "--no-bf16"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["val_loss_end"] < 0.98 * summary["val_loss_start"], summary
    assert [m["step"] for m in read_jsonl(out / "metrics.jsonl") if "loss" in m] == list(
        range(1, 5)
    )
    sha = hashlib.sha256(tok.get_chat_template().encode()).hexdigest()
    expected = {
        "prompt_format": prompt_format,
        "chat_template_sha256": sha if prompt_format == "chat_template" else None,
    }
    info = json.loads((out / "train_config.json").read_text())
    assert info["prompt"] == expected and info["config"]["prompt_format"] == prompt_format
    assert json.loads((out / "adapter" / "platypus_prompt.json").read_text()) == expected
    assert prompt_format_of(out / "adapter") == prompt_format
    capsys.readouterr()


def test_prompt_format_of_reads_old_and_refuses_bad_records(tmp_path):
    assert prompt_format_of(tmp_path) == "alpaca"  # adapters from before formats were recorded
    (tmp_path / "platypus_prompt.json").write_text('{"prompt_format": "vicuna"}')
    with pytest.raises(PlatypusError, match="unknown prompt_format 'vicuna'"):
        prompt_format_of(tmp_path)
    (tmp_path / "platypus_prompt.json").write_text("[1]")
    with pytest.raises(PlatypusError, match="not a prompt record"):
        prompt_format_of(tmp_path)


def test_chat_held_out_loss_is_on_the_response_only(tok, math_rows):
    """The masked prompt really is excluded: the loss equals a manual cross-entropy over the
    template's response tokens."""
    from platypus.models import load_causal_lm
    from platypus.train.loss import ResponseLoss

    model, _ = load_causal_lm()
    ex = tokenize(read_records(math_rows)[:1], tok, 512, prompt_format="chat_template")[0][0]
    with torch.no_grad():
        loss_sum, n = ResponseLoss(model)(**collate([ex], 0, packed=False))
        logits = model(torch.tensor([ex.ids])).logits[0].float()
    targets = torch.tensor(ex.ids[ex.prompt_len :])
    manual = torch.nn.functional.cross_entropy(
        logits[ex.prompt_len - 1 : -1], targets, reduction="sum"
    )
    assert n == ex.response_tokens and float(loss_sum) == pytest.approx(float(manual), rel=1e-4)
