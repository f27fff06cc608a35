"""The recipe's stages in order: build -> dedup -> decontaminate -> train -> merge -> eval of the
base, fine-tuned and merged models -> HTML report."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from platypus.config import Recipe
from platypus.hashing import weights_fingerprint
from platypus.pipeline.manifest import read_manifest, stage_key, tree_fingerprint, write_manifest

# Stages whose partial output is worth keeping when interrupted (training resumes from its
# checkpoints); the others restart from an empty folder.
RESUMABLE = {"train"}
EVAL_MODELS = ("base", "finetuned", "merged")


@dataclass
class StageRun:
    name: str
    key: str
    folder: Path
    status: str  # ran | skipped
    seconds: float
    counts: dict = field(default_factory=dict)


def _config(model, *exclude: str) -> dict:
    return model.model_dump(exclude=set(exclude))


class Pipeline:
    def __init__(self, recipe: Recipe, run_dir: str | Path | None = None, log=print):
        self.recipe = recipe
        self.run_dir = Path(run_dir or recipe.run_dir or f"runs/{recipe.name}")
        self.log = log
        self.done: dict[str, StageRun] = {}

    def stage(
        self,
        name: str,
        config: dict,
        upstream: list[str],
        outside: dict,
        fn: Callable[[Path], dict],
    ) -> StageRun:
        key = stage_key(name, config, {u: self.done[u].key for u in upstream}, outside)
        folder = self.run_dir / f"{name}-{key[:12]}"
        manifest = read_manifest(folder)
        if manifest and manifest.get("key") == key:
            run = StageRun(name, key, folder, "skipped", manifest["seconds"], manifest["counts"])
            self.log(f"[{self.recipe.name}] {name}: finished earlier -> {folder}")
        else:
            if folder.exists() and name not in RESUMABLE:
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            counts = fn(folder)
            seconds = round(time.perf_counter() - t0, 2)
            write_manifest(
                folder,
                {
                    "stage": name,
                    "key": key,
                    "config": config,
                    "upstream": {u: self.done[u].key for u in upstream},
                    "outside": outside,
                    "seconds": seconds,
                    "counts": counts,
                },
            )
            run = StageRun(name, key, folder, "ran", seconds, counts)
            self.log(f"[{self.recipe.name}] {name}: {_brief(counts)} ({seconds:.0f} s) -> {folder}")
        self.done[name] = run
        return run

    def run(self) -> dict[str, StageRun]:
        from platypus.models import resolve_causal_lm

        r = self.recipe
        build_cfg = r.data.build
        self.stage(
            "build",
            _config(build_cfg, "output_dir"),
            [],
            {"data": tree_fingerprint(Path(build_cfg.data_root).resolve())},
            lambda out: _build(build_cfg, out),
        )
        build_jsonl = self._file("build", f"{build_cfg.name}.jsonl")
        self.stage(
            "dedup",
            _config(r.data.dedup, "output_dir", "input"),
            ["build"],
            {},
            lambda out: _dedup(r.data.dedup, build_jsonl, out),
        )
        kept = self._file("dedup", "kept.jsonl")
        dc = r.data.decontaminate
        self.stage(
            "decontaminate",
            _config(dc, "output_dir", "input"),
            ["dedup"],
            {"benchmarks": tree_fingerprint(Path(dc.data_root).resolve())},
            lambda out: _decontaminate(dc, kept, out),
        )
        clean = self._file("decontaminate", "clean.jsonl")
        base = Path(resolve_causal_lm(r.train.model))
        base_id = {"base": weights_fingerprint(base) if base.is_dir() else str(r.train.model)}
        self.stage(
            "train",
            # Checkpoint frequency and resumption do not change the trained weights.
            _config(r.train, "output_dir", "input", "resume", "save_every"),
            ["decontaminate"],
            base_id,
            lambda out: _train(r.train, clean, out),
        )
        adapter = self.done["train"].folder / "adapter"
        self.stage(
            "merge",
            _config(r.merge, "output_dir", "adapter", "overlap"),
            ["train"],
            base_id,
            lambda out: _merge(r.merge, r.train.model, adapter, out),
        )
        leaks = self._file("decontaminate", "leaks.jsonl")
        models = {
            "base": (r.train.model, None, []),
            "finetuned": (r.train.model, str(adapter), ["train"]),
            "merged": (str(self.done["merge"].folder), None, ["merge"]),
        }
        for label in r.eval_models:
            model, adapter_dir, upstream = models[label]
            cfg = _config(r.eval, "output_dir", "model", "adapter", "contamination", "cache")
            self.stage(
                f"eval-{label}",
                cfg,
                upstream + ["decontaminate"],
                base_id if label == "base" else {},
                lambda out, m=model, a=adapter_dir: _eval(r.eval, m, a, leaks, out),
            )
        from platypus.report.html import write_report

        path = write_report(self)
        self.log(f"[{r.name}] report: {path}")
        return self.done

    def _file(self, stage: str, name: str) -> Path:
        return self.done[stage].folder / name


def _brief(counts: dict) -> str:
    return ", ".join(
        f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}"
        for k, v in counts.items()
        if isinstance(v, int | float)
    )


def _build(config, out: Path) -> dict:
    from platypus.data.build import build

    result = build(config, out)
    return {"rows": len(result.records)}


def _dedup(config, source: Path, out: Path) -> dict:
    from platypus.data.dedup.run import dedup

    result = dedup(config, source, out)
    return {"rows_in": len(result.records), "rows_kept": len(result.kept)}


def _decontaminate(config, source: Path, out: Path) -> dict:
    from platypus.data.decontaminate.run import decontaminate

    result = decontaminate(config, source, out)
    return {
        "rows_in": len(result.records),
        "leak_pairs": len(result.leaks),
        "rows_removed": len(result.removed_ids),
        "rows_clean": len(result.clean),
    }


def _train(config, source: Path, out: Path) -> dict:
    from platypus.train.loop import train

    result = train(config.model_copy(update={"output_dir": str(out)}), source)
    s = result.summary
    return {
        "steps": s["steps"],
        "examples": s["examples"],
        "tokens_per_s": s["tokens_per_s"],
        "val_loss_start": s["val_loss_start"] or 0.0,
        "val_loss_end": s["val_loss_end"] or 0.0,
    }


def _merge(config, base_model, adapter: Path, out: Path) -> dict:
    from platypus.merge.run import merge

    update = {"output_dir": str(out)}
    if config.method in ("adapter", "transplant"):
        update["adapter"] = str(adapter)
        if config.base_model is None:
            update["base_model"] = base_model
    result = merge(config.model_copy(update=update))
    return {"weight_files": len(result.card["output"]), "peak_rss_mb": result.card["peak_rss_mb"]}


def _eval(config, model, adapter, leaks: Path, out: Path) -> dict:
    from platypus.eval.runner import HEADLINE, run_eval

    update = {
        "output_dir": str(out),
        "model": model,
        "adapter": adapter,
        "contamination": str(leaks),
    }
    results = run_eval(config.model_copy(update=update))
    return {task: r["summary"][HEADLINE[task]] for task, r in results["tasks"].items()}
