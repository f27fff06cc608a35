"""The similarity exclusion stage as the pipeline runs it: its artefacts and summary."""

from __future__ import annotations

from pathlib import Path

from platypus.contract import Stage, Summary, hub_card
from platypus.data.dedup.config import DedupConfig


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
    config_model = DedupConfig
    summary_model = DedupSummary
    reads = {"input": "build.records"}
    artefacts = ("kept", "kept_parquet", "removed", "report", "summary")
    extra_outputs = property(hub_card)
    last = "summary"

    def output(self, artefact: str, config: DedupConfig, folder: Path) -> Path:
        from platypus.data.dedup.run import output_paths

        return output_paths(folder, config)[artefact]

    def run(self, config: DedupConfig, out: Path, recipe) -> DedupSummary:
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
