"""Charts as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def loss_curve(history: list[dict], path: Path) -> Path:
    """Training loss per step, validation loss where measured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
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
    fig.savefig(path)
    plt.close(fig)
    return path
