"""Loaders on the real source data in ../shared/data."""

import json

from conftest import FIXTURES, build_only, dropped, read_jsonl, stats_of


def test_math_train_and_test_unboxed(tmp_path, shared_data):
    result = build_only(tmp_path, "math", path="math")
    rows = {r.id: r for r in result.records}
    assert len(rows) == 12_500
    assert sum(r.id.startswith("math/train/") for r in rows.values()) == 7_500
    assert all(r.data_source == "MATH/PRM-800K" and r.input == "" for r in rows.values())
    assert not any("\\boxed{" in r.output for r in rows.values())
    r = rows["math/test/algebra/1"]
    assert r.instruction.startswith("How many vertical asymptotes does the graph of")
    assert r.output.endswith("Therefore, the graph has $2$ vertical asymptotes.")
    # Nested braces survive unboxing.
    assert rows["math/test/algebra/2"].output.endswith("the radii is $\\frac{1}{2}$.")


def test_math_prm800k_solutions_replace_matching_problems(tmp_path, shared_data):
    prm = str(FIXTURES / "prm800k" / "phase2_train.jsonl")
    options = {"splits": ["test"], "prm_files": [prm]}
    result = build_only(tmp_path / "a", "math", path="math", options=options)
    rows = {r.id: r for r in result.records}
    out = rows["math/test/algebra/1"].output
    # The solved labelling with the right final answer is used, without its "# Answer" line; the
    # give-up and the wrong-answer labellings are not.
    assert "Neither root cancels with the numerator, so there are two asymptotes." in out
    assert "# Answer" not in out and "answer is 3" not in out
    assert stats_of(result, "math").notes == {"solutions replaced by PRM800K": 1}
    assert rows["math/test/algebra/2"].output.endswith("$\\frac{1}{2}$.")  # untouched
    # The choice among equally rated steps is seeded: same seed, same text.
    again = build_only(tmp_path / "b", "math", path="math", options=options)
    assert {r.id: r for r in again.records}["math/test/algebra/1"].output == out
    firsts = set()
    for seed in range(8):
        res = build_only(tmp_path / f"s{seed}", "math", path="math", options=options, seed=seed)
        firsts.add({r.id: r for r in res.records}["math/test/algebra/1"].output.split(".")[0])
    assert len(firsts) == 2  # both rated-1 first steps occur across seeds


def test_math_tarball_layout(tmp_path):
    result = build_only(tmp_path, "math", data_root=FIXTURES, path="math_tree",
                        options={"splits": ["train"]})  # fmt: skip
    assert [r.id for r in result.records] == [
        "math/train/algebra/0", "math/train/algebra/2", "math/train/algebra/10"
    ]  # fmt: skip
    assert [r.output for r in result.records] == ["$1+1=2$.", "$4$", "It is $\\frac{2}{2}=1$."]


def test_scibench_solution_else_answer_number(tmp_path, shared_data):
    result = build_only(tmp_path, "scibench", path="scibench/original_2023-07-21")
    rows = {r.id: r for r in result.records}
    assert len(rows) == 695
    files = json.loads((shared_data / "scibench/original_2023-07-21/atkins.json").read_text())
    assert rows["scibench/atkins/1"].output == files[0]["answer_number"].strip() == "50.7"
    sol = json.loads((shared_data / "scibench/original_2023-07-21/atkins_sol.json").read_text())
    worked = rows["scibench/atkins_sol/1"].output
    assert worked.startswith("The change in enthalpy when the transition occurs is")
    assert "\r" not in worked and len(worked) > len(sol[0]["answer_number"])


def test_theoremqa_joins_theorem_definitions(tmp_path, shared_data):
    result = build_only(tmp_path, "theoremqa", path="theoremqa")
    rows = {r.id: r for r in result.records}
    assert len(rows) == 800
    theorems = json.loads((shared_data / "theoremqa/all_theorems.json").read_text())
    lah = rows["theoremqa/jianyu_xu/Lah_number_6.json"]
    question = "How many ways are there to divide a set of 8 elements into 5 non-empty ordered"
    assert lah.instruction.startswith(question)
    # The json names the theorem "lah number"; all_theorems.json keys it as "Lah Number".
    assert lah.instruction.endswith("\nRelevant Theorem: " + theorems["Lah Number"].strip())
    assert lah.output == "11760"
    assert all("\nRelevant Theorem: " in r.instruction for r in rows.values())
    assert {r.output for r in rows.values()} >= {"True", "False"}  # bool answers as text


def test_reclor_val_and_unlabelled_test(tmp_path, shared_data):
    options = {"files": ["val.json", "test.json"]}
    result = build_only(tmp_path, "reclor", path="reclor", options=options)
    assert stats_of(result, "reclor").raw_rows == 1_500
    assert dropped(result, "reclor")["labelled"] == 1_000  # the hidden test split
    rows = {r.id: r for r in result.records}
    assert len(rows) == 500
    r = rows["reclor/val_0"]
    assert r.instruction.startswith("In a business whose owners and employees all belong")
    assert "surest road to financial prosperity. The reasoning in the argument is flawed" in (
        r.instruction
    )
    assert r.instruction.split("\n")[1].startswith("A: ignores the fact")
    assert r.input == "Choose A, B, C or D as your solution." and r.output == "A"
    assert {r.output for r in rows.values()} == {"A", "B", "C", "D"}


def test_reclor_keyword_filter_is_opt_in(tmp_path, shared_data):
    result = build_only(tmp_path, "reclor", path="reclor", keyword_filter=True)
    # The intended list keeps 195 of the 500 val rows (the original list would keep 186).
    assert dropped(result, "reclor")["STEM keyword"] == 305
    assert len(result.records) == 195


def test_arb_subsets(tmp_path, shared_data):
    result = build_only(tmp_path, "arb", path="arb_precursor")
    rows = result.records
    by = {}
    for r in rows:
        by.setdefault(r.id.split("/")[1], []).append(r)
    assert {k: len(v) for k, v in by.items()} == {"law": 656, "mcat": 266, "math": 111,
                                                  "physics": 618}  # fmt: skip
    assert dropped(result, "arb") == {"no image": 250, "has answer": 11,
                                      "non-empty instruction and output": 0}  # fmt: skip
    law = by["law"][0]
    assert law.input == "Choose A, B, C or D as your solution." and law.output == "B"
    assert "\nA. The government of the merged cities is not a republican form" in law.instruction
    for r in by["mcat"]:
        assert r.input == "Choose A, B, C or D as your solution."
        assert r.output.startswith("The correct answer is") or not r.output[0].isdigit()
        assert not r.output.rstrip().endswith(("Passage II", "Passage III"))
    assert all(r.input == "" for r in by["math"] + by["physics"])


def test_openbookqa_main_tsv(tmp_path, shared_data):
    result = build_only(tmp_path, "openbookqa", path="openbookqa")
    rows = {r.id: r for r in result.records}
    assert len(rows) == 4_957 + 500 + 500
    r = rows["openbookqa/train/7-980"]
    assert r.instruction == (
        "The sun is responsible for: \nA: puppies learning new tricks\n"
        "B: children growing up and getting old\nC: flowers wilting in a vase\n"
        "D: plants sprouting, blooming and wilting"
    )
    assert r.output == "The answer is D: plants sprouting, blooming and wilting"
    assert r.input == ""


def test_written_rows_match_records(tmp_path, shared_data):
    result = build_only(tmp_path, "theoremqa", path="theoremqa")
    assert read_jsonl(result.paths["jsonl"]) == [r.to_dict() for r in result.records]
