"""Hub-convention folders read right by the Hub's own tools, whatever else exists: a data stage's
folder loads with `datasets.load_dataset(folder)` as its own rows, beside other folders of the
same name and after a rerun in place, from one fresh cache; an adapter's config and card name
the base's hub id (and say when the base was a converted GGUF), and `datasets:` only a hub
dataset. Train-free: the cards are written on folders laid out as the stages lay them out."""

import json

import datasets
import pytest
from huggingface_hub import DatasetCard, ModelCard

import platypus
from platypus.cards import PACKAGED_MODELS, dataset_file
from platypus.config import DedupConfig, TrainConfig
from platypus.data.dedup.run import dedup
from platypus.errors import PlatypusError
from platypus.hashing import file_sha256
from platypus.hub import validate
from platypus.merge.methods.adapter import trained_base
from platypus.model_cards import dataset_hub_id, model_origin, write_adapter_card, write_merge_card
from platypus.models import SMOLLM2_HUB_ID
from platypus.models.smollm2 import GGUF_NAME
from platypus.train.recipe import BASE_RECORD
from tests.conftest import read_jsonl

MINHASH = DedupConfig(method="minhash")  # nothing embedded: the folders, not the model, are tested
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _rows(scibench_jsonl, tmp_path, name: str, first: int, count: int):
    """`count` real SciBench rows from row `first`, as a jsonl beside nothing."""
    lines = scibench_jsonl.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "inputs" / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines[first : first + count]), encoding="utf-8")
    return path


def _dedup(scibench_jsonl, tmp_path, folder, first: int, count: int):
    """A real dedup output folder (kept.jsonl, kept.parquet, removed.jsonl, report, card)."""
    dedup(MINHASH, _rows(scibench_jsonl, tmp_path, folder.parent.name, first, count), folder)
    return [r["id"] for r in read_jsonl(folder / "kept.jsonl")]


def _loaded(folder, cache_dir=None) -> list[str]:
    return datasets.load_dataset(str(folder), split="train", cache_dir=cache_dir)["id"]


@pytest.mark.parametrize("cache", ["cache_dir", "default"])
def test_each_data_folder_loads_its_own_rows_from_one_fresh_cache(
    scibench_jsonl, tmp_path, monkeypatch, cache
):
    cache_dir = None
    if cache == "cache_dir":
        cache_dir = str(tmp_path / "cache")
    else:  # datasets' default cache, fresh: HF_DATASETS_CACHE is read when datasets is imported
        monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "default-cache"))
        monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "default-cache")
    # Same folder name (the issue: 5 and 9 rows both loaded as 5), and other names.
    folders = {
        "a": tmp_path / "a" / "dedup",
        "b": tmp_path / "b" / "dedup",
        "c": tmp_path / "c" / "kept-rows",
        "d": tmp_path / "d" / "other",
    }
    want = {
        "a": _dedup(scibench_jsonl, tmp_path, folders["a"], 0, 5),
        "b": _dedup(scibench_jsonl, tmp_path, folders["b"], 0, 9),
        "c": _dedup(scibench_jsonl, tmp_path, folders["c"], 20, 7),
        "d": _dedup(scibench_jsonl, tmp_path, folders["d"], 40, 7),
    }
    assert len(want["a"]) != len(want["b"]) and len(set(map(tuple, want.values()))) == 4
    for key in ["a", "b", "c", "d", "a", "b"]:  # then again: from the cache now
        assert _loaded(folders[key], cache_dir) == want[key], key
    # A rerun in place (other rows, same folder) loads as its new rows, not the cached ones.
    want["a"] = _dedup(scibench_jsonl, tmp_path, folders["a"], 60, 6)
    assert _loaded(folders["a"], cache_dir) == want["a"]
    assert _loaded(folders["b"], cache_dir) == want["b"]
    # The same rows in two folders are one cache entry, and right for both.
    twin = tmp_path / "twin" / "dedup"
    assert _dedup(scibench_jsonl, tmp_path, twin, 0, 9) == want["b"]
    assert _loaded(twin, cache_dir) == want["b"]


def test_data_card_names_its_file_by_content_and_stays_readable(scibench_jsonl, tmp_path):
    folder = tmp_path / "dedup"
    ids = _dedup(scibench_jsonl, tmp_path, folder, 0, 9)
    card = DatasetCard.load(folder / "README.md")
    config = card.data.to_dict()["configs"]
    assert config == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "kept.jsonl"}],
            "description": f"kept.jsonl sha256 {file_sha256(folder / 'kept.jsonl')}",
        }
    ]
    assert card.text == (folder / "report.md").read_text()
    assert dataset_file(folder) == folder / "kept.jsonl"
    assert platypus.load_dataset(folder)["id"] == ids
    validate(folder, "dataset")


# ---- base models and datasets in model cards ----------------------------------------------


def _snapshot(root, kind: str, repo: str):
    folder = root / f"{kind}--{repo.replace('/', '--')}" / "snapshots" / COMMIT
    folder.mkdir(parents=True)
    return folder


def test_model_origin_maps_local_bases_back_to_hub_ids(tmp_path):
    assert PACKAGED_MODELS[0][1] == SMOLLM2_HUB_ID and PACKAGED_MODELS[0][3] == GGUF_NAME
    for alias in (None, "smollm2", SMOLLM2_HUB_ID):  # all the packaged, converted GGUF
        origin = model_origin(alias)
        assert (origin.hub_id, origin.revision, origin.gguf) == (SMOLLM2_HUB_ID, None, GGUF_NAME)
    converted = tmp_path / "models" / "smollm2-135m-instruct-0123456789ab"
    converted.mkdir(parents=True)
    assert model_origin(converted).hub_id == SMOLLM2_HUB_ID
    assert model_origin(converted).gguf == GGUF_NAME
    snapshot = _snapshot(tmp_path / "hub", "models", "org/name")
    origin = model_origin(snapshot)
    assert (origin.hub_id, origin.revision, origin.gguf) == ("org/name", COMMIT, None)
    assert model_origin(_snapshot(tmp_path / "hub", "models", "gpt2")).hub_id == "gpt2"
    plain = tmp_path / "my-model"
    plain.mkdir()
    assert model_origin(plain).hub_id is None
    named_like = tmp_path / "smollm2-135m-instruct-mine"  # not the converted folder
    named_like.mkdir()
    assert model_origin(named_like).hub_id is None
    assert model_origin("org/remote").hub_id == "org/remote"
    assert model_origin("gpt2").hub_id == "gpt2" and model_origin("a b").hub_id is None
    (tmp_path / "file.bin").write_bytes(b"")
    assert model_origin(tmp_path / "file.bin").hub_id is None

    assert dataset_hub_id(_snapshot(tmp_path / "hub", "datasets", "org/set") / "t.jsonl") == (
        "org/set"
    )
    assert dataset_hub_id(tmp_path / "clean" / "clean.jsonl") is None
    assert dataset_hub_id(None) is None


PEFT_CONFIG = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"],
               "task_type": "CAUSAL_LM", "revision": None}  # fmt: skip
SUMMARY = {"examples": 12, "steps": 2, "val_loss_start": None}


def _adapter(tmp_path, base, data_file=None):
    """An adapter folder as training leaves it before its card: PEFT's config naming the local
    base it was loaded from, and platypus' record of that folder."""
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(
        json.dumps(PEFT_CONFIG | {"base_model_name_or_path": str(base)})
    )
    (folder / BASE_RECORD).write_text(json.dumps({"base_model": str(base)}))
    if data_file is None:
        data_file = tmp_path / "clean" / "clean.jsonl"
        data_file.parent.mkdir()
        data_file.write_text("")
    config = TrainConfig(input=str(data_file))
    write_adapter_card(folder, str(base), config, SUMMARY)
    adapter_config = json.loads((folder / "adapter_config.json").read_text())
    return folder, adapter_config, ModelCard.load(folder / "README.md")


def test_adapter_on_the_packaged_model_names_its_hub_id_and_the_gguf(tmp_path):
    base = tmp_path / "cache" / "models" / "smollm2-135m-instruct-0123456789ab"
    base.mkdir(parents=True)
    folder, adapter_config, card = _adapter(tmp_path, base)
    assert adapter_config == PEFT_CONFIG | {"base_model_name_or_path": SMOLLM2_HUB_ID}
    assert card.data.base_model == SMOLLM2_HUB_ID  # (licence: "other", the data has no card)
    assert card.data.datasets is None  # a local file: no hub dataset to link
    assert f"converted from the GGUF file `{GGUF_NAME}` (Q4_1 quantisation)" in card.text
    assert "the local file `clean.jsonl`" in card.text and str(tmp_path) not in card.text
    validate(folder, "model")
    # A merge still finds the folder it was trained on, through platypus' record...
    assert trained_base(folder, adapter_config) == str(base)
    # ...and, that folder gone, the hub id (which resolves to the packaged model here).
    base.rmdir()
    assert trained_base(folder, adapter_config) == SMOLLM2_HUB_ID


def test_adapter_on_a_hub_cache_snapshot_names_repository_and_commit(tmp_path, monkeypatch):
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    base = _snapshot(hub, "models", "org/name")
    (base / "config.json").write_text("{}")
    data_file = _snapshot(hub, "datasets", "org/set") / "train.jsonl"
    data_file.write_text("")
    folder, adapter_config, card = _adapter(tmp_path, base, data_file)
    assert adapter_config["base_model_name_or_path"] == "org/name"
    assert adapter_config["revision"] == COMMIT
    assert card.data.base_model == "org/name" and card.data.datasets == ["org/set"]
    assert f"at revision `{COMMIT}`" in card.text and "GGUF" not in card.text
    validate(folder, "model")
    # The record gone, a merge finds the commit in the hub cache.
    (folder / BASE_RECORD).unlink()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    assert trained_base(folder, adapter_config) == str(base)


def test_adapter_on_a_local_model_names_no_hub_id_and_is_not_pushed(tmp_path):
    base = tmp_path / "my-model"
    base.mkdir()
    folder, adapter_config, card = _adapter(tmp_path, base)
    assert adapter_config["base_model_name_or_path"] == str(base)  # the only place it is
    assert card.data.base_model is None and card.data.datasets is None
    assert "a local model (`my-model`), not a hub repository" in card.text
    with pytest.raises(PlatypusError, match="would load onto nothing") as err:
        validate(folder, "model")
    assert "\n" not in str(err.value)


def test_merge_card_names_hub_bases_only(tmp_path):
    converted = tmp_path / "smollm2-135m-instruct-0123456789ab"
    local = tmp_path / "mine"
    for folder in (converted, local):
        folder.mkdir()
    # an adapter card of an older platypus named its local set: not a hub dataset
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "README.md").write_text(
        "---\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\ndatasets:\n- open-platypus\n"
        "- org/set\nlicense: apache-2.0\n---\n# adapter\n"
    )
    out = tmp_path / "merged"
    out.mkdir()
    inputs = [{"role": "adapter", "path": str(adapter)}, {"role": "base", "path": str(converted)},
              {"role": "model", "path": str(local)}]  # fmt: skip
    write_merge_card(out, {"inputs": inputs, "method": "linear"}, "# Merged model (linear)\n")
    card = ModelCard.load(out / "README.md")
    assert card.data.base_model == SMOLLM2_HUB_ID and card.data.datasets == ["org/set"]
    assert card.text.startswith("# Merged model (linear)\n\n## Base models\n")
    assert f"- base: The base model is [{SMOLLM2_HUB_ID}]" in card.text and GGUF_NAME in card.text
    assert "- model: The base model was a local model (`mine`)" in card.text
    validate(out, "model")
