"""The training template saved as the chat template (adapter and merged folders), and
`platypus chat` / `platypus generate` prompting a model as it was trained."""

import json
import os
import subprocess
import sys

import jinja2
import pytest
import torch

from conftest import REPO, error_lines, read_jsonl, short_math_rows
from platypus.cli import main
from platypus.data.record import Record
from platypus.train.saved_template import (
    ALPACA_CHAT_TEMPLATE,
    alpaca_chat_template,
    save_training_template,
    supports_multi_turn,
    training_chat_template,
)
from platypus.train.template import AlpacaFormat, alpaca_prompt, chat_messages

TOKENS = 6  # new tokens per completion: enough to compare, cheap on the tiny model


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    from platypus.models import prepared_path

    return AutoTokenizer.from_pretrained(prepared_path())


@pytest.fixture(scope="module")
def gsm8k(shared_data):
    lines = (shared_data / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    rows = [json.loads(line) for line in lines]
    return [
        Record(f"gsm8k-{i}", r["question"], "", r["answer"], "gsm8k") for i, r in enumerate(rows)
    ]


def _ids(tok, messages, template=ALPACA_CHAT_TEMPLATE, **kwargs):
    return tok.apply_chat_template(
        messages, chat_template=template, tokenize=True, return_dict=False, **kwargs
    )


def test_alpaca_template_gives_the_tokens_training_learns(tok, gsm8k):
    """For real GSM8K rows: the generation prompt is AlpacaFormat's prompt ids, and with the
    answer as the assistant turn the ids are its prompt + response (EOS included)."""
    for record in gsm8k:
        prompt, response = AlpacaFormat().split(record, tok)
        user = chat_messages(record.instruction, record.input)
        assert _ids(tok, user, add_generation_prompt=True) == prompt
        whole = chat_messages(record.instruction, record.input, record.output)
        assert _ids(tok, whole) == prompt + response, record.id
        assert tok.apply_chat_template(
            user, chat_template=ALPACA_CHAT_TEMPLATE, add_generation_prompt=True, tokenize=False
        ) == alpaca_prompt(record.instruction)


def test_alpaca_template_with_a_bos_adding_tokenizer(tok, gsm8k):
    """A tokenizer that adds BOS to every text gets `bos_token` in front, as AlpacaFormat's
    prompt has it."""
    import copy

    bos_tok = copy.deepcopy(tok)
    bos_tok.add_bos_token = True
    assert bos_tok("a").input_ids[0] == bos_tok.bos_token_id
    template = training_chat_template("alpaca", bos_tok)
    assert template == alpaca_chat_template(bos=True) != ALPACA_CHAT_TEMPLATE
    assert training_chat_template("alpaca", tok) == ALPACA_CHAT_TEMPLATE  # SmolLM2 adds none
    for record in gsm8k[:10]:
        prompt, response = AlpacaFormat().split(record, bos_tok)
        assert prompt[0] == bos_tok.bos_token_id
        whole = chat_messages(record.instruction, record.input, record.output)
        assert _ids(bos_tok, whole, template) == prompt + response


def test_alpaca_template_with_input_system_and_turns(tok):
    """The documented edges: a row's input goes into the user turn (the no-input form, not the
    `### Input:` prompt training used), a system turn is ignored, a second user turn refused."""
    user = chat_messages("Translate to French.", "Good morning")
    text = tok.apply_chat_template(
        user, chat_template=ALPACA_CHAT_TEMPLATE, add_generation_prompt=True, tokenize=False
    )
    assert text == alpaca_prompt("Translate to French.\n\nGood morning")
    assert text != alpaca_prompt("Translate to French.", "Good morning")
    system = [{"role": "system", "content": "Be terse."}, *chat_messages("Hi?", "")]
    assert _ids(tok, system, add_generation_prompt=True) == _ids(
        tok, chat_messages("Hi?", ""), add_generation_prompt=True
    )
    two = [*chat_messages("Hi?", "", "Hello."), {"role": "user", "content": "And?"}]
    with pytest.raises(jinja2.TemplateError, match="single-turn"):
        _ids(tok, two, add_generation_prompt=True)
    assert not supports_multi_turn(tok, ALPACA_CHAT_TEMPLATE)
    assert supports_multi_turn(tok)  # SmolLM2's ChatML


def test_saved_template_is_read_back_and_the_tokenizer_is_left_alone(tok, tmp_path):
    from transformers import AutoTokenizer

    own = tok.chat_template
    save_training_template(tmp_path / "alpaca", "alpaca", tok)
    assert tok.chat_template == own
    assert (tmp_path / "alpaca" / "chat_template.jinja").read_text() == ALPACA_CHAT_TEMPLATE
    assert AutoTokenizer.from_pretrained(tmp_path / "alpaca").chat_template == ALPACA_CHAT_TEMPLATE
    save_training_template(tmp_path / "chat", "chat_template", tok)
    assert AutoTokenizer.from_pretrained(tmp_path / "chat").chat_template == own


# ---- a 1-step adapter on the tiny Llama, merged -------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_llama):
    """(training folder, its adapter folder, the merged folder), through the API."""
    import platypus

    tmp = tmp_path_factory.mktemp("chat")
    rows = short_math_rows(tmp, max_output=300, rows=8)
    run = tmp / "train"
    platypus.train(
        str(rows), run, model=str(tiny_llama), max_steps=1, max_length=128, val_size=0,
        micro_batch_size=4, global_batch_size=4, bf16=False,
    )  # fmt: skip
    merged = tmp / "merged"
    platypus.merge(merged, adapter=run)
    return run, run / "adapter", merged


def test_adapter_and_merged_folders_carry_the_training_template(trained, tiny_llama):
    from transformers import AutoTokenizer

    _, adapter, merged = trained
    assert json.loads((adapter / "platypus_prompt.json").read_text())["prompt_format"] == "alpaca"
    user = [{"role": "user", "content": "What is 2 + 2?"}]
    for folder in (adapter, merged):
        loaded = AutoTokenizer.from_pretrained(folder)
        assert loaded.chat_template == ALPACA_CHAT_TEMPLATE, folder
        text = loaded.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
        assert text == alpaca_prompt("What is 2 + 2?")
    # the base keeps its own (ChatML)
    assert AutoTokenizer.from_pretrained(tiny_llama).chat_template != ALPACA_CHAT_TEMPLATE


def _greedy(model, tok, text: str) -> str:
    """model.generate, greedy, on the prompt the adapter folder's template renders."""
    ids = tok.apply_chat_template(
        [{"role": "user", "content": text}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=False,
    )
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([ids]), max_new_tokens=TOKENS, do_sample=False, pad_token_id=2
        )[0, len(ids) :].tolist()
    end = out.index(tok.eos_token_id) if tok.eos_token_id in out else len(out)
    return tok.decode(out[:end], skip_special_tokens=True)


@pytest.fixture(scope="module")
def direct(trained, tiny_llama):
    """The tiny base with the adapter, loaded as PEFT loads it, and the adapter's tokenizer."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, adapter, _ = trained
    base = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter).eval()
    return model, AutoTokenizer.from_pretrained(adapter)


PROMPTS = ["What is 2 + 2?", "Name a prime number.", "Solve x + 3 = 5."]


def test_chat_prompt_prints_the_greedy_completion(trained, direct, capsys):
    run, _, _ = trained
    want = _greedy(*direct, PROMPTS[0])
    # the training folder as --adapter, resolved to its adapter; the base from its record
    code = main(["chat", "--adapter", str(run), "--prompt", PROMPTS[0],
                 "--max-new-tokens", str(TOKENS), "--device", "cpu"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == want + "\n"


def test_sampling_is_seeded(trained, capsys):
    _, adapter, _ = trained
    outs = []
    for seed in (1, 1, 2):
        args = ["chat", "--adapter", str(adapter), "--prompt", PROMPTS[0], "--temperature",
                "1.5", "--seed", str(seed), "--max-new-tokens", "12"]  # fmt: skip
        assert main(args) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2]


def test_merged_folder_alone_answers_as_the_adapter(trained, direct, capsys):
    _, _, merged = trained
    want = _greedy(*direct, PROMPTS[1])
    code = main(["chat", "--model", str(merged), "--prompt", PROMPTS[1],
                 "--max-new-tokens", str(TOKENS)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == want + "\n"


def test_generate_writes_a_completion_per_row_in_order_and_resumes(
    trained, direct, tmp_path, capsys
):
    _, adapter, _ = trained
    rows = [{"id": i, "prompt": p} for i, p in enumerate(PROMPTS)]
    rows.append({"id": 3, "messages": [{"role": "user", "content": "Why?"}], "extra": [1]})
    source = tmp_path / "prompts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "completions.jsonl"
    args = ["generate", "--adapter", str(adapter), "--input", str(source), "--output", str(out),
            "--max-new-tokens", str(TOKENS), "--batch-size", "1"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    done = read_jsonl(out)
    assert [{k: v for k, v in r.items() if k != "completion"} for r in done] == rows
    want = [_greedy(*direct, p) for p in [*PROMPTS, "Why?"]]
    assert [r["completion"] for r in done] == want and all(want)  # (no row ended at once)
    # batched (left-padded) the same rows come back in the same order, one each
    batched = tmp_path / "batched.jsonl"
    chat_args = ["chat", *args[1:5], "--output", str(batched), "--max-new-tokens", str(TOKENS)]
    assert main(chat_args) == 0, capsys.readouterr().err
    assert [r["id"] for r in read_jsonl(batched)] == [0, 1, 2, 3]
    # stopped part-way (the last row missing, the one before cut short): run again, completed
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:2]) + lines[2][:10])
    capsys.readouterr()
    assert main(args) == 0
    assert "2 completions written" in capsys.readouterr().err
    assert read_jsonl(out) == done


def test_session_answers_each_line_of_stdin(trained, direct, tmp_path):
    """A session driven through a pipe: each line a turn (the alpaca template is single-turn,
    so each is its own conversation), /reset clears, /exit ends."""
    _, adapter, _ = trained
    lines = [PROMPTS[0], "", "/reset", PROMPTS[2], "/exit", "never read"]
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "platypus", "chat", "--adapter", str(adapter),
         "--max-new-tokens", str(TOKENS)],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "".join(_greedy(*direct, p) + "\n" for p in (PROMPTS[0], PROMPTS[2]))


def test_mistakes_are_one_line(trained, tmp_path, capsys):
    _, adapter, _ = trained
    not_adapter = tmp_path / "empty"
    not_adapter.mkdir()
    bad_rows = tmp_path / "bad.jsonl"
    bad_rows.write_text('{"prompt": "fine"}\n{"text": "no prompt"}\n')
    not_json = tmp_path / "broken.jsonl"
    not_json.write_text('{"prompt": "fine"}\n{"prompt": \n')
    out = str(tmp_path / "out.jsonl")
    cases = [
        (["--adapter", str(tmp_path / "missing"), "--prompt", "x"], "no such folder"),
        (["--adapter", str(not_adapter), "--prompt", "x"], "no adapter_config.json"),
        (["--adapter", str(adapter), "--input", str(bad_rows), "--output", out],
         "bad.jsonl: line 2: no prompt"),
        (["--adapter", str(adapter), "--input", str(not_json), "--output", out], "broken.jsonl"),
        (["--adapter", str(adapter), "--input", str(bad_rows)], "--input and --output"),
        (["--adapter", str(adapter), "--prompt", "x", "--max-new-tokens", "0"], "at least 1"),
    ]  # fmt: skip
    for args, expected in cases:
        assert main(["chat", *args]) == 2, args
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1 and expected in lines[0], (args, lines)
    assert main(["generate", "--adapter", str(adapter)]) == 2
    assert "needs --input" in capsys.readouterr().err
