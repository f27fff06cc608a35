"""Make bf16 embeddings give the fp32 answer.

bf16 moves a pair's cosine by a few thousandths at most, so only pairs whose bf16 score lies
within `margin` of the threshold can land on the other side of it in fp32. Those pairs' rows are
embedded again in fp32 and re-scored; pairs clearly above or below keep their bf16 decision. The
pair set, and with it the kept set, is then the fp32 one, at roughly bf16 cost.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from platypus.data.dedup.pairs import Neighbours, pair_dots


def rescore(
    nb: Neighbours,
    threshold: float,
    margin: float,
    fp32: Callable[[np.ndarray], np.ndarray],
) -> tuple[Neighbours, int]:
    """`nb` must hold every pair scoring >= threshold - margin. `fp32(rows)` returns fp32
    vectors of those rows. Returns the pairs >= threshold and how many rows were re-embedded."""
    rows = np.repeat(np.arange(len(nb.lims) - 1), np.diff(nb.lims))
    sims = nb.sim.copy()
    border = sims < threshold + margin
    need = np.unique(np.concatenate([rows[border], nb.idx[border]]))
    if len(need):
        vectors = fp32(need)
        where = np.searchsorted(need, rows[border]), np.searchsorted(need, nb.idx[border])
        sims[border] = pair_dots(vectors, where[0], vectors, where[1])
    keep = sims >= threshold
    counts = np.bincount(rows[keep], minlength=len(nb.lims) - 1)
    lims = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = Neighbours(lims, nb.idx[keep], sims[keep].astype(np.float32), nb.nn_idx, nb.nn_sim)
    return out, len(need)
