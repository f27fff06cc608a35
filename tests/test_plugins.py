"""Plug-ins: a stage, a task, a merge method and a source, each one module (tests/plugins/) and
one registry line, and each seen by the CLI, the API, `platypus run`, `platypus plan` and the
run report without an edit anywhere else."""

import json
import shutil

import pytest
import yaml

import platypus
from platypus.cli import main
from platypus.data.sources import SOURCES
from platypus.io.readers import iter_jsonl
from platypus.merge.methods import METHODS
from platypus.pipeline.stages import STAGES
from platypus.tasks import TASKS
from tests.conftest import SHARED_DATA, read_jsonl
from tests.plugins import arc_train_source, median_method, openbookqa_task, profile_stage

ARC_TRAIN = SHARED_DATA / "arc" / "ARC-Challenge-Train.jsonl"


@pytest.fixture
def registered(monkeypatch):
    """Each plug-in's one registry line."""
    monkeypatch.setitem(SOURCES, "arc_train", arc_train_source.SOURCE)
    monkeypatch.setitem(TASKS, "openbookqa", openbookqa_task.TASK)
    monkeypatch.setitem(METHODS, "median", median_method.MEDIAN)
    monkeypatch.setitem(STAGES, "profile", profile_stage.ProfileStage())


@pytest.fixture(scope="module")
def three_models(tiny_llama, tmp_path_factory):
    """The tiny Llama three times, each with its own noise on every weight: models that
    disagree, so a median differs from each of them and from their mean."""
    import torch
    from safetensors.torch import load_file, save_file

    (weights_file,) = tiny_llama.glob("*.safetensors")
    weights = load_file(weights_file)
    folders = []
    for seed in range(3):
        folder = tmp_path_factory.mktemp(f"noisy-{seed}")
        for f in tiny_llama.iterdir():
            if f.suffix != ".safetensors":
                shutil.copy(f, folder)
        g = torch.Generator().manual_seed(seed)
        noisy = {k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in weights.items()}
        save_file(noisy, folder / weights_file.name, metadata={"format": "pt"})
        folders.append(folder)
    return folders


def _weights(folder):
    from safetensors.torch import load_file

    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out |= load_file(f)
    return out


def _check_median(folder, models) -> None:
    import torch

    merged, inputs = _weights(folder), [_weights(m) for m in models]
    assert merged.keys() == inputs[0].keys()
    for name, tensor in merged.items():
        expected = torch.stack([w[name] for w in inputs]).median(dim=0).values
        assert torch.equal(tensor, expected), name
        assert not torch.equal(tensor, inputs[0][name])


def _answerable_arc_rows() -> int:
    return sum(
        row["answerKey"] in {c["label"] for c in row["question"]["choices"]}
        for _, row in iter_jsonl(ARC_TRAIN)
    )


def test_the_cli_offers_and_runs_each_plugin(registered, three_models, tmp_path, capsys):
    # the source: `--only` knows it, and the set is its rows
    build = tmp_path / "build"
    assert main(["data", "build", "--only", "arc_train", "--output-dir", str(build)]) == 0
    rows = read_jsonl(build / "open-platypus.jsonl")
    assert len(rows) == _answerable_arc_rows() > 1000
    assert {r["data_source"] for r in rows} == {"arc_train"}
    # the stage: a command of its own, with the shared flags and its own
    assert main(["profile", str(build / "open-platypus.jsonl"), "--quantile", "0.5",
                 "--output-dir", str(tmp_path / "profile")]) == 0  # fmt: skip
    profile = json.loads((tmp_path / "profile" / "profile.json").read_text())
    lengths = sorted(len(r["output"]) for r in rows)
    assert profile["rows"] == len(rows)
    assert profile["quantile_output_chars"] == lengths[len(lengths) // 2]
    assert "profile: rows" in capsys.readouterr().out
    # the merge method: a --method choice that merges
    models = ",".join(map(str, three_models))
    out = tmp_path / "merged"
    assert main(["merge", "--method", "median", "--models", models, "--output-dir", str(out)]) == 0
    _check_median(out, three_models)
    # the task: offered by the commands that take tasks, and scored
    for command in (["eval", "--help"], ["data", "decontaminate", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
        assert "openbookqa" in capsys.readouterr().out
    assert main(["eval", "--model", str(three_models[0]), "--tasks", "openbookqa", "--limit", "3",
                 "--output-dir", str(tmp_path / "eval")]) == 0  # fmt: skip
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["tasks"]["openbookqa"]["summary"]["items"] == 3


def test_the_api_has_each_plugin(registered, three_models, tmp_path):
    only = {name: {"enabled": name == "arc_train"} for name in SOURCES}
    built = platypus.build(tmp_path / "build", sources=only)
    assert [(s.name, s.kept) for s in built.sources if s.enabled] == [
        ("arc_train", _answerable_arc_rows())
    ]
    # the stage's function, its input a producer's folder as for every stage
    profile = platypus.profile(tmp_path / "profile", input=tmp_path / "build", quantile=0.5)
    assert profile.rows == built.rows
    merged = platypus.merge(tmp_path / "merged", method="median",
                            models=[{"model": str(m)} for m in three_models])  # fmt: skip
    assert merged.method == "median"
    _check_median(tmp_path / "merged", three_models)
    scores = platypus.evaluate(tmp_path / "eval", model=three_models[0], tasks=["openbookqa"],
                               limit=3)  # fmt: skip
    assert (scores.tasks["openbookqa"].metric, scores.tasks["openbookqa"].items) == ("acc_norm", 3)


def test_run_plan_and_report_take_each_plugin(registered, three_models, tiny_llama, tmp_path,
                                              capsys):  # fmt: skip
    # ARC-Challenge's first 200 training rows, in the source's own layout: the chain embeds them
    # (and OpenBookQA's 500 items) from a cold cache in seconds
    subset = tmp_path / "arc"
    subset.mkdir()
    head = ARC_TRAIN.read_text(encoding="utf-8").splitlines(keepends=True)[:200]
    (subset / ARC_TRAIN.name).write_text("".join(head), encoding="utf-8")
    sources = {name: {"enabled": name == "arc_train"} for name in SOURCES}
    sources["arc_train"]["path"] = str(subset)
    recipe = {
        "name": "plugins",
        "eval_models": ["merged"],
        "data": {
            "build": {"sources": sources},
            "dedup": {"method": "minhash"},
            "decontaminate": {"benchmarks": ["openbookqa"]},
        },
        "train": {
            "model": str(tiny_llama),
            "limit": 8,
            "val_size": 0,
            "max_steps": 1,
            "global_batch_size": 4,
            "micro_batch_size": 4,
            "max_length": 128,
            "bf16": False,
        },  # fmt: skip
        "merge": {"method": "median", "models": [{"model": str(m)} for m in three_models]},
        "eval": {"tasks": ["openbookqa"], "limit": 3},
        "profile": {"quantile": 0.5},  # the plug-in stage's section
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["plan", str(path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["stages"]["profile"]["strategy"] == "one pass over the rows"
    assert plan["stages"]["eval"]["tokens"] == 3 * openbookqa_task.TASK.plan_cost[1]
    # the source, the task and the method in what the plan sizes the data and merge stages by
    data_notes, merge_notes = plan["stages"]["data"]["notes"], plan["stages"]["merge"]["notes"]
    assert "sources: arc_train" in data_notes and "500 benchmark texts (openbookqa)" in " ".join(
        data_notes
    )
    assert merge_notes[0].startswith("median: reads 3 models")

    # the plug-in section takes --set like any other
    run = ["run", str(path), "--run-dir", str(tmp_path / "run"), "--set", "profile.quantile=0.25"]
    assert main(run) == 0
    log = capsys.readouterr().out
    ran = [line.split("] ", 1)[1].split(":")[0] for line in log.splitlines()
           if line.startswith("[plugins] ")]  # fmt: skip
    assert ran[:7] == ["build", "dedup", "decontaminate", "train", "merge", "profile",
                       "eval-merged"]  # fmt: skip
    (profile_dir,) = (tmp_path / "run").glob("profile-*")
    profile = json.loads((profile_dir / "profile.json").read_text())
    (clean_dir,) = (tmp_path / "run").glob("decontaminate-*")
    clean = sorted(len(r["output"]) for r in read_jsonl(clean_dir / "clean.jsonl"))
    assert profile["rows"] == len(clean)
    assert profile["quantile_output_chars"] == clean[int(0.25 * len(clean))]
    (merged_dir,) = (tmp_path / "run").glob("merge-*")
    _check_median(merged_dir, three_models)
    report = (tmp_path / "run" / "report.html").read_text()
    for shown in ("profile", "arc_train", "openbookqa", "<b>median</b>"):
        assert shown in report, shown
    # an unknown section is still refused: only a registered stage's name is one
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"profiles": {}}))
    assert main(["plan", str(bad)]) == 2
    assert "profiles" in capsys.readouterr().err
