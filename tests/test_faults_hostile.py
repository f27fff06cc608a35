"""Hostile files: every file the project reads is bounded before it is used, so a crafted
recipe or dataset is one line and exit 2, in bounded time and memory, never a traceback."""

import json
import time

import pytest

from platypus.cli import main


def _one_line(capsys, argv, says: str, seconds: float = 30.0) -> None:
    start = time.monotonic()
    code = main([str(a) for a in argv])
    took = time.monotonic() - start
    err = capsys.readouterr().err
    lines = [line for line in err.strip().split("\n") if "Loading weights" not in line]
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("platypus: error: "), err[-2000:]
    assert says in lines[0], lines[0][:500]
    assert len(lines[0]) < 2000  # nothing the file holds is echoed whole
    assert took < seconds, took


def alias_bomb(levels: int = 9) -> str:
    """`a: &a [x, x, ...]`, each level ten references to the one before: 10**9 leaves."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", [["plan"], ["run"], ["data", "build", "--recipe"]])
def test_a_yaml_alias_bomb_is_refused_at_once(command, tmp_path, capsys):
    """Inside a field that takes any value (a source's options), where it used to be expanded by
    validation and by the stage key's JSON."""
    recipe = tmp_path / "bomb.yaml"
    nested = "".join(f"          {line}\n" for line in alias_bomb().splitlines())
    recipe.write_text(f"data:\n  build:\n    sources:\n      math:\n        options:\n{nested}")
    _one_line(capsys, [*command, recipe], "aliases are expanded", seconds=10)


def test_a_deeply_nested_or_huge_recipe_is_refused(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    _one_line(capsys, ["plan", deep], "nested deeper than")
    huge = tmp_path / "huge.yaml"
    huge.write_text("train:\n  notes: " + "x" * (2 << 20) + "\n")
    _one_line(capsys, ["plan", huge], "larger than")


def test_a_ten_megabyte_unknown_key_is_named_not_echoed(tmp_path, capsys):
    recipe = tmp_path / "long.yaml"
    recipe.write_text('train:\n  ? "' + "k" * 900_000 + '"\n  : 1\n')
    _one_line(capsys, ["plan", recipe], "Extra inputs are not permitted")
    bomb = alias_bomb(4).replace("\n", "; ")
    _one_line(capsys, ["train", "--set", f"notes={{{bomb}}}"], "notes")
    big = alias_bomb(9).replace("\n", ", ")
    _one_line(capsys, ["train", "--set", f"lora={{{big}}}"], "aliases are expanded")


ROW = {"id": "r1", "instruction": "Add 2 and 3.", "input": "", "output": "5", "data_source": "t"}


@pytest.mark.parametrize("hostile", ["deep", "long-int"])
@pytest.mark.parametrize("stage", ["dedup", "decontaminate", "train"])
def test_a_crafted_jsonl_line_is_one_line(stage, hostile, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    bad = "[" * 100_000 + "]" * 100_000 if hostile == "deep" else "1" + "0" * 5000
    rows.write_text(json.dumps(ROW) + "\n" + '{"id": "r2", "x": ' + bad + "}\n")
    argv = ["data", stage] if stage != "train" else ["train"]
    says = "nested too deeply" if hostile == "deep" else "integer"
    _one_line(capsys, [*argv, "--input", rows, "--output-dir", tmp_path / "out"], says)
