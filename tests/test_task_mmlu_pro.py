"""MMLU-Pro (`mmlu_pro`): the loader on the real data, and parity with lm-eval 0.4.13's own
`leaderboard_mmlu_pro` config (its YAML and utils.py, run offline on the same rows).

Without a model: lm-eval builds its requests for every test row, and they must be our contexts
and continuations, its `process_results` must find our gold letter. With SmolLM2 (fp32, CPU):
per-choice log-likelihoods within 2e-3 and the same acc per item, on 2 chemistry items (5 and 7
options, one whose `answer` and `answer_index` disagree) by default, and on one item per option
count, 3 to 10, from 8 categories (slow).
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from platypus.errors import DataError, PlatypusError
from platypus.eval.run import prepare
from platypus.tasks import get_task, load_task
from platypus.tasks import mmlu_pro as mp
from platypus.tasks.schema import TaskItem

# Per category and per option count, as mmlu_pro/SOURCE.md states them.
CATEGORIES = {"math": 1351, "physics": 1299, "chemistry": 1132, "law": 1101, "engineering": 969,
              "other": 924, "economics": 844, "health": 818, "psychology": 798, "business": 789,
              "biology": 717, "philosophy": 499, "computer_science": 410,
              "history": 381}  # fmt: skip
OPTIONS = {10: 9982, 9: 801, 8: 320, 7: 158, 6: 92, 5: 52, 4: 607, 3: 20}
# The default model parity: two short chemistry items with 5 and 7 options; 3983 has answer "C"
# but answer_index 1, and lm-eval scores the letter.
DEFAULT_IDS = (3527, 3983)


def _raw(shared_data: Path, split: str) -> list[dict]:
    path = shared_data / "mmlu_pro" / f"mmlu_pro_{split}.jsonl"
    # "\n" only: questions hold U+2028 and the like, which str.splitlines() would split on.
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def _gold_text(row: dict) -> str:
    return row["options"]["ABCDEFGHIJ".index(row["answer"])]


@pytest.fixture(scope="module")
def items(shared_data) -> list[TaskItem]:
    return load_task("mmlu_pro", shared_data)


@pytest.fixture(scope="module")
def pool(items, shared_data) -> list[TaskItem]:
    return mp.fewshot(items, shared_data)[1]


# --- the loader on the real data -------------------------------------------------------------


def test_counts_ids_and_fields_as_source_md_states(items, pool, shared_data):
    assert len(items) == 12032 and len(pool) == 70
    assert Counter(i.subject for i in items) == CATEGORIES
    assert Counter(len(i.choices) for i in items) == OPTIONS
    assert Counter(i.subject for i in pool) == {s: 5 for s in CATEGORIES}
    ids = [i.id for i in items] + [i.id for i in pool]
    assert len(set(ids)) == len(ids)
    raw = _raw(shared_data, "test")
    for item, row in zip(items, raw, strict=True):  # file order, every field as the row has it
        assert item.id == f"mmlu_pro/{row['category'].replace(' ', '_')}/{row['question_id']}"
        assert (item.question, list(item.choices)) == (row["question"], row["options"])
        assert "ABCDEFGHIJ"[item.gold] == row["answer"]
        assert item.benchmark == "mmlu_pro" and item.split == "test"
    first = items[0]
    assert first.id == "mmlu_pro/business/70" and first.gold_text == _gold_text(raw[0])
    # The one row whose letter and index disagree is scored by its letter, as lm-eval does.
    (odd,) = [i for i in items if i.id.endswith("/3983")]
    assert odd.subject == "chemistry" and odd.gold == 2


def test_subjects_filter_and_its_errors(shared_data):
    sub = load_task("mmlu_pro", shared_data, subjects=["history", "computer_science"])
    assert Counter(i.subject for i in sub) == {"history": 381, "computer_science": 410}
    with pytest.raises(PlatypusError, match=r"unknown subjects \['computer science'\]"):
        load_task("mmlu_pro", shared_data, subjects=["computer science"])
    with pytest.raises(PlatypusError, match="subject list is empty"):
        load_task("mmlu_pro", shared_data, subjects=[])


def test_fewshot_is_the_first_validation_rows_for_every_item(shared_data):
    task = get_task("mmlu_pro")
    assert (task.headline, task.per_subject, task.options, task.default_shots) == (
        "acc", True, ("subjects",), 5)  # fmt: skip
    assert task.leaderboard_v2.score({"acc": 0.55}) == pytest.approx(0.5)
    scored, examples = prepare("mmlu_pro", shared_data, limit=3, subjects=["law"])
    assert [i.subject for i in scored] == ["law"] * 3
    # One task over all categories: validation question_ids 0-4 (all math), not law's own.
    assert [e.id for e in examples] == [f"mmlu_pro/math/{n}" for n in range(5)]
    assert [e.id for e in prepare("mmlu_pro", shared_data, limit=1, num_fewshot=7)[1]][-1] == (
        "mmlu_pro/health/6"
    )
    with pytest.raises(PlatypusError, match="num_fewshot 71 is more than the 70 validation"):
        prepare("mmlu_pro", shared_data, limit=1, num_fewshot=71)
    assert [p.name for p in task.data_files(shared_data)] == [
        "mmlu_pro_test.jsonl", "mmlu_pro_validation.jsonl"]  # fmt: skip
    assert all(p.is_file() for p in task.data_files(shared_data))


def _copy_with(tmp_path: Path, shared_data: Path, split: str, lineno: int, change) -> Path:
    """A data root whose `split` file is the real one with line `lineno` changed."""
    folder = tmp_path / "mmlu_pro"
    folder.mkdir(exist_ok=True)
    for s in ("test", "validation"):
        text = (shared_data / "mmlu_pro" / f"mmlu_pro_{s}.jsonl").read_text(encoding="utf-8")
        lines = text.rstrip("\n").split("\n")
        if s == split:
            lines[lineno - 1] = change(lines[lineno - 1])
        (folder / f"mmlu_pro_{s}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / f"mmlu_pro_{split}.jsonl"


def _edit(**fields):
    return lambda line: json.dumps(json.loads(line) | fields)


@pytest.mark.parametrize(
    "split, lineno, change, message",
    [
        ("test", 7, _edit(answer="K"), "answer must be one of the option letters A..J"),
        ("test", 3, _edit(options=["x", "y", "z"], answer="D"), "letters A..C"),
        ("test", 5, _edit(options="A, B"), "options must be a list of 1 to 10 strings"),
        ("test", 9, _edit(question_id="71"), "question_id must be an integer"),
        ("test", 2, _edit(question_id=70), "question_id 70 repeats"),
        ("test", 4, lambda line: line[:-3], "row 4"),
        ("validation", 70, _edit(category=None), "category must be a non-empty string"),
    ],
    ids=["answer", "answer-range", "options", "question_id", "repeat", "json", "category"],
)
def test_a_malformed_row_is_one_line_naming_file_and_row(
    tmp_path, shared_data, split, lineno, change, message
):
    path = _copy_with(tmp_path, shared_data, split, lineno, change)
    with pytest.raises(DataError) as err:
        # The validation split is read as the few-shot pool, before any model.
        prepare("mmlu_pro", tmp_path, limit=1)
    text = str(err.value)
    assert "\n" not in text and message in text
    assert text.startswith(f"{path}: row {lineno}: ")


# --- prompts, choices and gold against lm-eval's own config (no model) -----------------------


def _harness_task(root: Path, name: str, test: Path, validation: Path, shots: int | None = None):
    """lm-eval's `leaderboard_mmlu_pro` config (its YAML, utils.py and sampler) on local files,
    as a built harness task with its requests."""
    files = f"{{test: {test}, validation: {validation}}}"
    yaml = (f"include: {mp.leaderboard_yaml()}\ntask: {name}\ndataset_path: json\n"
            f"dataset_kwargs:\n  data_files: {files}\n")  # fmt: skip
    if shots is not None:
        yaml += f"num_fewshot: {shots}\n"
    (root / f"{name}.yaml").write_text(yaml)
    return _built(root, name)


def _built(root: Path, name: str):
    """The harness task `name` from the YAMLs in `root`, its requests built (no model)."""
    from lm_eval.tasks import TaskManager

    # Only `root` is indexed: lm-eval's own thousands of YAMLs take seconds to scan.
    manager = TaskManager(include_path=str(root), include_defaults=False)
    task = manager.load(name)["tasks"][name]
    task.build_all_requests()
    return task


def _requests(task) -> dict[int, tuple[str, list[str]]]:
    """doc_id -> (context, continuations) of a built harness task."""
    out: dict[int, tuple[str, list[str]]] = {}
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        ctx, cont = inst.arguments
        assert out.setdefault(inst.doc_id, (ctx, []))[0] == ctx
        out[inst.doc_id][1].append(cont)
    return out


# lm-eval is a dev dependency; without it only the loader tests run.
needs_lm_eval = pytest.mark.skipif(
    importlib.util.find_spec("lm_eval") is None, reason="lm-eval is not installed"
)


@needs_lm_eval
def test_every_test_prompt_is_the_leaderboard_configs(tmp_path, shared_data, items, pool):
    # The raw files as lm-eval reads them from the hub (the local files are in its schema).
    folder = shared_data / "mmlu_pro"
    task = _harness_task(tmp_path, "pl_mmlu_pro_raw", folder / "mmlu_pro_test.jsonl",
                         folder / "mmlu_pro_validation.jsonl")  # fmt: skip
    assert task.config.num_fewshot == 5 and task.OUTPUT_TYPE == "multiple_choice"
    assert [m["metric"] for m in task.config.metric_list] == ["acc"]
    requests = _requests(task)
    assert len(requests) == len(items)
    examples = mp.with_shots(pool, 5)
    docs = task.test_docs()
    for n, item in enumerate(items):
        assert requests[n] == (mp.context(item, examples), mp.continuations(item)), item.id
        # lm-eval's own metric on made-up log-likelihoods: acc is 1 exactly at our gold.
        k = len(item.choices)
        for best in (item.gold, (item.gold + 1) % k):
            lls = [(0.0 if j == best else -1.0, j == best) for j in range(k)]
            assert task.process_results(docs[n], lls)["acc"] == float(best == item.gold)


@needs_lm_eval
@pytest.mark.parametrize("shots", [5, 2, 0])
def test_export_is_the_leaderboard_config_on_our_items(tmp_path, items, pool, shots):
    # What --engine lm-eval runs: a sample of every category and option count.
    sample = items[::40] + [i for i in items if len(i.choices) == 3]
    examples = mp.with_shots(pool, shots)
    (name,) = mp.export(tmp_path, sample, examples)
    task = _built(tmp_path, name)
    requests = _requests(task)
    assert task.config.num_fewshot == shots
    for n, item in enumerate(sample):
        assert requests[n] == (mp.context(item, examples), mp.continuations(item)), item.id


# --- log-likelihoods and acc against lm-eval on SmolLM2 --------------------------------------


@pytest.fixture(scope="module")
def models(smollm2_pair):
    """(our scorer, lm-eval's HF model): SmolLM2, fp32, CPU, shared by the session."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return LoglikScorer(model, tokenizer), theirs


def _compare(tmp_path, shared_data, items, pool, models, question_ids):
    """Our results and lm-eval's samples (its leaderboard config on the same raw rows)."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from platypus.eval.lm_eval_engine import no_git_describe

    ours_scorer, theirs_lm = models
    wanted = set(question_ids)
    rows = [r for r in _raw(shared_data, "test") if r["question_id"] in wanted]
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps(r) + "\n" for r in rows))
    validation = shared_data / "mmlu_pro" / "mmlu_pro_validation.jsonl"
    _harness_task(tmp_path, "pl_mmlu_pro_parity", test, validation)  # writes the YAML
    with no_git_describe():
        out = simple_evaluate(
            model=theirs_lm,
            tasks=["pl_mmlu_pro_parity"],
            log_samples=True,
            task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        )
    theirs = sorted(out["samples"]["pl_mmlu_pro_parity"], key=lambda s: s["doc_id"])
    chosen = [i for i in items if int(i.id.rsplit("/", 1)[1]) in wanted]
    ours = get_task("mmlu_pro").score(ours_scorer, chosen, mp.with_shots(pool, 5), None)
    assert len(ours) == len(theirs) == len(question_ids)
    return ours, theirs


def _assert_same(ours, theirs):
    for r, s in zip(ours, theirs, strict=True):
        assert r.lls == pytest.approx([float(x[0][0]) for x in s["resps"]], abs=2e-3), r.id
        assert r.metrics == {"acc": float(s["acc"])}, r.id


@needs_lm_eval
def test_loglikelihoods_and_acc_match_the_harness(tmp_path, shared_data, items, pool, models):
    ours, theirs = _compare(tmp_path, shared_data, items, pool, models, DEFAULT_IDS)
    assert [len(r.lls) for r in ours] == [5, 7]
    _assert_same(ours, theirs)


@needs_lm_eval
@pytest.mark.slow
def test_every_option_count_matches_the_harness(tmp_path, shared_data, items, pool, models):
    # One item per option count (3 to 10), each from a category not yet taken where one has
    # that count: 8 items, 8 categories.
    chosen: list[TaskItem] = []
    for k in sorted(OPTIONS):
        with_k = [i for i in items if len(i.choices) == k]
        taken = {c.subject for c in chosen}
        chosen.append(next((i for i in with_k if i.subject not in taken), with_k[0]))
    assert len({i.subject for i in chosen}) == len(OPTIONS)
    ids = sorted(int(i.id.rsplit("/", 1)[1]) for i in chosen)
    ours, theirs = _compare(tmp_path, shared_data, items, pool, models, ids)
    assert {len(r.lls) for r in ours} == set(OPTIONS)
    _assert_same(ours, theirs)
