"""Contamination check: detectors, rules, and the known MATH-in-MMLU leak on real data."""

import json

import pytest

from conftest import build_only, read_jsonl
from platypus.cli import main
from platypus.config import DecontaminateConfig
from platypus.data.decontaminate.answers import answer_in_output
from platypus.data.decontaminate.classify import classify
from platypus.data.decontaminate.detect import Evidence
from platypus.data.decontaminate.ngrams import NgramIndex
from platypus.data.decontaminate.run import decontaminate

MATH_SUBJECTS = ["abstract_algebra", "college_mathematics", "elementary_mathematics",
                 "high_school_mathematics", "high_school_statistics"]  # fmt: skip


def test_ngram_overlap():
    q = "a b c d e f g h i j k l m n o p"  # 16 words: 4 distinct 13-grams
    index = NgramIndex([q, "too short to index"], n=13, min_words=8)
    assert index.overlaps("x a b c d e f g h i j k l m y") == {0: 0.25}
    assert index.overlaps("Too short to index.") == {}
    short = NgramIndex(["What is the remainder when 2^87 + 3 is divided by 7?"], n=13)
    assert short.overlaps("Q: what is the remainder when 2^87+3 is divided by 7") == {0: 1.0}


def test_template_ngrams_count_for_no_question(shared_data):
    """MMLU's moral scenarios share a 30-word opening: a training row with that opening and
    other scenarios shares n-grams with every such item, yet is none of them. N-grams more
    than `template_items` questions share count for none; a question's own n-grams still do."""
    from platypus.tasks import load_task

    moral = load_task("mmlu", shared_data, subjects=["moral_scenarios"])[:20]
    questions = [item.question for item in moral]
    row = questions[0].split("Scenario 1")[0] + "Scenario 1 | I fed my neighbour's cat."
    assert NgramIndex(questions, template_items=100).overlaps(row)[1] > 0.4  # the template
    index = NgramIndex(questions)
    assert not index.overlaps(row)
    assert index.overlaps(questions[3]) == {3: 1.0}


def test_answer_in_output():
    assert answer_in_output("Vatican City", "The smallest is Vatican City, in Rome.")
    assert not answer_in_output("Vatican City", "Vatican is a city-state")
    assert answer_in_output("4", "so the answer is 4")  # short answers: the final answer only
    assert not answer_in_output("4", "with 4 cases we get 9")


def test_rules():
    config = DecontaminateConfig()
    base = dict(train=0, bench=0, ngram_coverage=0.0, contains_question=False, answer_leak=False)
    assert classify(Evidence(similarity=0.97, **base), config) == "duplicate"
    assert classify(Evidence(similarity=0.85, **base | {"contains_question": True}),
                    config) == "duplicate"  # fmt: skip
    assert classify(Evidence(similarity=0.6, **base | {"ngram_coverage": 0.7}),
                    config) == "duplicate"  # fmt: skip
    assert classify(Evidence(similarity=0.85, **base | {"answer_leak": True}),
                    config) == "gray-area"  # fmt: skip
    assert classify(Evidence(similarity=0.85, **base), config) == "similar-but-different"


@pytest.fixture(scope="module")
def math_vs_mmlu(tmp_path_factory, shared_data):
    """The full MATH source (train + test) against MMLU's maths test questions (13,600 texts to
    embed: the slow set)."""
    out = tmp_path_factory.mktemp("decon")
    built = build_only(out / "build", "math", path="math")
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["mmlu"],
                                 mmlu_subjects=MATH_SUBJECTS)  # fmt: skip
    return decontaminate(config, built.paths["jsonl"], out / "decon")


@pytest.fixture(scope="module")
def prealgebra_vs_mmlu(tmp_path_factory, shared_data):
    """MATH test's prealgebra problems (871, through the build) against MMLU high-school
    mathematics (270): the part of the finding below that the default suite embeds quickly."""
    out = tmp_path_factory.mktemp("decon")
    built = build_only(out / "build", "math", path="math", options={"splits": ["test"]})
    rows = [r for r in read_jsonl(built.paths["jsonl"]) if "/prealgebra/" in r["id"]]
    path = out / "prealgebra.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["mmlu"],
                                 mmlu_subjects=["high_school_mathematics"])  # fmt: skip
    return decontaminate(config, path, out / "decon")


@pytest.mark.slow
def test_math_problems_in_mmlu(math_vs_mmlu):
    result = math_vs_mmlu
    dups = [k for k in result.leaks if k.category == "duplicate"]
    splits: dict[str, set[str]] = {}
    for k in dups:
        splits.setdefault(k.item.id, set()).add(k.record.id.split("/")[1])
    # Platypus' authors found about 80 MATH problems verbatim in MMLU's maths test questions:
    # 81 MMLU items have a duplicate in MATH test (one of them in train too), and 73 more only
    # in MATH train, which Platypus also trained on. All are high-school mathematics.
    in_test = [i for i, s in splits.items() if "test" in s]
    only_train = [i for i, s in splits.items() if s == {"train"}]
    assert len(in_test) == 81 and len(only_train) == 73
    assert {k.item.subject for k in dups} == {"high_school_mathematics"}
    # A known one (listed in Platypus' similarity notebook).
    remainder = [
        k for k in dups if k.item.question.startswith("What is the remainder when $2^{87}")
    ]
    assert remainder and remainder[0].record.instruction.startswith("What is the remainder")
    # Every flagged benchmark item's train twins are removed; the rest stays.
    assert result.removed_ids >= {k.record.id for k in dups}
    assert len(result.clean) == len(result.records) - len(result.removed_ids)


def test_prealgebra_problems_in_mmlu(prealgebra_vs_mmlu):
    """42 of the 81 MMLU items with a verbatim twin in MATH test have it among the prealgebra
    problems (the full count is the slow test above), and one more is the same problem
    reworded: an equilateral triangle of side 12, its area asked (36*sqrt(3) in MATH, about 62
    in MMLU), found by its numbers at cosine 0.84."""
    result = prealgebra_vs_mmlu
    assert (len(result.records), len(result.items)) == (871, 270)
    dups = [k for k in result.leaks if k.category == "duplicate"]
    items = {k.item.id for k in dups}
    assert len(items) == 43 and "mmlu/high_school_mathematics/88" in items
    assert result.removed_ids >= {k.record.id for k in dups}
    assert len(result.clean) == len(result.records) - len(result.removed_ids)
    # Away from the duplicates the categories still separate: rewordings and near misses.
    assert {k.category for k in result.leaks} >= {"duplicate", "similar-but-different"}


def test_outputs_and_report(prealgebra_vs_mmlu):
    result = prealgebra_vs_mmlu
    leaks = read_jsonl(result.paths["leaks_jsonl"])
    assert len(leaks) == len(result.leaks)
    assert set(leaks[0]) >= {"train_id", "benchmark_id", "category", "similarity",
                             "ngram_coverage", "answer_leak"}  # fmt: skip
    summary = json.loads(result.paths["decontaminate_json"].read_text())
    assert summary["rows_clean"] == len(read_jsonl(result.paths["clean_jsonl"]))
    report = result.paths["report_md"].read_text()
    assert "| MATH/PRM-800K | mmlu |" in report and "## Examples: duplicate" in report


def test_bad_benchmark_data_leaves_no_clean_result(tmp_path, capsys, shared_data):
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"id": "a", "instruction": "What is 2+2?", "input": "",
                                "output": "4", "data_source": "x"}) + "\n")  # fmt: skip
    out = tmp_path / "out"
    argv = ["data", "decontaminate", "--input", str(data), "--output-dir", str(out),
            "--data-root", str(tmp_path), "--benchmarks", "truthfulqa_mc"]  # fmt: skip
    assert main(argv) == 2
    assert "mc_task.json: file not found" in capsys.readouterr().err
    assert not (out / "clean.jsonl").exists() and not (out / "manifest.json").exists()
    # A clean.jsonl no run of this stage wrote here (no manifest lists it) is not replaced.
    (out / "clean.jsonl").write_text("someone's file\n")
    assert main(argv) == 2
    assert "clean.jsonl is not an output of an earlier" in capsys.readouterr().err
    assert (out / "clean.jsonl").read_text() == "someone's file\n"


def test_judge_upgrades_uncertain_pairs(tmp_path, shared_data):
    # Training rows that reword TruthfulQA questions (cosine in the uncertain band).
    rows = [
        {"id": "t1", "instruction": "What's the smallest nation on Earth with an area above one "
         "square mile?", "input": "", "output": "Monaco.", "data_source": "x"},  # cosine 0.915
        {"id": "t2", "instruction": "Bake bread at 220 C for 30 minutes.", "input": "",
         "output": "Done.", "data_source": "x"},
    ]  # fmt: skip
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # same_question_similarity 1.0: without the judge, rewordings at cosine >= 0.86 are already
    # duplicates by default; here the judge alone decides the band.
    common = dict(data_root=str(shared_data), benchmarks=["truthfulqa_mc"], judge_low=0.8,
                  same_question_similarity=1.0)  # fmt: skip
    plain = decontaminate(DecontaminateConfig(**common), data, tmp_path / "plain")
    (leak,) = [k for k in plain.leaks if k.record.id == "t1" and k.evidence.similarity >= 0.8]
    assert leak.category == "similar-but-different" and leak.judge_p is None
    # judge_threshold near 0 makes any verdict a "same": the wiring, not SmolLM2's skill.
    judged = decontaminate(DecontaminateConfig(**common, judge=True, judge_threshold=1e-6), data,
                           tmp_path / "judged")  # fmt: skip
    (leak,) = [k for k in judged.leaks if k.record.id == "t1" and k.evidence.similarity >= 0.8]
    assert leak.category == "duplicate" and 0.0 < leak.judge_p < 1.0
    assert "t1" in judged.removed_ids and "t1" not in plain.removed_ids
    assert read_jsonl(judged.paths["leaks_jsonl"])[0]["judge_p"] == leak.judge_p


def test_gsm8k_and_winogrande_leaks_are_reported(tmp_path, shared_data):
    """Training rows that copy a GSM8K test problem (with its solution) and reword a Winogrande
    sentence are flagged against those two benchmarks; an unrelated row stays clean."""
    from platypus.tasks import load_task

    gsm = load_task("gsm8k", shared_data)[0]  # Janet's ducks, answer 18
    wino = load_task("winogrande", shared_data)[0]
    rows = [
        {"id": "g", "instruction": gsm.question, "input": "", "data_source": "x",
         "output": gsm.target.replace("#### ", "The answer is ")},
        {"id": "w", "instruction": "Fill in the blank: " + wino.question, "input": "",
         "output": wino.gold_text, "data_source": "x"},
        {"id": "u", "instruction": "Bake bread at 220 C for 30 minutes.", "input": "",
         "output": "Done.", "data_source": "x"},
    ]  # fmt: skip
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["gsm8k", "winogrande"],
                                 precision="fp32")  # fmt: skip
    result = decontaminate(config, data, tmp_path / "out")
    found = {(k.record.id, k.item.id, k.category) for k in result.leaks}
    assert ("g", gsm.id, "duplicate") in found
    assert any(r == "w" and i == wino.id and c != "similar-but-different" for r, i, c in found)
    assert result.removed_ids == {"g", "w"}
    report = result.paths["report_md"].read_text()
    assert "gsm8k" in report and "winogrande" in report


def test_removed_rows_are_drop_records(prealgebra_vs_mmlu):
    """removed.jsonl: each removed row once, as the stages' shared drop record: its category as
    the reason, the benchmark item it leaks as the match, and their similarity."""
    result = prealgebra_vs_mmlu
    drops = read_jsonl(result.paths["removed_jsonl"])
    assert [d["id"] for d in drops] == sorted(result.removed_ids)
    leaked = {(k.record.id, k.item.id): k for k in result.leaks}
    for d in drops:
        k = leaked[(d["id"], d["matched_id"])]
        assert (d["stage"], d["reason"], d["similarity"]) == ("decontaminate", k.category,
                                                         k.evidence.similarity)  # fmt: skip
        assert d["reason"] in ("duplicate", "gray-area") and d["benchmark"] == "mmlu"
    summary = json.loads(result.paths["decontaminate_json"].read_text())
    assert sum(summary["dropped"].values()) == summary["rows_removed"] == len(drops)
