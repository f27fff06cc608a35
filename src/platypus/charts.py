"""Charts as PNG (matplotlib, headless), written to files or inlined as data URIs: the pieces a
stage draws itself (training's loss curve) and the run report builds on (`platypus.report`)."""

from __future__ import annotations

import base64
import io
from pathlib import Path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def loss_figure(history: list[dict]):
    """Training loss per step, held-out loss where measured."""
    fig, ax = pyplot().subplots(figsize=(6.4, 3.6), dpi=110)
    train = [(h["step"], h["loss"]) for h in history if "loss" in h]
    val = [(h["step"], h["val_loss"]) for h in history if h.get("val_loss") is not None]
    if train:
        ax.plot(*zip(*train, strict=True), lw=1, label="train (response tokens)")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", lw=1.5, label="held-out")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def loss_curve(history: list[dict], path: Path) -> Path:
    fig = loss_figure(history)
    fig.savefig(path, format="png")  # whatever the (temporary) file's name ends in
    pyplot().close(fig)
    return path
