"""The run report's charts as PNG (matplotlib, headless); the shared pieces (pyplot, data URIs,
the loss curve) are `platypus.charts`."""

from __future__ import annotations

from platypus.charts import data_uri, loss_figure, pyplot

__all__ = ["data_uri", "eval_figure", "funnel_figure", "histogram_figure", "loss_figure"]


def funnel_figure(steps: list[tuple[str, int]]):
    fig, ax = pyplot().subplots(figsize=(6.4, 0.5 + 0.45 * len(steps)), dpi=110)
    labels = [s for s, _ in steps][::-1]
    values = [v for _, v in steps][::-1]
    bars = ax.barh(labels, values, color="#4c72b0")
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, max(values) * 1.15 if values else 1)
    ax.set_xlabel("rows")
    fig.tight_layout()
    return fig


def histogram_figure(bins: list[list[float]], threshold: float):
    fig, ax = pyplot().subplots(figsize=(6.4, 3.2), dpi=110)
    lefts = [b[0] for b in bins]
    widths = [b[1] - b[0] for b in bins]
    ax.bar(
        lefts, [b[2] for b in bins], width=widths, align="edge", color="#55a868", edgecolor="white"
    )
    ax.axvline(threshold, color="#c44e52", ls="--", label=f"threshold {threshold}")
    ax.set_xlabel("cosine similarity to the nearest other row")
    ax.set_ylabel("rows")
    ax.set_yscale("symlog")
    ax.legend()
    fig.tight_layout()
    return fig


def eval_figure(scores: dict[str, dict[str, float]]):
    """scores: model label -> task -> headline score (0..1), drawn and labelled in percent."""
    import numpy as np

    from platypus.eval.results import percent

    plt = pyplot()
    models = list(scores)
    tasks = sorted({t for s in scores.values() for t in s})
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=110)
    width = 0.8 / max(1, len(models))
    x = np.arange(len(tasks))
    for i, m in enumerate(models):
        vals = [100 * scores[m].get(t, float("nan")) for t in tasks]
        bars = ax.bar(x + i * width - 0.4 + width / 2, vals, width, label=m)
        ax.bar_label(bars, labels=[percent(v / 100) for v in vals], fontsize=7, padding=2)
    ax.set_xticks(x, tasks)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
