"""`platypus run`: the registry's stages in order, each in a content-addressed folder, then the
HTML report.

A stage's folder is `<run_dir>/<stage>-<key[:12]>`; the key hashes the stage's name, the part of
its configuration that identifies a result (`config.result_config`), the keys of the stages it
reads and its outside inputs. A folder whose manifest holds that key is finished and skipped;
changing one stage's configuration changes its key and those of the stages after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from platypus.config import Recipe
from platypus.pipeline.lock import FolderLock
from platypus.pipeline.manifest import read_manifest, stage_key
from platypus.pipeline.stage import Stage, Summary, run_stage
from platypus.pipeline.stages import STAGES, fed_inputs
from platypus.settings import result_config


@dataclass
class StageRun:
    name: str
    key: str
    folder: Path
    status: str  # ran | skipped
    seconds: float
    summary: Summary
    config: BaseModel

    @property
    def counts(self) -> dict[str, int | float]:
        return self.summary.counts()


class Pipeline:
    def __init__(self, recipe: Recipe, run_dir: str | Path | None = None, log=print):
        self.recipe = recipe
        self.run_dir = Path(run_dir or recipe.run_dir or f"runs/{recipe.name}")
        self.log = log
        self.done: dict[str, StageRun] = {}

    def stages(self) -> list[Stage]:
        steps = [s for s in STAGES.values() if s.in_pipeline]
        return steps + [STAGES[f"eval-{label}"] for label in self.recipe.eval_models]

    def run(self) -> dict[str, StageRun]:
        from platypus.report.html import write_report

        with FolderLock(self.run_dir):
            for stage in self.stages():
                self.stage(stage)
            path = write_report(self)
        self.log(f"[{self.recipe.name}] report: {path}")
        return self.done

    def stage(self, stage: Stage) -> StageRun:
        config, upstream = self.inputs(stage)
        outside = stage.outside(config, self.recipe)
        key = stage_key(stage.name, result_config(config), upstream, outside)
        folder = self.run_dir / f"{stage.name}-{key[:12]}"
        summary = _finished(stage, folder, key)
        if summary is not None:
            seconds = read_manifest(folder)["seconds"]
            run = StageRun(stage.name, key, folder, "skipped", seconds, summary, config)
            self.log(f"[{self.recipe.name}] {stage.name}: finished earlier -> {folder}")
        else:
            extra = {"key": key, "upstream": upstream, "outside": outside}
            summary, seconds = run_stage(stage, config, folder, self.recipe, extra, owned=True)
            run = StageRun(stage.name, key, folder, "ran", seconds, summary, config)
            self.log(
                f"[{self.recipe.name}] {stage.name}: {_brief(run.counts)} ({seconds:.0f} s) "
                f"-> {folder}"
            )
        self.done[stage.name] = run
        return run

    def inputs(self, stage: Stage) -> tuple[BaseModel, dict[str, str]]:
        """The stage's configuration with its `reads` fields pointing at the artefacts of this
        run's earlier stages, and those stages' keys."""
        config = stage.config(self.recipe)
        fed = fed_inputs(
            stage, config, lambda name: (self.done[name].config, self.done[name].folder)
        )
        upstream = {name: self.done[name].key for name, _ in fed.values()}
        return config.model_copy(update={f: path for f, (_, path) in fed.items()}), upstream


def _finished(stage: Stage, folder: Path, key: str) -> Summary | None:
    manifest = read_manifest(folder)
    if not manifest or manifest.get("key") != key:
        return None
    try:
        return stage.summary_model.model_validate(manifest.get("summary"))
    except ValidationError:
        return None  # written by a version whose summary differs: run again


def _brief(counts: dict) -> str:
    return ", ".join(
        f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.4g}" for k, v in counts.items()
    )
