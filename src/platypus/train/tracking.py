"""Experiment tracking (`train.report_to`) through accelerate's trackers.

accelerate owns the trackers: the recipe names them in `Accelerator(log_with=...)`, starts them
with `init_trackers` and sends every metrics line through `accelerator.log` (main process
only). This module says what each needs: the module that must be importable, the package that
provides it, and its keyword arguments. Everything stays inside the training output folder:
TensorBoard event files under `<out>/tracking/`, MLflow a local file store `<out>/mlruns`
(unless MLFLOW_TRACKING_URI names another store), wandb's files under `<out>/tracking/`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platypus.errors import PlatypusError
from platypus.version import DISTRIBUTION

TRACKING_DIR = "tracking"  # in output_dir: accelerate's logging_dir (TensorBoard, wandb)
MLRUNS_DIR = "mlruns"  # in output_dir: MLflow's local store
# accelerate's project name: TensorBoard's subfolder under TRACKING_DIR, MLflow's experiment.
PROJECT = "platypus-train"


def _tensorboard(out: Path, start: int) -> dict:
    # A resumed run hides what the interrupted one logged after its checkpoint, so each step
    # has one value, as in metrics.jsonl.
    return {"purge_step": start + 1} if start else {}


def _mlflow(out: Path, start: int) -> dict:
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        import mlflow

        # MLflow 3 keeps its file store only on request; it is the store that needs no server
        # and no database, and it lives in the run's folder.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri((out / MLRUNS_DIR).resolve().as_uri())
    return {"run_name": out.resolve().name}


def _wandb(out: Path, start: int) -> dict:
    (out / TRACKING_DIR).mkdir(parents=True, exist_ok=True)
    return {"dir": str(out / TRACKING_DIR)}


@dataclass(frozen=True)
class Tracker:
    module: str  # what must be importable for accelerate to use it
    package: str  # what provides it
    init_kwargs: Callable[[Path, int], dict]  # (output folder, step resumed from) -> kwargs
    extra: str | None = None  # the project's extra (pyproject.toml) that installs `package`


# Keys are accelerate's tracker names.
TRACKERS = {
    "tensorboard": Tracker("tensorboard", "tensorboard", _tensorboard, "tracking"),
    "mlflow": Tracker("mlflow", "mlflow-skinny", _mlflow, "tracking"),
    "wandb": Tracker("wandb", "wandb", _wandb),  # not tested here (it needs an account)
}


def unknown_tracker(name: str) -> str:
    return f"unknown tracker {name!r} in report_to; known: {', '.join(TRACKERS)}"


def check_installed(names: list[str]) -> None:
    """A tracker asked for but not importable is an error before any work (accelerate would
    drop it with a log message)."""
    for name in names:
        tracker = TRACKERS[name]
        if importlib.util.find_spec(tracker.module) is None:
            extra = f", or pip install '{DISTRIBUTION}[{tracker.extra}]'" if tracker.extra else ""
            raise PlatypusError(
                f"report_to: {name} is not installed (pip install {tracker.package}{extra})"
            )


def start(accelerator, names: list[str], out: Path, start_step: int, config: dict) -> None:
    """Start the trackers of `accelerator` (made with log_with=names) with the run's config
    as hyper-parameters. All processes (accelerate starts them on the main one)."""
    if not names:
        return
    kwargs = {}
    if accelerator.is_main_process:
        kwargs = {name: TRACKERS[name].init_kwargs(out, start_step) for name in names}
    accelerator.init_trackers(PROJECT, config=flat_params(config), init_kwargs=kwargs)


def log(accelerator, entry: dict) -> None:
    """One metrics line, under the same names as in metrics.jsonl, at its step."""
    if accelerator.log_with:
        values = {k: v for k, v in entry.items() if k != "step" and isinstance(v, int | float)}
        accelerator.log(values, step=entry["step"])


def flat_params(config: dict, prefix: str = "") -> dict:
    """A nested config as the flat scalar hyper-parameters trackers accept (`lora.r`, ...)."""
    out: dict = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flat_params(value, f"{name}.")
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:  # lists and None: their text
            out[name] = str(value)
    return out
