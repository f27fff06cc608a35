"""`platypus eval` on faulty inputs and stale caches: results follow the data, errors are one line.

A tiny random Llama (SmolLM2's tokenizer, 2 layers) stands in for the model: these checks are
about what is cached, split and rejected, not about the scores themselves.
"""

import json
import shutil

import pytest

from platypus.config import EvalConfig, validated
from platypus.errors import DataError, PlatypusError
from platypus.eval.run import contaminated_ids, prepare
from platypus.eval.runner import run_eval


def tiny_llama(folder, hidden: int, tokenizer_dir=None):
    """`tokenizer_dir`: a folder holding SmolLM2's tokenizer (None: the packaged model's, which
    is converted from its GGUF once per cache folder: half a minute)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from platypus.models import prepared_path

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir or prepared_path())
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama(folder, hidden=32)
    return folder


@pytest.fixture
def tqa_root(tmp_path, shared_data):
    """A writable copy of the TruthfulQA data."""
    (tmp_path / "data" / "truthfulqa").mkdir(parents=True)
    shutil.copyfile(
        shared_data / "truthfulqa" / "mc_task.json",
        tmp_path / "data" / "truthfulqa" / "mc_task.json",
    )
    return tmp_path / "data"


@pytest.fixture
def config(tmp_path, tiny, tqa_root, monkeypatch):
    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    return EvalConfig(
        model=str(tiny),
        tasks=["truthfulqa_mc"],
        limit=3,
        data_root=str(tqa_root),
        output_dir=str(tmp_path / "out"),
    )


def cache_files(tmp_path):
    return sorted((tmp_path / "cache" / "eval").glob("*.json"))


def test_contaminated_split_follows_the_given_categories(tmp_path, config):
    leaks = tmp_path / "leaks.jsonl"
    rows = [
        {"benchmark_id": "truthfulqa_mc/0", "category": "duplicate"},
        {"benchmark_id": "truthfulqa_mc/1", "category": "similar-but-different"},
        {"benchmark_id": "truthfulqa_mc/2", "category": "gray-area"},
    ]
    leaks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert contaminated_ids(leaks) == {"truthfulqa_mc/0", "truthfulqa_mc/2"}
    assert contaminated_ids(leaks, ["similar-but-different"]) == {"truthfulqa_mc/1"}

    config = config.model_copy(update={"contamination": str(leaks)})
    default = run_eval(config)["tasks"]["truthfulqa_mc"]["split"]
    assert default["contaminated"]["items"] == 2 and default["clean"]["items"] == 1
    only_dup = run_eval(config, contaminated=("duplicate",))["tasks"]["truthfulqa_mc"]["split"]
    assert only_dup["contaminated"]["items"] == 1 and only_dup["clean"]["items"] == 2
    every = ("duplicate", "gray-area", "similar-but-different")
    assert run_eval(config, contaminated=every)["tasks"]["truthfulqa_mc"]["split"]["clean"] == {
        "items": 0,
        "mc2": None,
    }


def test_leak_row_without_benchmark_id_is_one_line(tmp_path, config):
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text(
        json.dumps({"benchmark_id": "truthfulqa_mc/0", "category": "duplicate"})
        + "\n"
        + json.dumps({"category": "duplicate"})
        + "\n"
    )
    with pytest.raises(DataError, match=r"leaks.jsonl: row 2: a leak row needs a benchmark_id"):
        contaminated_ids(leaks)
    config = config.model_copy(update={"contamination": str(leaks)})
    with pytest.raises(DataError) as exc:
        run_eval(config)
    assert "\n" not in str(exc.value)


def test_editing_a_benchmark_file_invalidates_the_cache(tmp_path, config, tqa_root):
    first = run_eval(config)["tasks"]["truthfulqa_mc"]
    assert len(cache_files(tmp_path)) == 1
    again = run_eval(config)["tasks"]["truthfulqa_mc"]  # unchanged data: the cached result
    assert again == first and len(cache_files(tmp_path)) == 1

    path = tqa_root / "truthfulqa" / "mc_task.json"
    data = json.loads(path.read_text())
    data[0]["question"] = "What is the smallest country in the world by population?"
    path.write_text(json.dumps(data))
    edited = run_eval(config)["tasks"]["truthfulqa_mc"]
    assert len(cache_files(tmp_path)) == 2
    assert edited["items"][0]["lls"] != first["items"][0]["lls"]
    assert edited["items"][1:] == first["items"][1:]


def test_cache_key_follows_results_not_locations(tmp_path, config, tqa_root):
    """A copy of the same data elsewhere, or another output folder, reuses the result; a
    setting that changes the result (bf16) does not."""
    run_eval(config)
    moved = tmp_path / "moved"
    shutil.copytree(tqa_root, moved)
    run_eval(config.model_copy(update={"data_root": str(moved), "output_dir": str(tmp_path / "o")}))
    assert len(cache_files(tmp_path)) == 1
    run_eval(config.model_copy(update={"bf16": True}))
    assert len(cache_files(tmp_path)) == 2


def test_torn_cache_file_is_dropped_and_recomputed(tmp_path, config, capsys):
    first = run_eval(config)["tasks"]["truthfulqa_mc"]
    [cached] = cache_files(tmp_path)
    text = cached.read_text()
    cached.write_text(text[: len(text) // 2])  # as a crash mid-write would leave it
    capsys.readouterr()
    again = run_eval(config)["tasks"]["truthfulqa_mc"]
    err = capsys.readouterr().err
    assert "warning" in err and cached.name in err and "recomputing" in err
    assert again == first
    # rewritten whole; the cache holds the scores, the protocol's headline and the task's number
    # of few-shot examples are added on reading
    assert json.loads(cached.read_text()) | {"headline": "mc2", "num_fewshot": 0} == first
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "results.md"]  # no temp files


def test_small_hellaswag_file_is_one_line(tmp_path):
    (tmp_path / "hellaswag").mkdir()
    item = "Baking: A woman mixes flour. she\n2\nsings.\nsleeps.\nbakes bread.\nflies.\n"
    (tmp_path / "hellaswag" / "hellaswag_val_full.txt").write_text(item * 3)
    with pytest.raises(PlatypusError) as exc:
        prepare("hellaswag", tmp_path)
    message = str(exc.value)
    assert "hellaswag_val_full.txt" in message and "3 items" in message
    assert "at least 201" in message and "\n" not in message


def test_adapter_for_another_base_is_one_line(tmp_path, tiny, config):
    from peft import LoraConfig, get_peft_model

    other = tiny_llama(tmp_path / "wider", hidden=64, tokenizer_dir=tiny)
    lora = LoraConfig(r=2, target_modules=["gate_proj", "up_proj", "down_proj"])
    adapter = tmp_path / "adapter"
    get_peft_model(other, lora).save_pretrained(adapter)
    with pytest.raises(PlatypusError) as exc:
        run_eval(config.model_copy(update={"adapter": str(adapter)}))
    message = str(exc.value)
    assert str(adapter) in message and str(tiny) in message and "different base" in message
    assert "size mismatch" in message and "\n" not in message


def test_empty_mmlu_subjects_are_rejected(config):
    with pytest.raises(PlatypusError, match="mmlu_subjects: .*empty list") as exc:
        validated(EvalConfig, {"mmlu_subjects": []}, "recipe")
    assert "\n" not in str(exc.value)
    with pytest.raises(PlatypusError, match="mmlu_subjects is empty"):
        run_eval(config.model_copy(update={"mmlu_subjects": []}))
    with pytest.raises(PlatypusError, match="subject list is empty"):
        prepare("mmlu", config.data_root, subjects=[])
