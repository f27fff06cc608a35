"""`--engine lm-eval`: the same items scored through lm-evaluation-harness's own `hf` backend
give the same log-likelihoods and per-item metrics as our scorer, in the same result format."""

import json

import pytest

from platypus.config import EvalConfig
from platypus.eval.loglik import LoglikScorer
from platypus.eval.run import compute_policy, prepare, score_task
from platypus.models import load_causal_lm

pytest.importorskip("lm_eval")

# Items per task: each prompt shape once or twice (ARC is 25-shot, GSM8K generated); the
# parity tests (test_eval_parity.py) compare more items against lm-eval itself. TruthfulQA runs
# in the default suite; the others, a minute or more each through lm-eval, in the slow set.
LIMIT = {"truthfulqa_mc": 2, "arc_challenge": 1, "winogrande": 2, "gsm8k": 1}
TASKS = [pytest.param(t, marks=() if t == "truthfulqa_mc" else pytest.mark.slow) for t in LIMIT]


@pytest.fixture(scope="module")
def both(shared_data):
    """Per task, on first use: (our scorer's results, lm-eval's `hf` backend's results)."""
    from platypus.eval.lm_eval_engine import LmEvalEngine

    config = EvalConfig(data_root=str(shared_data), engine="lm-eval", batch_size=1)
    engine = LmEvalEngine(config, compute_policy(config))
    model, tokenizer = load_causal_lm()
    scorer = LoglikScorer(model, tokenizer)
    done: dict = {}

    def scored(task):
        if task not in done:
            items, pool = prepare(task, shared_data, limit=LIMIT[task])
            done[task] = (score_task(scorer, task, items, pool),
                          engine.score_task(task, items, pool))  # fmt: skip
        return done[task]

    return scored


@pytest.mark.parametrize("task", TASKS)
def test_lm_eval_engine_scores_what_ours_scores(both, task):
    ours, theirs = both(task)
    assert len(ours) == LIMIT[task] and [r.id for r in ours] == [r.id for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert b.lls == pytest.approx(a.lls, abs=2e-3), a.id
        assert b.extra_lls == pytest.approx(a.extra_lls, abs=2e-3), a.id
        assert b.metrics.keys() == a.metrics.keys()
        for metric, value in a.metrics.items():
            assert b.metrics[metric] == pytest.approx(value, abs=1e-3), (a.id, metric)
        assert b.text == a.text, a.id  # GSM8K: the same completion; None for the others


@pytest.mark.slow  # 11 s; the engine's per-task scores stay in the default suite
def test_lm_eval_engine_through_the_cli(shared_data, tmp_path, capsys):
    from platypus.cli import main
    from platypus.tasks import load_task

    item = load_task("truthfulqa_mc", shared_data)[0]
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text(json.dumps({"benchmark_id": item.id, "category": "duplicate"}) + "\n")
    code = main(["eval", "--engine", "lm-eval", "--tasks", "truthfulqa_mc", "--limit", "2",
                 "--no-cache", "--contamination", str(leaks), "--output-dir", str(tmp_path / "e"),
                 "--data-root", str(shared_data)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    results = json.loads((tmp_path / "e" / "results.json").read_text())
    task = results["tasks"]["truthfulqa_mc"]
    assert results["settings"]["engine"] == "lm-eval"
    assert task["summary"]["items"] == 2 and len(task["items"]) == 2
    assert task["split"]["contaminated"]["items"] == 1 and task["split"]["clean"]["items"] == 1
    assert "| truthfulqa_mc | mc2 |" in out


@pytest.mark.slow  # 10 s: a third full lm-eval run; the engine's scores stay in the default suite
def test_lm_eval_engine_runs_no_git_outside_a_repository(shared_data, tmp_path, monkeypatch,
                                                         capfd):  # fmt: skip
    """lm-eval records the working directory's git commit by running `git describe`, whose
    "fatal: not a git repository" went to our stderr outside a repository; the engine runs the
    harness without it (and without its `num_fewshot` when none is given)."""
    import shutil

    from lm_eval import evaluator

    from platypus.eval.lm_eval_engine import LmEvalEngine, no_git_describe

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # no repository above
    original = evaluator.get_git_commit_hash
    if shutil.which("git"):  # the cause: what the harness's own function prints here
        original()
        assert "not a git repository" in capfd.readouterr().err
    with no_git_describe():
        assert evaluator.get_git_commit_hash() is None
    assert evaluator.get_git_commit_hash is original

    config = EvalConfig(data_root=str(shared_data), engine="lm-eval", batch_size=1)
    items, pool = prepare("truthfulqa_mc", shared_data, limit=1)
    capfd.readouterr()
    (result,) = LmEvalEngine(config, compute_policy(config)).score_task("truthfulqa_mc", items,
                                                                        pool)  # fmt: skip
    err = capfd.readouterr().err
    assert result.id == items[0].id and result.extra_lls
    assert "git" not in err, err
