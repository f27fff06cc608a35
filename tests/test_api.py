"""The Python API alone: build -> dedup -> decontaminate -> train -> merge -> evaluate on real data
and the packaged models, datasets in and out, mistakes as one line, a cheap `import platypus`."""

import json
import subprocess
import sys

import datasets
import pytest

import platypus
from platypus import build, decontaminate, dedup, evaluate, load_dataset
from platypus.config import DedupConfig, Recipe, TrainConfig
from platypus.data.sources import SOURCES
from platypus.errors import PlatypusError
from platypus.models import SMOLLM2_HUB_ID
from platypus.pipeline.stages import (
    BuildSummary,
    DecontaminateSummary,
    DedupSummary,
    EvalSummary,
    MergeSummary,
    TrainSummary,
)
from tests.conftest import SHARED_DATA, read_jsonl

TINY_TRAIN = {"max_steps": 2, "limit": 12, "val_size": 0, "global_batch_size": 4,
              "micro_batch_size": 4, "max_length": 128, "bf16": False}  # fmt: skip


def _manifest(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_chain_through_the_api(tmp_path):
    only_scibench = {name: {"enabled": name == "scibench"} for name in SOURCES}
    built = build(tmp_path / "build", data_root=str(SHARED_DATA), sources=only_scibench)
    assert isinstance(built, BuildSummary) and built.rows == 695
    assert _manifest(tmp_path / "build")["stage"] == "build"

    rows = load_dataset(tmp_path / "build")
    assert isinstance(rows, datasets.Dataset) and len(rows) == built.rows
    sample = rows.select(range(60))  # small: the API, not the embedding, is under test
    config = DedupConfig(threshold=0.85, precision="fp32")
    deduped = dedup(sample, tmp_path / "dedup", config=config)
    assert isinstance(deduped, DedupSummary) and deduped.rows_in == 60
    assert deduped.threshold == 0.85 and deduped.per_source["scibench"]["rows"] == 60
    given = read_jsonl(tmp_path / "dedup" / "input.jsonl")
    assert [r["id"] for r in given] == sample["id"]
    assert len(read_jsonl(tmp_path / "dedup" / "kept.jsonl")) == deduped.rows_kept
    # Again into the same folder: the Dataset it was given is replaced, not refused.
    again = dedup(sample, tmp_path / "dedup", threshold=0.85, precision="fp32")
    assert again.rows_kept == deduped.rows_kept

    # An earlier stage's folder is an input: its manifest names the file.
    checked = decontaminate(
        tmp_path / "dedup", tmp_path / "clean", benchmarks=["truthfulqa_mc"],
        data_root=str(SHARED_DATA), precision="fp32",
    )  # fmt: skip
    assert isinstance(checked, DecontaminateSummary)
    assert checked.rows_in == deduped.rows_kept
    assert checked.benchmark_items == {"truthfulqa_mc": 817}
    clean = load_dataset(tmp_path / "clean")
    assert len(clean) == checked.rows_clean

    # `platypus.train` is also a subpackage, imported by now: calling it still trains.
    trained = platypus.train(clean, tmp_path / "train", config=TrainConfig(**TINY_TRAIN))
    assert isinstance(trained, TrainSummary) and trained.steps == 2
    assert trained.rows == 12  # `limit` drew 12 of the rows given, all written first:
    assert len(read_jsonl(tmp_path / "train" / "input.jsonl")) == len(clean)
    assert (tmp_path / "train" / "adapter" / "adapter_model.safetensors").is_file()

    merged = platypus.merge(tmp_path / "merged", adapter=tmp_path / "train")
    assert isinstance(merged, MergeSummary) and merged.method == "adapter"
    assert merged.compatibility["ok"]

    scored = evaluate(
        tmp_path / "eval", model=tmp_path / "merged", tasks=["truthfulqa_mc"], limit=4,
        bf16=False, data_root=str(SHARED_DATA), cache=False,
    )  # fmt: skip
    assert isinstance(scored, EvalSummary) and scored.tasks["truthfulqa_mc"].items == 4
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["tasks"]["truthfulqa_mc"]["summary"]["items"] == 4
    assert _manifest(tmp_path / "eval")["summary"] == scored.model_dump(mode="json")

    # A whole Recipe is a configuration too: its section is used.
    recipe = Recipe.model_validate({"train": TINY_TRAIN | {"max_steps": 1}})
    one = platypus.train(tmp_path / "clean", tmp_path / "train1", config=recipe)
    assert one.steps == 1
    from huggingface_hub import DatasetCard, ModelCard

    card = ModelCard.load(tmp_path / "train1" / "adapter" / "README.md")
    # the set's name as its card gives it (a Dataset given to dedup is named after input.jsonl)
    name = DatasetCard.load(tmp_path / "clean" / "README.md").data.pretty_name
    assert card.data.base_model == SMOLLM2_HUB_ID and name == "input"
    assert card.data.datasets is None and f"on `{name}` (the local file" in card.text


def test_mistakes_are_one_line(tmp_path):
    rows = datasets.Dataset.from_list([{"instruction": "q", "output": "a"}])
    with pytest.raises(PlatypusError, match="threshhold") as err:
        dedup(rows, tmp_path / "a", threshhold=0.8)
    assert "\n" not in str(err.value)
    with pytest.raises(PlatypusError, match="config is a TrainConfig; expected DedupConfig"):
        dedup(rows, tmp_path / "b", config=TrainConfig())
    with pytest.raises(PlatypusError, match="no dataset card"):
        load_dataset(tmp_path)
    with pytest.raises(PlatypusError, match="eval_models"):
        platypus.run({"eval_models": ["nothing"]}, tmp_path / "run")


def test_import_is_cheap():
    code = (
        "import sys, platypus\n"
        "from platypus import build, dedup, decontaminate, train, merge, evaluate, run\n"
        "assert callable(train) and callable(merge) and train.__doc__\n"
        "assert 'torch' not in sys.modules and 'datasets' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
