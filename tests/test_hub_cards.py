"""Hub-ready outputs: the cards of real build, dedup, decontaminate, train and merge folders parse
with huggingface_hub and load with datasets; --push-to-hub calls the hub as it should and fails
in one line."""

import json
import shutil

import datasets
import pytest
from huggingface_hub import DatasetCard, ModelCard

from platypus.cards import size_category
from platypus.cli import main
from platypus.config import BuildConfig, MergeConfig, TrainConfig
from platypus.data.sources import SOURCES
from platypus.errors import PlatypusError
from platypus.hashing import file_sha256
from platypus.hub import IGNORED, push_stage, validate
from platypus.models import SMOLLM2_HUB_ID, prepared_path
from tests.conftest import SHARED_DATA, read_jsonl

TRAIN = ["--max-steps", "2", "--limit", "12", "--micro-batch-size", "4", "--no-bf16"]
TRAIN += ["--set", "val_size=0", "--set", "global_batch_size=4", "--set", "max_length=128"]


def _cli(*argv: str) -> None:
    assert main(list(argv)) == 0


SUBSET = 60  # rows deduplicated: the cards, not the embedding, are under test


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One small real chain through the stage commands: scibench -> the first rows, with the
    build's card beside them -> dedup -> decontaminate (TruthfulQA) -> 2 training steps ->
    adapter merge."""
    tmp = tmp_path_factory.mktemp("hub")
    f = {k: tmp / k for k in ("build", "subset", "dedup", "clean", "train", "merged")}
    _cli("data", "build", "--only", "scibench", "--data-root", str(SHARED_DATA),
         "--output-dir", str(f["build"]))  # fmt: skip
    f["subset"].mkdir()
    shutil.copy(f["build"] / "README.md", f["subset"])
    lines = (f["build"] / "open-platypus.jsonl").read_text().splitlines(keepends=True)
    (f["subset"] / "open-platypus.jsonl").write_text("".join(lines[:SUBSET]))
    fp32 = ("--set", "precision=fp32")
    _cli("data", "dedup", "--input", str(f["subset"] / "open-platypus.jsonl"),
         "--output-dir", str(f["dedup"]), *fp32)  # fmt: skip
    _cli("data", "decontaminate", "--input", str(f["dedup"] / "kept.jsonl"),
         "--benchmarks", "truthfulqa_mc", "--data-root", str(SHARED_DATA),
         "--output-dir", str(f["clean"]), *fp32)  # fmt: skip
    _cli("train", "--input", str(f["clean"] / "clean.jsonl"), "--output-dir", str(f["train"]),
         *TRAIN)  # fmt: skip
    _cli("merge", "--adapter", str(f["train"] / "adapter"), "--output-dir", str(f["merged"]))
    return f


def _card_data(path) -> dict:
    return DatasetCard.load(path / "README.md").data.to_dict()


def test_build_card_loads_with_datasets_and_keeps_the_card(folders):
    folder = folders["build"]
    data = _card_data(folder)
    assert data["license"] == ["mit"]  # scibench
    assert data["size_categories"] == ["n<1K"] and "platypus" in data["tags"]
    assert data["task_categories"] == ["text-generation", "question-answering"]
    files = [{"split": "train", "path": "open-platypus.jsonl"}]
    # the file's content in the config: datasets caches a folder's rows under it
    sha = file_sha256(folder / "open-platypus.jsonl")
    description = f"open-platypus.jsonl sha256 {sha}"
    assert data["configs"] == [
        {"config_name": "default", "data_files": files, "description": description}
    ]
    rows = datasets.load_dataset(str(folder))
    want = read_jsonl(folder / "open-platypus.jsonl")
    assert list(rows) == ["train"] and rows["train"]["id"] == [r["id"] for r in want]
    assert rows["train"].column_names == ["id", "instruction", "input", "output", "data_source"]
    # The readable card is the body, unchanged.
    assert DatasetCard.load(folder / "README.md").text == (folder / "card.md").read_text()


@pytest.mark.parametrize(("stage", "file"), [("dedup", "kept.jsonl"), ("clean", "clean.jsonl")])
def test_dedup_and_decontaminate_cards_name_their_rows(folders, stage, file):
    folder = folders[stage]
    data = _card_data(folder)
    assert data["pretty_name"] == "open-platypus"  # the set keeps its name
    assert data["configs"][0]["data_files"] == [{"split": "train", "path": file}]
    assert data["configs"][0]["description"] == f"{file} sha256 {file_sha256(folder / file)}"
    assert data["tags"] == ["platypus", "dedup" if stage == "dedup" else "decontaminate"]
    rows = datasets.load_dataset(str(folder), split="train")
    # only the kept/clean rows: not removed.jsonl or leaks.jsonl beside them
    assert rows["id"] == [r["id"] for r in read_jsonl(folder / file)]
    assert DatasetCard.load(folder / "README.md").text == (folder / "report.md").read_text()


# The Hub's licence identifiers the sources use (https://huggingface.co/docs/hub/repositories-licenses)
HUB_LICENSE_IDS = {"mit", "apache-2.0", "cc-by-4.0", "cc-by-nc-sa-4.0", "other", "unknown"}


def test_each_source_declares_its_hub_licences_and_default():
    """A source is self-contained: its Hub licence ids and whether a default build takes it are
    in its own `SPEC`, not in a table elsewhere that a new source could be missing from."""
    for name, source in SOURCES.items():
        assert source.spec.hub_licenses, name
        assert set(source.spec.hub_licenses) <= HUB_LICENSE_IDS, name
    on = {n for n, m in SOURCES.items() if m.spec.enabled_by_default}
    assert on == {"math", "scibench", "theoremqa", "reclor", "arb"}  # the release, held locally
    assert {n for n, s in BuildConfig().sources.items() if s.enabled} == on


def test_licences_per_source_and_size(tmp_path):
    _cli("data", "build", "--only", "scibench,reclor", "--data-root", str(SHARED_DATA),
         "--output-dir", str(tmp_path))  # fmt: skip
    data = _card_data(tmp_path)
    # ReClor's own non-commercial terms are no Hub licence id: "other" beside scibench's MIT
    assert data["license"] == ["mit", "other"]
    assert data["size_categories"] == ["1K<n<10K"]
    assert "**reclor** (500 rows): ReClor terms" in (tmp_path / "README.md").read_text()
    assert [size_category(n) for n in (0, 999, 1000, 99_999, 100_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M",
    ]  # fmt: skip


def test_adapter_card(folders):
    card = ModelCard.load(folders["train"] / "adapter" / "README.md")
    data = card.data
    assert data.base_model == SMOLLM2_HUB_ID and data.library_name == "peft"
    # trained on a local file: no hub dataset to link; the body names the set and the file
    assert data.datasets is None and data.tags == ["platypus", "lora", "peft"]
    assert "on `open-platypus` (the local file `clean.jsonl`;" in card.text
    assert "converted from the GGUF file `SmolLM2-135M-Instruct.Q4_1.gguf`" in card.text
    # PEFT's config names the hub id, so the pushed adapter loads; platypus' own record keeps
    # the local folder it was trained on (the merge in `folders` read it)
    adapter = folders["train"] / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == SMOLLM2_HUB_ID
    record = json.loads((adapter / "platypus_base.json").read_text())
    assert record["base_model"] == str(prepared_path())
    # MIT data on an Apache-2.0 base: the base's licence
    assert data.license == "apache-2.0"
    summary = json.loads((folders["train"] / "summary.json").read_text())
    assert f"{summary['steps']} optimizer steps" in card.text
    validate(folders["train"] / "adapter", "model")


def test_merge_card_keeps_its_body(folders):
    card = ModelCard.load(folders["merged"] / "README.md")
    data = card.data
    assert data.base_model == SMOLLM2_HUB_ID and data.library_name == "transformers"
    assert data.tags == ["platypus", "merge", "adapter", "lora"]
    assert data.datasets is None and data.license == "apache-2.0"  # from the adapter
    assert "## Base models" in card.text and "SmolLM2-135M-Instruct.Q4_1.gguf" in card.text
    merged = json.loads((folders["merged"] / "merge.json").read_text())
    assert merged["adapter"]["base"] == str(prepared_path())  # the recorded local folder
    assert card.text.startswith("# Merged model (adapter)") and "## Inputs" in card.text
    validate(folders["merged"], "model")


class FakeApi:
    def __init__(self, fail: Exception | None = None):
        self.calls = []
        self.fail = fail

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))
        if self.fail:
            raise self.fail

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return type("Info", (), {"commit_url": "https://hub/commit/1"})()


@pytest.mark.parametrize(
    ("stage", "config", "folder", "kind"),
    [
        ("build", BuildConfig(), "build", "dataset"),
        ("train", TrainConfig(), "train/adapter", "model"),
        ("merge", MergeConfig(), "merged", "model"),
    ],
)
def test_push_uploads_the_finished_folder(folders, stage, config, folder, kind):
    out = folders[folder.split("/")[0]]
    api = FakeApi()
    line = push_stage(stage, config, out, "someone/platypus-test", api=api)
    assert line.endswith("https://hub/commit/1")
    path = str(out.parent / folder)
    assert api.calls == [
        ("create_repo", "someone/platypus-test", {"repo_type": kind, "exist_ok": True}),
        (
            "upload_folder",
            {
                "repo_id": "someone/platypus-test",
                "repo_type": kind,
                "folder_path": path,
                "ignore_patterns": IGNORED,
                "commit_message": f"platypus {stage}: {out.name}",
            },
        ),
    ]


def test_push_refuses_unfinished_or_unlinkable_folders(folders, tmp_path):
    with pytest.raises(PlatypusError, match="no finished train output"):
        push_stage("train", TrainConfig(), folders["build"], "someone/x", api=FakeApi())
    # a base_model the Hub cannot link (a local folder) is refused before any upload
    card = ModelCard.load(folders["merged"] / "README.md")
    card.data.base_model = str(folders["train"])
    card.save(tmp_path / "README.md")
    with pytest.raises(PlatypusError, match="is a local folder, not a hub repository id"):
        validate(tmp_path, "model")
    api = FakeApi(fail=ConnectionError("no route\nto host"))
    with pytest.raises(PlatypusError, match="^push to model someone/x failed: no route to host$"):
        push_stage("merge", MergeConfig(), folders["merged"], "someone/x", api=api)


def test_cli_push_offline_is_one_line(tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    code = main(["data", "build", "--only", "scibench", "--data-root", str(SHARED_DATA),
                 "--output-dir", str(tmp_path),
                 "--push-to-hub", "someone/platypus-test"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("platypus: error: push to dataset someone/platypus-test failed:")
    assert "offline" in err
    assert (tmp_path / "manifest.json").is_file()  # the build itself finished
