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
from pathlib import Path
from typing import ClassVar

from platypus.errors import PlatypusError
from platypus.version import DISTRIBUTION

TRACKING_DIR = "tracking"  # in output_dir: accelerate's logging_dir (TensorBoard, wandb)
MLRUNS_DIR = "mlruns"  # in output_dir: MLflow's local store
# accelerate's project name: TensorBoard's subfolder under TRACKING_DIR, MLflow's experiment.
PROJECT = "platypus-train"


class Tracker:
    """A tracker accelerate logs to, by its accelerate name: the module that must be importable,
    the package that provides it (and the project's extra that installs it), and the keyword
    arguments its `init_trackers` takes for a run in `out` resumed from step `start`."""

    name: ClassVar[str]
    module: ClassVar[str]
    package: ClassVar[str]
    extra: ClassVar[str | None] = None

    def init_kwargs(self, out: Path, start: int) -> dict:
        return {}


class TensorBoard(Tracker):
    name = module = package = "tensorboard"
    extra = "tracking"

    def init_kwargs(self, out: Path, start: int) -> dict:
        # A resumed run hides what the interrupted one logged after its checkpoint, so each step
        # has one value, as in metrics.jsonl.
        return {"purge_step": start + 1} if start else {}


class MLflow(Tracker):
    name = module = "mlflow"
    package = "mlflow-skinny"
    extra = "tracking"

    def init_kwargs(self, out: Path, start: int) -> dict:
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            import mlflow

            # MLflow 3 keeps its file store only on request; it is the store that needs no
            # server and no database, and it lives in the run's folder.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            mlflow.set_tracking_uri((out / MLRUNS_DIR).resolve().as_uri())
        return {"run_name": out.resolve().name}


class WandB(Tracker):  # not tested here (it needs an account)
    name = module = package = "wandb"

    def init_kwargs(self, out: Path, start: int) -> dict:
        (out / TRACKING_DIR).mkdir(parents=True, exist_ok=True)
        return {"dir": str(out / TRACKING_DIR)}


TRACKERS: dict[str, Tracker] = {t.name: t for t in (TensorBoard(), MLflow(), WandB())}


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
