"""`platypus run`: the whole chain on a small recipe, stage skipping, partial re-runs, the report
in a real headless browser."""

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from platypus.cli import main

RECIPE = {
    "name": "tiny",
    "data": {
        "build": {
            "sources": {
                "scibench": {"enabled": True},
                "math": {"enabled": False},
                "theoremqa": {"enabled": False},
                "reclor": {"enabled": False},
                "arb": {"enabled": False},
            }
        },
        "decontaminate": {
            "benchmarks": ["truthfulqa_mc", "mmlu"],
            "mmlu_subjects": ["college_physics", "high_school_physics"],
        },
    },
    "train": {
        "limit": 48,
        "val_size": 8,
        "max_steps": 2,
        "global_batch_size": 8,
        "micro_batch_size": 4,
        "max_length": 256,
        "bf16": "auto",  # bf16 only where this host's probe finds it faster (emulated: 4x slower)
    },
    "eval": {"tasks": ["truthfulqa_mc"], "limit": 4, "bf16": False},
}


def _run(tmp_path, capsys, recipe: dict) -> list[str]:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    code = main(["run", str(path), "--run-dir", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.splitlines()


def _ran(lines: list[str]) -> set[str]:
    stages = {line.split("] ", 1)[1].split(":")[0] for line in lines if line.startswith("[tiny] ")}
    return {s for s in stages if not any(f"{s}: finished earlier" in x for x in lines)} - {"report"}


@pytest.fixture(scope="module")
def recipe(tiny_llama) -> dict:
    """RECIPE on the tiny random Llama: the chain's wiring, skipping and re-runs are under test
    here, not SmolLM2's learning (test_api.py trains and evaluates SmolLM2 through the chain)."""
    tiny = json.loads(json.dumps(RECIPE))
    tiny["train"]["model"] = str(tiny_llama)
    return tiny


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, recipe):
    tmp = tmp_path_factory.mktemp("pipeline")
    path = tmp / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    proc = subprocess.run(
        [sys.executable, "-m", "platypus", "run", str(path), "--run-dir", str(tmp / "run")],
        capture_output=True,
        text=True,
        timeout=1800,  # the whole chain; minutes on an idle 2-core machine
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp, proc.stdout.splitlines()


def test_chain_runs_and_writes_manifests(first_run):
    tmp, lines = first_run
    stages = [
        "build",
        "dedup",
        "decontaminate",
        "train",
        "merge",
        "eval-base",
        "eval-finetuned",
        "eval-merged",
    ]
    assert _ran(lines) == set(stages)
    folders = {p.name.rsplit("-", 1)[0]: p for p in (tmp / "run").iterdir() if p.is_dir()}
    assert set(folders) == set(stages)
    for name, folder in folders.items():
        m = json.loads((folder / "manifest.json").read_text())
        assert m["stage"] == name and folder.name.endswith(m["key"][:12])
        assert m["seconds"] >= 0 and m["code"]
    assert (folders["merge"] / "config.json").is_file()
    results = {
        k: json.loads((folders[k] / "results.json").read_text())
        for k in ("eval-base", "eval-finetuned", "eval-merged")
    }
    lls = {k: r["tasks"]["truthfulqa_mc"]["items"][0]["extra_lls"] for k, r in results.items()}
    assert lls["eval-base"] != lls["eval-finetuned"]
    assert lls["eval-finetuned"] == pytest.approx(lls["eval-merged"], abs=2e-3)


def test_rerun_skips_and_a_changed_stage_reruns_only_what_follows(
    first_run, recipe, tmp_path, capsys
):
    tmp, _ = first_run
    run_dir = tmp_path / "run"
    shutil.copytree(tmp / "run", run_dir)
    again = _run(tmp_path, capsys, recipe)
    assert _ran(again) == set()
    changed = json.loads(json.dumps(recipe))
    changed["train"]["max_steps"] = 3
    lines = _run(tmp_path, capsys, changed)
    assert _ran(lines) == {"train", "merge", "eval-finetuned", "eval-merged"}
    # An interrupted stage (no manifest) runs again; training resumes from its folder.
    evals = sorted(run_dir.glob("eval-base-*"))
    (evals[0] / "manifest.json").unlink()
    assert _ran(_run(tmp_path, capsys, changed)) == {"eval-base"}
    # Validation frequency is a setting: it changes no result, so nothing runs again.
    quiet = json.loads(json.dumps(changed))
    quiet["train"]["eval_every"] = 1
    assert _ran(_run(tmp_path, capsys, quiet)) == set()
    # The partners' data-overlap report is part of the merge's output.
    patterns = ("build-*/open-platypus.jsonl", "dedup-*/kept.jsonl")
    sets = [str(next(run_dir.glob(pattern))) for pattern in patterns]
    overlap = json.loads(json.dumps(quiet))
    overlap["merge"] = {"overlap": sets}
    assert _ran(_run(tmp_path, capsys, overlap)) == {"merge", "eval-merged"}


def test_report_is_self_contained_and_renders(first_run, tmp_path):
    tmp, _ = first_run
    report = tmp / "run" / "report.html"
    text = report.read_text()
    for section in (
        "Data funnel",
        "Similarity",
        "Benchmark contamination",
        "Fine-tuning",
        "Merge",
        "Evaluation",
    ):
        assert f"<h2>{section}</h2>" in text, section
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert text.count("data:image/png;base64,") == 4  # funnel, histogram, loss, scores
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it on Debian)")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--screenshot={shot}",
            "--window-size=1100,2400",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.size == (1100, 2400)
    lo, hi = image.getextrema()
    colours = sum(1 for count in image.resize((110, 240)).histogram() if count)
    assert hi - lo > 100 and colours > 20  # text and charts, not a blank or error page


def test_a_second_run_into_a_held_run_folder_names_the_holder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from platypus.pipeline.lock import FolderLock\n"
         f"with FolderLock({str(run_dir)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump(RECIPE))
        code = main(["run", str(path), "--run-dir", str(run_dir)])
        out, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1, err
        assert f"in use by pid {holder.pid}" in err
        # Refused before any stage: nothing but the lock file is in the run folder.
        assert [p.name for p in run_dir.iterdir()] == [".platypus.lock"]
    finally:
        holder.kill()
        holder.wait()
