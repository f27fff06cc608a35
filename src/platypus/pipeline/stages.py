"""The pipeline's stages and their registry: build -> dedup -> decontaminate -> train -> merge ->
eval of the base, fine-tuned and merged models.

Each stage is declared in its own package (`<package>/stage.py`, on `platypus.contract`): what it
reads, where its artefacts are (their file names are defined by the producing package, once),
what it reports. Adding a stage is its module and one registry line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from platypus.contract import Stage, Summary
from platypus.data.build.stage import BuildStage, BuildSummary, SourceRow
from platypus.data.decontaminate.stage import (
    DecontaminateStage,
    DecontaminateSummary,
    LeakExample,
)
from platypus.data.dedup.stage import DedupStage, DedupSummary
from platypus.eval.stage import AverageScore, EvalStage, EvalSummary, TaskScore
from platypus.merge.stage import MergeStage, MergeSummary
from platypus.train.stage import TrainStage, TrainSummary

__all__ = [
    "PIPELINE", "STAGES", "AverageScore", "BuildStage", "BuildSummary", "DecontaminateStage",
    "DecontaminateSummary", "DedupStage", "DedupSummary", "EvalStage", "EvalSummary",
    "LeakExample", "MergeStage", "MergeSummary", "SourceRow", "Stage", "Summary", "TaskScore",
    "TrainStage", "TrainSummary", "fed_inputs",
]  # fmt: skip

STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        BuildStage(),
        DedupStage(),
        DecontaminateStage(),
        TrainStage(),
        MergeStage(),
        EvalStage(),
        EvalStage("base"),
        EvalStage("finetuned"),
        EvalStage("merged"),
    )
}
# What `platypus run` runs, in order (the stages `in_pipeline`), then the recipe's evaluations.
PIPELINE = tuple(name for name, stage in STAGES.items() if stage.in_pipeline)


def fed_inputs(
    stage: Stage, config: BaseModel, locate: Callable[[str], tuple[BaseModel, Path]]
) -> dict[str, tuple[str, str]]:
    """field -> (producing stage, artefact path) for each of `stage.reads` that applies under
    `config`; `locate(name)` gives the producing stage's configuration and output folder (this
    run's folder under `platypus run`, its own output folder for a stage command)."""
    fed = {}
    for field, ref in stage.reads.items():
        if stage.wants(field, config):
            name, artefact = ref.split(".")
            producer_config, folder = locate(name)
            fed[field] = (name, str(STAGES[name].output(artefact, producer_config, folder)))
    return fed
