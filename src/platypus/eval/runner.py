"""`platypus eval`: score the configured tasks, cache the results, write JSON and a table."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from platypus import __version__
from platypus.config import EvalConfig
from platypus.errors import PlatypusError
from platypus.eval.loglik import LoglikScorer
from platypus.eval.run import aggregate, contaminated_ids, load_model, prepare, score_task
from platypus.paths import cache_dir

HEADLINE = {
    "arc_challenge": "acc_norm",
    "hellaswag": "acc_norm",
    "mmlu": "acc",
    "truthfulqa_mc": "mc2",
}  # the leaderboard's number per task


def run_eval(config: EvalConfig) -> dict:
    if not config.tasks:
        raise PlatypusError("eval: no tasks given")
    if config.adapter and not Path(config.adapter).is_dir():
        raise PlatypusError(f"{config.adapter}: adapter folder not found")
    # Data problems surface before minutes are spent loading a model.
    data_root = Path(config.data_root)
    prepared = {
        t: prepare(t, data_root, config.limit, config.mmlu_subjects, config.sample)
        for t in config.tasks
    }
    model, tokenizer, fingerprint = load_model(config)
    scorer = LoglikScorer(model, tokenizer, bf16=config.bf16, batch_size=config.batch_size)
    leaked = contaminated_ids(config.contamination)
    results = {
        "version": __version__,
        "model": config.model or "smollm2",
        "adapter": config.adapter,
        "model_fingerprint": fingerprint,
        "settings": {"bf16": config.bf16, "limit": config.limit, "sample": config.sample},
        "tasks": {},
    }
    for task in config.tasks:
        key_src = json.dumps(
            [
                __version__,
                fingerprint,
                task,
                config.limit,
                config.sample,
                config.mmlu_subjects,
                config.bf16,
                str(Path(config.data_root).resolve()),
            ]
        )
        cached = cache_dir() / "eval" / f"{hashlib.sha256(key_src.encode()).hexdigest()[:24]}.json"
        if config.cache and cached.is_file():
            task_result = json.loads(cached.read_text())
        else:
            items, pool = prepared[task]
            scored = score_task(scorer, task, items, pool, data_root)
            summary = aggregate(task, items, scored)
            task_result = {
                "summary": summary,
                "items": [
                    {"id": r.id, "lls": r.lls, "extra_lls": r.extra_lls, "metrics": r.metrics}
                    for r in scored
                ],
                "subjects": {i.id: i.subject for i in items} if task == "mmlu" else {},
            }
            if config.cache:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(task_result))
        if leaked:
            task_result["split"] = _split(task, task_result, leaked)
        results["tasks"][task] = task_result
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(table(results) + "\n")
    return results


def _split(task: str, task_result: dict, leaked: set[str]) -> dict:
    """The task's headline metric over clean and over contaminated items."""
    metric = HEADLINE[task]
    groups: dict[str, list[float]] = {"clean": [], "contaminated": []}
    for row in task_result["items"]:
        groups["contaminated" if row["id"] in leaked else "clean"].append(row["metrics"][metric])
    return {
        name: {"items": len(v), metric: (sum(v) / len(v) if v else None)}
        for name, v in groups.items()
    }


def table(results: dict) -> str:
    lines = [
        "| task | metric | score | items | clean | contaminated |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for task, r in results["tasks"].items():
        metric = HEADLINE[task]
        split = r.get("split", {})
        cells = []
        for name in ("clean", "contaminated"):
            part = split.get(name)
            cells.append(
                ""
                if not part or part[metric] is None
                else f"{100 * part[metric]:.1f} ({part['items']})"
            )
        score = r["summary"][metric]
        lines.append(
            f"| {task} | {metric} | {100 * score:.1f} | {r['summary']['items']} | "
            f"{cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines)
