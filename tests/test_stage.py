"""The Stage contract: one runner for `platypus <stage>` and `platypus run`, with locked output
folders, outputs swapped in whole, generic `--set` overrides and artefact names defined once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from platypus.cli import main
from platypus.config import ComputeSettings, DedupConfig, Recipe, TrainConfig, result_config
from platypus.errors import PlatypusError
from platypus.overrides import apply_overrides
from platypus.pipeline.lock import FolderLock
from platypus.pipeline.stages import STAGES

SRC = Path(__file__).resolve().parents[1] / "src" / "platypus"

ROWS = [
    {"id": "a", "instruction": "What is the boiling point of water at sea level in Celsius?",
     "input": "", "output": "100 degrees Celsius, at standard pressure.", "data_source": "t"},
    {"id": "b", "instruction": "At sea level, what is the boiling point of water in Celsius?",
     "input": "", "output": "100 C.", "data_source": "t"},
    {"id": "c", "instruction": "Name the largest planet of the solar system.",
     "input": "", "output": "Jupiter is the largest planet.", "data_source": "t"},
    {"id": "d", "instruction": "Integrate x squared from 0 to 3.",
     "input": "", "output": "x^3/3 from 0 to 3 gives 9.", "data_source": "t"},
]  # fmt: skip


def _rows(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_set_overrides_any_field_and_validates():
    config = apply_overrides(DedupConfig(), ["threshold=0.85", "precision=fp32", "cache=false"])
    assert (config.threshold, config.precision, config.cache) == (0.85, "fp32", False)
    train = apply_overrides(TrainConfig(), ["lora.r=8", "lora.target_modules=[up_proj]"])
    assert train.lora.r == 8 and train.lora.target_modules == ["up_proj"]
    with pytest.raises(PlatypusError, match=r"--set: threshhold: Extra inputs"):
        apply_overrides(DedupConfig(), ["threshhold=0.85"])
    with pytest.raises(PlatypusError, match=r"--set: threshold: Input should be less than"):
        apply_overrides(DedupConfig(), ["threshold=1.5"])
    with pytest.raises(PlatypusError, match="expected key=value"):
        apply_overrides(DedupConfig(), ["threshold"])


def test_dedup_set_threshold_on_the_command_line(tmp_path, capsys):
    data = _rows(tmp_path / "rows.jsonl")
    code, out, err = _cli(
        capsys, "data", "dedup", "--input", data, "--output-dir", tmp_path / "o",
        "--set", "threshold=0.85", "--set", "precision=fp32",
    )  # fmt: skip
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["threshold"] == 0.85 and manifest["config"]["precision"] == "fp32"
    assert manifest["summary"]["rows_in"] == 4
    kept = [json.loads(x)["id"] for x in (tmp_path / "o" / "kept.jsonl").read_text().splitlines()]
    assert "a" in kept and "b" not in kept  # the paraphrase goes, the more verbose row stays
    assert set(manifest["files"]) >= {"kept.jsonl", "removed.jsonl", "dedup.json", "report.md"}
    assert not list((tmp_path / "o").glob(".partial-*"))


def test_an_input_inside_the_outputs_is_refused_and_kept(tmp_path, capsys):
    folder = tmp_path / "d"
    folder.mkdir()
    own = _rows(folder / "clean.jsonl")
    before = own.read_bytes()
    code, _, err = _cli(
        capsys, "data", "decontaminate", "--input", own, "--output-dir", folder,
        "--benchmarks", "truthfulqa_mc",
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "would be overwritten" in err
    assert own.read_bytes() == before


def test_a_second_run_into_a_held_folder_names_the_holder(tmp_path, capsys):
    folder = tmp_path / "o"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from platypus.pipeline.lock import FolderLock\n"
         f"with FolderLock({str(folder)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        data = _rows(tmp_path / "rows.jsonl")
        code, _, err = _cli(capsys, "data", "dedup", "--input", data, "--output-dir", folder)
        assert code == 2 and err.count("\n") == 1
        assert f"in use by pid {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    # The kernel releases a dead holder's lock: the folder is free again.
    with FolderLock(folder):
        pass


def test_lock_is_reentrant_in_one_process(tmp_path):
    with FolderLock(tmp_path), FolderLock(tmp_path):
        pass
    with FolderLock(tmp_path):
        pass


@pytest.mark.parametrize("point", ["before-commit", "during-commit"])
def test_killed_stage_leaves_nothing_that_looks_finished(tmp_path, point):
    data = _rows(tmp_path / "rows.jsonl")
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "platypus", "data", "dedup", "--input", str(data),
            "--output-dir", str(out), "--set", "precision=fp32"]  # fmt: skip
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    earlier = (out / "manifest.json").read_bytes()
    killed = subprocess.run(
        [*argv, "--set", "threshold=0.9"],
        env=env | {"PLATYPUS_KILL_AT": f"dedup:{point}"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    if point == "before-commit":
        # Killed before its outputs were complete: the earlier result is still whole, and
        # still says which configuration it is (not the killed run's).
        assert (out / "manifest.json").read_bytes() == earlier
        assert json.loads((out / "dedup.json").read_text())["config"]["threshold"] != 0.9
    else:
        # Killed while moving them in: the earlier result is gone (its manifest first), the
        # new one never got a manifest.
        assert not (out / "manifest.json").exists()
        assert not (out / "dedup.json").exists()
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (out / "manifest.json").is_file() and not list(out.glob(".partial-*"))


def test_stage_keys_ignore_settings_and_input_paths():
    recipe = Recipe()
    base = result_config(recipe.train)
    assert "eval_every" not in base and "save_every" not in base and "output_dir" not in base
    changed = recipe.train.model_copy(update={"eval_every": 5, "input": "x.jsonl"})
    assert result_config(changed) == base
    assert result_config(recipe.train.model_copy(update={"learning_rate": 1e-4})) != base
    assert "overlap" in result_config(recipe.merge)


def test_every_stage_is_registered_with_a_summary_and_reads_known_artefacts():
    for name, stage in STAGES.items():
        assert stage.name == name
        for ref in stage.reads.values():
            producer, artefact = ref.split(".")
            assert artefact in STAGES[producer].artefacts, ref


ARTEFACT_NAMES = ("kept.jsonl", "clean.jsonl", "leaks.jsonl", "removed.jsonl", "results.json",
                  "merge.json", "summary.json", "metrics.jsonl", "dedup.json",
                  "decontaminate.json", "build.json", "manifest.json", "README.md",
                  "model.safetensors.index.json")  # fmt: skip


@pytest.mark.parametrize("name", ARTEFACT_NAMES)
def test_each_artefact_name_is_spelled_in_one_module(name):
    modules = [
        p.relative_to(SRC)
        for p in SRC.rglob("*.py")
        if re.search(rf"[\"']{re.escape(name)}[\"']", p.read_text(encoding="utf-8"))
    ]
    assert len(modules) <= 1, f"{name} is spelled in {modules}"


def test_stale_partial_folders_are_cleared(tmp_path, capsys):
    data = _rows(tmp_path / "rows.jsonl")
    out = tmp_path / "o"
    (out / ".partial-dedup-1").mkdir(parents=True)
    (out / ".partial-dedup-1" / "kept.jsonl").write_text("half\n")
    code, _, err = _cli(capsys, "data", "dedup", "--input", data, "--output-dir", out)
    assert code == 0, err
    assert not (out / ".partial-dedup-1").exists()


def test_eval_split_follows_the_recipes_remove(tmp_path, shared_data):
    from platypus.tasks import load_task

    items = load_task("truthfulqa_mc", shared_data)[:2]
    CATEGORIES = ["duplicate", "gray-area"]  # noqa: N806
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text(
        "".join(
            json.dumps({"train_id": f"t{n}", "benchmark": "truthfulqa_mc",
                        "benchmark_id": item.id, "category": category}) + "\n"
            for n, (item, category) in enumerate(zip(items, CATEGORIES, strict=True))
        )
    )  # fmt: skip
    recipe = Recipe.model_validate(
        {
            "data": {"decontaminate": {"remove": ["gray-area"]}},
            "eval": {"tasks": ["truthfulqa_mc"], "limit": 2, "cache": False,
                     "contamination": str(leaks), "data_root": str(shared_data)},
        }
    )  # fmt: skip
    stage = STAGES["eval"]
    summary = stage.run(stage.config(recipe), tmp_path / "e", recipe)
    scores = summary.tasks["truthfulqa_mc"]
    # Only the gray-area item counts as contaminated: the recipe removed only that category.
    assert (scores.clean_items, scores.contaminated_items) == (1, 1)


def test_platypus_data_sets_the_default_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("PLATYPUS_DATA", str(tmp_path))
    recipe = Recipe()
    data = recipe.data
    roots = {data.build.data_root, data.decontaminate.data_root, recipe.eval.data_root}
    assert roots == {str(tmp_path)}


def test_an_unwritable_output_folder_fails_before_any_work(tmp_path, capsys, monkeypatch):
    import platypus.eval.runner as runner

    def no_model(*_, **__):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(runner, "load_model", no_model)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = _cli(capsys, "eval", "--tasks", "truthfulqa_mc", "--limit", "2",
                        "--output-dir", blocker / "out")  # fmt: skip
    assert code == 2 and "cannot create the output folder" in err and err.count("\n") == 1


def test_a_users_files_in_the_output_folder_survive_reruns(tmp_path, capsys):
    data = _rows(tmp_path / "rows.jsonl")
    out = tmp_path / "project"
    (out / "src").mkdir(parents=True)
    (out / "src" / "main.py").write_text("print('mine')\n")
    (out / "notes.md").write_text("my notes\n")
    for threshold in ("0.8", "0.85"):
        code, _, err = _cli(capsys, "data", "dedup", "--input", data, "--output-dir", out,
                            "--set", f"threshold={threshold}")  # fmt: skip
        assert code == 0, err
        manifest = json.loads((out / "manifest.json").read_text())
        # The manifest lists what the stage wrote, not what it found in the folder.
        files = set(manifest["files"])
        assert files >= {"kept.jsonl", "removed.jsonl", "report.md", "dedup.json"}
        assert not files & {"src", "notes.md", "manifest.json"}
        assert (out / "src" / "main.py").read_text() == "print('mine')\n"
        assert (out / "notes.md").read_text() == "my notes\n"
    assert manifest["config"]["threshold"] == 0.85


def test_another_stages_finished_result_is_neither_taken_over_nor_deleted(tmp_path, capsys):
    """A folder holding another stage's finished result is refused: running into it would
    replace that manifest, and the other result would stop counting as finished."""
    data = _rows(tmp_path / "rows.jsonl")
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")
    manifest = json.dumps({"stage": "build", "files": ["notes.txt"]})
    (out / "manifest.json").write_text(manifest)
    code, _, err = _cli(capsys, "data", "dedup", "--input", data, "--output-dir", out)
    assert code == 2 and err.count("\n") == 1, err
    assert "holds a finished build result" in err
    assert (out / "notes.txt").read_text() == "keep me\n"
    assert (out / "manifest.json").read_text() == manifest


def _tiny_llama(folder: Path, seed: int) -> Path:
    """A small random Llama built from a config (no hub)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def two_llamas(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("llamas")
    return _tiny_llama(root / "a", 1), _tiny_llama(root / "b", 2)


def test_merge_compute_is_a_recorded_setting(two_llamas, tmp_path, capsys):
    from platypus.pipeline.manifest import stage_key

    recipe = Recipe()
    cuda = recipe.merge.model_copy(update={"compute": ComputeSettings(device="cuda")})
    # The merge's arithmetic is float32 on the CPU whatever `compute` says: same result, same key.
    assert result_config(cuda) == result_config(recipe.merge)
    assert stage_key("merge", result_config(cuda), {}, {}) == stage_key(
        "merge", result_config(recipe.merge), {}, {}
    )
    a, b = two_llamas
    out = tmp_path / "m"
    code, _, err = _cli(capsys, "merge", "--method", "linear", "--models", f"{a},{b}",
                        "--output-dir", out, "--set", "compute.device=cuda")  # fmt: skip
    assert code == 0, err  # not an error on a host without CUDA either
    card = json.loads((out / "merge.json").read_text())
    assert card["compute"]["requested"]["device"] == "cuda"
    assert card["compute"]["arithmetic"] == "float32 on cpu"


def _platypus(*argv, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    if kill_at:
        env["PLATYPUS_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "platypus", *map(str, argv)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("point", ["before-commit", "during-commit"])
def test_killed_merge_leaves_nothing_that_looks_finished(two_llamas, tmp_path, point):
    a, b = two_llamas
    out = tmp_path / "m"
    argv = ["merge", "--method", "linear", "--models", f"{a},{b}", "--output-dir", out]
    first = _platypus(*argv, "--weights", "1,1")
    assert first.returncode == 0, first.stderr
    old_card = (out / "README.md").read_text()
    earlier = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] != "."}
    killed = _platypus(*argv, "--weights", "1,3", kill_at=f"merge:{point}")
    assert killed.returncode == -signal.SIGKILL
    if point == "before-commit":
        # The new merge was not complete: the earlier one is still whole, manifest and all.
        now = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] != "."}
        assert now == earlier
    else:
        # Killed while moving in: nothing claims to be finished: no manifest, no merge card,
        # no weights of either merge, and the earlier merge's readable card is gone (the new
        # one may have been moved in).
        assert not (out / "manifest.json").exists() and not (out / "merge.json").exists()
        assert not (out / "model.safetensors").exists()
        assert not (out / "README.md").exists() or (out / "README.md").read_text() != old_card
    again = _platypus(*argv, "--weights", "1,3")
    assert again.returncode == 0, again.stderr
    card = json.loads((out / "merge.json").read_text())
    assert [i["weight"] for i in card["inputs"]] == [1.0, 3.0]
    assert (out / "manifest.json").is_file() and not list(out.glob(".partial-*"))


@pytest.mark.slow  # 14 s; the killed-stage guarantees stay in the default suite above
def test_killed_training_without_resume_leaves_nothing_that_looks_finished(tmp_path, tiny_llama):
    from conftest import short_math_rows

    rows = short_math_rows(tmp_path, max_output=300, rows=8)
    out = tmp_path / "t"
    tiny = ("max_length=64", "micro_batch_size=2", "global_batch_size=2", "val_size=0",
            "bf16=false", f"model={tiny_llama}")  # fmt: skip
    argv = ["train", "--input", rows, "--output-dir", out, "--max-steps", "2",
            *(f"--set={s}" for s in tiny)]  # fmt: skip
    first = _platypus(*argv)
    assert first.returncode == 0, first.stderr
    assert (out / "summary.json").is_file() and (out / "adapter").is_dir()
    killed = _platypus(*argv, "--no-resume", "--set", "learning_rate=1e-4",
                       kill_at="train:after-step")  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    # The new run's config sits alone: the earlier adapter and summary went before its first
    # step, and no manifest says anything here is finished.
    config = json.loads((out / "train_config.json").read_text())["config"]
    assert config["learning_rate"] == 1e-4
    assert not (out / "manifest.json").exists()
    assert not (out / "summary.json").exists() and not (out / "adapter").exists()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1  # one step, then the kill
