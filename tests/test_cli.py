"""The `platypus` command: stage layout, recipes and one-line errors for user mistakes."""

import subprocess
import sys

import yaml

from conftest import REPO
from platypus.cli import main
from platypus.config import load_recipe


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recipes_in_repo_validate():
    for name in ("open-platypus", "quickstart"):
        recipe = load_recipe(REPO / "recipes" / f"{name}.yaml")
        assert recipe.name == name
        assert set(recipe.data.build.sources) >= {"math", "scienceqa", "guanaco"}


def test_decontaminate_follows_the_build_data_root(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  build:\n    data_root: /data/here\n")
    assert load_recipe(recipe).data.decontaminate.data_root == "/data/here"
    recipe.write_text("data:\n  build: {data_root: /a}\n  decontaminate: {data_root: /b}\n")
    assert load_recipe(recipe).data.decontaminate.data_root == "/b"


def test_build_with_recipe_and_only(tmp_path, capsys, shared_data):
    code, out, err = run(
        capsys,
        "data",
        "build",
        "--recipe",
        str(REPO / "recipes/quickstart.yaml"),
        "--data-root",
        str(shared_data),
        "--output-dir",
        str(tmp_path),
        "--only",
        "theoremqa,scibench",
    )
    assert code == 0, err
    assert "built 1,495 rows" in out
    assert (tmp_path / "quickstart.jsonl").is_file() and (tmp_path / "card.md").is_file()


def test_quickstart_recipe_builds(tmp_path, capsys, shared_data):
    # quickstart: MATH train only, no ARB.
    code, out, err = run(
        capsys,
        "data",
        "build",
        "--recipe",
        str(REPO / "recipes/quickstart.yaml"),
        "--output-dir",
        str(tmp_path),
        "--data-root",
        str(shared_data),
    )
    assert code == 0, err
    assert "built 9,495 rows" in out


def one_line_error(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("platypus: error: ") and err.count("\n") == 1, err
    return err


def test_user_mistakes_are_one_line(tmp_path, capsys):
    err = one_line_error(capsys, "data", "build", "--data-root", str(tmp_path / "nowhere"))
    assert "source data not found" in err and str(tmp_path / "nowhere") in err
    err = one_line_error(capsys, "data", "build", "--only", "math,nosuch")
    assert "nosuch" in err
    err = one_line_error(capsys, "data", "build", "--recipe", str(tmp_path / "missing.yaml"))
    assert "recipe not found" in err

    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  build:\n    sources:\n      math: {optionz: {}}\n")
    assert "data.build.sources.math.optionz" in one_line_error(capsys, "run", str(bad))
    bad.write_text("data:\n  build:\n    sources:\n      math: {options: {splitz: [train]}}\n")
    assert "sources.math.options: splitz" in one_line_error(
        capsys, "data", "build", "--recipe", str(bad)
    )
    bad.write_text("data: [unclosed\n")
    assert "not valid YAML" in one_line_error(capsys, "run", str(bad))


def test_non_utf8_source_file(tmp_path, capsys):
    folder = tmp_path / "theoremqa"
    folder.mkdir()
    (folder / "all_theorems.json").write_text('{"x": "y"}', encoding="utf-8")
    (folder / "theoremqa_test.json").write_bytes(b'[{"Question": "caf\xe9"}]')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "run_dir": str(tmp_path / "run"),
                "data": {
                    "build": {
                        "data_root": str(tmp_path),
                        "output_dir": str(tmp_path / "out"),
                        "sources": {
                            "math": {"enabled": False},
                            "scibench": {"enabled": False},
                            "reclor": {"enabled": False},
                            "arb": {"enabled": False},
                        },
                    }
                },
            }
        )
    )
    err = one_line_error(capsys, "run", str(recipe))
    assert "theoremqa_test.json: line 1: not valid UTF-8" in err


def test_console_script_is_installed():
    exe = REPO / ".venv" / "bin" / "platypus"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "platypus.cli"]
    proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=True)
    for stage in ("data", "train", "merge", "eval", "run"):
        assert stage in proc.stdout


def test_run_and_plan_take_set_overrides(capsys):
    """`--set key.path=value` on a whole recipe, as on a stage command: applied and validated."""
    import json

    recipe = str(REPO / "recipes" / "quickstart.yaml")
    code, out, _ = run(capsys, "plan", recipe, "--json")
    assert code == 0
    rank = load_recipe(recipe).train.lora.r
    halved = f"train.lora.r={rank // 2}"
    code, out_set, _ = run(capsys, "plan", recipe, "--json", "--set", halved)
    assert code == 0
    lora, lora_set = json.loads(out)["lora_params_m"], json.loads(out_set)["lora_params_m"]
    assert lora_set == round(lora / 2, 2) and lora_set < lora
    code, _, err = run(capsys, "run", recipe, "--set", "train.lora.rr=8")
    assert code == 2 and "train.lora.rr" in err and len(err.strip().splitlines()) == 1
