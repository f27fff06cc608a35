"""Habits users bring from axolotl and lm-eval: the recipe as a positional argument on every
stage command, a bad flag answered with that command's own usage, `--device` and `--val-size`,
and a training output folder accepted wherever an adapter is."""

import json

import pytest
import torch

from conftest import error_lines
from platypus.cli import main

ROWS = [{"id": f"r{i}", "instruction": f"Add {i} and 3.", "input": "", "output": str(i + 3),
         "data_source": "t"} for i in range(6)]  # fmt: skip


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def _err(capsys, argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_the_recipe_is_taken_positionally(rows, tmp_path, capsys):
    recipe = tmp_path / "config.yml"
    recipe.write_text(f"train:\n  input: {rows}\n  val_size: 5\n")
    code, err = _err(capsys, ["train", recipe, "--output-dir", tmp_path / "t"])
    assert code == 2 and "val_size 5 is more than half of the 6 rows" in err, err
    other = tmp_path / "other.yml"
    other.write_text("train: {}\n")
    code, err = _err(capsys, ["train", recipe, "--recipe", other])
    assert code == 2 and "two recipes given" in err, err


def test_a_bad_flag_gets_the_commands_own_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--no-such-flag"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "usage: platypus train" in err and "unrecognized arguments: --no-such-flag" in err


def test_val_size_and_device_flags(rows, tmp_path, capsys):
    code, err = _err(capsys, ["train", "--input", rows, "--val-size", "4", "--output-dir",
                              tmp_path / "t"])  # fmt: skip
    assert code == 2 and "val_size 4 is more than half of the 6 rows" in err, err
    if not torch.cuda.is_available():
        code, err = _err(capsys, ["eval", "--device", "cuda", "--tasks", "arc_challenge",
                                  "--limit", "1", "--output-dir", tmp_path / "e"])  # fmt: skip
        assert code == 2 and "device cuda requested" in err, err


def test_a_training_folder_is_accepted_as_the_adapter(rows, tiny_llama, tmp_path, capsys):
    run = tmp_path / "run"
    code, err = _err(capsys, ["train", "--model", tiny_llama, "--input", rows, "--output-dir", run,
                              "--max-steps", "1", "--val-size", "0", "--no-bf16"])  # fmt: skip
    assert code == 0, err
    code, err = _err(capsys, ["merge", "--adapter", run, "--base-model", tiny_llama,
                              "--output-dir", tmp_path / "m"])  # fmt: skip
    assert code == 0, err
    evaluate = ["eval", "--model", tiny_llama, "--tasks", "arc_challenge", "--limit", "1"]
    code, err = _err(capsys, [*evaluate, "--adapter", run, "--output-dir", tmp_path / "e"])
    assert code == 0, err
    code, err = _err(capsys, [*evaluate, "--adapter", tmp_path, "--output-dir", tmp_path / "e2"])
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "not a PEFT adapter" in lines[0], err
