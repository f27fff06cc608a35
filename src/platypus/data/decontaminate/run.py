"""`platypus data decontaminate`: flag, classify and remove benchmark leaks, with a report.

Within a run the clean set and the summary are written last, each moved into place only when
complete; the stage runner (`pipeline.stage`) removes a previous run's outputs first.

With a column mapping (`platypus.data.columns`) the input may have any schema: the clean rows are
the input's own, in its format, and `removed_ids.jsonl` names each removed row and why.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from platypus.cards import write_dataset_card
from platypus.data.columns import REMOVED_IDS, MappedRows, mapped_output, read_mapped, write_kept
from platypus.data.compare import embed_text
from platypus.data.decontaminate.classify import CATEGORIES, classify
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.decontaminate.detect import VIEWS, Evidence, detect
from platypus.data.decontaminate.report import render_report
from platypus.data.drops import REMOVED, Drop, in_file_order, reason_counts, write_drops
from platypus.data.record import Record
from platypus.errors import PlatypusError
from platypus.io.records import read_records
from platypus.io.writers import (
    provenance,
    write_bytes,
    write_dict_rows,
)
from platypus.similarity.engine import resolve_embedding
from platypus.tasks import TASKS, load_task
from platypus.tasks.schema import TaskItem

OUTPUTS = ("clean.jsonl", "clean.parquet", "leaks.jsonl", "report.md", "decontaminate.json",
           REMOVED)  # fmt: skip


def output_paths(out: Path, config: DecontaminateConfig | None = None) -> dict[str, Path]:
    """The stage's artefacts by role. With a column mapping the clean rows are in the input's
    format (clean.jsonl, clean.parquet or clean.json; `clean_parquet` names the same file), and
    `removed` is removed_ids.jsonl."""
    roles = ("clean", "clean_parquet", "leaks", "report", "summary", "removed")
    paths = {role: out / name for role, name in zip(roles, OUTPUTS, strict=True)}
    if config is not None and config.mapped:
        clean = mapped_output(out, "clean", config.input)
        paths |= {"clean": clean, "clean_parquet": clean, "removed": out / REMOVED_IDS}
    return paths


@dataclass
class Leak:
    record: Record
    item: TaskItem
    category: str
    evidence: Evidence
    judge_p: float | None = None  # the judge's P(same question), when it was asked
    min_k_delta: float | None = None  # Min-K% Prob fine-tuned minus base, when measured

    @property
    def private(self) -> bool:
        """The benchmark's rows may not be written out (GPQA): this leak's report shows ids,
        scores and which detectors fired, not either side's text."""
        return TASKS[self.item.benchmark].text_private

    def to_dict(self) -> dict:
        e = self.evidence
        return {
            "train_id": self.record.id,
            "train_source": self.record.data_source,
            "benchmark": self.item.benchmark,
            "benchmark_id": self.item.id,
            "category": self.category,
            "similarity": e.similarity,
            "ngram_coverage": e.ngram_coverage,
            "contains_question": e.contains_question,
            "answer_leak": e.answer_leak,
            "answer": e.answer,
            "view": e.view,
            "numbers_agree": e.numbers_agree,
            "other_answer": e.other_answer,
            # The meaning detector's measures (None: the item is not the row's nearest by
            # meaning, or its options carry none).
            "meaning_similarity": e.meaning.similarity if e.meaning else None,
            "meaning_answer": e.meaning.answer if e.meaning else None,
            "meaning_margin": e.meaning.margin if e.meaning else None,
            "judge_p": self.judge_p,
            "min_k_delta": self.min_k_delta,
        }


def _judge(leaks: list[Leak], config: DecontaminateConfig) -> None:
    from platypus.data.decontaminate.judge import make_judge

    band = [k for k in leaks if k.category == "similar-but-different" and _uncertain(k, config)]
    if not band:
        return
    # The benchmark item as the view the row came closest to (with its options, or without).
    verdicts = make_judge(config).same_question(
        [(embed_text(k.record), VIEWS[k.evidence.view](k.item) or k.item.question) for k in band]
    )
    for leak, p in zip(band, verdicts, strict=True):
        leak.judge_p = round(p, 4)
        if p >= config.judge_threshold:
            leak.category = "duplicate"


def _uncertain(leak: Leak, config: DecontaminateConfig) -> bool:
    """For the judge: a pair in the cosine band below the duplicate rules, or, with `meaning`,
    the row's nearest item by question and answer (a retold question sits far below the band)."""
    meaning = leak.evidence.meaning
    return leak.evidence.similarity >= config.judge_low or (meaning is not None and meaning.nearest)


def _model_evidence(leaks: list[Leak], items: list[TaskItem], config: DecontaminateConfig) -> dict:
    """Min-K% Prob deltas of the flagged items, and their means per category beside those of a
    seeded sample of unflagged items of the same benchmarks."""
    import random

    from platypus.data.decontaminate.mink import MinKScorer, item_text

    flagged = {k.item.id: k.item for k in leaks}
    benchmarks = {i.benchmark for i in flagged.values()}
    rest = [i for i in items if i.id not in flagged and i.benchmark in benchmarks]
    baseline = random.Random(0).sample(rest, min(config.min_k_baseline, len(rest)))
    scored = list(flagged.values()) + baseline
    scorer = MinKScorer(config.min_k_model, config.min_k_adapter, config.min_k_percent,
                        config.compute.trust_remote_code)  # fmt: skip
    delta = dict(zip([i.id for i in scored], scorer.deltas([item_text(i) for i in scored]),
                     strict=True))  # fmt: skip
    for leak in leaks:
        leak.min_k_delta = round(delta[leak.item.id], 4)
    means = {}
    for category in CATEGORIES:
        ids = {k.item.id for k in leaks if k.category == category}
        if ids:
            means[category] = round(sum(delta[i] for i in ids) / len(ids), 4)
    if baseline:
        means["unflagged"] = round(sum(delta[i.id] for i in baseline) / len(baseline), 4)
    return {"percent": config.min_k_percent, "mean_delta": means,
            "items": {c: len({k.item.id for k in leaks if k.category == c}) for c in CATEGORIES}
            | {"unflagged": len(baseline)}}  # fmt: skip


@dataclass
class DecontaminationResult:
    records: list[Record]
    items: list[TaskItem]
    leaks: list[Leak]
    clean: list[Record]
    removed_ids: set[str]
    paths: dict[str, Path] = field(default_factory=dict)
    embedded: int = 0
    min_k: dict | None = None  # model-side evidence, when measured
    mapped: MappedRows | None = None  # a dataset of any schema read through a column mapping
    summary: dict = field(default_factory=dict)  # decontaminate.json, as written

    @property
    def rows_in(self) -> int:
        return self.mapped.rows if self.mapped else len(self.records)

    @property
    def rows_out(self) -> int:
        """Rows written: the clean records, and a mapped set's rows that were not compared."""
        return len(self.clean) + (len(self.mapped.skipped) if self.mapped else 0)


def load_benchmarks(config: DecontaminateConfig) -> list[TaskItem]:
    items: list[TaskItem] = []
    for name in config.benchmarks:
        # mmlu_subjects narrows MMLU alone; the other tasks' subjects are checked whole
        kwargs = {"subjects": config.mmlu_subjects} if name == "mmlu" else {}
        items += load_task(name, config.data_root, config.benchmark_source, **kwargs)
    return items


def decontaminate(
    config: DecontaminateConfig, input_path: str | Path, output_dir: str | Path
) -> DecontaminationResult:
    config = resolve_embedding(config)  # what `auto` became is what the outputs record
    input_path, out = Path(input_path), Path(output_dir)
    mapped = read_mapped(input_path, config) if config.mapped else None
    records = mapped.records if mapped else read_records(input_path)
    if not records:
        reason = mapped.skipped[0][1] if mapped else "no rows"
        raise PlatypusError(f"{input_path}: no row has text to compare (every row: {reason})")
    items = load_benchmarks(config)
    evidence, embedded = detect(records, items, config)
    leaks = [Leak(records[e.train], items[e.bench], classify(e, config), e) for e in evidence]
    if config.judge:
        _judge(leaks, config)
    min_k = _model_evidence(leaks, items, config) if config.min_k else None
    removed_ids = {leak.record.id for leak in leaks if leak.category in config.remove}
    clean = [r for r in records if r.id not in removed_ids]
    result = DecontaminationResult(records, items, leaks, clean, removed_ids, embedded=embedded,
                                   min_k=min_k, mapped=mapped)  # fmt: skip
    _write(result, config, input_path, out)
    return result


def drops(result: DecontaminationResult, config: DecontaminateConfig) -> list[Drop]:
    """Each removed row as a `Drop`: its category (duplicate, gray-area, ...), the benchmark item
    it leaks and their similarity, by the strongest of its removed pairs (category in `remove`
    order, then similarity); a mapped input's rows by row number, in row order, the project's
    records by id, in id order."""
    table = result.mapped
    rank = {c: n for n, c in enumerate(config.remove)}
    best: dict[str, Leak] = {}
    for k in result.leaks:
        if k.category not in rank:
            continue
        order = (rank[k.category], -k.evidence.similarity, k.item.id)
        held = best.get(k.record.id)
        if held is None or order < (rank[held.category], -held.evidence.similarity, held.item.id):
            best[k.record.id] = k
    out = []
    for record_id, k in best.items():
        extra = {"benchmark": k.item.benchmark, "ngram_coverage": k.evidence.ngram_coverage}
        if table is not None:
            i = table.row_of[record_id]
            ident, row = table.ids[i], i
        else:
            ident, row = record_id, None
            extra["source"] = k.record.data_source
        out.append(Drop("decontaminate", k.category, ident, row=row, matched_id=k.item.id,
                        similarity=k.evidence.similarity, extra=extra))  # fmt: skip
    return in_file_order(out)


def items_by_category(result: DecontaminationResult) -> dict[str, dict[str, int]]:
    """Per benchmark: how many of its items the training rows hold, each item counted once
    under its strongest category (duplicate, then gray-area, then similar-but-different)."""
    strongest: dict[str, int] = {}
    for leak in result.leaks:
        rank = CATEGORIES.index(leak.category)
        strongest[leak.item.id] = min(rank, strongest.get(leak.item.id, rank))
    table = {
        b: dict.fromkeys(CATEGORIES, 0) for b in dict.fromkeys(i.benchmark for i in result.items)
    }
    for item in result.items:
        if item.id in strongest:
            table[item.benchmark][CATEGORIES[strongest[item.id]]] += 1
    return table


def counts(result: DecontaminationResult) -> dict:
    table: dict[str, dict[str, dict[str, int]]] = {}
    for leak in result.leaks:
        by_bench = table.setdefault(leak.record.data_source, {})
        cell = by_bench.setdefault(leak.item.benchmark, dict.fromkeys(CATEGORIES, 0))
        cell[leak.category] += 1
    return table


def _write(
    result: DecontaminationResult, config: DecontaminateConfig, input_path: Path, out: Path
) -> None:
    paths = {name.replace(".", "_"): out / name for name in OUTPUTS}
    table = result.mapped
    if table is None:
        clean, parquet, removed = (paths["clean_jsonl"], paths["clean_parquet"],
                                   paths["removed_jsonl"])  # fmt: skip
    else:  # the clean rows in the input's format, the drops by row beside them
        clean = output_paths(out, config.model_copy(update={"input": str(input_path)}))["clean"]
        parquet, removed = None, out / REMOVED_IDS
        paths = {"clean_" + table.format: clean, "removed_ids": removed} | {
            k: v for k, v in paths.items()
            if not k.startswith("clean_") and k != "removed_jsonl"}  # fmt: skip
    result.paths = paths
    leaks = sorted(result.leaks, key=lambda k: (k.record.id, k.item.id))
    write_dict_rows(paths["leaks_jsonl"], (k.to_dict() for k in leaks))
    removed_by_source = Counter(r.data_source for r in result.records if r.id in result.removed_ids)
    flagged_items = {c: len({k.item.id for k in leaks if k.category == c}) for c in CATEGORIES}
    dropped = drops(result, config)
    summary = provenance(input_path, config, result.rows_in)
    if table is not None:
        summary |= {"format": table.format, "rows_compared": len(result.records),
                    **table.skipped_summary()}  # fmt: skip
    summary |= {
        "benchmark_items": dict(Counter(i.benchmark for i in result.items)),
        "pairs": dict(Counter(k.category for k in leaks)),
        "benchmark_items_flagged": flagged_items,
        "benchmark_items_by_category": items_by_category(result),
        "rows_removed": len(result.removed_ids),
        "rows_removed_per_source": dict(sorted(removed_by_source.items())),
        "rows_clean": result.rows_out,
        "per_source_and_benchmark": counts(result),
        "dropped": reason_counts(dropped),
    }
    if result.min_k is not None:
        summary["min_k"] = result.min_k
    result.summary = summary
    report = render_report(result, config, summary)
    write_bytes(paths["report_md"], report.encode("utf-8"))
    # The clean set and the summary come last: they exist only for a finished run. The card
    # goes between them: it names the clean file's sha256.
    write_drops(removed, dropped)
    summary["clean_sha256"] = write_kept(clean, result.clean, table, parquet)
    write_dataset_card(out, clean, result.clean, report, "decontaminate", source=input_path)
    write_bytes(paths["decontaminate_json"], (json.dumps(summary, indent=2) + "\n").encode())
