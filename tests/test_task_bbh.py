"""BBH (`bbh`) against lm-eval 0.4.13's own `leaderboard_bbh` task config.

lm-eval builds its leaderboard tasks from the YAMLs it ships, with `datasets.load_dataset`
patched to hand it the local rows in the hub's schema ({input, target}); nothing is copied from
our prompts. Without a model: every row's prompt, continuations, gold and acc_norm (on seeded
log-likelihoods) equal lm-eval's. With SmolLM2: per-choice log-likelihoods and acc_norm equal.
"""

import json
import random
import shutil
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
import yaml

from conftest import lm_eval_gold as gold_of
from platypus.errors import DataError, PlatypusError
from platypus.tasks import bbh, get_task

lm_eval = pytest.importorskip("lm_eval")
datasets = pytest.importorskip("datasets")

LEADERBOARD = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "bbh_mc"
# The leaderboard's subtasks, from lm-eval's group YAML (tests check the data's list is this).
SUBTASKS = [
    t.removeprefix("leaderboard_bbh_")
    for t in yaml.safe_load((LEADERBOARD / "_leaderboard_bbh.yaml").read_text())["task"]
]
COUNTS = {"causal_judgement": 187, "penguins_in_a_table": 146, "snarks": 178}  # others: 250
NOT_IN_CHOICES = {  # SOURCE.md: targets the leaderboard can never count correct
    ("movie_recommendation", "Monsters, Inc"),
    ("ruin_names", "dearth, wind, & fire"),
    ("ruin_names", "rita, sue and bob poo"),
}


def raw_rows(root: Path, subtask: str) -> list[dict]:
    """A subtask's rows as the hub serves them ({input, target}), read without our loader."""
    return json.loads((root / "bbh" / "bbh" / f"{subtask}.json").read_text())["examples"]


@contextmanager
def leaderboard(subtasks: list[str], rows: dict[str, list[dict]]):
    """lm-eval's own leaderboard_bbh_<subtask> tasks, their dataset the given rows."""
    from lm_eval.tasks import TaskManager

    def load_dataset(path=None, name=None, **_):
        assert path == "SaylorTwift/bbh", path
        return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows[name])})

    with mock.patch("datasets.load_dataset", load_dataset):
        manager = TaskManager(include_path=str(LEADERBOARD), include_defaults=False)
        names = [f"leaderboard_bbh_{s}" for s in subtasks]
        yield manager, names


def lm_eval_tasks(subtasks: list[str], rows: dict[str, list[dict]]) -> dict:
    with leaderboard(subtasks, rows) as (manager, names):
        loaded = manager.load(names)["tasks"]
    return {name.removeprefix("leaderboard_bbh_"): loaded[name] for name in names}


@pytest.fixture
def compiled_once(monkeypatch):
    """lm-eval compiles its Jinja template on every call; the same templates, compiled once
    (the rendered text is unchanged), make checking every row cheap."""
    import functools

    from lm_eval import utils

    monkeypatch.setattr(utils.env, "from_string", functools.cache(utils.env.from_string))


# --- data ------------------------------------------------------------------------------------


def test_loader_reads_the_leaderboards_24_subtasks(shared_data):
    items = bbh.load_bbh(shared_data)
    assert len(items) == 5761
    counts = Counter(i.subject for i in items)
    assert len(counts) == 24
    assert counts == {s: COUNTS.get(s, 250) for s in counts}
    assert not {"dyck_languages", "multistep_arithmetic_two", "word_sorting"} & set(counts)
    assert len({i.id for i in items}) == len(items)
    assert items[0].id == "bbh/boolean_expressions/0"
    assert all(i.id.startswith(f"bbh/{i.subject}/") for i in items)
    assert {(i.subject, i.target) for i in items if i.gold == bbh.NO_GOLD} == NOT_IN_CHOICES
    assert all(i.choices[i.gold] == i.target for i in items if i.gold != bbh.NO_GOLD)
    assert all(i.gold_text == i.target for i in items)  # also where no choice is the target
    assert len(bbh.load_bbh(shared_data, subjects=["snarks", "navigate"])) == 178 + 250
    assert get_task("bbh").data_files(shared_data, subjects=["snarks"]) == [
        shared_data / "bbh" / "leaderboard_bbh_mc_choices.json",
        shared_data / "bbh" / "bbh" / "snarks.json",
        shared_data / "bbh" / "cot-prompts" / "snarks.txt",
    ]


def test_subtasks_choices_and_examples_are_the_leaderboard_yamls(shared_data):
    # The descriptions and choices (leaderboard_bbh_mc_choices.json) and the examples read from
    # the CoT prompt files are what lm-eval's YAMLs hold, for all 24 subtasks and 72 examples.
    known = bbh.subtasks(shared_data)
    assert list(known) == SUBTASKS == list(bbh.CHOICE_COUNTS)
    for subtask, (description, choices) in known.items():
        spec = yaml.safe_load((LEADERBOARD / f"{subtask}.yaml").read_text())
        assert spec["description"] == description, subtask
        assert tuple(spec["doc_to_choice"]) == choices, subtask
        assert bbh.CHOICE_COUNTS[subtask] == len(choices), subtask
        shots = bbh.read_shots(shared_data, subtask, description)
        samples = spec["fewshot_config"]["samples"]
        assert list(shots.examples) == [(s["input"], s["target"]) for s in samples], subtask


def test_every_prompt_gold_and_acc_norm_is_lm_evals(shared_data, compiled_once):
    items = bbh.load_bbh(shared_data)
    _, pool = bbh.fewshot(items, shared_data)
    pool = bbh.with_shots(pool, bbh.SHOTS)
    known = list(bbh.subtasks(shared_data))
    tasks = lm_eval_tasks(known, {s: raw_rows(shared_data, s) for s in known})
    rng = random.Random(0)
    by_subject = {s: [i for i in items if i.subject == s] for s in known}
    for subtask, task in tasks.items():
        docs = list(task.test_docs())
        assert len(docs) == len(by_subject[subtask])
        for doc, item in zip(docs, by_subject[subtask], strict=True):
            ctx = task.fewshot_context(doc, num_fewshot=3)
            assert bbh.context(item, pool[subtask]) == ctx, item.id
            conts = [task.config.target_delimiter + c for c in task.doc_to_choice(doc)]
            assert bbh.continuations(item) == conts, item.id
            assert item.gold == gold_of(task, doc), item.id
            # Log-likelihoods that often rank raw and per-character scores differently.
            lls = [-rng.uniform(0.1, 3.0) * len(c) for c in item.choices]
            theirs = task.process_results(doc, [(ll, False) for ll in lls])
            assert bbh.metrics(lls, item) == {"acc_norm": theirs["acc_norm"]}, item.id


def test_fewer_examples_and_zero_shot(shared_data):
    items = bbh.load_bbh(shared_data, subjects=["sports_understanding"])
    _, pool = bbh.fewshot(items, shared_data)
    one = bbh.with_shots(pool, 1)["sports_understanding"]
    rows = {"sports_understanding": raw_rows(shared_data, "sports_understanding")}
    task = lm_eval_tasks(["sports_understanding"], rows)["sports_understanding"]
    doc = task.test_docs()[0]
    assert bbh.context(items[0], one) == task.fewshot_context(doc, num_fewshot=1)
    none = bbh.with_shots(pool, 0)["sports_understanding"]
    assert bbh.context(items[0], none) == task.fewshot_context(doc, num_fewshot=0)
    with pytest.raises(PlatypusError, match="num_fewshot 4 is more than the 3"):
        bbh.with_shots(pool, 4)


def test_export_is_the_leaderboard_task(shared_data, tmp_path):
    # The exported YAMLs (for --engine lm-eval) give lm-eval the leaderboard's requests.
    subjects = ["object_counting", "ruin_names", "snarks"]
    items = bbh.load_bbh(shared_data, subjects=subjects)
    items = [i for i in items if int(i.id.rsplit("/", 1)[1]) < 60]  # ruin_names/44 has no gold
    _, pool = bbh.fewshot(items, shared_data)
    names = bbh.export(tmp_path, items, bbh.with_shots(pool, 3))
    assert names == [f"pl_bbh_{s}" for s in sorted(subjects)]
    from lm_eval.tasks import TaskManager

    ours = TaskManager(include_path=str(tmp_path), include_defaults=False).load(names)["tasks"]
    theirs = lm_eval_tasks(subjects, {s: raw_rows(shared_data, s)[:60] for s in subjects})
    for subtask in subjects:
        a, b = ours[f"pl_bbh_{subtask}"], theirs[subtask]
        docs_a, docs_b = list(a.test_docs()), list(b.test_docs())
        assert len(docs_a) == len(docs_b) == 60
        for da, db in zip(docs_a, docs_b, strict=True):
            assert a.fewshot_context(da, num_fewshot=3) == b.fewshot_context(db, num_fewshot=3)
            assert a.doc_to_choice(da) == b.doc_to_choice(db)
            assert gold_of(a, da) == gold_of(b, db)


# --- errors ----------------------------------------------------------------------------------


@pytest.fixture
def small_copy(shared_data, tmp_path) -> Path:
    """A data root holding the choices file and two subtasks' rows and prompts."""
    (tmp_path / "bbh" / "bbh").mkdir(parents=True)
    (tmp_path / "bbh" / "cot-prompts").mkdir()
    src = shared_data / "bbh"
    shutil.copy(src / "leaderboard_bbh_mc_choices.json", tmp_path / "bbh")
    for s in ("navigate", "snarks"):
        shutil.copy(src / "bbh" / f"{s}.json", tmp_path / "bbh" / "bbh")
        shutil.copy(src / "cot-prompts" / f"{s}.txt", tmp_path / "bbh" / "cot-prompts")
    return tmp_path


def test_malformed_row_is_one_line_naming_file_and_row(small_copy):
    path = small_copy / "bbh" / "bbh" / "snarks.json"
    data = json.loads(path.read_text())
    del data["examples"][7]["target"]
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as err:
        bbh.load_bbh(small_copy, subjects=["snarks"])
    assert str(err.value) == f"{path}: row 7: expected non-empty string input and target"
    assert len(bbh.load_bbh(small_copy, subjects=["navigate"])) == 250


def test_bad_choices_file_prompt_file_and_subjects(small_copy):
    prompt = small_copy / "bbh" / "cot-prompts" / "navigate.txt"
    prompt.write_text(prompt.read_text().replace("So the answer is No.", "No.", 1))
    items = bbh.load_bbh(small_copy, subjects=["navigate"])
    with pytest.raises(DataError, match=r"navigate.txt: row \d: an exemplar does not end"):
        bbh.fewshot(items, small_copy)
    with pytest.raises(PlatypusError, match=r"unknown subtasks \['navgate'\]"):
        bbh.load_bbh(small_copy, subjects=["navgate"])
    with pytest.raises(DataError, match="causal_judgement.json: file not found|No such file"):
        bbh.load_bbh(small_copy, subjects=["causal_judgement"])
    choices = small_copy / "bbh" / "leaderboard_bbh_mc_choices.json"
    data = json.loads(choices.read_text())
    data["tasks"]["snarks"]["doc_to_choice"] = []
    choices.write_text(json.dumps(data))
    with pytest.raises(DataError) as err:
        bbh.load_bbh(small_copy, subjects=["snarks"])
    assert "\n" not in str(err.value) and "row snarks" in str(err.value)


# --- SmolLM2: our scorer against lm-eval's HF model ------------------------------------------


@pytest.fixture(scope="module")
def models(smollm2_pair):
    """(our scorer, lm-eval's HF model): SmolLM2, fp32, CPU, shared by the session."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return LoglikScorer(model, tokenizer), theirs


def compare(models, shared_data, subtasks: list[str], limit: int) -> int:
    """Our results and lm-eval's on the first `limit` rows of each subtask; items compared."""
    from lm_eval import simple_evaluate

    from platypus.eval.lm_eval_engine import no_git_describe
    from platypus.eval.run import aggregate, prepare, score_task

    scorer, harness = models
    rows = {s: raw_rows(shared_data, s)[:limit] for s in subtasks}
    with leaderboard(subtasks, rows) as (manager, names), no_git_describe():
        out = simple_evaluate(model=harness, tasks=names, task_manager=manager, log_samples=True)
    items, pool = prepare("bbh", shared_data, subjects=subtasks)
    items = [i for i in items if int(i.id.rsplit("/", 1)[1]) < limit]
    ours = score_task(scorer, "bbh", items, pool)
    for item, result in zip(items, ours, strict=True):
        samples = out["samples"][f"leaderboard_bbh_{item.subject}"]
        (sample,) = [x for x in samples if x["doc_id"] == int(item.id.rsplit("/", 1)[1])]
        assert sample["arguments"][0][0] == bbh.context(item, pool[item.subject])
        theirs = [float(r[0][0]) for r in sample["resps"]]
        assert result.lls == pytest.approx(theirs, abs=2e-3), item.id
        assert result.metrics == {"acc_norm": float(sample["acc_norm"])}, item.id
    summary = aggregate("bbh", items, ours)  # per subject too: the leaderboard's subtasks
    assert list(summary["subjects"]) == sorted(subtasks)
    assert summary["acc_norm"] == sum(r.metrics["acc_norm"] for r in ours) / len(ours)
    return len(items)


def test_smollm2_matches_lm_eval(models, shared_data):
    # The two shortest prompts, 2 rows each: word choices ("False"/"True") and lettered options
    # ("(A)"/"(B)") after the 3 examples, which run once as a shared prefix on our side.
    assert compare(models, shared_data, ["boolean_expressions", "hyperbaton"], 2) == 4


@pytest.mark.slow
@pytest.mark.parametrize("subtask", SUBTASKS)
def test_smollm2_matches_lm_eval_on_every_subtask(models, shared_data, subtask):
    # The first row of each of the 24 subtasks (up to 19 choices, 1,100-token prompts); one
    # test per subtask, as lm-eval scores each choice on its whole prompt.
    assert compare(models, shared_data, [subtask], 1) == 1
