"""The pipeline's stages and their registry: build -> dedup -> decontaminate -> train -> merge ->
eval of the base, fine-tuned and merged models.

Each stage is a thin declaration over the package that does the work: what it reads, where its
artefacts are (their file names are defined by the producing package, once), what it reports.
Adding a stage is one class here and one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from platypus.config import Recipe
from platypus.data.build.config import BuildConfig
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.dedup.config import DedupConfig
from platypus.eval.config import EvalConfig
from platypus.merge.config import MergeConfig
from platypus.pipeline.manifest import tree_fingerprint
from platypus.pipeline.stage import Stage, Summary
from platypus.settings import EmbeddingSettings, result_config
from platypus.train.config import TrainConfig


def base_weights(model: str | None) -> str:
    """A model's identity: the hashes of its weights and of the other files its load reads
    when local, else its hub id (the same value training checks its checkpoints against)."""
    from platypus.train.recipe import base_identity

    return base_identity(model)


def _hub_card(stage) -> tuple[str, ...]:
    """The data stages' outputs besides their artefacts: the Hub dataset card (the name from
    the module that writes it; imported here, not at start-up)."""
    from platypus.cards import CARD

    return (CARD,)


# ---- build ---------------------------------------------------------------------------------


class SourceRow(BaseModel):
    name: str
    data_source: str
    license: str
    enabled: bool
    raw_rows: int
    kept: int


class BuildSummary(Summary):
    rows: int
    content_sha256: str
    sources: list[SourceRow]


class BuildStage(Stage):
    name = "build"
    section = "data.build"
    summary_model = BuildSummary
    artefacts = ("records", "card", "summary")
    extra_outputs = property(_hub_card)
    last = "summary"

    def output(self, artefact: str, config: BuildConfig, folder: Path) -> Path:
        from platypus.data.build import output_paths

        paths = output_paths(folder, config.name)
        return paths["jsonl" if artefact == "records" else artefact]

    def outside(self, config: BuildConfig, recipe: Recipe) -> dict:
        return {"data": tree_fingerprint(Path(config.data_root).resolve())}

    def run(self, config: BuildConfig, out: Path, recipe: Recipe) -> BuildSummary:
        from platypus.data.build import build

        result = build(config, out)
        return BuildSummary(
            rows=len(result.records),
            content_sha256=result.content_hash,
            sources=[
                SourceRow(name=s.name, data_source=s.data_source, license=s.license,
                          enabled=s.enabled, raw_rows=s.raw_rows, kept=s.kept)
                for s in result.sources
            ],
        )  # fmt: skip

    def describe(self, summary: BuildSummary, config: BuildConfig, out: Path) -> list[str]:
        lines = [f"built {summary.rows:,} rows -> {self.output('records', config, out)}"]
        lines += [
            f"  {s.name:<11} {s.raw_rows:>7,} read {s.kept:>7,} kept"
            for s in summary.sources
            if s.enabled
        ]
        card = self.output("card", config, out)
        lines.append(f"card: {card}  sha256: {summary.content_sha256[:16]}")
        return lines


# ---- dedup ---------------------------------------------------------------------------------


class DedupSummary(Summary):
    rows_in: int
    removed_exact: int
    removed_semantic: int  # near duplicates, by cosine or MinHash
    rows_kept: int
    embedded: int
    threshold: float
    per_source: dict[str, dict[str, int]]
    nn_histogram: list[list[float]]
    rows_skipped: int = 0  # mapped rows with no text to compare, kept as they are


class DedupStage(Stage):
    name = "dedup"
    section = "data.dedup"
    summary_model = DedupSummary
    reads = {"input": "build.records"}
    artefacts = ("kept", "kept_parquet", "removed", "report", "summary")
    extra_outputs = property(_hub_card)
    last = "summary"

    def output(self, artefact: str, config: DedupConfig, folder: Path) -> Path:
        from platypus.data.dedup.run import output_paths

        return output_paths(folder, config)[artefact]

    def run(self, config: DedupConfig, out: Path, recipe: Recipe) -> DedupSummary:
        from platypus.data.dedup.report import nn_histogram
        from platypus.data.dedup.run import dedup, per_source

        result = dedup(config, config.input, out)
        exact = sum(m.stage == "exact" for m in result.removals)
        return DedupSummary(
            rows_in=result.rows_in,
            removed_exact=exact,
            removed_semantic=len(result.removals) - exact,
            rows_kept=result.rows_out,
            embedded=result.embedded,
            threshold=config.threshold,
            per_source=per_source(result),
            nn_histogram=nn_histogram(result.neighbours.nn_sim),
            rows_skipped=len(result.mapped.skipped) if result.mapped else 0,
        )

    def describe(self, summary: DedupSummary, config: DedupConfig, out: Path) -> list[str]:
        skipped = ""
        if summary.rows_skipped:
            skipped = f" ({summary.rows_skipped:,} with no text to compare, kept as they are)"
        lines = [
            f"{summary.rows_in:,} rows: {summary.removed_exact:,} exact and "
            f"{summary.removed_semantic:,} near duplicates removed, {summary.rows_kept:,} kept"
            f"{skipped} -> {self.output('kept', config, out)}",
            f"report: {self.output('report', config, out)}  (embedded {summary.embedded:,} texts, "
            "rest cached)"
            if config.method != "minhash"
            else f"report: {self.output('report', config, out)}  (MinHash-LSH, nothing embedded)",
        ]
        if config.mapped:
            lines.append(f"removed ids: {self.output('removed', config, out)}")
        return lines


# ---- decontaminate -------------------------------------------------------------------------


class LeakExample(BaseModel):
    category: str
    similarity: float
    ngram_coverage: float
    train_id: str
    train_text: str
    benchmark_id: str
    benchmark_text: str


class DecontaminateSummary(Summary):
    rows_in: int
    leak_pairs: int
    rows_removed: int
    rows_clean: int
    benchmark_items: dict[str, int]
    pairs: dict[str, int]
    rows_removed_per_source: dict[str, int]
    per_source_and_benchmark: dict[str, dict[str, dict[str, int]]]
    remove: list[str]
    examples: list[LeakExample]  # the most similar pairs of each category, for the report


class DecontaminateStage(Stage):
    name = "decontaminate"
    section = "data.decontaminate"
    summary_model = DecontaminateSummary
    reads = {"input": "dedup.kept"}
    artefacts = ("clean", "clean_parquet", "leaks", "report", "summary")
    extra_outputs = property(_hub_card)
    last = "summary"
    examples_per_category = 4

    def output(self, artefact: str, config: DecontaminateConfig, folder: Path) -> Path:
        from platypus.data.decontaminate.run import output_paths

        return output_paths(folder, config)[artefact]

    def outside(self, config: DecontaminateConfig, recipe: Recipe) -> dict:
        return {"benchmarks": tree_fingerprint(Path(config.data_root).resolve())}

    def run(self, config: DecontaminateConfig, out: Path, recipe: Recipe) -> DecontaminateSummary:
        from collections import Counter

        from platypus.data.decontaminate.classify import CATEGORIES
        from platypus.data.decontaminate.run import counts, decontaminate

        result = decontaminate(config, config.input, out)
        examples = []
        for category in CATEGORIES:
            leaks = [k for k in result.leaks if k.category == category]
            leaks.sort(key=lambda k: (-k.evidence.similarity, k.record.id, k.item.id))
            examples += [
                LeakExample(
                    category=category,
                    similarity=k.evidence.similarity,
                    ngram_coverage=k.evidence.ngram_coverage,
                    train_id=k.record.id,
                    train_text=k.record.instruction,
                    benchmark_id=k.item.id,
                    benchmark_text=k.item.question,
                )
                for k in leaks[: self.examples_per_category]
            ]
        removed = Counter(r.data_source for r in result.records if r.id in result.removed_ids)
        return DecontaminateSummary(
            rows_in=result.rows_in,
            leak_pairs=len(result.leaks),
            rows_removed=len(result.removed_ids),
            rows_clean=result.rows_out,
            benchmark_items=dict(Counter(i.benchmark for i in result.items)),
            pairs=dict(Counter(k.category for k in result.leaks)),
            rows_removed_per_source=dict(sorted(removed.items())),
            per_source_and_benchmark=counts(result),
            remove=list(config.remove),
            examples=examples,
        )

    def describe(
        self, summary: DecontaminateSummary, config: DecontaminateConfig, out: Path
    ) -> list[str]:
        from platypus.data.decontaminate.classify import CATEGORIES

        flagged = ", ".join(f"{summary.pairs.get(c, 0):,} {c}" for c in CATEGORIES)
        items = sum(summary.benchmark_items.values())
        lines = [
            f"{summary.rows_in:,} rows vs {items:,} benchmark items: {flagged} pairs; "
            f"{summary.rows_removed:,} rows removed, {summary.rows_clean:,} clean -> "
            f"{self.output('clean', config, out)}",
            f"report: {self.output('report', config, out)}",
        ]
        if config.mapped:
            lines.append(f"removed ids: {self.output('removed', config, out)}")
        return lines


# ---- train ---------------------------------------------------------------------------------


class TrainSummary(Summary):
    steps: int
    examples: int
    rows: int
    validation_examples: int
    processes: int
    warmup_steps: int
    tokens: int
    tokens_per_s: float
    peak_rss_mb: float
    val_loss_start: float | None
    val_loss_end: float | None
    settings: dict  # the hyper-parameters the report names
    history: list[dict]  # metrics.jsonl: the loss curves

    def counts(self) -> dict[str, int | float]:
        keys = ("steps", "examples", "tokens_per_s", "val_loss_start", "val_loss_end")
        return {k: v for k, v in self.model_dump(include=set(keys)).items() if v is not None}


class TrainStage(Stage):
    name = "train"
    section = "train"
    summary_model = TrainSummary
    reads = {"input": "decontaminate.clean"}
    artefacts = ("adapter",)
    resumable = True

    def output(self, artefact: str, config: TrainConfig, folder: Path) -> Path:
        from platypus.train.loop import ADAPTER_DIR

        return folder / ADAPTER_DIR

    def outside(self, config: TrainConfig, recipe: Recipe) -> dict:
        return {"base": base_weights(config.model)}

    def run(self, config: TrainConfig, out: Path, recipe: Recipe) -> TrainSummary:
        from platypus.train.loop import read_history, train

        result = train(config, config.input, out)
        s = result.summary
        return TrainSummary(
            steps=s["steps"],
            examples=s["examples"],
            rows=s["rows"],
            validation_examples=s["validation_examples"],
            processes=s["processes"],
            warmup_steps=s["warmup_steps"],
            tokens=s["tokens"],
            tokens_per_s=s["tokens_per_s"],
            peak_rss_mb=s["peak_memory_mb"]["rss"],
            val_loss_start=s["val_loss_start"],
            val_loss_end=s["val_loss_end"],
            settings=config.model_dump(
                include={"lora", "learning_rate", "lr_scheduler", "global_batch_size"}
            ),
            history=read_history(out),
        )

    def describe(self, summary: TrainSummary, config: BaseModel, out: Path) -> list[str]:
        val = ""
        if summary.val_loss_start is not None:
            val = f", held-out loss {summary.val_loss_start:.4f} -> {summary.val_loss_end:.4f}"
        plural = "es" if summary.processes > 1 else ""
        return [
            f"trained {summary.steps} step{'s' if summary.steps != 1 else ''} on "
            f"{summary.examples:,} examples "
            f"({summary.processes} process{plural}){val}; {summary.tokens_per_s:,.0f} tokens/s, "
            f"peak RSS {summary.peak_rss_mb:,.0f} MB -> {self.output('adapter', config, out)}"
        ]


# ---- merge ---------------------------------------------------------------------------------


class MergeSummary(Summary):
    method: str
    seconds: float
    peak_rss_mb: float
    weight_files: int
    compatibility: dict | None = None


class MergeStage(Stage):
    name = "merge"
    section = "merge"
    summary_model = MergeSummary
    reads = {"adapter": "train.adapter"}
    artefacts = ("model", "card")
    last = "card"

    def wants(self, field: str, config: MergeConfig) -> bool:
        from platypus.merge.methods import METHODS

        return METHODS[config.method].uses_adapter

    def config(self, recipe: Recipe) -> MergeConfig:
        from platypus.merge.methods import METHODS

        config = recipe.merge
        method = METHODS[config.method]
        wanted = method.uses_adapter or method.needs_base
        if wanted and config.base_model is None and recipe.train.model is not None:
            # the adapter's base, or the base a method requires, is the model the recipe trains
            # (where a base is optional, as for multislerp, none given means none)
            config = config.model_copy(update={"base_model": recipe.train.model})
        return config

    def output(self, artefact: str, config: MergeConfig, folder: Path) -> Path:
        from platypus.merge.run import CARD

        return folder if artefact == "model" else folder / CARD

    def outside(self, config: MergeConfig, recipe: Recipe) -> dict:
        from platypus.hashing import file_sha256
        from platypus.merge.references import reference_identity

        inputs = {"base": reference_identity(config.base_model or recipe.train.model)}
        inputs |= {m.model: reference_identity(m.model) for m in config.models}
        inputs |= {s.model: reference_identity(s.model) for p in config.slices for s in p.sources}
        if config.overlap:
            inputs["overlap"] = [file_sha256(p) for p in config.overlap]
            inputs["embedding"] = _embedding(recipe)
        return inputs

    def check(self, config: MergeConfig) -> None:
        from platypus.merge.methods import get

        if config.method != "adapter" or config.adapter:  # a recipe fills the adapter in later
            get(config.method).validate(config)
        if config.chat_template and config.chat_template != "auto":  # a name that exists
            from platypus.merge.chat_template import resolve_chat_template

            resolve_chat_template(config.chat_template, [])

    def run(self, config: MergeConfig, out: Path, recipe: Recipe) -> MergeSummary:
        from platypus.merge.run import merge

        card = merge(
            config.model_copy(update={"output_dir": str(out)}),
            embedding=recipe.data.dedup,
        ).card
        return MergeSummary(
            method=card["method"],
            seconds=card["seconds"],
            peak_rss_mb=card["peak_rss_mb"],
            weight_files=len(card["output"]),
            compatibility=card.get("compatibility"),
        )

    def describe(self, summary: MergeSummary, config: BaseModel, out: Path) -> list[str]:
        extra = ""
        if c := summary.compatibility:
            extra = f"; ||delta||/||W|| max {c['delta_ratio_max']:.4f} over {c['modules']} weights"
        return [
            f"merged ({summary.method}) in {summary.seconds} s, peak RSS "
            f"{summary.peak_rss_mb:,.0f} MB{extra} -> {out}"
        ]


def _embedding(recipe: Recipe) -> dict:
    settings = EmbeddingSettings.model_validate(
        recipe.data.dedup.model_dump(include=set(EmbeddingSettings.model_fields))
    )
    return result_config(settings)


# ---- eval ----------------------------------------------------------------------------------


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

    def config(self, recipe: Recipe) -> EvalConfig:
        if self.label is None:
            return recipe.eval
        # a run's evaluations score its own models; `contamination` comes from its check
        model = recipe.train.model if self.label in ("base", "finetuned") else None
        return recipe.eval.model_copy(update={"model": model, "adapter": None})

    def output(self, artefact: str, config: EvalConfig, folder: Path) -> Path:
        from platypus.eval.runner import RESULTS

        return folder / RESULTS

    def outside(self, config: EvalConfig, recipe: Recipe) -> dict:
        from platypus.eval.runner import task_data_hashes

        inputs = {"contaminated": list(recipe.data.decontaminate.remove)}
        inputs["data"] = task_data_hashes(config)  # an edited test item is another result
        if self.label == "base":
            inputs["base"] = base_weights(config.model)
        return inputs

    def run(self, config: EvalConfig, out: Path, recipe: Recipe) -> EvalSummary:
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


# ---- the registry --------------------------------------------------------------------------

STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        BuildStage(),
        DedupStage(),
        DecontaminateStage(),
        TrainStage(),
        MergeStage(),
        EvalStage(),
        EvalStage("base"),
        EvalStage("finetuned"),
        EvalStage("merged"),
    )
}
PIPELINE = ("build", "dedup", "decontaminate", "train", "merge")  # then the recipe's evals


def fed_inputs(
    stage: Stage, config: BaseModel, locate: Callable[[str], tuple[BaseModel, Path]]
) -> dict[str, tuple[str, str]]:
    """field -> (producing stage, artefact path) for each of `stage.reads` that applies under
    `config`; `locate(name)` gives the producing stage's configuration and output folder (this
    run's folder under `platypus run`, its own output folder for a stage command)."""
    fed = {}
    for field, ref in stage.reads.items():
        if stage.wants(field, config):
            name, artefact = ref.split(".")
            producer_config, folder = locate(name)
            fed[field] = (name, str(STAGES[name].output(artefact, producer_config, folder)))
    return fed
