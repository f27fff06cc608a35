"""The evaluation stage as the pipeline runs it: one model's scores (standalone, or a run's base,
fine-tuned and merged models) and their summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.contract import Stage, Summary
from platypus.eval.config import EvalConfig
from platypus.train.stage import base_weights


class TaskScore(BaseModel):
    metric: str
    score: float  # a fraction, as results.json holds it
    items: int
    shots: int | None = None  # few-shot examples per item
    clean: float | None = None
    clean_items: int | None = None
    contaminated: float | None = None
    contaminated_items: int | None = None


class AverageScore(BaseModel):
    """A leaderboard's six-task average (over the tasks that were scored): v1's under the
    harness protocol's rules, v2's of the normalised scores."""

    value: float
    tasks: int
    complete: bool  # all six tasks were scored
    clean: float | None = None
    contaminated: float | None = None
    name: str = "leaderboard-v1"
    of: list[str] = []  # the average's six tasks
    scores: dict[str, float] = {}  # what each scored task adds (v2: its normalised score)


class EvalSummary(Summary):
    label: str
    tasks: dict[str, TaskScore]
    settings: dict
    average: AverageScore | None = None  # the protocol's own (v1's; leaderboard-v2: v2's)
    averages: dict[str, AverageScore] = {}  # every leaderboard average some task counts in

    def counts(self) -> dict[str, int | float]:
        return {task: t.score for task, t in self.tasks.items()}


class EvalStage(Stage):
    """Scores one model. Standalone (`platypus eval`) the model comes from the config; in a run,
    `base` is the recipe's base, `finetuned` the base with the trained adapter, `merged` the
    merge."""

    section = "eval"
    config_model = EvalConfig
    summary_model = EvalSummary
    artefacts = ("results",)
    last = "results"
    feeds = {
        "base": {},
        "finetuned": {"adapter": "train.adapter"},
        "merged": {"model": "merge.model"},
    }

    def __init__(self, label: str | None = None):
        self.label = label
        self.name = f"eval-{label}" if label else "eval"
        self.reads = self.feeds.get(label, {}) | (
            {"contamination": "decontaminate.leaks"} if label else {}
        )

    def config(self, recipe) -> EvalConfig:
        if self.label is None:
            return recipe.eval
        # a run's evaluations score its own models; `contamination` comes from its check
        model = recipe.train.model if self.label in ("base", "finetuned") else None
        return recipe.eval.model_copy(update={"model": model, "adapter": None})

    def output(self, artefact: str, config: EvalConfig, folder: Path) -> Path:
        from platypus.eval.runner import RESULTS

        return folder / RESULTS

    def outside(self, config: EvalConfig, recipe) -> dict:
        from platypus.eval.runner import task_data_hashes

        inputs = {"contaminated": list(recipe.data.decontaminate.remove)}
        inputs["data"] = task_data_hashes(config)  # an edited test item is another result
        if self.label == "base":
            inputs["base"] = base_weights(config.model)
        return inputs

    def run(self, config: EvalConfig, out: Path, recipe) -> EvalSummary:
        from platypus.eval.protocols import get_protocol
        from platypus.eval.runner import item_metric, run_eval

        config = config.model_copy(update={"output_dir": str(out)})
        results = run_eval(config, contaminated=recipe.data.decontaminate.remove)
        tasks = {}
        for task, r in results["tasks"].items():
            metric = r["headline"]
            split = r.get("split", {})
            clean, dirty = split.get("clean", {}), split.get("contaminated", {})
            tasks[task] = TaskScore(
                metric=metric,
                score=r["summary"][metric],
                items=r["summary"]["items"],
                shots=r.get("num_fewshot"),
                clean=clean.get(item_metric(metric)),
                clean_items=clean.get("items"),
                contaminated=dirty.get(item_metric(metric)),
                contaminated_items=dirty.get("items"),
            )
        averages = {n: _average_score(n, a) for n, a in results.get("averages", {}).items()}
        return EvalSummary(
            label=self.label or "model",
            tasks=tasks,
            settings=results["settings"],
            average=_average_score(
                get_protocol(config.harness).average_name, results.get("average", {})
            ),
            averages={n: a for n, a in averages.items() if a is not None},
        )

    def describe(self, summary: EvalSummary, config: BaseModel, out: Path) -> list[str]:
        from platypus.eval.runner import table

        return [table(_results_of(summary)), f"results: {self.output('results', config, out)}"]


def _average_score(name: str, average: dict) -> AverageScore | None:
    """The eval results' block of one average (all items, clean, contaminated) as a summary."""
    a = average.get("all", {})
    if a.get("value") is None:
        return None
    return AverageScore(
        value=a["value"],
        tasks=len(a["tasks"]),
        complete=a["complete"],
        clean=average.get("clean", {}).get("value"),
        contaminated=average.get("contaminated", {}).get("value"),
        name=name,
        of=a["of"],
        scores=a["tasks"],
    )


def _results_of(summary: EvalSummary) -> dict:
    """The shape `eval.runner.table` prints."""
    from platypus.eval.runner import item_metric

    tasks = {}
    for task, t in summary.tasks.items():
        split = {}
        for part in ("clean", "contaminated"):
            if getattr(summary.tasks[task], f"{part}_items") is not None:
                split[part] = {
                    "items": getattr(t, f"{part}_items"),
                    item_metric(t.metric): getattr(t, part),
                }
        tasks[task] = {
            "summary": {t.metric: t.score, "items": t.items},
            "split": split,
            "headline": t.metric,
            "num_fewshot": t.shots,
        }
    out: dict = {"tasks": tasks, "settings": summary.settings}

    def block(a: AverageScore) -> dict:
        return {
            "all": {"value": a.value, "complete": a.complete, "tasks": a.scores, "of": a.of},
            **{p: {"value": v} for p, v in (("clean", a.clean), ("contaminated", a.contaminated))
               if v is not None},
        }  # fmt: skip

    if summary.average is not None:
        out["average"] = block(summary.average)
    out["averages"] = {n: block(a) for n, a in summary.averages.items()}
    return out
