"""The Open LLM Leaderboard v2: its six tasks by name, its normalised scores and average, beside
v1's, in configs and in an eval's results."""

import pytest

from platypus.config import DecontaminateConfig, EvalConfig
from platypus.errors import PlatypusError
from platypus.eval.protocols import (
    AVERAGE_TASKS,
    LEADERBOARD_V2,
    LM_EVAL_04,
    V1_AVERAGE,
    V2_AVERAGE,
    V2_TASKS,
    average,
)
from platypus.tasks import get_task, load_task
from platypus.tasks.base import LeaderboardScore


def test_normalisation_as_the_leaderboard_documents_it():
    # The leaderboard's own worked examples (its "Scores normalization" page): GPQA raw 0.6
    # with 4 choices is 46.67; MuSR's three subtasks normalised each, then averaged.
    gpqa = LeaderboardScore(("acc_norm",), chance=0.25)
    assert gpqa.score({"acc_norm": 0.6}) == pytest.approx(0.4667, abs=1e-4)
    assert gpqa.score({"acc_norm": 0.2}) == 0.0  # below chance is 0, not negative
    assert gpqa.score({"acc_norm": 1.0}) == 1.0
    musr = LeaderboardScore(("acc_norm",), chance={"murder": 0.5, "object": 0.2, "team": 1 / 3})
    per = {"murder": 0.7, "object": 0.4, "team": 0.6}
    expected = ((0.7 - 0.5) / 0.5 + (0.4 - 0.2) / 0.8 + (0.6 - 1 / 3) / (2 / 3)) / 3
    assert musr.score({"acc_norm": 0.55, "subjects": per}) == pytest.approx(expected)
    with pytest.raises(PlatypusError, match="no random-guess baseline for subject 'other'"):
        musr.score({"subjects": {**per, "other": 0.5}})
    # Generated answers have no baseline; IFEval is the mean of its two strict accuracies.
    ifeval = LeaderboardScore(("prompt_level_strict_acc", "inst_level_strict_acc"))
    summary = {"prompt_level_strict_acc": 0.3, "inst_level_strict_acc": 0.5}
    assert ifeval.score(summary) == pytest.approx(0.4)
    assert ifeval.score({"prompt_level_strict_acc": 0.3}) is None  # not scored: no value


def test_each_v2_task_declares_its_normalisation():
    assert V2_TASKS == ("ifeval", "bbh", "math_hard", "gpqa", "musr", "mmlu_pro")
    for name in V2_TASKS:
        rule = get_task(name).leaderboard_v2
        assert rule is not None, name
        assert all(m in _metrics_of(name) for m in rule.metrics), name
    assert get_task("gpqa").leaderboard_v2.chance == 0.25
    assert get_task("mmlu_pro").leaderboard_v2.chance == 0.1
    assert get_task("math_hard").leaderboard_v2.chance == 0.0
    bbh = get_task("bbh").leaderboard_v2.chance
    assert len(bbh) == 24 and bbh["boolean_expressions"] == 0.5
    assert bbh["geometric_shapes"] == pytest.approx(1 / 11)  # 11 choices, (A) to (K)
    musr = get_task("musr").leaderboard_v2.chance
    assert sorted(musr.values()) == pytest.approx([0.2, 1 / 3, 0.5])
    for name in AVERAGE_TASKS:  # v1's tasks are not normalised
        assert get_task(name).leaderboard_v2 is None


def _metrics_of(task: str) -> set[str]:
    headline = get_task(task).headline
    return (
        {headline, "prompt_level_strict_acc", "inst_level_strict_acc"}
        if task == "ifeval"
        else {headline}
    )


def test_the_v2_average_of_normalised_scores_beside_v1s():
    summaries = {
        "ifeval": {"prompt_level_strict_acc": 0.3, "inst_level_strict_acc": 0.5},
        "gpqa": {"acc_norm": 0.25},
        "mmlu_pro": {"acc": 0.55},
        "math_hard": {"exact_match": 0.1},
        "arc_challenge": {"acc_norm": 0.5},
    }
    v2 = average(LEADERBOARD_V2, summaries)  # the v2 protocol's own average is v2's
    assert v2["of"] == list(V2_TASKS) and not v2["complete"]
    assert v2["tasks"] == pytest.approx({"ifeval": 0.4, "gpqa": 0.0, "mmlu_pro": 0.5,
                                         "math_hard": 0.1})  # fmt: skip
    assert v2["value"] == pytest.approx(1.0 / 4)
    assert average(LEADERBOARD_V2, summaries, V2_AVERAGE) == v2
    v1 = average(LM_EVAL_04, summaries, V1_AVERAGE)  # the same summaries, v1's average
    assert v1["tasks"] == {"arc_challenge": 0.5}
    assert average(LM_EVAL_04, summaries) == v1  # 0.4's own average is v1's


def test_task_lists_take_the_leaderboards_by_name():
    assert EvalConfig().tasks == list(AVERAGE_TASKS)  # unchanged default: the v1 six
    assert EvalConfig(harness="leaderboard-v2").tasks == list(V2_TASKS)
    both = EvalConfig(tasks=["leaderboard-v1", "leaderboard-v2", "mmlu"]).tasks
    assert both == [*AVERAGE_TASKS, *V2_TASKS]  # each once, in order
    assert EvalConfig(harness="leaderboard-v2", tasks=["gpqa"]).tasks == ["gpqa"]
    assert DecontaminateConfig().benchmarks == list(AVERAGE_TASKS)
    assert DecontaminateConfig(benchmarks=["leaderboard-v2"]).benchmarks == list(V2_TASKS)
    with pytest.raises(ValueError, match="unknown task 'leaderboard-v3'; known: .*leaderboard-v2"):
        EvalConfig(tasks=["leaderboard-v3"])


def test_an_eval_reports_both_averages_with_their_clean_and_contaminated_parts(
    tmp_path, shared_data
):
    """SmolLM2 on two items of MMLU (v1), MMLU-Pro and GPQA (v2), one item of each flagged as
    leaked: results.json has v1's average and v2's normalised one, each over all, clean and
    contaminated items, recomputed here from the per-item metrics; results.md shows both."""
    import json

    from platypus.eval.runner import run_eval

    prepared = {}
    for task in ("mmlu", "mmlu_pro", "gpqa"):
        options = {"subjects": ["abstract_algebra"]} if task == "mmlu" else {}
        prepared[task] = [i.id for i in load_task(task, shared_data, **options)[:2]]
    leaks = tmp_path / "leaks.jsonl"
    leaks.write_text("".join(json.dumps({"benchmark_id": ids[0], "category": "duplicate"}) + "\n"
                             for ids in prepared.values()))  # fmt: skip
    config = EvalConfig(tasks=["mmlu", "mmlu_pro", "gpqa"], mmlu_subjects=["abstract_algebra"],
                        limit=2, data_root=str(shared_data), contamination=str(leaks),
                        output_dir=str(tmp_path / "eval"), cache=False)  # fmt: skip
    results = run_eval(config)
    items = {t: {r["id"]: r["metrics"] for r in results["tasks"][t]["items"]} for t in prepared}

    def part(task: str, metric: str, ids) -> float:
        return sum(items[task][i][metric] for i in ids) / len(ids)

    chance = {"mmlu_pro": (0.1, "acc"), "gpqa": (0.25, "acc_norm")}
    averages = results["averages"]
    assert set(averages) == {"leaderboard-v1", "leaderboard-v2"}
    assert results["average"] == averages["leaderboard-v1"]  # 0.4's own average is v1's
    for name, ids in (("all", None), ("clean", [1]), ("contaminated", [0])):
        v2 = averages["leaderboard-v2"][name]
        want = {}
        for task, (c, metric) in chance.items():
            chosen = prepared[task] if ids is None else [prepared[task][j] for j in ids]
            want[task] = max(0.0, (part(task, metric, chosen) - c) / (1 - c))
        assert v2["tasks"] == pytest.approx(want), name
        assert v2["value"] == pytest.approx(sum(want.values()) / 2), name
        chosen = prepared["mmlu"] if ids is None else [prepared["mmlu"][j] for j in ids]
        assert averages["leaderboard-v1"][name]["value"] == pytest.approx(
            part("mmlu", "acc", chosen)
        )
    table = (tmp_path / "eval" / "results.md").read_text()
    assert "average of 1/6** (lm-eval-0.4)" in table
    assert "average of 2/6** (leaderboard-v2, normalised)" in table
