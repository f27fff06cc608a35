"""A model folder that ships its own code (config.json's `auto_map`) is never run without the
opt-in, and never prompts: every load refuses it in one line naming the files and the opt-in,
on a terminal and off one; with `--trust-remote-code` it loads and the results record it."""

import json
import os
import pty
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from platypus.cli import main
from platypus.errors import PlatypusError

CONFIGURATION = """
import pathlib
pathlib.Path({marker!r}).write_text("configuration ran")
from transformers import LlamaConfig


class EvilConfig(LlamaConfig):
    model_type = "evil_llama"
"""
MODELING = """
import pathlib
pathlib.Path({marker!r}).write_text("modeling ran")
from transformers import LlamaForCausalLM

from .configuration_evil import EvilConfig


class EvilForCausalLM(LlamaForCausalLM):
    config_class = EvilConfig
"""
AUTO_MAP = {
    "AutoConfig": "configuration_evil.EvilConfig",
    "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM",
}


def plant_code(folder, marker):
    """Make `folder` a custom-code model whose code writes `marker` when it runs."""
    config = json.loads((folder / "config.json").read_text())
    config |= {"auto_map": AUTO_MAP, "model_type": "evil_llama"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_evil.py").write_text(CONFIGURATION.format(marker=str(marker)))
    (folder / "modeling_evil.py").write_text(MODELING.format(marker=str(marker)))


@pytest.fixture
def hostile(tiny_llama, tmp_path, monkeypatch):
    """(a tiny Llama folder with planted code, the marker file its code would write)."""
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    folder = tmp_path / "evil"
    shutil.copytree(tiny_llama, folder)
    marker = tmp_path / "code-ran"
    plant_code(folder, marker)
    return folder, marker


def _refused(code: int, err: str) -> None:
    assert code == 2, err
    assert err.count("\n") <= 1, err
    assert "custom code" in err and "modeling_evil.py" in err and "configuration_evil.py" in err
    assert "--trust-remote-code" in err


@pytest.mark.parametrize("terminal", [True, False], ids=["pty-stdin", "no-terminal"])
def test_eval_refuses_a_custom_code_folder_without_a_prompt(hostile, tmp_path, terminal):
    folder, marker = hostile
    argv = [sys.executable, "-m", "platypus", "eval", "--model", str(folder), "--tasks",
            "truthfulqa_mc", "--limit", "1", "--output-dir", str(tmp_path / "ev")]  # fmt: skip
    env = dict(os.environ, HF_MODULES_CACHE=str(tmp_path / "modules"))
    stdin = None
    if terminal:  # transformers would ask "Do you wish to run the custom code? [y/N]" here
        primary, stdin = pty.openpty()
    try:
        proc = subprocess.run(argv, stdin=stdin if terminal else subprocess.DEVNULL, env=env,
                              capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip
    finally:
        if terminal:
            os.close(primary)
            os.close(stdin)
    _refused(proc.returncode, proc.stderr)
    assert "[y/N]" not in proc.stdout + proc.stderr
    assert not marker.exists()


def _minilm_with_code(tmp_path, marker):
    from platypus.models import minilm_path

    folder = tmp_path / "evil-minilm"
    shutil.copytree(minilm_path(), folder)
    plant_code(folder, marker)
    return folder


def test_every_load_refuses_it_in_one_line(hostile, tmp_path, capsys, shared_data):
    """Each stage's load of a model: train, eval (ours and the lm-eval engine), merge
    (extract-lora reads the base's architecture), plan, the embedding model of dedup and
    decontaminate, and decontamination's judge and Min-K% models."""
    from platypus.data.decontaminate.judge import LocalJudge
    from platypus.data.decontaminate.mink import MinKScorer
    from platypus.similarity.embed import Embedder

    folder, marker = hostile
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"r{i}", "instruction": f"Add {i} and 3.",
                                        "input": "", "output": str(i + 3), "data_source": "t"})
                            + "\n" for i in range(6)))  # fmt: skip
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"train:\n  model: {folder}\n  input: {rows}\n")
    out = tmp_path / "out"
    commands = [
        ["train", "--input", rows, "--model", folder, "--output-dir", out / "t", "--set",
         "val_size=0"],
        ["eval", "--model", folder, "--tasks", "arc_challenge", "--limit", "1", "--output-dir",
         out / "e"],
        ["eval", "--model", folder, "--engine", "lm-eval", "--tasks", "arc_challenge", "--limit",
         "1", "--output-dir", out / "e2"],
        ["merge", "--method", "extract-lora", "--base-model", folder, "--models", folder,
         "--output-dir", out / "m"],
        ["plan", recipe],
    ]  # fmt: skip
    for argv in commands:
        code = main([str(a) for a in argv])
        _refused(code, capsys.readouterr().err + f" (platypus {argv[0]})")
    embedder_folder = _minilm_with_code(tmp_path, marker)
    for stage in ("dedup", "decontaminate"):
        code = main(["data", stage, "--input", str(rows), "--output-dir", str(out / stage),
                     "--set", f"model={embedder_folder}", "--set", "cache=false"])  # fmt: skip
        _refused(code, capsys.readouterr().err)
    for load in (lambda: LocalJudge(str(folder)), lambda: MinKScorer(str(folder), str(folder)),
                 lambda: Embedder(str(embedder_folder), use_cache=False).model,
                 lambda: Embedder(str(embedder_folder), precision="fp32", backend="onnx",
                                  use_cache=False).model):  # fmt: skip
        with pytest.raises(PlatypusError, match="custom code .*--trust-remote-code"):
            load()
    assert not marker.exists()


def test_the_opt_in_runs_the_code_and_records_it(hostile, tmp_path, capsys):
    folder, marker = hostile
    out = tmp_path / "ev"
    code = main(["eval", "--model", str(folder), "--tasks", "truthfulqa_mc", "--limit", "1",
                 "--output-dir", str(out), "--trust-remote-code"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert marker.exists()  # the folder's code did run: that is what the opt-in means
    compute = json.loads((out / "results.json").read_text())["settings"]["compute"]
    assert compute["trust_remote_code"] is True
    assert compute["requested"]["trust_remote_code"] is True
    assert set(compute["custom_code"]) == {"configuration_evil.py", "modeling_evil.py"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert "trust_remote_code" in json.dumps(manifest)


def test_the_code_files_are_part_of_the_model_identity(hostile):
    """Stage keys and checkpoints identify a base by `base_identity`: an edited code file is
    another model, as edited weights are."""
    from platypus.train.recipe import base_identity

    folder, _ = hostile
    before = base_identity(str(folder))
    with open(folder / "modeling_evil.py", "a") as f:
        f.write("\n# edited\n")
    assert base_identity(str(folder)) != before
