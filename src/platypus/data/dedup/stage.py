"""The similarity exclusion stage as the pipeline runs it: its artefacts and summary."""

from __future__ import annotations

from pathlib import Path

from platypus.cli_flags import choices, given
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
    command = ("data", "dedup")
    help = "exact and near-duplicate removal"
    api_name = "dedup"
    reads_datasets = True
    loads_models = True
    pushed = ("kept", "dataset")
    summary_model = DedupSummary
    reads = {"input": "build.records"}
    artefacts = ("kept", "kept_parquet", "removed", "report", "summary")
    extra_outputs = property(hub_card)
    last = "summary"

    def add_flags(self, parser) -> None:
        parser.add_argument(
            "--threshold", type=float, help="cosine similarity threshold (default 0.8)"
        )
        parser.add_argument(
            "--precision", choices=choices(DedupConfig, "precision"), help="embedding precision"
        )
        parser.add_argument(
            "--embed-backend",
            choices=choices(DedupConfig, "embed_backend"),
            help="torch (precision fp32, bf16), onnx (fp32, int8: ONNX Runtime) or openvino (fp32)",
        )
        parser.add_argument("--batch-size", type=int, help="embedding batch size")
        parser.add_argument(
            "--search", choices=choices(DedupConfig, "search"), help="all pairs, or faiss IVF"
        )
        parser.add_argument(
            "--engine", choices=choices(DedupConfig, "engine"), help="run on Ray Data"
        )
        parser.add_argument(
            "--method",
            choices=choices(DedupConfig, "method"),
            help="near duplicates by embedding cosine (default), MinHash-LSH (lexical, no "
            "embedding), or MinHash-LSH pairs confirmed by cosine",
        )
        parser.add_argument(
            "--minhash-threshold",
            type=float,
            help="estimated Jaccard for MinHash pairs (default 0.7)",
        )

    def flag_updates(self, args, config: DedupConfig) -> dict:
        return given(args, "threshold", "precision", "embed_backend", "batch_size", "search",
                     "engine", "method", "minhash_threshold")  # fmt: skip

    def output(self, artefact: str, config: DedupConfig, folder: Path) -> Path:
        from platypus.data.dedup.run import output_paths

        return output_paths(folder, config)[artefact]

    def run(self, config: DedupConfig, out: Path, recipe) -> DedupSummary:
        from platypus.data.dedup.run import dedup

        result = dedup(config, config.input, out)
        written = result.summary  # dedup.json: the numbers are taken from it, not recounted
        return DedupSummary(
            rows_in=result.rows_in,
            removed_exact=written["removed_exact"],
            removed_semantic=written["removed_semantic"],
            rows_kept=result.rows_out,
            embedded=result.embedded,
            threshold=config.threshold,
            per_source=written["per_source"],
            nn_histogram=written["nn_histogram"],
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
