"""How much do merge partners' fine-tuning sets overlap? (Platypus: partners whose data overlap
little merge best.) Exact overlap on the dedup key, semantic overlap with the dedup embeddings."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from platypus.data.compare import embed_text, exact_key
from platypus.io.records import read_records


def overlap_report(paths: list[str], settings, threshold: float = 0.8) -> list[dict]:
    """One row per pair of sets: rows of each with an exact twin / a neighbour >= threshold."""
    from platypus.similarity.engine import embed_texts, resolve_embedding
    from platypus.similarity.pairs import cross_pairs

    settings = resolve_embedding(settings)

    sets = {p: read_records(p) for p in paths}
    vectors = {
        p: embed_texts([embed_text(r) for r in recs], settings, settings.precision)[0]
        for p, recs in sets.items()
    }
    rows = []
    for a, b in combinations(paths, 2):
        keys_a = {exact_key(r) for r in sets[a]}
        keys_b = {exact_key(r) for r in sets[b]}
        pairs = cross_pairs(vectors[b], vectors[a], threshold)  # (b row, a row): cosine
        near_a = {i for _, i in pairs}
        near_b = {j for j, _ in pairs}
        best = np.zeros(len(sets[a]))
        for (_, i), s in pairs.items():
            best[i] = max(best[i], s)
        rows.append(
            {
                "a": str(Path(a)),
                "b": str(Path(b)),
                "rows_a": len(sets[a]),
                "rows_b": len(sets[b]),
                "exact_shared": sum(exact_key(r) in keys_b for r in sets[a]),
                "exact_shared_b": sum(exact_key(r) in keys_a for r in sets[b]),
                "near_a": len(near_a),
                "near_b": len(near_b),
                "near_fraction_a": len(near_a) / len(sets[a]),
                "near_fraction_b": len(near_b) / len(sets[b]),
                "threshold": threshold,
            }
        )
    return rows


def overlap_markdown(rows: list[dict]) -> str:
    lines = [
        "| set A | set B | rows A | rows B | exact shared (A) | A rows with a near twin in B "
        "| B rows with a near twin in A |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['a']} | {r['b']} | {r['rows_a']:,} | {r['rows_b']:,} | "
            f"{r['exact_shared']:,} | {r['near_a']:,} ({100 * r['near_fraction_a']:.1f}%) "
            f"| {r['near_b']:,} ({100 * r['near_fraction_b']:.1f}%) |"
        )
    return "\n".join(lines)
