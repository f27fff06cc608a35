"""Training's resume under faults: crafted checkpoints, torn files, stale outputs, changed
settings, and the base model's fingerprint beside the adapter."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from platypus.config import TrainConfig
from platypus.errors import DataError, PlatypusError
from platypus.hashing import weights_fingerprint
from platypus.models import resolve_causal_lm
from platypus.train import checkpoint
from platypus.train.loop import train
from platypus.train.recipe import LoraRecipe, read_metrics

TINY = dict(max_length=64, micro_batch_size=2, global_batch_size=2, val_size=0, bf16=False,
            max_steps=3, save_every=1)  # fmt: skip


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    path = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    lines = []
    for i in range(24):
        output = f"{i} + {3 * i} = {4 * i}." * (1 + i % 3)
        row = {"id": f"r{i}", "instruction": f"Add {i} and {3 * i}.", "input": "",
               "output": output, "data_source": "synthetic"}  # fmt: skip
        lines.append(json.dumps(row) + "\n")
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def straight(rows, tmp_path_factory):
    """An uninterrupted 3-step run that checkpointed after steps 1 and 2."""
    out = tmp_path_factory.mktemp("straight") / "run"
    train(TrainConfig(**TINY), rows, out)
    return out


def _copy(straight, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(straight, folder)
    return folder


def _adapter(folder):
    return load_file(folder / "adapter" / "adapter_model.safetensors")


def _same_adapter(a, b) -> None:
    one, two = _adapter(a), _adapter(b)
    assert one.keys() == two.keys()
    for k in one:
        assert torch.equal(one[k], two[k]), k


def _ckpt(folder, step):
    return checkpoint.checkpoint_dir(folder, step)


def test_keeps_two_checkpoints_and_records_the_base(straight):
    assert [p.name for p in checkpoint.folders(straight)] == ["step-000001", "step-000002"]
    assert all((p / "state.json").is_file() for p in checkpoint.folders(straight))
    assert not list(straight.glob("checkpoints/*/*.pt"))  # no pickles
    base = resolve_causal_lm(None)
    record = json.loads((straight / "adapter" / "platypus_base.json").read_text())
    assert record == {"base_model": base, "weights_fingerprint": weights_fingerprint(base)}
    assert not list(straight.glob(".*partial*"))
    summary = json.loads((straight / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["resumed_from_step"] is None


def test_changed_settings_still_resume_and_changed_config_does_not(straight, rows, tmp_path):
    folder = _copy(straight, tmp_path)
    result = train(TrainConfig(**TINY | {"eval_every": 1, "save_every": 2}), rows, folder)
    assert result.summary["resumed_from_step"] == 2
    _same_adapter(straight, folder)
    with pytest.raises(PlatypusError, match="checkpoint of a different run"):
        train(TrainConfig(**TINY | {"learning_rate": 1e-4}), rows, folder)


class _Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def test_crafted_pickles_in_a_checkpoint_never_run(straight, rows, tmp_path, capsys):
    folder = _copy(straight, tmp_path)
    marker = tmp_path / "exploited"
    for name in ("optimizer.pt", "scheduler.pt", "rng-0.pt"):
        torch.save(_Exploit(marker), _ckpt(folder, 2) / name)
    result = train(TrainConfig(**TINY), rows, folder)
    assert not marker.exists()
    assert result.summary["resumed_from_step"] == 2
    _same_adapter(straight, folder)

    # A folder crafted in the old format, claiming another run: nothing in it is unpickled.
    crafted = tmp_path / "crafted"
    ckpt = _ckpt(crafted, 5)
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text(json.dumps({"step": 5, "config_hash": "0" * 64}))
    for name in ("optimizer.pt", "scheduler.pt", "rng-0.pt"):
        torch.save(_Exploit(marker), ckpt / name)
    recipe = LoraRecipe(TrainConfig(**TINY), rows, crafted)
    recipe.setup()
    assert recipe.load_checkpoint() == 0
    assert not marker.exists()
    assert "not a checkpoint of this version's format" in capsys.readouterr().err


def test_torn_or_corrupt_newest_checkpoint_falls_back(straight, rows, tmp_path, capsys):
    folder = _copy(straight, tmp_path)
    state = _ckpt(folder, 2) / "state.json"
    state.write_bytes(state.read_bytes()[:40])  # torn mid-write
    result = train(TrainConfig(**TINY), rows, folder)
    err = capsys.readouterr().err
    assert "step-000002: state.json is torn" in err and "older checkpoint" in err
    assert result.summary["resumed_from_step"] == 1
    _same_adapter(straight, folder)


def test_corrupt_files_fall_back_then_start_over(straight, rows, tmp_path, capsys):
    folder = _copy(straight, tmp_path)
    adapter = _ckpt(folder, 2) / "adapter.safetensors"
    data = bytearray(adapter.read_bytes())
    data[-1] ^= 1
    adapter.write_bytes(bytes(data))
    recipe = LoraRecipe(TrainConfig(**TINY), rows, folder)
    recipe.setup()
    assert recipe.load_checkpoint() == 1
    assert "adapter.safetensors does not match its hash" in capsys.readouterr().err
    (_ckpt(folder, 1) / "trainer_state.safetensors").unlink()
    assert recipe.load_checkpoint() == 0
    err = capsys.readouterr().err
    assert "trainer_state.safetensors is missing" in err and "starting over" in err


def test_torn_metrics_line_is_dropped_on_resume(straight, rows, tmp_path, capsys):
    folder = _copy(straight, tmp_path)
    metrics = folder / "metrics.jsonl"
    data = metrics.read_bytes()
    metrics.write_bytes(data[: len(data) - 20])  # killed while logging step 3
    result = train(TrainConfig(**TINY), rows, folder)
    assert "metrics.jsonl: line 3 was torn" in capsys.readouterr().err
    assert result.summary["resumed_from_step"] == 2
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2, 3]
    # A broken line that is not the last one is not a torn write: it is reported.
    metrics.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(DataError, match="line 2|row 2"):
        read_metrics(metrics, 2)


def test_new_run_removes_previous_final_outputs_first(straight, rows, tmp_path, monkeypatch):
    folder = _copy(straight, tmp_path)

    def killed(self, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(LoraRecipe, "train_step", killed)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**TINY | {"seed": 7, "resume": False}), rows, folder)
    for name in ("adapter", "summary.json", "loss_curve.png", "checkpoints"):
        assert not (folder / name).exists(), name
    written = json.loads((folder / "train_config.json").read_text())
    assert written["config"]["seed"] == 7
    assert (folder / "metrics.jsonl").read_text() == ""


@pytest.mark.parametrize("var", ["ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"])
def test_sharding_that_accelerate_does_not_apply_is_one_line(
    var, rows, tmp_path, monkeypatch, capsys
):
    """`accelerate launch` with an FSDP or DeepSpeed config sets these variables; on the CPU
    accelerate runs plain processes instead (MULTI_CPU, or NO for one), silently. We refuse."""
    import importlib.util

    from platypus.cli import main

    if var == "ACCELERATE_USE_DEEPSPEED" and importlib.util.find_spec("deepspeed"):
        pytest.skip("deepspeed is installed: accelerate's own refusal is not reached")
    monkeypatch.setenv(var, "true")
    argv = ["train", "--input", str(rows), "--output-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    expected = {  # DeepSpeed is not installed here: accelerate itself refuses
        "ACCELERATE_USE_FSDP": "(ACCELERATE_USE_FSDP=true) but accelerate runs these 1 "
        "process(es) on cpu as NO, without sharding",
        "ACCELERATE_USE_DEEPSPEED": "accelerate: DeepSpeed is not installed",
    }[var]
    assert expected in errors[0], errors
    assert not (tmp_path / "run" / "summary.json").exists()
