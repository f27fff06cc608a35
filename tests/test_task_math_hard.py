"""MATH Lvl 5 (`math_hard`) is lm-eval 0.4.13's `leaderboard_math_hard`, item for item.

The reference is lm-eval's own leaderboard task config (lm_eval/tasks/leaderboard/math: its
YAMLs, `process_docs`, few-shot examples, generation settings and `process_results`), run
offline: `datasets.load_dataset` returns the real MATH test rows of the requested subject (all
levels, in the hub dataset's columns) so its Level 5 filter picks the items. Without a model:
the items and reference answers of all 1,324, the prompts and generation settings of every
9th (all under `slow`), exact_match on model-like completions of every 40th (all under `slow`).
With SmolLM2 (fp32, CPU): the greedy completions and their exact_match, the same on both sides
(one item capped at CAP tokens by default, three at the real 1,024 under `slow`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from platypus.errors import DataError, PlatypusError
from platypus.tasks import get_task, load_task
from platypus.tasks import math_hard as mh

lm_eval = pytest.importorskip("lm_eval")

LEADERBOARD_MATH = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "math"
# The harness's subtask names, in its group's order, by our subject (= its dataset_name).
HARNESS_TASKS = {
    "algebra": "leaderboard_math_algebra_hard",
    "counting_and_probability": "leaderboard_math_counting_and_prob_hard",
    "geometry": "leaderboard_math_geometry_hard",
    "intermediate_algebra": "leaderboard_math_intermediate_algebra_hard",
    "number_theory": "leaderboard_math_num_theory_hard",
    "prealgebra": "leaderboard_math_prealgebra_hard",
    "precalculus": "leaderboard_math_precalculus_hard",
}
# Level 5 problems per subject, as math_hard/SOURCE.md states them.
COUNTS = {
    "algebra": 307,
    "counting_and_probability": 123,
    "geometry": 132,
    "intermediate_algebra": 280,
    "number_theory": 154,
    "prealgebra": 193,
    "precalculus": 135,
}


@pytest.fixture(scope="module")
def utils():
    """lm-eval's leaderboard MATH utils.py, the module its YAMLs name."""
    spec = importlib.util.spec_from_file_location("lb_math_utils", LEADERBOARD_MATH / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def items(shared_data):
    return mh.load_math_hard(shared_data)


@pytest.fixture(scope="module")
def raw_rows(shared_data) -> list[dict]:
    lines = (shared_data / "math" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def hub_rows(raw_rows: list[dict], subject: str) -> list[dict]:
    """The subject's rows, every level, in the hub dataset's columns (no `path`)."""
    return [
        {k: r[k] for k in ("problem", "level", "type", "solution")}
        for r in raw_rows
        if r["path"].split("/")[1] == subject
    ]


def offline_datasets(mp: pytest.MonkeyPatch, raw_rows: list[dict]) -> None:
    """`datasets.load_dataset` as lm-eval calls it, answered from the local rows: the
    leaderboard's hub dataset by subject config, and json files (our export) as they are."""
    import datasets

    real = datasets.load_dataset

    def load(path=None, name=None, **kwargs):
        if path == mh.HUB:
            return datasets.DatasetDict(
                {"test": datasets.Dataset.from_list(hub_rows(raw_rows, name))}
            )
        return real(path, name, **kwargs)

    mp.setattr(datasets, "load_dataset", load)


def harness_tasks(mp, raw_rows, names: list[str], include_path: Path) -> dict:
    """lm-eval's task objects for `names`, from the YAMLs under `include_path` only."""
    from lm_eval.tasks import TaskManager

    offline_datasets(mp, raw_rows)
    manager = TaskManager(include_defaults=False, include_path=str(include_path))
    return manager.load(names)["tasks"]


def requests(task, step: int = 1) -> list[tuple[str, dict]]:
    """(context, generation kwargs) of every `step`th doc, in doc_id order."""
    every = list(range(0, len(task.eval_docs), step)) if step > 1 else None
    task.build_all_requests(samples=every, rank=0, world_size=1)
    return [inst.args for inst in sorted(task.instances, key=lambda i: i.doc_id)]


# -- the data --------------------------------------------------------------------------------


def test_loads_the_1324_level_5_problems_by_subject(items, raw_rows, utils):
    assert len(items) == 1324
    by_subject = {s: [i for i in items if i.subject == s] for s in COUNTS}
    assert {s: len(v) for s, v in by_subject.items()} == COUNTS
    # subjects in the harness's task order, each in file order, numbered from 0
    assert [i.subject for i in items] == [s for s in COUNTS for _ in range(COUNTS[s])]
    assert len({i.id for i in items}) == len(items)
    for subject, group in by_subject.items():
        assert [i.id for i in group] == [f"math_hard/{subject}/{n}" for n in range(len(group))]
        level5 = [r for r in hub_rows(raw_rows, subject) if r["level"] == "Level 5"]
        assert [i.question for i in group] == [r["problem"] for r in level5]
        assert [i.target for i in group] == [r["solution"] for r in level5]
    # the gold answer is the harness's `answer` field
    for item in items:
        assert item.gold_text == utils.remove_boxed(utils.last_boxed_only_string(item.target))
        assert item.split == "test" and item.benchmark == "math_hard"


def test_subjects_option_and_registry(shared_data):
    task = get_task("math_hard")
    assert task.per_subject and task.headline == "exact_match" and task.default_shots == 4
    geometry = load_task("math_hard", shared_data, subjects=["geometry", "algebra"])
    assert [i.subject for i in geometry] == ["algebra"] * 307 + ["geometry"] * 132
    with pytest.raises(PlatypusError, match="unknown subjects \\['calculus'\\]"):
        load_task("math_hard", shared_data, subjects=["calculus"])
    with pytest.raises(PlatypusError, match="subject list is empty"):
        load_task("math_hard", shared_data, subjects=[])
    assert task.data_files(shared_data) == [shared_data / "math" / "test.jsonl"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("solution"), "not a MATH row: 'solution' is missing"),
        (lambda r: r.update(level=5), "not a MATH row: 'level' is not a string"),
        (lambda r: r.clear() or r.update(x=[]), "not a MATH row: 'problem' is missing"),
        (lambda r: r.update(type="Calculus"), "unknown MATH type 'Calculus'"),
        (lambda r: r.update(level=None), "not a MATH row: 'level' is not a string"),
        (lambda r: r.update(solution="It is 4."), "the solution has no \\boxed{...} answer"),
    ],
)
def test_a_malformed_row_is_one_line_naming_file_and_row(tmp_path, raw_rows, change, message):
    level5 = [r for r in raw_rows if r["level"] == "Level 5"][:4]
    bad = dict(level5[2])
    change(bad)
    (tmp_path / "math").mkdir()
    path = tmp_path / "math" / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [*level5[:2], bad, level5[3]]))
    with pytest.raises(DataError) as err:
        mh.load_math_hard(tmp_path)
    assert str(err.value) == f"{path}: row 3: {message}"
    assert "\n" not in str(err.value)


def test_the_boxed_answer_is_the_harness_s_on_every_math_solution(shared_data, utils):
    # All 12,500 MATH solutions (every level, train and test), and the odd shapes the
    # harness's extraction handles its own way.
    solutions = [
        json.loads(line)["solution"]
        for split in ("train", "test")
        for line in (shared_data / "math" / f"{split}.jsonl").read_text().splitlines()
    ]
    odd = ["no box", "\\boxed 5$ and more", "$\\boxed{1}$ then \\boxed 7", "\\fbox{3}",
           "\\boxed{\\frac{1}{2}", "\\boxed\\frac{1}{2}", "\\boxed{a}\\boxed{b{c}}", "\\boxed{}",
           "\\boxed{x} \\fbox{y}", "\\boxed{1}}"]  # fmt: skip
    assert len(solutions) == 12500
    for text in solutions + odd:
        theirs = utils.remove_boxed(utils.last_boxed_only_string(text))
        ours = mh.boxed_answer(text)
        assert (ours if ours is not None else utils.INVALID_ANSWER) == theirs, text


def test_without_math_verify_the_task_refuses_in_one_line_before_a_model_loads(monkeypatch):
    monkeypatch.setitem(sys.modules, "math_verify", None)
    with pytest.raises(PlatypusError) as err:
        mh.fewshot([], Path("."))
    assert str(err.value) == (
        "math_hard: scoring needs math-verify: pip install 'math-verify[antlr4_11_0]'"
    )


# -- the prompts -----------------------------------------------------------------------------


def test_the_few_shot_examples_are_the_harness_s(utils):
    theirs = utils.list_fewshot_samples()
    assert [(e["problem"], e["solution"]) for e in theirs] == list(mh.EXAMPLES)
    pool = mh.fewshot([], Path("."))[1]
    assert mh.with_shots(pool, 2) == pool[:2]
    with pytest.raises(PlatypusError, match="num_fewshot 5 is more than its 4 examples"):
        mh.with_shots(pool, 5)


def check_prompts(items, raw_rows, step: int) -> None:
    """lm-eval's seven leaderboard subtasks, built from its own YAMLs: the same docs (its Level
    5 filter over every level's rows) and answers; for every `step`th doc of each, the same
    4-shot context, stop sequence and token cap (lm-eval compiles a template per example and
    doc: 7 ms a doc)."""
    pool = mh.with_shots(mh.fewshot(items, Path("."))[1], mh.SHOTS)
    with pytest.MonkeyPatch.context() as mp:
        tasks = harness_tasks(mp, raw_rows, list(HARNESS_TASKS.values()), LEADERBOARD_MATH)
        for subject, name in HARNESS_TASKS.items():
            ours = [i for i in items if i.subject == subject]
            docs = list(tasks[name].eval_docs)
            assert len(docs) == len(ours) == COUNTS[subject]
            theirs = requests(tasks[name], step)
            assert [c for c, _ in theirs] == [mh.context(i, pool) for i in ours[::step]], subject
            assert [d["answer"] for d in docs] == [i.gold_text for i in ours]
            for _, kwargs in theirs:
                assert kwargs["until"] == list(mh.GENERATION.until)
                assert kwargs["max_gen_toks"] == mh.GENERATION.max_new_tokens
                assert kwargs["do_sample"] is False
    assert not mh.GENERATION.until_is_eos and mh.GENERATION.skip_special


def test_prompts_and_generation_settings_are_the_harness_s(items, raw_rows):
    check_prompts(items, raw_rows, step=9)  # 148 of the 1,324


@pytest.mark.slow
def test_every_prompt_is_the_harness_s(items, raw_rows):
    check_prompts(items, raw_rows, step=1)


def test_the_export_is_the_leaderboard_task_on_our_rows(tmp_path, items, raw_rows):
    # `--engine lm-eval` runs the export: its prompts and settings equal the leaderboard task's.
    chosen = [i for i in items if i.subject in ("geometry", "precalculus")][::20]
    pool = mh.with_shots(mh.fewshot(items, Path("."))[1], mh.SHOTS)
    names = mh.export(tmp_path, chosen, pool)
    assert names == ["pl_math_hard_geometry", "pl_math_hard_precalculus"]
    with pytest.MonkeyPatch.context() as mp:
        ours = harness_tasks(mp, raw_rows, names, tmp_path)
        theirs = harness_tasks(mp, raw_rows, [HARNESS_TASKS["geometry"]], LEADERBOARD_MATH)
        exported = requests(ours["pl_math_hard_geometry"])
        geometry = [i for i in chosen if i.subject == "geometry"]
        assert [c for c, _ in exported] == [mh.context(i, pool) for i in geometry]
        reference = dict(requests(theirs[HARNESS_TASKS["geometry"]]))
        assert all(reference[c] == kwargs for c, kwargs in exported)
        assert len(requests(ours["pl_math_hard_precalculus"])) == len(chosen) - len(geometry)


# -- scoring ---------------------------------------------------------------------------------


def completions(item, other) -> list[str]:
    """Model-like completions of `item`: Minerva's answer line with the right or another
    item's answer, half the reference solution, the reference itself, a plain-text answer and
    the answer in an equal but different form."""
    answer = item.gold_text
    out = [
        f" We solve it step by step.\nFinal Answer: The final answer is ${answer}$. I hope it is"
        " correct.",
        f" So the answer is $\\boxed{{{other.gold_text}}}$.\nFinal Answer: The final answer is "
        f"${other.gold_text}$. I hope it is correct.",
        " " + item.target[: len(item.target) // 2],
        " " + item.target,
        f" The answer is {answer}",
    ]
    if answer.isdigit():
        out.append(f" This gives $\\frac{{{2 * int(answer)}}}{{2}}$, i.e. \\boxed{{{answer}.0}}.")
    return out


def harness_exact_match(utils, item, completion: str) -> float:
    doc = {"problem": item.question, "solution": item.target, "answer": item.gold_text}
    return float(utils.process_results(doc, [completion])["exact_match"])


def check_exact_match(utils, chosen) -> list[float]:
    scores = []
    for n, item in enumerate(chosen):
        other = chosen[(n + 1) % len(chosen)]
        for completion in completions(item, other):
            ours = mh.metrics(completion, item)["exact_match"]
            assert ours == harness_exact_match(utils, item, completion), (item.id, completion)
            scores.append(ours)
    return scores


# Items whose completions tell apart the ways of calling math-verify the harness did not take
# (found over all 1,324): the reference parsed with plain expressions too (geometry/122,
# prealgebra/103), the completion in the gold's place (the others).
TELLING = ("geometry/122", "prealgebra/103", "geometry/21", "intermediate_algebra/105",
           "precalculus/44", "algebra/205", "prealgebra/80")  # fmt: skip


def test_exact_match_is_the_harness_s_on_model_like_completions(items, utils):
    # Every 40th item (all seven subjects) and the telling ones, 5 or 6 completions each.
    telling = [i for i in items if i.id.removeprefix("math_hard/") in TELLING]
    assert len(telling) == len(TELLING)
    scores = check_exact_match(utils, items[::40] + telling)
    assert len(scores) > 180
    assert 0.2 < sum(scores) / len(scores) < 0.8  # both verdicts are exercised


@pytest.mark.slow
def test_exact_match_is_the_harness_s_on_every_item(items, utils):
    scores = check_exact_match(utils, items)
    assert 0.2 < sum(scores) / len(scores) < 0.8


def test_harness_samples_are_scored_and_summed_up(items):
    # `--engine lm-eval`'s path: the exported tasks' samples back to our results, by subject;
    # the summary's headline is the mean over items and the v2 score is that mean.
    from platypus.eval.run import aggregate

    chosen = [i for i in items if int(i.id.rsplit("/", 1)[1]) in (0, 7)]  # 2 per subject
    samples: dict[str, list[dict]] = {}
    for n, item in enumerate(chosen):
        answer = item.gold_text if n % 3 else "-1234"
        completion = f" So\nFinal Answer: The final answer is ${answer}$. I hope it is correct."
        rows = samples.setdefault(f"pl_math_hard_{item.subject}", [])
        rows.append({"doc_id": len(rows), "filter": "none", "resps": [[completion]]})
    results = mh.TASK.from_harness(chosen, samples)
    assert [r.id for r in results] == [i.id for i in chosen]
    assert [r.metrics["exact_match"] for r in results] == [float(n % 3 > 0) for n in range(14)]
    summary = aggregate("math_hard", chosen, results)
    assert summary["exact_match"] == pytest.approx(9 / 14) and summary["items"] == 14
    assert list(summary["subjects"]) == sorted(COUNTS)
    assert summary["subjects"]["algebra"] == 0.5 and summary["subjects"]["geometry"] == 1.0
    assert mh.TASK.leaderboard_v2.score(summary) == pytest.approx(9 / 14)


# -- generation parity on SmolLM2 -------------------------------------------------------------

# The default suite compares one item with both sides capped at CAP new tokens (a full
# 1,024-token generation takes minutes per side on 2 busy cores); the slow test runs the
# leaderboard's own cap on the first item of three subjects.
CAP = 16


@pytest.fixture(scope="module")
def models(smollm2_pair):
    """(our scorer, lm-eval's HF model): SmolLM2, fp32, CPU, shared by the session."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return LoglikScorer(model, tokenizer), theirs


def harness_generations(lm, raw_rows, subjects: list[str], limit: int, cap: int | None) -> dict:
    """lm-eval's leaderboard subtasks on the first `limit` Level 5 items of each subject:
    {(subject, doc_id): (completion, exact_match)}."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from platypus.eval.lm_eval_engine import no_git_describe

    names = [HARNESS_TASKS[s] for s in subjects]
    with pytest.MonkeyPatch.context() as mp, no_git_describe():
        offline_datasets(mp, raw_rows)
        out = simple_evaluate(
            model=lm,
            tasks=names,
            limit=limit,
            log_samples=True,
            gen_kwargs={"max_gen_toks": cap} if cap else None,
            task_manager=TaskManager(include_defaults=False, include_path=str(LEADERBOARD_MATH)),
        )
    found = {}
    for subject, name in zip(subjects, names, strict=True):
        for s in out["samples"][name]:
            found[(subject, s["doc_id"])] = (s["resps"][0][0], float(s["exact_match"]))
    return found


def compare_generations(models, raw_rows, items, subjects, limit, cap, monkeypatch):
    scorer, lm = models
    chosen = [i for s in subjects for i in [j for j in items if j.subject == s][:limit]]
    if cap:
        monkeypatch.setattr(
            mh, "GENERATION", dataclasses.replace(mh.GENERATION, max_new_tokens=cap)
        )
    pool = mh.with_shots(mh.fewshot(chosen, Path("."))[1], mh.SHOTS)
    ours = mh.score(scorer, chosen, pool)
    theirs = harness_generations(lm, raw_rows, subjects, limit, cap)
    assert len(theirs) == len(ours) == len(chosen)
    for item, r in zip(chosen, ours, strict=True):
        text, exact = theirs[(item.subject, int(item.id.rsplit("/", 1)[1]))]
        assert r.id == item.id and r.lls == []
        assert r.text == text, item.id
        assert r.metrics == {"exact_match": exact}, item.id
    return ours


def test_a_generation_is_the_harness_s(models, raw_rows, items, monkeypatch):
    (result,) = compare_generations(models, raw_rows, items, ["algebra"], 1, CAP, monkeypatch)
    assert result.text.strip()  # SmolLM2 writes something in CAP tokens


@pytest.mark.slow
@pytest.mark.timeout(1800)  # SmolLM2 stops within 64 tokens on these, yet on 2 busy cores: 13 min
def test_full_length_generations_are_the_harness_s(models, raw_rows, items, monkeypatch):
    subjects = ["counting_and_probability", "number_theory", "prealgebra"]
    results = compare_generations(models, raw_rows, items, subjects, 1, None, monkeypatch)
    assert len(results) == 3
