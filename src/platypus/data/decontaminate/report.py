"""The contamination report: counts per source x benchmark x category, and examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from platypus.data.columns import REMOVED_IDS
from platypus.data.decontaminate.classify import CATEGORIES

if TYPE_CHECKING:
    from platypus.data.decontaminate.config import DecontaminateConfig
    from platypus.data.decontaminate.run import DecontaminationResult

EXAMPLES = 5


def _cell(text: str, limit: int = 300) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mapped_lines(s: dict) -> list[str]:
    """A dataset of any schema read through a column mapping: what was compared."""
    if "rows_skipped" not in s:
        return []
    return [
        f"- {s['format']} rows of any schema, written back unchanged: {s['rows_compared']:,} "
        f"compared, {s['rows_skipped']:,} with no text to compare kept as they are; removed rows "
        f"and why: `{REMOVED_IDS}`"
    ]


def render_report(result: DecontaminationResult, config: DecontaminateConfig, s: dict) -> str:
    lines = [
        "# Contamination report",
        "",
        f"- training rows: {s['rows_in']:,} from `{s['input']}` "
        f"(sha256 `{s['input_sha256'][:16]}…`)",
        *_mapped_lines(s),
        "- benchmark items: " + ", ".join(f"{b} {n:,}" for b, n in s["benchmark_items"].items()),
        f"- detectors: MiniLM cosine >= {config.flag_similarity} (every neighbour, not only the "
        f"nearest) and each item's {config.top_k} nearest rows down to "
        f"{config.candidate_similarity}, items embedded as {', '.join(config.views)}; "
        f"{config.ngram}-gram overlap (questions of {config.min_ngram_words}+ words); the gold "
        f"answer in the training output ({', '.join(config.answers)})"
        + (
            f"; meaning: the row's nearest item by question and answer at cosine >= "
            f"{config.meaning_similarity}, its output closest to the gold option (cosine >= "
            f"{config.meaning_answer_similarity}, {config.meaning_margin} ahead of any other)"
            if config.meaning
            else ""
        ),
        f"- duplicate: question contained, cosine >= {config.duplicate_similarity}, n-gram "
        f"coverage >= {config.duplicate_ngram_coverage}, or the same meaning; gray-area: the "
        f"gold answer is in the output (retrieved pairs: at cosine >= {config.gray_similarity}); "
        "similar-but-different: the rest",
        f"- removed categories: {', '.join(config.remove) or 'none'}; rows removed: "
        f"**{s['rows_removed']:,}**; clean rows: **{s['rows_clean']:,}**",
        "",
        "## Flagged pairs per source and benchmark",
        "",
        "| source | benchmark | " + " | ".join(CATEGORIES) + " |",
        "|---|---|" + "---:|" * len(CATEGORIES),
    ]
    for source, by_bench in sorted(s["per_source_and_benchmark"].items()):
        for bench, cell in sorted(by_bench.items()):
            lines.append(
                f"| {source} | {bench} | " + " | ".join(f"{cell[c]:,}" for c in CATEGORIES) + " |"
            )
    if not s["per_source_and_benchmark"]:
        lines.append("| (none) | | " + " | ".join("0" for _ in CATEGORIES) + " |")
    lines += _items_section(s, config)
    lines += _min_k_section(s)
    lines += _removed_section(s)
    lines += _examples_section(result)
    return "\n".join(lines) + "\n"


def _items_section(s: dict, config: DecontaminateConfig) -> list[str]:
    """Benchmark items flagged, and each test item under its strongest category."""
    lines: list[str] = []
    lines += [
        "",
        "Benchmark items with at least one flagged pair: "
        + ", ".join(f"{c} {n:,}" for c, n in s["benchmark_items_flagged"].items()),
        "",
        "## Benchmark items in the training rows",
        "",
        "Each test item counted once, under its strongest category; the share is of the test "
        "set checked.",
        "",
        "| benchmark | items | " + " | ".join(CATEGORIES) + " | removed categories (%) |",
        "|---|---:|" + "---:|" * (len(CATEGORIES) + 1),
    ]
    for bench, cell in s["benchmark_items_by_category"].items():
        total = s["benchmark_items"][bench]
        removed = sum(cell[c] for c in config.remove)
        lines.append(
            f"| {bench} | {total:,} | "
            + " | ".join(f"{cell[c]:,}" for c in CATEGORIES)
            + f" | {removed:,} ({100 * removed / total:.1f}%) |"
        )
    return lines


def _min_k_section(s: dict) -> list[str]:
    """Min-K% Prob of the fine-tuned model against its base, where it was measured."""
    lines = [""]
    if "min_k" in s:
        m = s["min_k"]
        lines += [
            f"## Model-side evidence: Min-K% Prob ({m['percent']:.0%})",
            "",
            "Mean over items of Min-K% Prob under the fine-tuned model minus under its base "
            "(higher: fine-tuning made the item more familiar; it removes nothing).",
            "",
            "| items | n | mean difference |",
            "|---|---:|---:|",
        ]
        for name, mean in m["mean_delta"].items():
            lines.append(f"| {name} | {m['items'][name]:,} | {mean:+.4f} |")
        lines.append("")
    return lines


def _removed_section(s: dict) -> list[str]:
    lines: list[str] = []
    lines += ["## Rows removed per source", "", "| source | removed |", "|---|---:|"]
    for source, n in s["rows_removed_per_source"].items():
        lines.append(f"| {source} | {n:,} |")
    return lines


def _examples_section(result: DecontaminationResult) -> list[str]:
    """The most similar pairs of each category (GPQA's by ids and scores only)."""
    lines: list[str] = []
    for category in CATEGORIES:
        pairs = [k for k in result.leaks if k.category == category]
        pairs.sort(key=lambda k: (-k.evidence.similarity, k.record.id, k.item.id))
        lines += ["", f"## Examples: {category} ({len(pairs):,} pairs)", ""]
        if not pairs:
            lines.append("None.")
            continue
        lines += [
            "| cosine | n-gram | answer in output | training item | benchmark item |",
            "|---:|---:|---|---|---|",
        ]
        for k in pairs[:EXAMPLES]:
            e = k.evidence
            if k.private:  # GPQA: ids and scores only, not even the training row's copy
                train, bench = f"`{k.record.id}`", f"`{k.item.id}` (text withheld)"
            else:
                train = (
                    f"`{k.record.id}`: {_cell(k.record.instruction)} → "
                    f"{_cell(k.record.output, 120)}"
                )
                bench = f"`{k.item.id}`: {_cell(k.item.question)} → {_cell(k.item.gold_text, 120)}"
            lines.append(
                f"| {e.similarity:.3f} | {e.ngram_coverage:.2f} | {_answer_cell(e)} | {train} "
                f"| {bench} |"
            )
    return lines


def _answer_cell(e) -> str:
    """Which detector found the gold answer in the output: by its words, number or letter, or
    by meaning (the output's cosine to the gold option, and its lead over the next option)."""
    if e.answer:
        return e.answer
    if e.meaning is not None and e.meaning.margin > 0:
        return f"meaning {e.meaning.answer:.2f} (+{e.meaning.margin:.2f})"
    return "no"
