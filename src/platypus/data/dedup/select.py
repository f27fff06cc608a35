"""Which item of each near-duplicate group survives.

Items are visited from the most verbose answer down (ties: smaller id first); an item is kept
unless it is within the threshold of an item already kept. So every removed item names a kept,
more verbose item that is similar to it, no two kept items are similar, and the result depends
only on the items themselves, not on the order they came in (unlike Platypus' greedy loop,
which kept whichever came first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from platypus.data.record import Record
from platypus.similarity.pairs import Neighbours


def priority_key(record: Record) -> tuple[int, str]:
    return (-len(record.output), record.id)


def priority_order(records: Sequence[Record]) -> np.ndarray:
    return np.array(sorted(range(len(records)), key=lambda i: priority_key(records[i])), np.int64)


def select(records: Sequence[Record], nb: Neighbours) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kept mask, index of the kept item that removed each removed item or -1, similarity)."""
    n = len(records)
    kept = np.zeros(n, dtype=bool)
    by = np.full(n, -1, dtype=np.int64)
    by_sim = np.full(n, np.nan, dtype=np.float32)
    rank = np.empty(n, dtype=np.int64)
    order = priority_order(records)
    rank[order] = np.arange(n)
    for u in order:
        ids, sims = nb.of(int(u))
        hit = kept[ids]
        if not hit.any():
            kept[u] = True
            continue
        ids, sims = ids[hit], sims[hit]
        # The most similar kept item; ties go to the higher-priority one.
        best = np.lexsort((rank[ids], -sims))[0]
        by[u], by_sim[u] = ids[best], sims[best]
    return kept, by, by_sim
