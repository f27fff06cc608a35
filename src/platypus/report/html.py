"""The run report: one self-contained HTML file (inline CSS and PNG charts, no scripts, no
network), rendered from the stages' typed summaries alone: it opens no other stage file."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from platypus.eval.results import percent
from platypus.report import plots
from platypus.version import __version__

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1000px;color:#222;line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #eee;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;vertical-align:top;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}.muted{color:#777;font-size:.85rem}
img{max-width:100%;height:auto}.pair{max-width:420px;white-space:pre-wrap;font-size:.8rem}
.tag{display:inline-block;padding:0 .4rem;border-radius:.3rem;font-size:.8rem}
.duplicate{background:#f8d7da}.gray-area{background:#fff3cd}
.similar-but-different{background:#e2e3e5}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _table(head: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    th = "".join(
        f'<th class="{"n" if i in numeric else ""}">{_e(h)}</th>' for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"n" if i in numeric else ""}">{c}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _img(fig, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="{plots.data_uri(fig)}">'


def _short(text: str, n: int = 400) -> str:
    text = " ".join(text.split())
    return _e(text if len(text) <= n else text[: n - 1] + "…")


def render(pipeline) -> str:
    done = pipeline.done
    recipe = pipeline.recipe
    parts = [
        f"<h1>platypus run: {_e(recipe.name)}</h1>",
        f'<p class="muted">platypus {_e(__version__)} · '
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {_e(pipeline.run_dir)}</p>",
    ]
    rows = [
        [
            _e(s.name),
            _e(s.status),
            f"{s.seconds:,.1f}",
            _e(s.key[:12]),
            _e(
                ", ".join(
                    f"{k} {v:,.4g}" if isinstance(v, float) else f"{k} {v:,}"
                    for k, v in s.counts.items()
                )
            ),
        ]
        for s in done.values()
    ]
    parts += ["<h2>Stages</h2>", _table(["stage", "status", "seconds", "key", "counts"], rows, {2})]
    parts += _data_sections(done)
    parts += _train_section(done)
    parts += _merge_section(done)
    parts += _eval_section(done)
    body = "\n".join(parts)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>platypus: '
        f"{_e(recipe.name)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def _summary(done, name: str):
    return done[name].summary if name in done else None


def _data_sections(done) -> list[str]:
    out = []
    build, dedup = _summary(done, "build"), _summary(done, "dedup")
    dc, train = _summary(done, "decontaminate"), _summary(done, "train")
    if build and dedup and dc:
        funnel = [
            ("built", build.rows),
            ("after exact dedup", dedup.rows_in - dedup.removed_exact),
            ("after near-dup removal", dedup.rows_kept),
            ("after decontamination", dc.rows_clean),
        ]
        if train:
            funnel += [
                ("sampled for training", train.rows),
                ("trained on (after held-out, length limits)", train.examples),
            ]
        out += ["<h2>Data funnel</h2>", _img(plots.funnel_figure(funnel), "rows per stage")]
        rows = []
        for s in build.sources:
            if not s.enabled:
                continue
            d = dedup.per_source.get(s.data_source, {})
            gone = dc.rows_removed_per_source.get(s.data_source, 0)
            rows.append(
                [
                    _e(s.data_source),
                    _e(s.license),
                    f"{s.raw_rows:,}",
                    f"{s.kept:,}",
                    f"{d.get('exact', 0):,}",
                    f"{d.get('semantic', 0):,}",
                    f"{gone:,}",
                    f"{d.get('kept', 0) - gone:,}",
                ]
            )
        out.append(
            _table(
                ["source", "licence", "read", "built", "exact dup", "near dup", "leaked", "clean"],
                rows,
                {2, 3, 4, 5, 6, 7},
            )
        )
    if dedup and dedup.nn_histogram:
        out += [
            "<h2>Similarity</h2>",
            f"<p>Nearest-neighbour cosine similarity of every built row "
            f"(all-MiniLM-L6-v2). Rows at or above {dedup.threshold} were near duplicates: "
            f"{dedup.removed_semantic:,} removed, the more verbose answer kept.</p>",
            _img(plots.histogram_figure(dedup.nn_histogram, dedup.threshold), "histogram"),
        ]
    if dc:
        out += _leak_section(dc)
    return out


def _leak_section(dc) -> list[str]:
    out = ["<h2>Benchmark contamination</h2>"]
    rows = []
    for source, benches in dc.per_source_and_benchmark.items():
        for bench, cats in benches.items():
            rows.append(
                [
                    _e(source),
                    _e(bench),
                    f"{cats['duplicate']:,}",
                    f"{cats['gray-area']:,}",
                    f"{cats['similar-but-different']:,}",
                ]
            )
    out.append(
        f"<p>{dc.rows_in:,} rows checked against "
        + ", ".join(f"{_e(k)} ({v:,})" for k, v in dc.benchmark_items.items())
        + f" test items; {dc.rows_removed:,} rows removed "
        f"(categories {', '.join(dc.remove)}).</p>"
    )
    out.append(
        _table(
            ["source", "benchmark", "duplicate", "gray-area", "similar-but-different"],
            rows or [["none", "", "0", "0", "0"]],
            {2, 3, 4},
        )
    )
    ex = [
        [
            f'<span class="tag {k.category}">{_e(k.category)}</span>',
            f"{k.similarity:.3f}",
            f"{k.ngram_coverage:.2f}",
            f'<div class="pair">{_short(k.train_text)}</div>'
            f'<div class="muted">{_e(k.train_id)}</div>',
            f'<div class="pair">{_short(k.benchmark_text)}</div>'
            f'<div class="muted">{_e(k.benchmark_id)}</div>',
        ]
        for k in dc.examples
    ]
    if ex:
        out += [
            "<h3>Examples (highest similarity per category)</h3>",
            _table(
                ["category", "cosine", "13-gram coverage", "training row", "benchmark item"],
                ex,
                {1, 2},
            ),
        ]
    return out


def _train_section(done) -> list[str]:
    s = _summary(done, "train")
    if s is None:
        return []
    cfg = s.settings
    lora = cfg.get("lora", {})
    out = [
        "<h2>Fine-tuning</h2>",
        f"<p>LoRA r={lora.get('r')}, alpha={lora.get('alpha')}, dropout "
        f"{lora.get('dropout')} on {', '.join(lora.get('target_modules', []))}; lr "
        f"{cfg.get('learning_rate')} {cfg.get('lr_scheduler')}, warmup "
        f"{s.warmup_steps}, global batch {cfg.get('global_batch_size')}. "
        f"{s.steps} steps on {s.examples:,} examples, {s.tokens:,} tokens at "
        f"{s.tokens_per_s:,.0f} tokens/s, peak RSS {s.peak_rss_mb:,.0f} MB.</p>",
    ]
    if s.val_loss_start is not None:
        out.append(
            f"<p>Held-out loss ({s.validation_examples} rows): "
            f"<b>{s.val_loss_start:.4f} → {s.val_loss_end:.4f}</b>.</p>"
        )
    if s.history:
        out.append(_img(plots.loss_figure(s.history), "loss curves"))
    return out


def _merge_section(done) -> list[str]:
    m = _summary(done, "merge")
    if m is None:
        return []
    text = f"Method <b>{_e(m.method)}</b>, {m.seconds} s, peak RSS {m.peak_rss_mb:,.0f} MB."
    if c := m.compatibility:
        text += (
            f" {c['modules']} weights adapted; ||ΔW||/||W|| median "
            f"{c['delta_ratio_median']:.4f}, max {c['delta_ratio_max']:.4f}."
        )
    return ["<h2>Merge</h2>", f"<p>{text}</p>"]


def _eval_section(done) -> list[str]:
    results = {
        name.removeprefix("eval-"): run.summary
        for name, run in done.items()
        if name.startswith("eval-")
    }
    if not results:
        return []
    scores = {m: {t: s.score for t, s in r.tasks.items()} for m, r in results.items()}
    tasks = sorted({t for s in scores.values() for t in s})
    rows = []
    for t in tasks:
        for m, r in results.items():
            s = r.tasks.get(t)
            if s is None:
                continue
            cells = [
                "" if value is None else f"{percent(value)} ({items})"
                for value, items in (
                    (s.clean, s.clean_items),
                    (s.contaminated, s.contaminated_items),
                )
            ]
            shots = "" if s.shots is None else str(s.shots)
            rows.append(
                [_e(t), _e(s.metric), _e(m), shots, percent(s.score), f"{s.items:,}", *cells]
            )
    for m, r in results.items():
        # every leaderboard average some task counted in (summaries written before there were
        # two have only the protocol's own)
        for a in r.averages.values() or ([r.average] if r.average else []):
            label = "<b>average</b>" if a.complete else f"<b>average of {a.tasks} of 6</b>"
            cells = [percent(v) for v in (a.clean, a.contaminated)]
            kind = "v2 six-task, normalised" if a.name == "leaderboard-v2" else "v1 six-task"
            rows.append([label, kind, _e(m), "", f"<b>{percent(a.value)}</b>", "", *cells])
    settings = next(iter(results.values())).settings
    note = ""
    if settings.get("limit"):
        note += (
            f" Each task on {settings['limit']} items ({settings.get('sample', 'first')} "
            "sample): differences of a few items are within sampling noise."
        )
    if settings.get("bf16"):
        note += (
            " Scored with bf16 autocast: the merged weights are rounded to bf16 in every "
            "matmul while base + adapter adds the LoRA path separately, so fine-tuned and "
            "merged can differ slightly; in fp32 (the default) they agree."
        )
    if settings.get("num_fewshot") is not None:
        note += (
            f" Every task with {settings['num_fewshot']} few-shot examples per item "
            "(num_fewshot), not its own number."
        )
    harness = settings.get("harness", "lm-eval-0.4")
    return [
        "<h2>Evaluation</h2>",
        "<p>Open LLM Leaderboard tasks (lm-evaluation-harness prompts, scored by "
        f"{_e(harness)}'s rules). v1: ARC-Challenge 25-shot acc_norm, HellaSwag 10-shot "
        "acc_norm, MMLU 5-shot acc, TruthfulQA mc2, Winogrande 5-shot acc, GSM8K 5-shot exact "
        "match (generated), averaged as the leaderboard v1 averaged them. v2: IFEval, BBH "
        "3-shot, MATH Lvl 5 4-shot, GPQA, MuSR, MMLU-Pro 5-shot, each normalised as the "
        "leaderboard v2 does (its random-guess baseline is 0, a perfect score 100; BBH and "
        "MuSR per subtask), then averaged. Each average is over the tasks scored where fewer "
        f"ran.{note}</p>",
        _img(plots.eval_figure(scores), "scores"),
        _table(
            [
                "task",
                "metric",
                "model",
                "shots",
                "score (%)",
                "items",
                "clean (%, items)",
                "contaminated (%, items)",
            ],
            rows,
            {3, 4, 5, 6, 7},
        ),
    ]


def write_report(pipeline) -> Path:
    from platypus.io.writers import write_bytes

    path = pipeline.run_dir / "report.html"
    write_bytes(path, render(pipeline).encode("utf-8"))
    return path
