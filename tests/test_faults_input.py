"""Bad input and user mistakes give one clear line (PlatypusError / DataError), never a traceback
and never a silently wrong result."""

import json
import os
import stat

import pytest
from pydantic import ValidationError

from conftest import build_only, dropped
from platypus.cli import main
from platypus.config import BuildConfig, DecontaminateConfig, Recipe, load_recipe
from platypus.errors import DataError, PlatypusError
from platypus.io.readers import iter_jsonl
from platypus.io.records import read_records
from platypus.io.writers import write_bytes, write_parquet
from platypus.models import load_causal_lm, load_embedder, resolve_causal_lm


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(exc: Exception) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


# 1. Names used as file names stay inside the output folder.


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "sp ace", "..", "/abs"])
def test_build_name_must_be_a_plain_file_name(tmp_path, name):
    with pytest.raises(ValidationError):
        BuildConfig(name=name)
    recipe = _write(tmp_path / "r.yaml", f"data:\n  build:\n    name: {json.dumps(name)}\n")
    with pytest.raises(PlatypusError) as exc:
        load_recipe(recipe)
    assert "data.build.name" in _one_line(exc.value)


@pytest.mark.parametrize("name", ["../../x", "a/b", ".x", ""])
def test_recipe_name_must_be_a_plain_file_name(tmp_path, name):
    with pytest.raises(ValidationError):
        Recipe(name=name)
    recipe = _write(tmp_path / "r.yaml", f"name: {json.dumps(name)}\n")
    with pytest.raises(PlatypusError) as exc:
        load_recipe(recipe)
    assert "name" in _one_line(exc.value)


def test_plain_names_are_accepted():
    assert BuildConfig(name="open-platypus_v1.2").name == "open-platypus_v1.2"
    assert Recipe(name="quickstart").name == "quickstart"


# 2. SciBench: numbers where the source usually has strings, and the answer 0.


def _scibench(root, rows):
    _write(root / "scibench" / "x_sol.json", json.dumps(rows))
    return root


def test_scibench_numeric_solution_and_zero_answer(tmp_path):
    root = _scibench(tmp_path / "data", [
        {"problem_text": "How many?", "solution": 42, "answer_number": "42"},
        {"problem_text": "What is 1 - 1?", "answer_number": 0},
        {"problem_text": "What is 2 - 2?", "solution": "", "answer_number": 0.0},
        {"problem_text": "No answer at all", "solution": "", "answer_number": None},
    ])  # fmt: skip
    result = build_only(tmp_path / "out", "scibench", data_root=root, path="scibench")
    assert [r.output for r in result.records] == ["42", "0", "0.0"]
    assert dropped(result, "scibench")["has solution or answer"] == 1


def test_scibench_wrong_solution_type_is_one_line(tmp_path):
    root = _scibench(tmp_path / "data", [{"problem_text": "p", "solution": ["a", "b"]}])
    with pytest.raises(DataError) as exc:
        build_only(tmp_path / "out", "scibench", data_root=root, path="scibench")
    assert "solution" in _one_line(exc.value) and "x_sol.json: row 1" in str(exc.value)


# 3. Empty source files are errors, not builds with a source silently missing.


def test_empty_math_split_is_an_error(tmp_path):
    row = {"problem": "1+1?", "solution": "$\\boxed{2}$"}
    _write(tmp_path / "data" / "math" / "train.jsonl", "")
    _write(tmp_path / "data" / "math" / "test.jsonl", json.dumps(row) + "\n")
    with pytest.raises(DataError) as exc:
        build_only(tmp_path / "out", "math", data_root=tmp_path / "data")
    assert "train.jsonl" in _one_line(exc.value) and "no rows" in str(exc.value)


def test_empty_math_tree_split_is_an_error(tmp_path):
    (tmp_path / "data" / "math" / "train").mkdir(parents=True)
    with pytest.raises(DataError) as exc:
        build_only(tmp_path / "out", "math", data_root=tmp_path / "data",
                   options={"splits": ["train"]})  # fmt: skip
    assert "no rows" in _one_line(exc.value)


@pytest.mark.parametrize(
    "source, files, options",
    [
        ("scibench", {"a.json": "[]"}, {}),
        ("reclor", {"val.json": "[]"}, {}),
        ("theoremqa", {"theoremqa_test.json": "[]", "all_theorems.json": '{"t": "d"}'}, {}),
        (
            "theoremqa",
            {"theoremqa_test.json": '[{"Question": "q", "Answer": 1}]', "all_theorems.json": "{}"},
            {},
        ),  # fmt: skip
        (
            "openbookqa",
            {"train.tsv": "ID\tQuestion Stem\tChoices\tAnswer Key\n"},
            {"splits": ["train"]},
        ),  # fmt: skip
        ("openbookqa", {"train_complete.jsonl": "\n"}, {"splits": ["train"]}),
        ("arb", {"law.json": "[]"}, {"subsets": ["law"], "law_file": "law.json"}),
        ("arb", {"m.json": "{}"}, {"subsets": ["math"], "math_files": ["m.json"]}),
        ("leetcode", {"train.jsonl": ""}, {}),
    ],
)
def test_empty_source_files_are_errors(tmp_path, source, files, options):
    for name, text in files.items():
        _write(tmp_path / "data" / source / name, text)
    path = source + ("/train.jsonl" if source == "leetcode" else "")
    with pytest.raises(DataError) as exc:
        build_only(tmp_path / "out", source, data_root=tmp_path / "data", path=path,
                   options=options)  # fmt: skip
    assert "no rows" in _one_line(exc.value) or "no theorems" in str(exc.value)


# 4. Models that are neither a local folder nor reachable.


def test_missing_model_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = tmp_path / "no" / "such" / "model"
    for call in (resolve_causal_lm, load_causal_lm):
        with pytest.raises(PlatypusError) as exc:
            call(str(missing))
        assert str(missing) in _one_line(exc.value)


def test_unknown_hub_id_offline_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for call in (resolve_causal_lm, load_causal_lm):
        with pytest.raises(PlatypusError) as exc:
            call("nobody-here/no-such-model-xyz")
        message = _one_line(exc.value)
        assert "nobody-here/no-such-model-xyz" in message
        assert "hub is offline (HF_HUB_OFFLINE=1)" in message


def test_folder_without_a_model_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(PlatypusError) as exc:
        load_causal_lm(str(tmp_path))
    assert str(tmp_path) in _one_line(exc.value)


@pytest.mark.parametrize("model", ["nobody-here/no-such-embedder", "/nonexistent/embedder"])
def test_unknown_or_missing_embedding_model_is_one_line(tmp_path, monkeypatch, capsys, model):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = _records(tmp_path / "rows.jsonl", [{"instruction": "What is two plus two?"}])
    code = main(["data", "dedup", "--input", str(rows), "--output-dir", str(tmp_path / "o"),
                 "--set", f"model={model}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"embedding model {model}: not a local" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_a_folder_without_an_embedding_model_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(PlatypusError) as exc:
        load_embedder(str(tmp_path))
    assert str(tmp_path) in _one_line(exc.value)


# 5. Decontamination thresholds in order.


def test_flag_above_duplicate_similarity_is_rejected():
    with pytest.raises(ValidationError, match="flag_similarity"):
        DecontaminateConfig(flag_similarity=0.97, duplicate_similarity=0.95)
    DecontaminateConfig(flag_similarity=0.95, duplicate_similarity=0.95)


def test_judge_low_within_the_band():
    with pytest.raises(ValidationError, match="judge_low"):
        DecontaminateConfig(judge=True, judge_low=0.7)
    with pytest.raises(ValidationError, match="judge_low"):
        DecontaminateConfig(judge_low=0.99)
    DecontaminateConfig(judge=True, judge_low=0.8)
    DecontaminateConfig(judge=True, judge_low=0.95)
    # Left at its default and unused, judge_low does not block a stricter flag threshold.
    DecontaminateConfig(flag_similarity=0.9)


def test_threshold_order_in_a_recipe_is_one_line(tmp_path):
    recipe = _write(tmp_path / "r.yaml",
                    "data:\n  decontaminate:\n    flag_similarity: 0.99\n")  # fmt: skip
    with pytest.raises(PlatypusError) as exc:
        load_recipe(recipe)
    assert "flag_similarity" in _one_line(exc.value)


# 6. Repeated YAML keys.


def test_duplicate_yaml_key_is_refused(tmp_path):
    recipe = _write(tmp_path / "r.yaml", "name: a\ntrain:\n  epochs: 1\n  epochs: 3\n")
    with pytest.raises(PlatypusError) as exc:
        load_recipe(recipe)
    message = _one_line(exc.value)
    assert "duplicate key 'epochs'" in message and "line 4" in message


def test_duplicate_top_level_key_is_refused(tmp_path):
    recipe = _write(tmp_path / "r.yaml", "name: a\nname: b\n")
    with pytest.raises(PlatypusError, match="duplicate key 'name'.*line 2"):
        load_recipe(recipe)


def test_yaml_merge_keys_still_work(tmp_path):
    text = (
        "data:\n  dedup: &emb\n    batch_size: 8\n    precision: fp32\n"
        "  decontaminate:\n    <<: *emb\n    batch_size: 4\n"
    )
    recipe = load_recipe(_write(tmp_path / "r.yaml", text))
    assert recipe.data.decontaminate.batch_size == 4
    assert recipe.data.decontaminate.precision == "fp32"


# 7. Empty lists in DecontaminateConfig.


def test_empty_benchmark_lists_are_rejected(tmp_path):
    with pytest.raises(ValidationError, match="mmlu_subjects"):
        DecontaminateConfig(mmlu_subjects=[])
    with pytest.raises(ValidationError, match="benchmarks"):
        DecontaminateConfig(benchmarks=[])
    recipe = _write(tmp_path / "r.yaml", "data:\n  decontaminate:\n    benchmarks: []\n")
    with pytest.raises(PlatypusError) as exc:
        load_recipe(recipe)
    assert "data.decontaminate.benchmarks" in _one_line(exc.value)
    assert DecontaminateConfig(mmlu_subjects=None).mmlu_subjects is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["merge", "--method", "linear", "--models", "a,b", "--weights", "a,b"],
         "--weights 'a,b': numbers separated by commas"),
        (["data", "decontaminate", "--benchmarks", ","], "name at least one benchmark"),
    ],
)  # fmt: skip
def test_bad_list_flags_are_one_line(tmp_path, capsys, argv, expected):
    code = main([*argv, "--output-dir", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "o").exists()  # refused before any output folder is made


# 8. Rows later stages would train on although they say nothing.


def _records(path, rows):
    full = [{"id": str(i), "instruction": "q", "input": "", "output": "a", "data_source": "t"} | r
            for i, r in enumerate(rows)]  # fmt: skip
    return _write(path, "".join(json.dumps(r) + "\n" for r in full))


@pytest.mark.parametrize(
    "bad",
    [{"instruction": "", "output": ""}, {"instruction": "  "}, {"output": "\n"}],
)
def test_read_records_refuses_empty_rows(tmp_path, bad):
    path = _records(tmp_path / "set.jsonl", [{}, bad])
    with pytest.raises(DataError) as exc:
        read_records(path)
    assert f"{path}: row 2" in _one_line(exc.value) and "empty" in str(exc.value)


def test_read_records_accepts_empty_input(tmp_path):
    path = _records(tmp_path / "set.jsonl", [{"input": ""}, {"input": "context"}])
    assert [r.input for r in read_records(path)] == ["", "context"]


# 9. Outputs get the usual file mode.


def test_outputs_get_the_normal_mode(tmp_path):
    from platypus.data.record import Record

    old = os.umask(0o022)
    try:
        write_bytes(tmp_path / "a.jsonl", b"x\n")
        write_parquet(tmp_path / "a.parquet", [Record("1", "q", "", "a", "t")])
        os.umask(0o027)
        write_bytes(tmp_path / "b.jsonl", b"x\n")
    finally:
        os.umask(old)
    mode = lambda name: stat.S_IMODE(os.stat(tmp_path / name).st_mode)  # noqa: E731
    assert mode("a.jsonl") == 0o644
    assert mode("a.parquet") == 0o644
    assert mode("b.jsonl") == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# 10. Broken encodings and JSON stay one line.


def test_bad_utf8_and_json_stay_one_line(tmp_path):
    bad_utf8 = tmp_path / "a.jsonl"
    bad_utf8.write_bytes(b'{"x": 1}\n{"x": "\xff"}\n')
    with pytest.raises(DataError, match="a.jsonl: row 2: not valid UTF-8") as exc:
        list(iter_jsonl(bad_utf8))
    _one_line(exc.value)
    broken = _records(tmp_path / "b.jsonl", [{}])
    broken.write_text(broken.read_text() + '{"id": \n')
    with pytest.raises(DataError, match="b.jsonl: row 2: invalid JSON") as exc:
        read_records(broken)
    _one_line(exc.value)
    root = tmp_path / "data"
    _write(root / "scibench" / "s.json", '[{"problem_text": "p",')
    with pytest.raises(DataError, match="s.json: line 1: invalid JSON") as exc:
        build_only(tmp_path / "out", "scibench", data_root=root, path="scibench")
    _one_line(exc.value)
