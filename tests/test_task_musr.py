"""MuSR (`musr`) against lm-eval 0.4.13's own `leaderboard_musr` task config.

lm-eval builds its leaderboard tasks from the YAMLs and `utils.py` it ships, with
`datasets.load_dataset` patched to hand it the local questions in the hub's schema (narrative,
question, choices as a Python literal, answer_index, answer_choice), converted here from the
upstream JSON without our loader. Without a model: every question's prompt, continuations, gold
and acc_norm (on seeded log-likelihoods) equal lm-eval's. With SmolLM2: per-choice
log-likelihoods and acc_norm equal.
"""

import json
import random
import shutil
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from conftest import lm_eval_gold as gold_of
from platypus.errors import DataError, PlatypusError
from platypus.tasks import get_task, musr

lm_eval = pytest.importorskip("lm_eval")
datasets = pytest.importorskip("datasets")

LEADERBOARD = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "musr"
SAMPLE = {"murder_mysteries": 5, "object_placements": 20, "team_allocation": 5}
FILES = {
    "murder_mysteries": "small_murder_mystery.json",
    "object_placements": "small_object_placements.json",
    "team_allocation": "small_team_allocation.json",
}


def hub_rows(root: Path, domain: str) -> list[dict]:
    """A domain's questions in the hub's schema, one row per question, read without our loader."""
    stories = json.loads((root / "musr" / "viewer_small_datasets" / FILES[domain]).read_text())
    return [
        {
            "narrative": story["context"],
            "question": q["question"],
            "choices": str(q["choices"]),
            "answer_index": q["answer"],
            "answer_choice": q["choices"][q["answer"]],
        }
        for story in stories
        for q in story["questions"]
    ]


@contextmanager
def leaderboard(rows: dict[str, list[dict]]):
    """lm-eval's own leaderboard_musr_<domain> tasks, their dataset the given rows."""
    from lm_eval.tasks import TaskManager

    def load_dataset(path=None, name=None, **_):
        assert path == "TAUR-Lab/MuSR", path
        return datasets.DatasetDict({d: datasets.Dataset.from_list(r) for d, r in rows.items()})

    with mock.patch("datasets.load_dataset", load_dataset):
        manager = TaskManager(include_path=str(LEADERBOARD), include_defaults=False)
        yield manager, [f"leaderboard_musr_{d}" for d in rows]


def lm_eval_tasks(rows: dict[str, list[dict]]) -> dict:
    with leaderboard(rows) as (manager, names):
        loaded = manager.load(names)["tasks"]
    return {name.removeprefix("leaderboard_musr_"): loaded[name] for name in names}


# --- data ------------------------------------------------------------------------------------


def test_loader_reads_the_sample_of_each_domain(shared_data):
    items = musr.load_musr(shared_data)
    assert [i.subject for i in items] == [d for d, n in SAMPLE.items() for _ in range(n)]
    assert len({i.id for i in items}) == 30
    assert [i.id for i in items[5:9]] == [f"musr/object_placements/{n}" for n in range(4)]
    first = items[0]
    assert first.choices == ("Mackenzie", "Ana") and first.gold == 0
    assert first.question.endswith("\n\nWho is the most likely murderer?")
    assert first.question.startswith("In an adrenaline inducing bungee jumping site")
    assert len(musr.load_musr(shared_data, subjects=["team_allocation"])) == 5
    task = get_task("musr")
    assert task.data_files(shared_data, subjects=["object_placements"]) == [
        shared_data / "musr" / "viewer_small_datasets" / "small_object_placements.json"
    ]
    # Scored on a sample, not the leaderboard's data: the results say so per domain.
    notes = task.notes(shared_data)
    assert len(notes) == 3 and all("not the leaderboard's" in n for n in notes)


def test_full_upstream_file_is_used_where_present(shared_data, tmp_path):
    # Stand-in "full" file (the sample's team allocation stories twice) in the upstream layout.
    sample = shared_data / "musr" / "viewer_small_datasets"
    shutil.copytree(sample, tmp_path / "musr" / "viewer_small_datasets")
    (tmp_path / "musr" / "datasets").mkdir()
    stories = json.loads((sample / FILES["team_allocation"]).read_text())
    full = tmp_path / "musr" / "datasets" / "team_allocation.json"
    full.write_text(json.dumps(stories * 2))
    items = musr.load_musr(tmp_path, subjects=["team_allocation"])
    assert [i.id for i in items] == [f"musr/team_allocation/{n}" for n in range(10)]
    assert get_task("musr").data_files(tmp_path, subjects=["team_allocation"]) == [full]
    assert [n.split(":")[0] for n in musr.notes(tmp_path)] == [
        "musr murder_mysteries",
        "musr object_placements",
    ]


def test_every_prompt_gold_and_acc_norm_is_lm_evals(shared_data):
    items = musr.load_musr(shared_data)
    rows = {d: hub_rows(shared_data, d) for d in musr.DOMAINS}
    tasks = lm_eval_tasks(rows)
    rng = random.Random(0)
    for domain, task in tasks.items():
        docs = list(task.test_docs())
        mine = [i for i in items if i.subject == domain]
        assert len(docs) == len(mine) == SAMPLE[domain]
        for doc, item in zip(docs, mine, strict=True):
            assert musr.context(item) == task.fewshot_context(doc, num_fewshot=0), item.id
            conts = [task.config.target_delimiter + c for c in task.doc_to_choice(doc)]
            assert musr.continuations(item) == conts, item.id
            assert item.gold == gold_of(task, doc) == doc["answer_index"], item.id
            for _ in range(20):  # log-likelihoods that often rank raw and per-character apart
                lls = [-rng.uniform(0.1, 3.0) * len(c) for c in item.choices]
                theirs = task.process_results(doc, [(ll, False) for ll in lls])
                assert musr.metrics(lls, item) == {"acc_norm": theirs["acc_norm"]}, item.id


def test_export_is_the_leaderboard_task(shared_data, tmp_path):
    # The exported YAMLs (for --engine lm-eval) give lm-eval the leaderboard's requests.
    items = musr.load_musr(shared_data)
    names = musr.export(tmp_path, items, None)
    assert names == [f"pl_musr_{d}" for d in musr.DOMAINS]
    from lm_eval.tasks import TaskManager

    ours = TaskManager(include_path=str(tmp_path), include_defaults=False).load(names)["tasks"]
    theirs = lm_eval_tasks({d: hub_rows(shared_data, d) for d in musr.DOMAINS})
    for domain in musr.DOMAINS:
        a, b = ours[f"pl_musr_{domain}"], theirs[domain]
        docs_a, docs_b = list(a.test_docs()), list(b.test_docs())
        assert len(docs_a) == len(docs_b) == SAMPLE[domain]
        for da, db in zip(docs_a, docs_b, strict=True):
            assert a.fewshot_context(da, num_fewshot=0) == b.fewshot_context(db, num_fewshot=0)
            assert a.doc_to_choice(da) == b.doc_to_choice(db)
            assert gold_of(a, da) == gold_of(b, db)


def test_lm_evals_gold_reading_of_digit_targets():
    # lm-eval reads a target of digits as a choice index (its doc_to_target); ours does too.
    assert musr.gold_index("1", ("3", "1")) == 1
    assert musr.gold_index("Ana", ("Mackenzie", "Ana")) == 1
    assert musr.gold_index("7", ("a", "b")) == musr.NO_GOLD
    assert musr.gold_index("Bob", ("a", "b")) == musr.NO_GOLD


# --- errors ----------------------------------------------------------------------------------


def test_malformed_question_is_one_line_naming_file_and_row(shared_data, tmp_path):
    shutil.copytree(
        shared_data / "musr" / "viewer_small_datasets", tmp_path / "musr" / "viewer_small_datasets"
    )
    path = tmp_path / "musr" / "viewer_small_datasets" / FILES["object_placements"]
    stories = json.loads(path.read_text())
    stories[2]["questions"][1]["answer"] = 7
    path.write_text(json.dumps(stories))
    with pytest.raises(DataError) as err:
        musr.load_musr(tmp_path)
    assert str(err.value) == (
        f"{path}: row story 2 question 1: a question needs a question, 2+ choices and an "
        "answer index"
    )
    assert len(musr.load_musr(tmp_path, subjects=["murder_mysteries"])) == 5
    del stories[0]["context"]
    path.write_text(json.dumps(stories))
    with pytest.raises(DataError, match="row 0: a story needs a context"):
        musr.load_musr(tmp_path, subjects=["object_placements"])
    with pytest.raises(PlatypusError, match=r"unknown domains \['murder'\]"):
        musr.load_musr(tmp_path, subjects=["murder"])


# --- SmolLM2: our scorer against lm-eval's HF model ------------------------------------------


@pytest.fixture(scope="module")
def models(smollm2_pair):
    """(our scorer, lm-eval's HF model): SmolLM2, fp32, CPU, shared by the session."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return LoglikScorer(model, tokenizer), theirs


def compare(models, shared_data, limits: dict[str, int]) -> int:
    """Our results and lm-eval's on the first questions of each domain; items compared."""
    from lm_eval import simple_evaluate

    from platypus.eval.lm_eval_engine import no_git_describe
    from platypus.eval.run import aggregate, prepare, score_task

    scorer, harness = models
    rows = {d: hub_rows(shared_data, d)[:n] for d, n in limits.items()}
    with leaderboard(rows) as (manager, names), no_git_describe():
        out = simple_evaluate(model=harness, tasks=names, task_manager=manager, log_samples=True)
    items, pool = prepare("musr", shared_data, subjects=list(limits))
    items = [i for i in items if int(i.id.rsplit("/", 1)[1]) < limits[i.subject]]
    ours = score_task(scorer, "musr", items, pool)
    for item, result in zip(items, ours, strict=True):
        samples = out["samples"][f"leaderboard_musr_{item.subject}"]
        (sample,) = [x for x in samples if x["doc_id"] == int(item.id.rsplit("/", 1)[1])]
        assert sample["arguments"][0][0] == musr.context(item)
        theirs = [float(r[0][0]) for r in sample["resps"]]
        assert result.lls == pytest.approx(theirs, abs=2e-3), item.id
        assert result.metrics == {"acc_norm": float(sample["acc_norm"])}, item.id
    summary = aggregate("musr", items, ours)  # per subject too: the leaderboard's subtasks
    assert list(summary["subjects"]) == sorted(list(limits))
    assert summary["acc_norm"] == sum(r.metrics["acc_norm"] for r in ours) / len(ours)
    return len(items)


def test_smollm2_matches_lm_eval(models, shared_data):
    # The shortest domain (team allocation, ~650 tokens, 3 long choices): one question.
    assert compare(models, shared_data, {"team_allocation": 1}) == 1


@pytest.mark.slow
def test_smollm2_matches_lm_eval_on_every_domain(models, shared_data):
    # Two stories' questions of object placements (4 each, sharing their story as a prefix).
    limits = {"murder_mysteries": 2, "object_placements": 8, "team_allocation": 3}
    assert compare(models, shared_data, limits) == 13
