"""Output folders hold users' files too, and finished results must be current: nothing a stage
did not write is deleted or replaced, a run never deletes its own input, and a changed model
file or benchmark item is never served from an earlier result."""

import json
import shutil

import pytest

from conftest import error_lines
from platypus.cli import main
from platypus.pipeline.stage import PARTIAL

ROWS = [{"id": f"r{i}", "instruction": f"What is {i} plus {i}?", "input": "",
         "output": f"{i} plus {i} is {2 * i}.", "data_source": "t"} for i in range(6)]  # fmt: skip


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_a_merge_keeps_the_users_own_safetensors(tiny_llama, tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.safetensors").write_bytes(b"the user's own file")
    code, err = _run(capsys, "merge", "--method", "linear", "--models",
                     f"{tiny_llama},{tiny_llama}", "--output-dir", out)  # fmt: skip
    assert code == 0, err
    assert (out / "notes.safetensors").read_bytes() == b"the user's own file"
    # A second merge into it replaces its own outputs, still not the user's file.
    code, err = _run(capsys, "merge", "--method", "linear", "--models",
                     f"{tiny_llama},{tiny_llama}", "--output-dir", out)  # fmt: skip
    assert code == 0, err
    assert (out / "notes.safetensors").read_bytes() == b"the user's own file"


def test_a_dedup_into_a_project_folder_never_replaces_its_readme(rows, tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# my project\n")
    code, err = _run(capsys, "data", "dedup", "--input", rows, "--output-dir", project,
                     "--set", "cache=false")  # fmt: skip
    assert code == 2 and err.count("\n") == 1, err
    assert "README.md is not an output of an earlier dedup run" in err
    assert (project / "README.md").read_text() == "# my project\n"
    assert not (project / "manifest.json").exists()


def test_an_input_inside_a_temporary_folder_of_the_output_is_refused(rows, tmp_path, capsys):
    out = tmp_path / "d"
    partial = out / f"{PARTIAL}dedup-999"
    partial.mkdir(parents=True)
    data = partial / "data.jsonl"
    shutil.copy(rows, data)
    code, err = _run(capsys, "data", "dedup", "--input", data, "--output-dir", out)
    assert code == 2 and err.count("\n") == 1, err
    assert "would be overwritten" in err
    assert data.read_bytes() == rows.read_bytes()


def _arc_root(tmp_path, shared_data):
    """A data root whose ARC files are copies (the rest linked), so a test can edit an item."""
    root = tmp_path / "data"
    root.mkdir()
    for entry in shared_data.iterdir():
        if entry.name == "arc":
            shutil.copytree(entry, root / "arc")
        else:
            (root / entry.name).symlink_to(entry)
    return root


@pytest.mark.parametrize(
    "edit",
    ["model config.json", "tokenizer.json", "benchmark item"],
)
def test_an_edited_model_file_or_benchmark_item_is_never_served_from_cache(
    edit, tiny_llama, tmp_path, capsys, monkeypatch, shared_data
):
    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "model"
    shutil.copytree(tiny_llama, model)
    root = _arc_root(tmp_path, shared_data)
    argv = ["eval", "--model", model, "--tasks", "arc_challenge", "--limit", "2",
            "--data-root", root]  # fmt: skip

    def scores(out):
        code, err = _run(capsys, *argv, "--output-dir", tmp_path / out)
        assert code == 0, err
        items = json.loads((tmp_path / out / "results.json").read_text())["tasks"]
        return [i["lls"] for i in items["arc_challenge"]["items"]]

    before = scores("before")
    if edit == "model config.json":
        config = json.loads((model / "config.json").read_text())
        config["rms_norm_eps"] = 0.5
        (model / "config.json").write_text(json.dumps(config))
    elif edit == "tokenizer.json":
        tok = json.loads((model / "tokenizer.json").read_text())
        tok["normalizer"] = {"type": "Lowercase"}
        (model / "tokenizer.json").write_text(json.dumps(tok))
    else:
        [test_file] = [p for p in (root / "arc").rglob("*") if "test" in p.name.lower()
                       and "challenge" in str(p).lower() and p.is_file()][:1]  # fmt: skip
        lines = test_file.read_text().splitlines(keepends=True)
        # the same length, so only the content says it changed
        lines[0] = lines[0].replace("the", "teh", 1)
        test_file.write_text("".join(lines))
    assert scores("after") != before


def test_stage_keys_cover_the_base_models_files_and_the_benchmark_items(
    tiny_llama, tmp_path, shared_data
):
    """`platypus run` skips a stage whose key it finds in a finished folder: the key of the
    base's evaluation, of training and of the contamination check change with an edited
    config.json or test item (by content: same size)."""
    from platypus.config import Recipe
    from platypus.pipeline.stages import STAGES

    model = tmp_path / "model"
    shutil.copytree(tiny_llama, model)
    root = _arc_root(tmp_path, shared_data)
    recipe = Recipe.model_validate({
        "train": {"model": str(model)},
        "eval": {"model": str(model), "tasks": ["arc_challenge"], "data_root": str(root)},
        "data": {"decontaminate": {"data_root": str(root)}},
    })  # fmt: skip
    stages = [STAGES[name] for name in ("eval-base", "train", "decontaminate")]

    def keys():
        return [json.dumps(s.outside(s.config(recipe), recipe), sort_keys=True) for s in stages]

    first = keys()
    config = json.loads((model / "config.json").read_text())
    config["rope_theta"] = config.get("rope_theta", 10000.0) * 2
    (model / "config.json").write_text(json.dumps(config))
    second = keys()
    assert second[0] != first[0] and second[1] != first[1]
    test_file = root / "arc" / "ARC-Challenge-Test.jsonl"
    stat = test_file.stat()
    text = test_file.read_text()
    test_file.write_text(text.replace("the", "teh", 1))
    import os

    os.utime(test_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and time
    third = keys()
    assert third[0] != second[0] and third[2] != second[2]


def _full_disk_case(where, rows, model, out):
    """(command, what a full disk breaks, a setting the second run changes) per stage."""
    train = ["train", "--model", model, "--input", rows, "--output-dir", out, "--set",
             "val_size=0", "--set", "max_steps=2", "--set", "save_every=1", "--set",
             "micro_batch_size=2", "--set", "global_batch_size=2"]  # fmt: skip
    dedup = ["data", "dedup", "--input", rows, "--output-dir", out, "--set", "precision=fp32"]
    merge = ["merge", "--method", "linear", "--models", f"{model},{model}", "--output-dir", out]
    evaluate = ["eval", "--model", model, "--tasks", "arc_challenge", "--limit", "1",
                "--output-dir", out]  # fmt: skip
    return {
        "dedup output": (dedup, "platypus.data.dedup.run.write_bytes", "threshold=0.9"),
        "embedding cache": (dedup, "platypus.similarity.embed.EmbeddingCache.put",
                            "threshold=0.9"),
        "training checkpoint": (train, "platypus.train.checkpoint.save", "learning_rate=1e-3"),
        "merge shard": (merge, "platypus.merge.tensor_writer.StreamWriter.write", "dtype=bfloat16"),
        "eval results": (evaluate, "platypus.eval.runner.write_bytes", "limit=2"),
    }[where]  # fmt: skip


@pytest.mark.parametrize("where", ["dedup output", "embedding cache", "training checkpoint",
                                   "merge shard", "eval results"])  # fmt: skip
def test_a_full_disk_is_one_line_and_the_previous_result_stays(where, rows, tiny_llama, tmp_path,
                                                               capsys, monkeypatch):  # fmt: skip
    import errno
    import sqlite3

    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    argv, target, changed = _full_disk_case(where, rows, tiny_llama, out)
    code, err = _run(capsys, *argv)
    assert code == 0, err
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
              if p.is_file() and not p.name.startswith(".")}  # fmt: skip

    def full(*args, **kwargs):
        if where == "embedding cache":
            raise sqlite3.OperationalError("database or disk is full")
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "x"))

    monkeypatch.setattr(target, full)
    if where == "embedding cache":
        monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cold-cache"))  # embeds anew
    if where == "training checkpoint":  # a fresh run (a changed config is not resumed)
        argv = [str(out.parent / "fresh") if a == out else a for a in argv]
    code, err = _run(capsys, *argv, "--set", changed)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "the disk is full" in lines[0], err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
             if p.is_file() and not p.name.startswith(".")}  # fmt: skip
    assert after == before  # (training wrote its failed run elsewhere)


def test_an_adapters_config_is_part_of_its_identity(tmp_path):
    """The eval cache key names the adapter by `model_identity`: `lora_alpha` 16 -> 1600 scales
    its update a hundredfold, so it is another model."""
    from platypus.config import EvalConfig
    from platypus.eval.run import weights_fingerprints

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 16, "lora_alpha": 16}))
    config = EvalConfig(adapter=str(adapter))
    before = weights_fingerprints(config)
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 16, "lora_alpha": 1600}))
    assert weights_fingerprints(config) != before
