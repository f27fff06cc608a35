"""The evaluation stage as the pipeline runs it: one model's scores (standalone, or a run's base,
fine-tuned and merged models) and their summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.cli_flags import batch_size, choices, given, split
from platypus.contract import Stage, Summary
from platypus.eval.config import EvalConfig
from platypus.train.identity import base_identity


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
        # the standalone stage is `platypus eval`; a run's evaluations follow its recipe's
        # `eval_models` (platypus.pipeline.run)
        self.in_pipeline = False
        self.command = None if label else ("eval",)
        self.api_name = None if label else "evaluate"

    help = "leaderboard tasks (log-likelihood; GSM8K generated)"
    # a run's base model; the categories the contamination check removes (the clean split's)
    links = {"trained_base": "train.model", "contaminated": "data.decontaminate.remove"}
    loads_models = True

    def add_flags(self, parser) -> None:
        from platypus.tasks import TASKS

        tasks = ",".join(TASKS)
        parser.add_argument("--model", help="model folder or hub id (default: packaged SmolLM2)")
        parser.add_argument("--adapter", help="PEFT adapter folder applied on top of the model")
        parser.add_argument("--tasks", help=f"comma-separated: {tasks}")
        parser.add_argument("--limit", type=int, help="N items of each task (see --sample)")
        parser.add_argument(
            "--sample",
            choices=choices(EvalConfig, "sample"),
            help="which N items: first (default) or "
            "stratified (every MMLU subject in proportion, spread through each file)",
        )
        parser.add_argument(
            "--batch-size",
            type=batch_size,
            metavar="N|auto",
            help="questions per forward pass (default 8); auto: the largest that fits the "
            "device's free memory (recorded in results.json; scores do not depend on it)",
        )
        parser.add_argument(
            "--num-fewshot",
            type=int,
            metavar="N",
            help="few-shot examples per item for every task (default: each task's own: ARC 25, "
            "HellaSwag 10, MMLU 5, TruthfulQA 0, Winogrande 5, GSM8K 5)",
        )
        parser.add_argument(
            "--data-root", help="folder with the benchmark data (default ../shared/data)"
        )
        parser.add_argument(
            "--contamination", help="leaks.jsonl: split scores into clean/contaminated"
        )
        parser.add_argument(
            "--engine",
            choices=choices(EvalConfig, "engine"),
            help="platypus (default) or lm-eval: the same items through lm-evaluation-harness",
        )
        parser.add_argument(
            "--harness",
            choices=choices(EvalConfig, "harness"),
            help="whose rules: lm-eval-0.4 (default) or leaderboard-v1 (b281b09's few-shot "
            "draws, MMLU as the mean of subjects, the six-task average)",
        )
        parser.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on CPU)")
        parser.add_argument("--no-cache", action="store_true", help="recompute cached task results")

    def flag_updates(self, args, config: EvalConfig) -> dict:
        from platypus.train.stage import adapter_in

        updates = given(args, "model", "adapter", "limit", "sample", "batch_size", "data_root",
                        "contamination", "engine", "harness", "num_fewshot")  # fmt: skip
        if "adapter" in updates:
            updates["adapter"] = adapter_in(updates["adapter"])
        if args.tasks is not None:
            updates["tasks"] = split(args.tasks)
        if args.bf16:
            updates["bf16"] = True
        if args.no_cache:
            updates["cache"] = False
        return updates

    def config(self, recipe) -> EvalConfig:
        if self.label is None:
            return recipe.eval
        # a run's evaluations score its own models; `contamination` comes from its check
        trained = self.linked(recipe, "trained_base")
        model = trained if self.label in ("base", "finetuned") else None
        return recipe.eval.model_copy(update={"model": model, "adapter": None})

    def output(self, artefact: str, config: EvalConfig, folder: Path) -> Path:
        from platypus.eval.runner import RESULTS

        return folder / RESULTS

    def outside(self, config: EvalConfig, recipe) -> dict:
        from platypus.eval.runner import task_data_hashes

        inputs = {"contaminated": list(self.linked(recipe, "contaminated"))}
        inputs["data"] = task_data_hashes(config)  # an edited test item is another result
        if self.label == "base":
            inputs["base"] = base_identity(config.model)
        return inputs

    def run(self, config: EvalConfig, out: Path, recipe) -> EvalSummary:
        from platypus.eval.protocols import get_protocol
        from platypus.eval.runner import item_metric, run_eval

        config = config.model_copy(update={"output_dir": str(out)})
        results = run_eval(config, contaminated=self.linked(recipe, "contaminated"))
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
