"""Planted links, folders named by a card, resumes after a model edit, and values out of
bounds: writes never go through a link someone planted in an output folder, a card cannot
point reads outside its folder, a checkpoint is resumed only for the model it was made with
and only at a step inside the run, and absurd values are one line and exit 2."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from conftest import error_lines
from platypus.cli import main
from platypus.config import TrainConfig
from platypus.errors import PlatypusError
from platypus.train import checkpoint
from platypus.train.loop import train

TINY = dict(max_length=64, micro_batch_size=2, global_batch_size=2, val_size=0, bf16=False,
            max_steps=3, save_every=1)  # fmt: skip
SECRET = "the outside file's own content\n"


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    path.write_text("".join(
        json.dumps({"id": f"r{i}", "instruction": f"Add {i} and {3 * i}.", "input": "",
                    "output": f"{i} + {3 * i} = {4 * i}.", "data_source": "t"}) + "\n"
        for i in range(12)))  # fmt: skip
    return path


def _outside(tmp_path):
    target = tmp_path / "outside.txt"
    target.write_text(SECRET)
    return target


def _one_line(code, err):
    """Exit 2 and one error line (a model load's progress bar may stand before it)."""
    assert code == 2, err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("platypus: error: "), err


def _dedup_beside_a_link(rows, tmp_path, capsys, name):
    """A dedup into a folder where `name` is a link to a file outside it."""
    target = _outside(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(target)
    code = main(["data", "dedup", "--input", str(rows), "--output-dir", str(out),
                 "--set", "cache=false"])  # fmt: skip
    return code, capsys.readouterr().err, target, out


def test_a_planted_lock_link_is_refused_and_its_target_untouched(rows, tmp_path, capsys):
    code, err, target, _ = _dedup_beside_a_link(rows, tmp_path, capsys, ".platypus.lock")
    _one_line(code, err)
    assert "symbolic link" in err
    assert target.read_text() == SECRET


def test_a_planted_manifest_temp_link_is_not_written_through(rows, tmp_path, capsys):
    code, err, target, out = _dedup_beside_a_link(rows, tmp_path, capsys, "manifest.json.tmp")
    assert code == 0, err
    assert target.read_text() == SECRET
    assert json.loads((out / "manifest.json").read_text())["stage"] == "dedup"


def test_training_writes_through_no_planted_link(tiny_llama, rows, tmp_path):
    target = _outside(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    for name in (".loss_curve.partial.png", "loss_curve.png"):
        (out / name).symlink_to(target)
    train(TrainConfig(**TINY | {"model": str(tiny_llama), "save_every": 100}), rows, out)
    assert target.read_text() == SECRET
    assert not (out / "loss_curve.png").is_symlink()
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A fresh run rewrites the metrics file whole (the link is replaced, not followed), then
    # appends to it with O_NOFOLLOW.
    again = tmp_path / "again"
    again.mkdir()
    (again / "metrics.jsonl").symlink_to(target)
    train(TrainConfig(**TINY | {"model": str(tiny_llama), "save_every": 100}), rows, again)
    assert target.read_text() == SECRET
    assert not (again / "metrics.jsonl").is_symlink()
    assert len((again / "metrics.jsonl").read_text().splitlines()) == 3


def test_a_card_naming_a_file_outside_its_folder_is_refused(rows, tmp_path):
    from platypus import api

    secret = tmp_path / "secret.jsonl"
    shutil.copy(rows, secret)
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: ../secret.jsonl\n---\n# a set\n"
    )
    with pytest.raises(PlatypusError, match="outside the folder"):
        api.dedup(folder, output_dir=tmp_path / "out", cache=False)
    with pytest.raises(PlatypusError, match="outside the folder"):
        api.load_dataset(folder)
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.fixture
def own_model(tiny_llama, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_llama, folder)
    return folder


def test_a_resume_after_the_base_config_changed_is_refused(own_model, rows, tmp_path):
    config = TrainConfig(**TINY | {"model": str(own_model)})
    out = tmp_path / "run"
    train(config, rows, out)
    assert [p.name for p in checkpoint.folders(out)] == ["step-000001", "step-000002"]
    model_config = json.loads((own_model / "config.json").read_text())
    model_config["rope_theta"] = 1234.0
    (own_model / "config.json").write_text(json.dumps(model_config))
    with pytest.raises(PlatypusError, match="checkpoint of a different run"):
        train(config, rows, out)


def test_a_state_claiming_a_step_outside_the_run_is_not_resumed(tiny_llama, rows, tmp_path,
                                                                capsys):  # fmt: skip
    config = TrainConfig(**TINY | {"model": str(tiny_llama)})
    straight = tmp_path / "straight"
    train(config, rows, straight)
    tampered = tmp_path / "tampered"
    shutil.copytree(straight, tampered)
    newest = checkpoint.checkpoint_dir(tampered, 2)
    state = json.loads((newest / "state.json").read_text())
    (newest / "state.json").write_text(json.dumps(state | {"step": 999}))
    capsys.readouterr()
    result = train(config, rows, tampered)
    assert result.summary["resumed_from_step"] == 1, result.summary
    assert "says step 999" in capsys.readouterr().err
    one = load_file(straight / "adapter" / "adapter_model.safetensors")
    two = load_file(tampered / "adapter" / "adapter_model.safetensors")
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_a_malformed_eval_cache_entry_is_recomputed(tiny_llama, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    argv = ["eval", "--model", str(tiny_llama), "--tasks", "arc_challenge", "--limit", "2",
            "--output-dir", str(tmp_path / "ev")]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    first = json.loads((tmp_path / "ev" / "results.json").read_text())["tasks"]["arc_challenge"]
    [entry] = (tmp_path / "cache" / "eval").glob("*.json")
    data = json.loads(entry.read_text())
    data["items"] = [{"id": 1, "lls": "x"}, 7]
    entry.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(argv) == 0
    assert "unreadable eval cache" in capsys.readouterr().err
    again = json.loads((tmp_path / "ev" / "results.json").read_text())["tasks"]["arc_challenge"]
    assert again["items"] == first["items"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "--set", "epochs=.inf"], "epochs"),
        (["train", "--set", "learning_rate=.nan"], "learning_rate"),
        (["train", "--seed", "99999999999999999999999"], "seed"),
        (["train", "--set", "lora.r=1000000000"], "lora.r"),
        (["train", "--set", "lora.target_modules=[]"], "target_modules"),
        (["data", "build", "--seed", "-1"], "seed"),
    ],
)
def test_values_out_of_bounds_are_one_line(argv, says, rows, tmp_path, capsys):
    if argv[0] == "train":
        argv = [*argv, "--input", str(rows), "--output-dir", str(tmp_path / "t")]
    else:
        argv = [*argv, "--output-dir", str(tmp_path / "b")]
    code = main(argv)
    err = capsys.readouterr().err
    _one_line(code, err)
    assert says in err


def test_a_rank_above_the_layers_is_refused_before_allocating(tiny_llama, rows, tmp_path,
                                                             capsys):  # fmt: skip
    code = main(["train", "--model", str(tiny_llama), "--input", str(rows), "--output-dir",
                 str(tmp_path / "t"), "--set", "lora.r=4096", "--set", "val_size=0"])  # fmt: skip
    err = capsys.readouterr().err
    _one_line(code, err)
    assert "lora.r 4096 is larger than the smallest dimension (64)" in err


def test_plan_with_every_source_disabled_is_one_line(tmp_path, capsys):
    from platypus.data.sources import SOURCES

    recipe = tmp_path / "recipe.yaml"
    sources = "".join(f"      {name}: {{enabled: false}}\n" for name in SOURCES)
    recipe.write_text(f"data:\n  build:\n    sources:\n{sources}")
    code = main(["plan", str(recipe)])
    err = capsys.readouterr().err
    _one_line(code, err)
    assert "enables no source" in err
    recipe.write_text(f"train:\n  input: {tmp_path / 'missing.jsonl'}\n")
    code = main(["plan", str(recipe)])
    err = capsys.readouterr().err
    _one_line(code, err)
    assert "missing.jsonl: no such file" in err
