"""The dedup report: where rows went, how similar items are, and sample pairs to pick a
threshold by."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from platypus.data.dedup.config import DedupConfig
    from platypus.data.dedup.run import DedupResult

SAMPLE_AT = (0.75, 0.8, 0.85, 0.9)
SAMPLE_WIDTH = 0.025
SAMPLES_PER_LEVEL = 3
BINS = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def nn_histogram(nn_sim: np.ndarray) -> list[tuple[float, float, int]]:
    values = nn_sim[~np.isnan(nn_sim)]
    counts, edges = np.histogram(np.clip(values, 0.0, 1.0), bins=BINS)
    return [
        (float(a), float(b), int(c)) for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def sample_pairs(result: DedupResult, level: float) -> list[tuple[int, int, float]]:
    """Nearest-neighbour pairs with similarity in [level, level + width), smallest ids first."""
    nb = result.neighbours
    found = set()
    for i in np.flatnonzero((nb.nn_sim >= level) & (nb.nn_sim < level + SAMPLE_WIDTH)):
        j = int(nb.nn_idx[i])
        found.add((min(int(i), j), max(int(i), j), float(nb.nn_sim[i])))
    records = result.after_exact
    return sorted(found, key=lambda p: (records[p[0]].id, records[p[1]].id))[:SAMPLES_PER_LEVEL]


def _histogram_caption(config: DedupConfig) -> str:
    if config.method == "minhash":
        return ("Each row's estimated Jaccard similarity to its most similar other row among its "
                "MinHash-LSH pairs (rows without a pair are not counted).")  # fmt: skip
    if config.method == "minhash+embedding":
        return ("Each row's cosine similarity to its most similar other row among its "
                "MinHash-LSH pairs (rows without a pair are not counted).")  # fmt: skip
    return "Each row's cosine similarity to its most similar other row (after exact dedup)."


def _mapping_line(config: DedupConfig, summary: dict) -> str:
    text_fields, messages_field = config.columns()
    if messages_field:
        what = (f"chat column `{messages_field}` (user turns compared, assistant turns' "
                "length kept by)")  # fmt: skip
    else:
        fields = text_fields or []
        prompt, response = (fields[:-1], fields[-1]) if len(fields) > 1 else (fields, fields[0])
        what = (f"columns {', '.join(f'`{f}`' for f in prompt)} compared, `{response}`'s length "
                "kept by")  # fmt: skip
    skipped = ", ".join(f"{n:,} {reason}" for reason, n in summary["skipped"].items())
    return (f"- {summary['format']} rows of any schema, written back unchanged: {what}; ids: "
            f"`{config.id_field or 'row index'}`; {summary['rows_compared']:,} rows compared, "
            f"{summary['rows_skipped']:,} skipped and kept as they are"
            + (f" ({skipped})" if skipped else ""))  # fmt: skip


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _method_lines(result: DedupResult, config: DedupConfig, n_sem: int) -> tuple[str, str]:
    """How many near duplicates went, and how they were found: the embedding search,
    MinHash-LSH, or both."""
    lsh = (
        f"MinHash-LSH (datasketch): {config.minhash_num_perm} permutations (seed {config.seed}) "
        f"of {config.minhash_shingle}-{config.minhash_unit} shingles of the normalised prompt, "
        f"{result.candidates:,} pairs at estimated Jaccard >= {config.minhash_threshold}"
    )
    backend = "" if config.embed_backend == "torch" else f", {config.embed_backend}"
    embedding = f"`{config.model or 'all-MiniLM-L6-v2'}` ({config.precision}{backend})"
    rescored = (
        f"; {result.rescored:,} rows of pairs within {config.effective_rescore_margin} of it "
        "re-scored in fp32"
        if result.rescored
        else ""
    )
    if config.method == "minhash":
        return (f"- near duplicates removed (estimated Jaccard >= {config.minhash_threshold}): "
                f"**{n_sem:,}**", f"- {lsh}; nothing embedded")  # fmt: skip
    if config.method == "minhash+embedding":
        return (
            f"- near duplicates removed (MinHash-LSH pair and cosine >= {config.threshold}): "
            f"**{n_sem:,}**",
            f"- {lsh}; their rows embedded with {embedding}, "
            f"{result.neighbours.pair_count:,} pairs at or above cosine {config.threshold}"
            + rescored,
        )
    return (
        f"- near duplicates removed (cosine >= {config.threshold}): **{n_sem:,}**",
        f"- embedding: {embedding}, search: {config.search}, engine: {config.engine}; "
        f"{result.neighbours.pair_count:,} pairs at or above the threshold" + rescored,
    )


def render_report(result: DedupResult, config: DedupConfig, summary: dict) -> str:
    n_exact, n_sem = summary["removed_exact"], summary["removed_semantic"]
    near, how = _method_lines(result, config, n_sem)
    removed_file = result.paths["removed"].name
    lines = [
        "# Similarity exclusion report",
        "",
        f"- input: `{summary['input']}` ({summary['rows_in']:,} rows, sha256 "
        f"`{summary['input_sha256'][:16]}…`)",
    ]
    if result.mapped:
        lines.append(_mapping_line(config, summary))
    lines += [
        f"- exact duplicates removed (normalised instruction + input): **{n_exact:,}**",
        near,
        f"- kept: **{summary['rows_kept']:,}** rows, sha256 `{summary['kept_sha256'][:16]}…`",
        how,
        "- kept per group: the longest output (ties: smaller id); every removed row names the kept "
        f"row within the threshold of it (`{removed_file}`)",
        "",
        "## Rows per source",
        "",
        "| source | rows | exact dups | near dups | kept | kept % |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for source, c in summary["per_source"].items():
        pct = 100 * c["kept"] / c["rows"] if c["rows"] else 0.0
        lines.append(f"| {source} | {c['rows']:,} | {c['exact']:,} | {c['semantic']:,} | "
                     f"{c['kept']:,} | {pct:.1f}% |")  # fmt: skip
    cross = sum(
        m.removed.data_source != m.kept.data_source for m in result.removals if m.stage != "exact"
    )
    lines += ["", f"Near duplicates whose kept row comes from another source: {cross:,}.", ""]

    hist = nn_histogram(result.neighbours.nn_sim)
    top = max((c for *_, c in hist), default=0) or 1
    lines += ["## Nearest-neighbour similarity", "", _histogram_caption(config),
              "", "| similarity | rows | |", "|---|---:|---|"]  # fmt: skip
    threshold = config.minhash_threshold if config.method == "minhash" else config.threshold
    for lo, hi, count in hist:
        mark = " ← threshold" if lo <= threshold < hi else ""
        lines.append(f"| {lo:.2f}–{hi:.2f} | {count:,} | {'█' * round(30 * count / top)}{mark} |")
    for level in SAMPLE_AT:
        at = sum(
            int(s >= level) for s in result.neighbours.nn_sim[~np.isnan(result.neighbours.nn_sim)]
        )
        lines += [
            "",
            f"### Pairs near {level:.2f} ({at:,} rows have a neighbour at >= {level})",
            "",
        ]
        pairs = sample_pairs(result, level)
        if not pairs:
            lines.append("No pair in this band.")
            continue
        lines += [
            "| similarity | row | instruction | row | instruction |",
            "|---:|---|---|---|---|",
        ]
        for i, j, sim in pairs:
            a, b = result.after_exact[i], result.after_exact[j]
            lines.append(f"| {sim:.3f} | `{a.id}` | {_short(a.instruction)} | `{b.id}` | "
                         f"{_short(b.instruction)} |")  # fmt: skip
    return "\n".join(lines) + "\n"
