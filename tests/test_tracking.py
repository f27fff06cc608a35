"""Experiment tracking through accelerate: what TensorBoard and MLflow hold is metrics.jsonl."""

import sys

import pytest

from conftest import read_jsonl, short_math_rows
from platypus.cli import main
from platypus.train.tracking import PROJECT


@pytest.fixture(scope="module")
def math_rows(tmp_path_factory):
    return short_math_rows(tmp_path_factory.mktemp("math"), max_output=300, rows=60)


def _argv(data, out, model, *extra: str) -> list[str]:
    # The tiny random Llama: what the trackers hold is under test, not what the model learns.
    # fp32: CPUs without bf16 instructions emulate bf16 autocast, slowly.
    return ["train", "--input", str(data), "--output-dir", str(out), "--max-steps", "3",
            "--model", str(model),
            "--micro-batch-size", "4", "--set", "global_batch_size=4", "--set", "val_size=8",
            "--set", "max_length=192", "--no-bf16", *extra]  # fmt: skip


def test_tensorboard_and_mlflow_hold_the_metrics(
    math_rows, tiny_llama, tmp_path, monkeypatch, capsys
):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    out = tmp_path / "run"
    trackers = ["--set", "report_to=[tensorboard, mlflow]", "--set", "eval_every=2"]
    argv = _argv(math_rows, out, tiny_llama, *trackers)
    assert main(argv) == 0, capsys.readouterr().err
    metrics = read_jsonl(out / "metrics.jsonl")
    expected = {
        name: [(m["step"], m[name]) for m in metrics if m.get(name) is not None]
        for name in ("loss", "val_loss", "lr", "grad_norm")
    }
    assert [s for s, _ in expected["loss"]] == [1, 2, 3]
    assert [s for s, _ in expected["val_loss"]] == [0, 2, 3]  # start, eval_every, end

    events = EventAccumulator(str(out / "tracking" / PROJECT))
    events.Reload()
    for name, values in expected.items():
        logged = [(e.step, e.value) for e in events.Scalars(name)]
        assert [s for s, _ in logged] == [s for s, _ in values], name
        # TensorBoard stores scalars as float32.
        assert [v for _, v in logged] == pytest.approx([v for _, v in values], rel=1e-6), name

    client = MlflowClient((out / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name(PROJECT)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    for name, values in expected.items():
        history = client.get_metric_history(run.info.run_id, name)
        assert sorted((m.step, m.value) for m in history) == values, name
    # The run's configuration, flattened, as its parameters.
    assert run.data.params["lora.r"] == "16" and run.data.params["max_length"] == "192"
    capsys.readouterr()


def test_a_tracker_not_installed_is_one_line(math_rows, tiny_llama, tmp_path, monkeypatch, capsys):
    # A module set to None in sys.modules cannot be imported: both as if not installed.
    cases = {"wandb": "pip install wandb", "tensorboard": "pip install tensorboard"}
    for name in cases:
        monkeypatch.setitem(sys.modules, name, None)
    for name, hint in cases.items():
        out = tmp_path / name
        assert main(_argv(math_rows, out, tiny_llama, "--set", f"report_to=[{name}]")) == 2
        errors = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(errors) == 1 and f"{name} is not installed ({hint}" in errors[0], errors
        assert not (out / "summary.json").exists()
    assert main(_argv(math_rows, tmp_path / "x", tiny_llama, "--set", "report_to=[neptune]")) == 2
    errors = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(errors) == 1 and "unknown tracker 'neptune'" in errors[0], errors


def test_install_hints_name_an_extra_that_installs_the_tracker(monkeypatch):
    """Each hint's extra, where it names one, lists the tracker's package in pyproject.toml under
    the project's own distribution name; wandb is in no extra, so its hint is pip's alone."""
    import re

    import tomllib

    from conftest import REPO
    from platypus.errors import PlatypusError
    from platypus.train.tracking import TRACKERS, check_installed

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for name, tracker in TRACKERS.items():
        monkeypatch.setitem(sys.modules, tracker.module, None)  # as if not installed
        with pytest.raises(PlatypusError) as error:
            check_installed([name])
        message = str(error.value)
        assert f"(pip install {tracker.package}" in message, message
        named = re.findall(r"pip install '([^'\[]+)\[([^\]]+)\]'", message)
        for dist, extra in named:
            assert dist == project["name"], message
            packages = [re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0] for d in extras[extra]]
            assert tracker.package in packages, (message, extras[extra])
        if name == "wandb":
            assert message == "report_to: wandb is not installed (pip install wandb)"
        else:
            assert named, message
