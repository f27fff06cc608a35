"""The Python API: each stage as a function, through the same stage registry and runner as the
CLI (output folder locked, outputs moved in whole, manifest last), returning the stage's typed
summary.

    from platypus import build, dedup, decontaminate, train, merge, evaluate, load_dataset

    build("out/build", sources={"scibench": {"enabled": True}, "math": {"enabled": False}})
    dedup("out/build", "out/dedup", threshold=0.85)
    decontaminate("out/dedup", "out/clean", benchmarks=["truthfulqa_mc"])
    train("out/clean", "out/train", max_steps=50)
    merge("out/merged", adapter="out/train")
    evaluate("out/eval", model="out/merged", tasks=["arc_challenge"], limit=50)
    rows = load_dataset("out/clean")          # a datasets.Dataset

Every function takes its stage's configuration (`config=`: the section's pydantic model, or a
whole `Recipe`, whose section is used) and keyword overrides of any of its fields, validated as a
recipe is (a wrong name or type is a `PlatypusError`). An input may be a file, the output folder
of the stage that produces it (its manifest or dataset card names the file), or, for the data
inputs of dedup, decontaminate and train, a `datasets.Dataset`: it is written to `input.jsonl`
in the output folder first, so the folder records what the stage was given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    import datasets

    from platypus.config import Recipe
    from platypus.pipeline.stage import Summary
    from platypus.pipeline.stages import (
        BuildSummary,
        DecontaminateSummary,
        DedupSummary,
        EvalSummary,
        MergeSummary,
        TrainSummary,
    )

INPUT_FILE = "input.jsonl"  # a datasets.Dataset given as input, in the stage's output folder
# Inputs a stage command takes from an earlier stage's folder: the registry's `reads`, and the
# standalone evaluation's model and contamination inputs.
FOLDER_INPUTS = {"adapter": "train.adapter", "contamination": "decontaminate.leaks"}


def build(output_dir: str | Path, config: Any = None, **overrides: Any) -> BuildSummary:
    """Build the instruction set from its sources (`data.build`): `<name>.jsonl`/`.parquet`,
    `card.md`, `build.json` and a Hub dataset card (`README.md`) in `output_dir`."""
    return _run("build", output_dir, config, overrides)


def dedup(input: Any, output_dir: str | Path, config: Any = None, **overrides: Any) -> DedupSummary:
    """Remove exact and near duplicates (`data.dedup`) from `input` (a file, a build folder or a
    `datasets.Dataset`): `kept.jsonl`, `removed.jsonl`, `report.md` and a dataset card."""
    return _run("dedup", output_dir, config, overrides, input=input)


def decontaminate(
    input: Any, output_dir: str | Path, config: Any = None, **overrides: Any
) -> DecontaminateSummary:
    """Find and remove benchmark leaks (`data.decontaminate`) in `input` (a file, a dedup
    folder or a `datasets.Dataset`): `clean.jsonl`, `leaks.jsonl`, `report.md`, a dataset
    card."""
    return _run("decontaminate", output_dir, config, overrides, input=input)


def train(input: Any, output_dir: str | Path, config: Any = None, **overrides: Any) -> TrainSummary:
    """LoRA fine-tuning (`train`) on `input` (a file, a decontaminate folder or a
    `datasets.Dataset`): the adapter with its model card in `output_dir/adapter`, metrics,
    checkpoints (resumed from when present)."""
    return _run("train", output_dir, config, overrides, input=input)


def merge(
    output_dir: str | Path, adapter: Any = None, config: Any = None, **overrides: Any
) -> MergeSummary:
    """Merge (`merge`): by default the `adapter` (its folder, or the train folder holding it)
    into its base; other methods take `method=` and `models=`. Weights, `merge.json` and a model
    card in `output_dir`."""
    return _run("merge", output_dir, config, overrides, adapter=adapter)


def evaluate(
    output_dir: str | Path,
    model: Any = None,
    adapter: Any = None,
    config: Any = None,
    **overrides: Any,
) -> EvalSummary:
    """Score `model` (a folder or hub id; None: the packaged SmolLM2), with `adapter` (an
    adapter or train folder) on top if given, on the leaderboard tasks (`eval`): results.json
    and results.md in `output_dir`."""
    return _run("eval", output_dir, config, overrides, model=model, adapter=adapter)


def run(
    recipe: Recipe | str | Path | dict, run_dir: str | Path | None = None
) -> dict[str, Summary]:
    """The whole recipe as `platypus run` does it (finished stages skipped), then the report:
    {stage name: its summary}."""
    from platypus.config import Recipe, load_recipe
    from platypus.pipeline.run import Pipeline
    from platypus.settings import validated

    if isinstance(recipe, str | Path):
        recipe = load_recipe(recipe)
    elif isinstance(recipe, dict):
        recipe = validated(Recipe, recipe, "recipe")
    done = Pipeline(recipe, run_dir).run()
    return {name: stage_run.summary for name, stage_run in done.items()}


def load_dataset(path: str | Path) -> datasets.Dataset:
    """The rows of a data stage's folder (the file its dataset card names), or of a
    jsonl/json/parquet file, as a `datasets.Dataset`."""
    from platypus.cards import dataset_file

    path = Path(path)
    if path.is_dir():
        file = dataset_file(path)
        if file is None:
            raise PlatypusError(f"{path}: no dataset card (README.md) naming its data file")
        path = file
    if not path.is_file():
        raise PlatypusError(f"{path}: no such file")
    kind = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}.get(path.suffix)
    if kind is None:
        raise PlatypusError(f"{path}: not a jsonl, json or parquet file")
    import datasets

    return datasets.load_dataset(kind, data_files=str(path), split="train")


# ---- one stage through the runner ----------------------------------------------------------


def _run(name: str, output_dir: str | Path, config: Any, overrides: dict, **inputs: Any) -> Any:
    from platypus.config import Recipe
    from platypus.pipeline.lock import FolderLock
    from platypus.pipeline.stage import run_stage
    from platypus.pipeline.stages import STAGES
    from platypus.settings import validated

    stage = STAGES[name]
    recipe = config if isinstance(config, Recipe) else Recipe()
    section = stage.config(recipe)
    if config is not None and not isinstance(config, Recipe | type(section)):
        raise PlatypusError(
            f"platypus.{_public(name)}: config is a {type(config).__name__}; expected "
            f"{type(section).__name__} or Recipe"
        )
    base = config if isinstance(config, type(section)) else section
    out = Path(output_dir)
    values = base.model_dump() | overrides | {"output_dir": str(out)}
    with FolderLock(out):  # re-entrant: run_stage takes it again, no one writes in between
        for field, value in inputs.items():
            if value is not None:
                values[field] = _input(stage, field, value, out)
        config = validated(type(base), values, f"platypus.{_public(name)}")
        summary, _ = run_stage(stage, config, out, recipe)
    return summary


def _public(name: str) -> str:
    from platypus.pipeline.stages import STAGES

    return STAGES[name].api_name or name


def plugin_function(name: str):
    """A plug-in stage's function, by its `api_name` (None for any other name):
    `fn(output_dir, config=None, **overrides)`, the inputs it `reads` (files, or the producing
    stages' folders) among the keywords."""
    from platypus.pipeline.stages import STAGES

    for stage in STAGES.values():
        if stage.api_name == name:
            return _stage_function(stage)
    return None


def __getattr__(name: str):
    function = plugin_function(name)
    if function is None:
        raise AttributeError(f"module 'platypus.api' has no attribute {name!r}")
    return function


def _stage_function(stage):
    def run_stage_api(output_dir: str | Path, config: Any = None, **overrides: Any) -> Any:
        inputs = {f: overrides.pop(f) for f in list(overrides) if f in stage.reads}
        return _run(stage.name, output_dir, config, overrides, **inputs)

    run_stage_api.__name__ = run_stage_api.__qualname__ = stage.api_name
    run_stage_api.__doc__ = f"{stage.help} (`{stage.section}`), through the stage runner."
    return run_stage_api


def _input(stage, field: str, value: Any, out: Path) -> str:
    """A file path for `field`: a Dataset written into `out`, a producer's folder resolved to
    its artefact, anything else as given."""
    if _is_dataset(value):
        if field != "input":
            raise PlatypusError(f"{field}: a datasets.Dataset is accepted only as input")
        return str(_write_dataset(value, stage, out))
    path = Path(str(value))
    if not path.is_dir():
        return str(value)
    return str(artefact_in(stage, field, path) or path)


def _is_dataset(value: Any) -> bool:
    # Without `datasets` imported, nothing can be a Dataset: no import just to check.
    module = sys.modules.get("datasets")
    return module is not None and isinstance(value, module.Dataset)


def _write_dataset(dataset: Any, stage, out: Path) -> Path:
    """`input.jsonl` in `out`. The previous run of the stage there is cleared first, as the
    runner's own first step would (its manifest lists `input.jsonl` among that run's files,
    which the runner would refuse to read as an input it is about to delete)."""
    from platypus.io.writers import write_bytes
    from platypus.pipeline.stage import clear_previous

    clear_previous(stage, out)
    rows = (json.dumps(row, ensure_ascii=False) + "\n" for row in dataset)
    path = out / INPUT_FILE
    write_bytes(path, "".join(rows).encode("utf-8"))
    return path


def artefact_in(stage, field: str, folder: Path) -> Path | None:
    """The file or folder an earlier stage's output `folder` holds for `field`: the artefact
    the registry says feeds it (by the folder's manifest), else a data folder's card file. The
    API and the CLI both take a stage folder where an input is asked for."""
    from platypus.cards import dataset_file
    from platypus.pipeline.stages import STAGES

    ref = (FOLDER_INPUTS | stage.reads).get(field)
    if ref is not None:
        producer, artefact = ref.split(".")
        found = STAGES[producer].found_in(folder, artefact)
        if found is not None:
            return found
    return dataset_file(folder) if field == "input" else None
