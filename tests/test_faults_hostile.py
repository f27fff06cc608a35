"""Hostile files: every file the project reads is bounded before it is used, so a crafted
recipe or dataset is one line and exit 2, in bounded time and memory, never a traceback."""

import json
import shutil
import struct
import time

import pytest

from conftest import error_lines
from platypus.cli import main


def _one_line(capsys, argv, says: str, seconds: float = 30.0) -> None:
    start = time.monotonic()
    code = main([str(a) for a in argv])
    took = time.monotonic() - start
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("platypus: error: "), err[-2000:]
    assert says in lines[0], lines[0][:500]
    assert len(lines[0]) < 2000  # nothing the file holds is echoed whole
    assert took < seconds, took


def alias_bomb(levels: int = 9) -> str:
    """`a: &a [x, x, ...]`, each level ten references to the one before: 10**9 leaves."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", [["plan"], ["run"], ["data", "build", "--recipe"]])
def test_a_yaml_alias_bomb_is_refused_at_once(command, tmp_path, capsys):
    """Inside a field that takes any value (a source's options), where it used to be expanded by
    validation and by the stage key's JSON."""
    recipe = tmp_path / "bomb.yaml"
    nested = "".join(f"          {line}\n" for line in alias_bomb().splitlines())
    recipe.write_text(f"data:\n  build:\n    sources:\n      math:\n        options:\n{nested}")
    _one_line(capsys, [*command, recipe], "aliases are expanded", seconds=10)


def test_a_deeply_nested_or_huge_recipe_is_refused(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    _one_line(capsys, ["plan", deep], "nested deeper than")
    huge = tmp_path / "huge.yaml"
    huge.write_text("train:\n  notes: " + "x" * (2 << 20) + "\n")
    _one_line(capsys, ["plan", huge], "larger than")


def test_a_ten_megabyte_unknown_key_is_named_not_echoed(tmp_path, capsys):
    recipe = tmp_path / "long.yaml"
    recipe.write_text('train:\n  ? "' + "k" * 900_000 + '"\n  : 1\n')
    _one_line(capsys, ["plan", recipe], "Extra inputs are not permitted")
    bomb = alias_bomb(4).replace("\n", "; ")
    _one_line(capsys, ["train", "--set", f"notes={{{bomb}}}"], "notes")
    big = alias_bomb(9).replace("\n", ", ")
    _one_line(capsys, ["train", "--set", f"lora={{{big}}}"], "aliases are expanded")


ROW = {"id": "r1", "instruction": "Add 2 and 3.", "input": "", "output": "5", "data_source": "t"}


@pytest.mark.parametrize("hostile", ["deep", "long-int"])
@pytest.mark.parametrize("stage", ["dedup", "decontaminate", "train"])
def test_a_crafted_jsonl_line_is_one_line(stage, hostile, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    bad = "[" * 100_000 + "]" * 100_000 if hostile == "deep" else "1" + "0" * 5000
    rows.write_text(json.dumps(ROW) + "\n" + '{"id": "r2", "x": ' + bad + "}\n")
    argv = ["data", stage] if stage != "train" else ["train"]
    says = "nested too deeply" if hostile == "deep" else "integer"
    _one_line(capsys, [*argv, "--input", rows, "--output-dir", tmp_path / "out"], says)


# ---- model and adapter files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def adapter(tiny_llama, tmp_path_factory):
    """A real adapter trained for two steps on the tiny Llama."""
    from platypus.config import TrainConfig
    from platypus.train.loop import train

    tmp = tmp_path_factory.mktemp("adapter")
    rows = tmp / "rows.jsonl"
    rows.write_text("".join(json.dumps(ROW | {"id": f"r{i}"}) + "\n" for i in range(8)))
    config = TrainConfig(model=str(tiny_llama), max_length=64, micro_batch_size=2,
                         global_batch_size=2, val_size=0, bf16=False, max_steps=2)  # fmt: skip
    return train(config, rows, tmp / "run").adapter_dir


def _craft_adapter(adapter, tmp_path, change):
    folder = tmp_path / "crafted"
    shutil.copytree(adapter, folder)
    config = folder / "adapter_config.json"
    weights = folder / "adapter_model.safetensors"
    if isinstance(change, dict):
        config.write_text(json.dumps(json.loads(config.read_text()) | change))
    elif change == "not-json":
        config.write_text("{r: 16")
    elif change == "a-list":
        config.write_text("[1, 2]")
    elif change == "no-r":
        data = json.loads(config.read_text())
        del data["r"]
        config.write_text(json.dumps(data))
    elif change == "alpha-inf":
        config.write_text(config.read_text().replace('"lora_alpha": 16', '"lora_alpha": Infinity'))
    elif change == "truncated":
        weights.write_bytes(weights.read_bytes()[:200])
    elif change == "huge-tensor":
        _declare_huge_tensor(weights)
    return folder


def _rewrite_header(path, edit):
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    new = json.dumps(edit(header)).encode()
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + size :])


def _declare_huge_tensor(path):
    def edit(header):
        name = next(k for k in header if k != "__metadata__")
        header[name] = {"dtype": "F32", "shape": [2**17, 2**20], "data_offsets": [0, 2**39]}
        return header

    _rewrite_header(path, edit)


ADAPTER_CASES = {
    "not-json": "not valid JSON",
    "a-list": "not a mapping",
    "no-r": "r must be",
    "r0": "r must be",
    "r-4": "r must be",
    "alpha-inf": "lora_alpha must be",
    "base-a-list": "base_model_name_or_path",
    "truncated": "not a safetensors file",
    "huge-tensor": "outside the file's data",
    "targets-not-in-model": "target_modules",
}
CHANGES = {"r0": {"r": 0}, "r-4": {"r": -4}, "base-a-list": {"base_model_name_or_path": [1]},
           "targets-not-in-model": {"target_modules": ["no_such_proj"]}}  # fmt: skip


@pytest.mark.parametrize("case", list(ADAPTER_CASES))
def test_a_crafted_adapter_is_one_line_in_merge_and_eval(case, adapter, tiny_llama, tmp_path,
                                                        capsys):  # fmt: skip
    crafted = _craft_adapter(adapter, tmp_path, CHANGES.get(case, case))
    says = ADAPTER_CASES[case]
    _one_line(capsys, ["merge", "--adapter", crafted, "--base-model", tiny_llama,
                       "--output-dir", tmp_path / "m"], says)  # fmt: skip
    evaluate = ["eval", "--model", tiny_llama, "--adapter", crafted, "--tasks", "arc_challenge",
                "--limit", "1", "--output-dir", tmp_path / "e"]  # fmt: skip
    _one_line(capsys, evaluate, says)


MODEL_CASES = {
    "truncated": "not a safetensors file",
    "header-longer-than-file": "header of",
    "header-a-list": "not a mapping",
    "entry-without-dtype": "dtype",
    "offsets-past-the-end": "outside the file's data",
    "index-without-weight-map": "no weight_map",
    "index-not-json": "not valid JSON",
    "index-points-outside": "not in the folder",
    "weights-link-outside": "outside the model folder",
}


def _craft_model(model, tmp_path, case):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    weights = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if case == "truncated":
        weights.write_bytes(weights.read_bytes()[:4])
    elif case == "header-longer-than-file":
        raw = weights.read_bytes()
        weights.write_bytes(struct.pack("<Q", 2**40) + raw[8:])
    elif case == "header-a-list":
        _rewrite_header(weights, lambda h: [1, 2])
    elif case == "entry-without-dtype":

        def edit(header):
            name = next(k for k in header if k != "__metadata__")
            del header[name]["dtype"]
            return header

        _rewrite_header(weights, edit)
    elif case == "offsets-past-the-end":
        _declare_huge_tensor(weights)
    elif case == "index-without-weight-map":
        index.write_text(json.dumps({"metadata": {}}))
    elif case == "index-not-json":
        index.write_text("{")
    elif case == "index-points-outside":
        outside = tmp_path / "outside.safetensors"
        shutil.copy(weights, outside)
        names = list(
            json.loads(
                weights.read_bytes()[8 : 8 + struct.unpack("<Q", weights.read_bytes()[:8])[0]]
            )
        )
        weight_map = {n: "../outside.safetensors" for n in names if n != "__metadata__"}
        index.write_text(json.dumps({"weight_map": weight_map}))
    elif case == "weights-link-outside":
        outside = tmp_path / "outside.safetensors"
        shutil.move(weights, outside)
        weights.symlink_to(outside)
    return folder


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_a_crafted_model_folder_is_one_line_in_merge(case, tiny_llama, tmp_path, capsys):
    crafted = _craft_model(tiny_llama, tmp_path, case)
    _one_line(capsys, ["merge", "--method", "linear", "--models", f"{crafted},{tiny_llama}",
                       "--output-dir", tmp_path / "m"], MODEL_CASES[case])  # fmt: skip


def test_a_link_in_a_model_folder_is_not_copied_into_the_merge(tiny_llama, tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("a secret\n")
    model = tmp_path / "model"
    shutil.copytree(tiny_llama, model)
    (model / "notes.txt").symlink_to(secret)
    out = tmp_path / "m"
    code = main(["merge", "--method", "linear", "--models", f"{model},{tiny_llama}",
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert not (out / "notes.txt").exists()
    assert "a secret" not in "".join(p.read_text(errors="replace") for p in out.iterdir()
                                     if p.is_file() and p.suffix != ".safetensors")  # fmt: skip


# ---- non-finite numbers ----------------------------------------------------------------------


def test_a_float16_merge_beyond_its_range_is_refused(tiny_llama, tmp_path, capsys):
    """The check runs on what is written, after the cast."""
    from safetensors.torch import load_file, save_file

    big = tmp_path / "big"
    shutil.copytree(tiny_llama, big)
    tensors = load_file(big / "model.safetensors")
    name = next(n for n in tensors if n.endswith("mlp.up_proj.weight"))
    tensors[name] = tensors[name] * 0 + 1e6  # finite in fp32, inf in fp16
    save_file(tensors, big / "model.safetensors", metadata={"format": "pt"})
    _one_line(capsys, ["merge", "--method", "linear", "--models", f"{big},{big}", "--dtype",
                       "float16", "--output-dir", tmp_path / "m"], "non-finite")  # fmt: skip
    assert not (tmp_path / "m" / "model.safetensors").exists()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_merge_of_a_nan_weight_is_refused(tiny_llama, tmp_path, capsys, dtype):
    """A NaN in an input reaches the merged tensor: one line, nothing kept, whether the result
    is written as computed (float32: the writer's check) or cast first (the loop's check)."""
    from safetensors.torch import load_file, save_file

    bad = tmp_path / "bad"
    shutil.copytree(tiny_llama, bad)
    tensors = load_file(bad / "model.safetensors")
    name = next(n for n in tensors if n.endswith("mlp.up_proj.weight"))
    tensors[name][0, 0] = float("nan")
    save_file(tensors, bad / "model.safetensors", metadata={"format": "pt"})
    _one_line(capsys, ["merge", "--method", "linear", "--models", f"{bad},{tiny_llama}",
                       "--dtype", dtype, "--output-dir", tmp_path / "m"], "non-finite")  # fmt: skip
    assert not (tmp_path / "m" / "model.safetensors").exists()


def test_training_stops_at_the_first_non_finite_step(tiny_llama, tmp_path, capsys):
    from safetensors.torch import load_file

    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(ROW | {"id": f"r{i}"}) + "\n" for i in range(8)))
    out = tmp_path / "t"
    _one_line(capsys, ["train", "--model", tiny_llama, "--input", rows, "--output-dir", out,
                       "--set", "learning_rate=1e308", "--set", "val_size=0", "--set",
                       "max_steps=3", "--set", "micro_batch_size=2", "--set",
                       "global_batch_size=2", "--set", "save_every=1", "--no-bf16"],
              "step 1: the LoRA weights are no longer finite")  # fmt: skip
    assert not (out / "adapter").exists()
    for ckpt in (out / "checkpoints").glob("step-*"):
        weights = load_file(ckpt / "adapter.safetensors")
        assert all(bool(t.isfinite().all()) for t in weights.values())


@pytest.mark.parametrize("case", ["pickle-only", "vocab-2**31", "no-weights"])
def test_a_model_folder_whose_weights_do_not_fit_is_one_line(case, tiny_llama, tmp_path,
                                                             capsys):  # fmt: skip
    import torch

    folder = tmp_path / "model"
    shutil.copytree(tiny_llama, folder)
    (folder / "model.safetensors").unlink()
    if case == "pickle-only":  # loaded, its missing weights would be random
        torch.save({"lm_head.weight": torch.zeros(1)}, folder / "pytorch_model.bin")
        says = "pickles are never loaded"
    elif case == "vocab-2**31":
        shutil.copy(tiny_llama / "model.safetensors", folder / "model.safetensors")
        config = json.loads((folder / "config.json").read_text())
        config["vocab_size"] = 2**31  # 549 GB if allocated
        (folder / "config.json").write_text(json.dumps(config))
        says = "the config does not belong to these weights"
    else:
        says = "no safetensors weights"
    for argv in (["eval", "--model", folder, "--tasks", "arc_challenge", "--limit", "1",
                  "--output-dir", tmp_path / "e"],
                 ["train", "--model", folder, "--input", tmp_path / "rows.jsonl",
                  "--output-dir", tmp_path / "t", "--set", "val_size=0"]):  # fmt: skip
        (tmp_path / "rows.jsonl").write_text(json.dumps(ROW) + "\n")
        _one_line(capsys, argv, says)


def test_a_chat_template_leaving_the_sandbox_is_one_line(tiny_llama, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(tiny_llama, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["chat_template"] = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(ROW) + "\n")
    _one_line(capsys, ["train", "--model", folder, "--input", rows, "--output-dir",
                       tmp_path / "t", "--set", "val_size=0", "--set",
                       "prompt_format=chat_template"], "SecurityError")  # fmt: skip


def test_ctrl_c_on_a_terminal_is_one_line_and_exit_130(tmp_path):
    """^C typed on a real terminal (a pty whose line discipline turns it into SIGINT for the
    foreground process group) while a stage works: one line, exit 130, nothing finished."""
    import os
    import pty
    import select
    import signal
    import sys

    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(
        json.dumps(ROW | {"id": f"r{i}", "instruction": f"Compute {i} times {7 * i} plus {i}."})
        + "\n" for i in range(3000)))  # fmt: skip
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "platypus", "data", "dedup", "--input", str(rows),
            "--output-dir", str(out), "--set", "cache=false", "--set",
            "precision=fp32"]  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on the pty as its terminal
        # As a shell starts a foreground job: SIGINT at its default, even where this test
        # runs in a background job (which inherits SIGINT ignored).
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execv(sys.executable, argv)
    printed, first, sent = b"", None, False
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child has exited and closed the terminal
                    break
                if not chunk:
                    break
                printed += chunk
                first = first or time.monotonic()
            if not sent and first and time.monotonic() - first > 3:  # working, not starting
                os.write(fd, b"\x03")
                sent = True
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    text = printed.decode("utf-8", "replace")
    assert sent, text[-2000:]
    assert os.waitstatus_to_exitcode(status) == 130, text[-2000:]
    assert "platypus: interrupted" in text and "Traceback" not in text, text[-2000:]
    assert not (out / "manifest.json").exists()
