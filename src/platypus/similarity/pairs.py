"""All pairs above a cosine threshold, and each item's nearest neighbour.

Within one set: faiss `IndexFlatIP.range_search` over query blocks (memory grows with the number
of matches, not N^2). Approximate, for millions of rows: an IVF index (k-means cells, `nprobe`
cells searched per query; the SemDeDup idea of clustering first); its recall against the exact
path is measured by the benchmark. Query blocks are independent, so they can run on a cluster.
Across two sets (training rows x benchmark items, one fine-tuning set x another): one exact
range search of the second set against the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from platypus.progress import progress

# faiss' range search keeps scores strictly above the radius; search a hair lower and apply the
# threshold ourselves so that a pair exactly at the threshold counts, as documented.
RADIUS_SLACK = 1e-5


class SearchSettings(Protocol):
    """What the pair search within a set reads of a stage's settings (dedup's fields of these
    names): the index, its seed, and where it runs."""

    search: str  # exact or ivf
    ivf_nlist: int | None
    ivf_nprobe: int
    seed: int
    engine: str  # local or ray
    ray_address: str | None
    ray_blocks: int


@dataclass
class Neighbours:
    """Pairs with similarity >= threshold in CSR form (row i's neighbours are
    idx[lims[i]:lims[i+1]], sorted by id), plus every row's nearest other row (-1 if none)."""

    lims: np.ndarray  # (n + 1,) int64
    idx: np.ndarray  # int64
    sim: np.ndarray  # float32
    nn_idx: np.ndarray  # (n,) int64
    nn_sim: np.ndarray  # (n,) float32

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.lims[i], self.lims[i + 1]
        return self.idx[lo:hi], self.sim[lo:hi]

    @property
    def pair_count(self) -> int:
        """Unordered pairs (each is stored once per end)."""
        return len(self.idx) // 2

    def pairs(self) -> set[tuple[int, int]]:
        rows = np.repeat(np.arange(len(self.lims) - 1), np.diff(self.lims))
        return {(int(a), int(b)) for a, b in zip(rows, self.idx, strict=True) if a < b}

    def ends(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, neighbour, similarity) of every stored pair."""
        rows = np.repeat(np.arange(len(self.lims) - 1), np.diff(self.lims))
        return rows, self.idx, self.sim

    def subset(self, keep: np.ndarray, sim: np.ndarray) -> Neighbours:
        """The pairs where `keep`, with similarities `sim` (one per stored pair); the nearest
        neighbours are kept as they are."""
        rows = np.repeat(np.arange(len(self.lims) - 1), np.diff(self.lims))
        counts = np.bincount(rows[keep], minlength=len(self.lims) - 1)
        lims = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Neighbours(lims, self.idx[keep], sim[keep].astype(np.float32), self.nn_idx,
                          self.nn_sim)  # fmt: skip


@dataclass
class CrossPairs:
    """Pairs (row of the first set, row of the second set) with similarity >= threshold."""

    left: np.ndarray  # int64
    right: np.ndarray  # int64
    sim: np.ndarray  # float32

    def ends(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.left, self.right, self.sim

    def subset(self, keep: np.ndarray, sim: np.ndarray) -> CrossPairs:
        return CrossPairs(self.left[keep], self.right[keep], sim[keep].astype(np.float32))

    def as_dict(self) -> dict[tuple[int, int], float]:
        return {
            (int(a), int(b)): float(s)
            for a, b, s in zip(self.left, self.right, self.sim, strict=True)
        }


def build_index(x: np.ndarray, search: str = "exact", nlist: int | None = None,
                nprobe: int = 16, seed: int = 42):  # fmt: skip
    import faiss

    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    if search == "exact":
        index = faiss.IndexFlatIP(d)
    elif search == "ivf":
        nlist = nlist or max(1, int(4 * np.sqrt(n)))
        nlist = min(nlist, max(1, n // 39))  # faiss wants >= 39 training points per cell
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(x)
        index.nprobe = min(nprobe, nlist)
    else:
        raise ValueError(f"unknown search {search!r}")
    index.add(x)
    return index


def pair_dots(x: np.ndarray, a: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x[a] . y[b] row by row: the same float32 arithmetic whatever the blocking, so scores (and
    threshold decisions) do not depend on how faiss tiled its matrix products."""
    return np.einsum("ij,ij->i", x[a], y[b]).astype(np.float32)


def query_block(index, x: np.ndarray, threshold: float, start: int, stop: int) -> Neighbours:
    """Neighbours of rows start..stop against the whole index."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    q = x[start:stop]
    lims, _, ids = index.range_search(q, threshold - RADIUS_SLACK)
    rows = np.repeat(np.arange(start, stop), np.diff(lims.astype(np.int64)))  # lims is uint64
    ids = ids.astype(np.int64)
    sims = pair_dots(x, rows, x, ids)
    keep = (ids != rows) & (sims >= threshold)
    rows, ids, sims = rows[keep], ids[keep], sims[keep]
    order = np.lexsort((ids, rows))  # faiss' own order is not part of the result
    counts = np.bincount(rows - start, minlength=stop - start)

    _, cand = index.search(q, min(len(x), 3))
    qrows = np.repeat(np.arange(start, stop), cand.shape[1])
    cand = cand.reshape(-1).astype(np.int64)
    valid = (cand >= 0) & (cand != qrows)
    cand_sim = np.full(len(cand), -np.inf, dtype=np.float32)
    cand_sim[valid] = pair_dots(x, qrows[valid], x, cand[valid])
    cand_sim, cand = cand_sim.reshape(stop - start, -1), cand.reshape(stop - start, -1)
    best = np.lexsort((cand, -cand_sim), axis=1)[:, 0]  # most similar, then smaller id
    pick = np.arange(stop - start)
    nn_idx = np.where(np.isfinite(cand_sim[pick, best]), cand[pick, best], -1)
    nn_sim = np.where(nn_idx >= 0, cand_sim[pick, best], np.nan).astype(np.float32)

    lims_out = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Neighbours(lims_out, ids[order], sims[order], nn_idx.astype(np.int64), nn_sim)


def concat(parts: list[Neighbours]) -> Neighbours:
    """Join the results of consecutive query blocks."""
    lims, offset = [np.zeros(1, dtype=np.int64)], 0
    for p in parts:
        lims.append(p.lims[1:] + offset)
        offset += int(p.lims[-1])
    return Neighbours(
        lims=np.concatenate(lims),
        idx=np.concatenate([p.idx for p in parts]),
        sim=np.concatenate([p.sim for p in parts]),
        nn_idx=np.concatenate([p.nn_idx for p in parts]),
        nn_sim=np.concatenate([p.nn_sim for p in parts]),
    )


def neighbours(x: np.ndarray, threshold: float, search: str = "exact", nlist: int | None = None,
               nprobe: int = 16, seed: int = 42, block: int = 4096) -> Neighbours:  # fmt: skip
    index = build_index(x, search, nlist, nprobe, seed)
    bounds = [(s, min(s + block, len(x))) for s in range(0, len(x), block)]
    blocks = progress(bounds, desc=f"pairs ({search})", unit=" blocks", disable=None)
    parts = [query_block(index, x, threshold, a, b) for a, b in blocks]
    return concat(parts)


def exact_neighbours(x: np.ndarray, threshold: float, block: int = 4096) -> Neighbours:
    return neighbours(x, threshold, "exact", block=block)


def recall(approx: Neighbours, exact: Neighbours) -> float:
    """Share of the exact pairs that the approximate search also found."""
    truth = exact.pairs()
    return 1.0 if not truth else len(truth & approx.pairs()) / len(truth)


def cross_search(x: np.ndarray, y: np.ndarray, threshold: float) -> CrossPairs:
    """Every (row of x, row of y) pair at cosine >= threshold, exact."""
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(np.ascontiguousarray(x, dtype=np.float32))
    lims, _, ids = index.range_search(np.ascontiguousarray(y, np.float32), threshold - RADIUS_SLACK)
    right = np.repeat(np.arange(len(y)), np.diff(lims.astype(np.int64)))
    left = ids.astype(np.int64)
    sims = pair_dots(x, left, y, right)
    keep = sims >= threshold
    return CrossPairs(left[keep], right[keep], sims[keep])


def cross_pairs(x: np.ndarray, y: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    """{(row of x, row of y): similarity} for every pair at cosine >= threshold."""
    return cross_search(x, y, threshold).as_dict()


def top_k(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows of x, rows of y): each row of y with its k most similar rows of x, exact."""
    import faiss

    index = faiss.IndexFlatIP(x.shape[1])
    index.add(np.ascontiguousarray(x, dtype=np.float32))
    _, ids = index.search(np.ascontiguousarray(y, dtype=np.float32), min(k, len(x)))
    right = np.repeat(np.arange(len(y)), ids.shape[1])
    left = ids.reshape(-1).astype(np.int64)
    keep = left >= 0
    return left[keep], right[keep]
