"""`platypus data dedup`: exact dedup, then near-duplicate removal (embedding cosine, MinHash-LSH
or both), with a report. Open-Platypus records by default; any dataset through a column mapping
(`platypus.data.columns`), written back in its own format with `removed_ids.jsonl`."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from platypus.cards import write_dataset_card
from platypus.data.columns import REMOVED_IDS, MappedRows, mapped_output, read_mapped, write_kept
from platypus.data.compare import embed_text  # noqa: F401 (imported from here too)
from platypus.data.dedup.config import DedupConfig
from platypus.data.dedup.exact import exact_dedup
from platypus.data.dedup.minhash import as_neighbours, minhash_candidates
from platypus.data.dedup.report import nn_histogram, render_report
from platypus.data.dedup.select import select
from platypus.data.drops import REMOVED, Drop, in_file_order, reason_counts, write_drops
from platypus.data.record import Record
from platypus.errors import PlatypusError
from platypus.io.records import read_records
from platypus.io.writers import (
    provenance,
    write_bytes,
)
from platypus.similarity.engine import embed_texts, find_neighbours, resolve_embedding
from platypus.similarity.pairs import Neighbours, pair_dots
from platypus.similarity.rescore import search_rescored


@dataclass
class Removal:
    removed: Record
    kept: Record
    stage: str  # "exact", "semantic" (cosine) or "minhash" (estimated Jaccard)
    similarity: float


@dataclass
class DedupResult:
    records: list[Record]  # the input, in input order
    kept: list[Record]
    removals: list[Removal]
    neighbours: Neighbours  # over `after_exact`
    after_exact: list[Record]
    timings: dict[str, float] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    content_hash: str = ""
    embedded: int = 0  # texts embedded (the rest came from the cache)
    rescored: int = 0  # rows of borderline bf16 pairs re-scored with fp32 embeddings
    mapped: MappedRows | None = None  # a dataset of any schema read through a column mapping
    candidates: int = 0  # MinHash-LSH pairs (methods minhash, minhash+embedding)
    summary: dict = field(default_factory=dict)  # dedup.json, as written

    @property
    def rows_in(self) -> int:
        return self.mapped.rows if self.mapped else len(self.records)

    @property
    def rows_out(self) -> int:
        """Rows written: the kept records, and a mapped set's rows that were not compared."""
        return len(self.kept) + (len(self.mapped.skipped) if self.mapped else 0)


def similar_pairs(records: list[Record], config: DedupConfig) -> tuple[Neighbours, int, int]:
    """Pairs at or above the threshold, how many texts had to be embedded (not cached), and how
    many rows were re-scored in fp32."""
    texts = [embed_text(r) for r in records]
    x, embedded = embed_texts(texts, config, config.precision)
    nb, computed, rescored = search_rescored(
        lambda threshold: find_neighbours(x, threshold, config), config.threshold, config, texts
    )
    return nb, embedded + computed, rescored


def minhash_confirmed(
    records: list[Record], config: DedupConfig
) -> tuple[Neighbours, int, int, int]:
    """The near-duplicate pairs of `config.method` minhash or minhash+embedding, how many texts
    were embedded, how many rows re-scored in fp32, and how many LSH pairs there were.

    minhash: the MinHash-LSH pairs at estimated Jaccard >= minhash_threshold, scored by it.
    minhash+embedding: those pairs whose cosine is >= threshold too, scored by the cosine; only
    rows in an LSH pair are embedded (bf16 pairs near the threshold re-scored in fp32, as the
    embedding method does)."""
    texts = [embed_text(r) for r in records]
    a, b, jaccard = minhash_candidates(texts, config)
    if config.method == "minhash":
        return as_neighbours(len(texts), a, b, jaccard), 0, 0, len(a)
    used = np.unique(np.concatenate([a, b]))
    x, embedded = embed_texts([texts[i] for i in used], config, config.precision)
    cosine = pair_dots(x, np.searchsorted(used, a), x, np.searchsorted(used, b))
    scored = as_neighbours(len(texts), a, b, cosine)  # nearest rows: among all LSH pairs
    nb, computed, rescored = search_rescored(
        lambda threshold: scored.subset(scored.sim >= threshold, scored.sim),
        config.threshold, config, texts,
    )  # fmt: skip
    return nb, embedded + computed, rescored, len(a)


def dedup(config: DedupConfig, input_path: str | Path, output_dir: str | Path) -> DedupResult:
    if not 0.0 < config.threshold <= 1.0:
        raise PlatypusError(f"threshold must be in (0, 1], got {config.threshold}")
    config = resolve_embedding(config)  # what `auto` became is what the outputs record
    input_path, out = Path(input_path), Path(output_dir)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    mapped = read_mapped(input_path, config) if config.mapped else None
    records = mapped.records if mapped else read_records(input_path)
    if not records:
        reason = mapped.skipped[0][1] if mapped else "no rows"
        raise PlatypusError(f"{input_path}: no row has text to compare (every row: {reason})")
    after_exact, exact_removed = exact_dedup(records)
    timings["exact"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    candidates = 0
    if config.method == "embedding":
        nb, embedded, rescored = similar_pairs(after_exact, config)
    else:
        nb, embedded, rescored, candidates = minhash_confirmed(after_exact, config)
    timings["embed_and_pairs"] = time.perf_counter() - t0
    kept_mask, by, by_sim = select(after_exact, nb)

    near = "minhash" if config.method == "minhash" else "semantic"
    semantic = [
        Removal(after_exact[i], after_exact[int(by[i])], near, float(by_sim[i]))
        for i in np.flatnonzero(~kept_mask)
    ]
    # An exact duplicate is represented by its twin's final keeper: the twin itself may have
    # gone in the semantic stage, and every removal must name a row that is kept.
    final = {m.removed.id: m for m in semantic}
    removals = [
        Removal(r, final[k.id].kept, "exact", final[k.id].similarity)
        if k.id in final
        else Removal(r, k, "exact", 1.0)
        for r, k in exact_removed
    ] + semantic
    kept = [r for r, keep in zip(after_exact, kept_mask, strict=True) if keep]
    result = DedupResult(records, kept, removals, nb, after_exact, timings, embedded=embedded,
                         rescored=rescored, mapped=mapped, candidates=candidates)  # fmt: skip
    _write(result, config, input_path, out)
    return result


def output_paths(out: Path, config: DedupConfig | None = None) -> dict[str, Path]:
    """The stage's artefacts by role. With a column mapping the kept rows are in the input's
    format (kept.jsonl, kept.parquet or kept.json; `kept_parquet` names the same file) and
    `removed` is removed_ids.jsonl."""
    if config is not None and config.mapped:
        kept = mapped_output(out, "kept", config.input)
        return {"kept": kept, "kept_parquet": kept, "removed": out / REMOVED_IDS,
                "report": out / "report.md", "summary": out / "dedup.json"}  # fmt: skip
    return {
        "kept": out / "kept.jsonl",
        "kept_parquet": out / "kept.parquet",
        "removed": out / REMOVED,
        "report": out / "report.md",
        "summary": out / "dedup.json",
    }


def drops(result: DedupResult) -> list[Drop]:
    """Each removed row as a `Drop`: why (exact, semantic, minhash), the kept row it duplicates
    and their similarity; a mapped input's rows by row number (and in row order), the project's
    records by id (and in id order), with both rows' sources."""
    table = result.mapped
    out = []
    for m in result.removals:
        score = round(m.similarity, 6)
        if table is not None:
            i, j = table.row_of[m.removed.id], table.row_of[m.kept.id]
            out.append(Drop("dedup", m.stage, table.ids[i], row=i, matched_id=table.ids[j],
                            similarity=score, extra={"matched_row": j}))  # fmt: skip
        else:
            out.append(Drop("dedup", m.stage, m.removed.id, matched_id=m.kept.id, similarity=score,
                            extra={"source": m.removed.data_source,
                                   "matched_source": m.kept.data_source}))  # fmt: skip
    return in_file_order(out)


def _write(result: DedupResult, config: DedupConfig, input_path: Path, out: Path) -> None:
    """The kept rows as the input came (`write_kept`: the project's records as jsonl and
    parquet, a mapped table's rows in its own format), the drops, the report and the card, and
    the summary last."""
    table = result.mapped
    paths = output_paths(out, config.model_copy(update={"input": str(input_path)}))
    result.paths = paths
    parquet = None if table is not None else paths["kept_parquet"]
    result.content_hash = write_kept(paths["kept"], result.kept, table, parquet)
    dropped = drops(result)
    write_drops(paths["removed"], dropped)
    summary = provenance(input_path, config, result.rows_in)
    if table is not None:
        summary["format"] = table.format
    summary |= {
        "removed_exact": sum(m.stage == "exact" for m in result.removals),
        "removed_semantic": sum(m.stage != "exact" for m in result.removals),
        "dropped": reason_counts(dropped),
        "rows_kept": result.rows_out,
    }
    if table is not None:
        summary |= {"rows_compared": len(result.records), **table.skipped_summary()}
    summary |= {
        "rows_rescored_fp32": result.rescored,
        "minhash_pairs": result.candidates,
        "kept_sha256": result.content_hash,
        "per_source": per_source(result),
        "nn_histogram": nn_histogram(result.neighbours.nn_sim),
    }
    report = render_report(result, config, summary)
    write_bytes(paths["report"], report.encode("utf-8"))
    write_dataset_card(out, paths["kept"], result.kept, report, "dedup", source=input_path)
    write_bytes(paths["summary"], (json.dumps(summary, indent=2) + "\n").encode())
    result.summary = summary


def per_source(result: DedupResult) -> dict[str, dict[str, int]]:
    before = Counter(r.data_source for r in result.records)
    exact = Counter(m.removed.data_source for m in result.removals if m.stage == "exact")
    semantic = Counter(m.removed.data_source for m in result.removals if m.stage != "exact")
    kept = Counter(r.data_source for r in result.kept)
    return {
        s: {"rows": before[s], "exact": exact[s], "semantic": semantic[s], "kept": kept[s]}
        for s in sorted(before)
    }
