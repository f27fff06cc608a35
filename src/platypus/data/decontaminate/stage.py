"""The contamination check as the pipeline runs it: its artefacts, benchmark data and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.cli_flags import given, split
from platypus.contract import Stage, Summary, hub_card
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.hashing import tree_fingerprint


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
    config_model = DecontaminateConfig
    command = ("data", "decontaminate")
    help = "flag and remove benchmark leaks"
    api_name = "decontaminate"
    reads_datasets = True
    loads_models = True
    pushed = ("clean", "dataset")
    summary_model = DecontaminateSummary
    reads = {"input": "dedup.kept"}
    artefacts = ("clean", "clean_parquet", "leaks", "removed", "report", "summary")
    extra_outputs = property(hub_card)
    last = "summary"
    examples_per_category = 4

    def add_flags(self, parser) -> None:
        from platypus.tasks import TASKS

        parser.add_argument(
            "--data-root", help="folder with the benchmark data (default ../shared/data)"
        )
        parser.add_argument("--benchmarks", help=f"comma-separated: {','.join(TASKS)}")
        parser.add_argument(
            "--mmlu-subjects", help="comma-separated MMLU subjects (default: all 57)"
        )

    def flag_updates(self, args, config: DecontaminateConfig) -> dict:
        updates = given(args, "data_root")
        if args.benchmarks is not None:
            updates["benchmarks"] = split(args.benchmarks)
        if args.mmlu_subjects is not None:
            updates["mmlu_subjects"] = split(args.mmlu_subjects)
        return updates

    def output(self, artefact: str, config: DecontaminateConfig, folder: Path) -> Path:
        from platypus.data.decontaminate.run import output_paths

        return output_paths(folder, config)[artefact]

    def outside(self, config: DecontaminateConfig, recipe) -> dict:
        return {"benchmarks": tree_fingerprint(Path(config.data_root).resolve())}

    def run(self, config: DecontaminateConfig, out: Path, recipe) -> DecontaminateSummary:

        from platypus.data.decontaminate.classify import CATEGORIES
        from platypus.data.decontaminate.run import decontaminate

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
        written = result.summary  # decontaminate.json: the numbers are taken from it
        return DecontaminateSummary(
            rows_in=result.rows_in,
            leak_pairs=len(result.leaks),
            rows_removed=written["rows_removed"],
            rows_clean=written["rows_clean"],
            benchmark_items=written["benchmark_items"],
            pairs=written["pairs"],
            rows_removed_per_source=written["rows_removed_per_source"],
            per_source_and_benchmark=written["per_source_and_benchmark"],
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
