"""Dedup benchmark: our embedding and pair search against the naive baselines, side by side.

    .venv/bin/python benchmarks/dedup.py [--embed-rows 1000] [--sizes 25000,200000]
        [--backends torch-fp32,torch-bf16,onnx-fp32,onnx-int8,openvino-fp32]
        [--kept-rows N]

Each measurement runs in a fresh process so its peak RSS is its own. Embedding is measured on
real Open-Platypus rows (built from ../shared/data); pair search at 25k and 200k rows uses the real
embeddings plus noisy copies of them (so near duplicates exist at realistic rates). Baselines:
sentence-transformers `encode` (fp32, as Platypus ran it), `util.paraphrase_mining_embeddings`,
and Platypus' greedy loop (each row compared with every row kept so far). Kept sets are compared:
fp32 vs bf16 embeddings on the full real set, exact vs IVF search, ours vs the greedy loop.
Embedding backends (torch, ONNX Runtime, OpenVINO; fp32, bf16, int8) are measured side by side,
with rows per wall second and per CPU second (on a shared machine the latter moves less), and
each one's kept set is compared with torch fp32's, plain and after the fp32 re-scoring.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
THRESHOLD = 0.8
SUBSET = 2_000  # queries for the naive baseline above --baseline-max rows


def _baseline_mb() -> float:
    """Peak RSS since the last call: resets the high-water mark, so setup before a measurement
    (loading vectors, imports) does not hide the measurement's own peak."""
    from platypus.memory import reset_peak, rss_mb

    reset_peak()
    return rss_mb()


def _peak_mb() -> float:
    from platypus.memory import peak_mb

    return peak_mb()


def _job(kind: str, arg: str, n: int, out: str) -> dict:
    """Runs in a fresh process: one measurement, returns seconds and peak RSS above baseline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO / "src"))
    if kind.startswith("embed"):
        import json

        rows = [json.loads(line) for line in Path(arg).read_text().splitlines()][:n]
        from platypus.data.dedup.run import embed_text
        from platypus.data.record import Record

        texts = [embed_text(Record(**r)) for r in rows]
        if kind == "embed-naive":
            from platypus.models import load_embedder

            model = load_embedder()
            base = _baseline_mb()
            t, cpu = time.perf_counter(), time.process_time()
            x = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        else:
            from platypus.similarity.embed import Embedder

            # embed-<precision>[-<backend>][-cached]
            parts = kind.split("-")[1:]
            cache = parts[-1] == "cached"
            parts = parts[:-1] if cache else parts
            precision, backend = parts[0], parts[1] if len(parts) > 1 else "torch"
            # The cached variants use the user's cache: vectors are keyed by content, so re-runs
            # of the benchmark do not pay for the full-set embeddings again.
            emb = Embedder(precision=precision, use_cache=cache, show_progress=False,
                           backend=backend)  # fmt: skip
            assert emb.model is not None  # load (and export) before timing
            if cache:
                emb.encode(texts)  # fill the cache; the timed call reads it back
            base = _baseline_mb()
            t, cpu = time.perf_counter(), time.process_time()
            x = emb.encode(texts)
        seconds = time.perf_counter() - t
        np.save(out, x)
        return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu,
                "rss_mb": _peak_mb() - base, "rows": len(texts)}  # fmt: skip

    x = np.load(arg)[:n]
    base = _baseline_mb()
    t = time.perf_counter()
    if kind in ("pairs-exact", "pairs-ivf"):
        from platypus.similarity.pairs import neighbours

        nb = neighbours(x, THRESHOLD, kind.split("-")[1])
        pairs = np.array(sorted(nb.pairs()), dtype=np.int64).reshape(-1, 2)
    elif kind == "pairs-paraphrase-mining":
        import torch
        from sentence_transformers import util

        found = util.paraphrase_mining_embeddings(torch.from_numpy(x), top_k=100,
                                                  max_pairs=10_000_000)  # fmt: skip
        pairs = np.array(sorted((min(i, j), max(i, j)) for s, i, j in found if s >= THRESHOLD),
                         dtype=np.int64).reshape(-1, 2)  # fmt: skip
    elif kind == "pairs-semantic-search-subset":
        # paraphrase_mining's kernel on the first SUBSET queries against all rows: at 200k rows
        # the full baseline would take hours, so its rate is measured per query on a subset.
        import torch
        from sentence_transformers import util

        xt = torch.from_numpy(x)
        hits = util.semantic_search(xt[:SUBSET], xt, top_k=100, query_chunk_size=1000)
        found = {(min(i, h["corpus_id"]), max(i, h["corpus_id"]))
                 for i, row in enumerate(hits) for h in row
                 if h["corpus_id"] != i and h["score"] >= THRESHOLD}  # fmt: skip
        pairs = np.array(sorted(found), dtype=np.int64).reshape(-1, 2)
        n = SUBSET
    elif kind == "greedy-platypus":
        # Platypus' loop: keep a row unless it is similar to a row kept before it.
        kept = np.zeros(len(x), dtype=bool)
        store = np.empty_like(x)
        count = 0
        for i in range(len(x)):
            if count == 0 or (store[:count] @ x[i]).max() < THRESHOLD:
                store[count] = x[i]
                count += 1
                kept[i] = True
        pairs = np.flatnonzero(kept).reshape(-1, 1)
    else:
        raise ValueError(kind)
    seconds = time.perf_counter() - t
    np.save(out, pairs)
    return {"seconds": seconds, "rss_mb": _peak_mb() - base, "rows": min(n, len(x))}


def measure(kind: str, arg: str, n: int, workdir: Path) -> dict:
    out = workdir / f"{kind}-{n}.npy"
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        result = pool.submit(_job, kind, arg, n, str(out)).result()
    result["out"] = out
    return result


def build_rows(workdir: Path) -> Path:
    sys.path.insert(0, str(REPO / "src"))
    from platypus.config import BuildConfig
    from platypus.data.build import build

    return build(BuildConfig(), workdir / "build").paths["jsonl"]


def synthetic(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Real vectors plus noisy copies of them, normalised: n rows."""
    rng = np.random.default_rng(seed)
    if n <= len(real):
        return real[:n]
    picks = rng.integers(0, len(real), n - len(real))
    noise = rng.normal(
        scale=rng.uniform(0.01, 0.05, (len(picks), 1)), size=(len(picks), real.shape[1])
    )
    extra = real[picks] + noise.astype(np.float32)
    x = np.vstack([real, extra])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[rng.permutation(n)].astype(np.float32)


def kept_by_pairs(pairs: np.ndarray, rows: list, n: int) -> set[int]:
    """Our selection rule applied to a pair list, for rows whose priority is `rows` order."""
    from platypus.data.dedup.select import select
    from platypus.similarity.pairs import Neighbours

    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    lims = np.concatenate([[0], np.cumsum(np.bincount(a, minlength=n))]).astype(np.int64)
    nb = Neighbours(lims, b.astype(np.int64), np.ones(len(b), np.float32),
                    np.full(n, -1), np.full(n, np.nan, np.float32))  # fmt: skip
    kept, *_ = select(rows, nb)
    return set(np.flatnonzero(kept).tolist())


def _embed_kind(backend: str) -> str:
    """torch-fp32 -> embed-fp32, onnx-int8 -> embed-int8-onnx."""
    name, precision = backend.split("-")
    return f"embed-{precision}" + ("" if name == "torch" else f"-{name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embed-rows", type=int, default=1000)
    parser.add_argument("--sizes", default="25000,200000")
    parser.add_argument("--baseline-max", type=int, default=25000,
                        help="largest size for the full paraphrase-mining baseline")  # fmt: skip
    parser.add_argument("--greedy-max", type=int, default=25000,
                        help="largest size for the O(N^2) greedy loop")  # fmt: skip
    parser.add_argument(
        "--backends",
        default="torch-fp32,torch-bf16,onnx-fp32,onnx-int8,openvino-fp32",
        help="embedding backends measured side by side",
    )
    parser.add_argument("--kept-rows", type=int, default=0,
                        help="rows for the kept-set comparison (0: all)")  # fmt: skip
    parser.add_argument("--kept-backends", default="",
                        help="backends whose kept set is compared (--backends)")  # fmt: skip
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="platypus-bench-"))
    jsonl = build_rows(workdir)
    total = len(jsonl.read_text().splitlines())
    print(f"data: {total:,} real Open-Platypus rows built from ../shared/data; work dir {workdir}")

    backends = [b for b in args.backends.split(",") if b]
    embed_kinds = {b: _embed_kind(b) for b in backends}
    print(f"\n## Embedding, {args.embed_rows:,} real rows (MiniLM, 2 CPU threads)\n")
    print("| method | rows/s | x naive | rows per CPU-s | x naive (CPU) | peak RSS above base (MB) "
          "|")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    naive = measure("embed-naive", str(jsonl), args.embed_rows, workdir)
    results = {"embed-naive": naive}
    for kind in ["embed-naive", *embed_kinds.values(), "embed-bf16-cached"]:
        if kind == "embed-bf16-cached" and "torch-bf16" not in backends:
            continue
        r = results.get(kind) or measure(kind, str(jsonl), args.embed_rows, workdir)
        results[kind] = r
        rate, cpu = r["rows"] / r["seconds"], r["rows"] / max(r["cpu_seconds"], 1e-9)
        print(f"| {kind} | {rate:,.0f} | {rate / (naive['rows'] / naive['seconds']):.2f} "
              f"| {cpu:,.0f} | {cpu / (naive['rows'] / naive['cpu_seconds']):.2f} "
              f"| {r['rss_mb']:,.0f} |", flush=True)  # fmt: skip
    a = np.load(naive["out"])
    for backend, kind in embed_kinds.items():
        b = np.load(results[kind]["out"])
        print(f"- {backend} vs naive (torch fp32) cosine of the same text: "
              f"min {float((a * b).sum(1).min()):.6f}")  # fmt: skip

    import json

    sys.path.insert(0, str(REPO / "src"))
    from platypus.config import DedupConfig
    from platypus.data.dedup.select import select
    from platypus.data.record import Record
    from platypus.similarity.pairs import exact_neighbours
    from platypus.similarity.rescore import rescore

    rows = [Record(**json.loads(line)) for line in jsonl.read_text().splitlines()]
    n_kept = min(args.kept_rows or total, total)
    rows = rows[:n_kept]
    print(f"\n## Kept set against torch fp32 on {n_kept:,} of {total:,} real rows\n")
    kept_backends = [b for b in (args.kept_backends or args.backends).split(",") if b]
    with_fp32 = ["torch-fp32", *[b for b in kept_backends if b != "torch-fp32"]]
    full = {b: measure(_embed_kind(b) + "-cached", str(jsonl), n_kept, workdir)
            for b in with_fp32}  # fmt: skip
    vectors = {b: np.load(r["out"]) for b, r in full.items()}

    def kept_ids(nb) -> set[str]:
        mask, *_ = select(rows, nb)
        return {rows[i].id for i in np.flatnonzero(mask)}

    reference = kept_ids(exact_neighbours(vectors["torch-fp32"], THRESHOLD))
    print("| backend | kept plain | rows differ | margin | kept after re-scoring | rows differ | "
          "rows re-embedded in torch fp32 | max pair-score error |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ref_x = vectors["torch-fp32"]
    for b in with_fp32:
        if b == "torch-fp32":
            print(f"| torch-fp32 | {len(reference):,} | 0 | - | - | - | - | 0 |")
            continue
        backend, precision = b.split("-")
        margin = DedupConfig(embed_backend=backend, precision=precision).effective_rescore_margin
        plain = kept_ids(exact_neighbours(vectors[b], THRESHOLD))
        found = exact_neighbours(vectors[b], THRESHOLD - margin)
        rescored, refreshed = rescore(found, THRESHOLD, margin, lambda ids: ref_x[ids])
        after = kept_ids(rescored)
        # The largest score error over pairs near the threshold (either score >= 0.6).
        err = 0.0
        for start in range(0, len(ref_x), 2048):
            s_ref = ref_x[start : start + 2048] @ ref_x.T
            s_b = vectors[b][start : start + 2048] @ vectors[b].T
            near = (s_ref >= 0.6) | (s_b >= 0.6)
            if near.any():
                err = max(err, float(np.abs(s_ref - s_b)[near].max()))
        print(f"| {b} | {len(plain):,} | {len(plain ^ reference)} | {margin} | {len(after):,} "
              f"| {len(after ^ reference)} | {refreshed:,} | {err:.5f} |", flush=True)  # fmt: skip
    if not [int(s) for s in args.sizes.split(",") if s]:
        return

    real = np.load(full["torch-fp32"]["out"])
    for n in [int(s) for s in args.sizes.split(",") if s]:
        vec = workdir / f"vectors-{n}.npy"
        np.save(vec, synthetic(real, n))
        print(f"\n## Pair search, {n:,} rows (cosine >= {THRESHOLD})\n")
        print(
            "| method | rows/s | x baseline | peak RSS above base (MB) | pairs | recall vs exact |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        results = {}
        baseline = "pairs-paraphrase-mining" if n <= args.baseline_max else (
            "pairs-semantic-search-subset")  # fmt: skip
        kinds = [baseline, "pairs-exact", "pairs-ivf"]
        if n <= args.greedy_max:
            kinds.append("greedy-platypus")
        for kind in kinds:
            results[kind] = measure(kind, str(vec), n, workdir)
        exact = {tuple(p) for p in np.load(results["pairs-exact"]["out"]).tolist()}
        base_rate = results[baseline]["rows"] / results[baseline]["seconds"]
        for kind, r in results.items():
            found = np.load(r["out"])
            truth = exact
            if kind == "pairs-semantic-search-subset":  # recall over the queried rows only
                truth = {p for p in exact if p[0] < SUBSET or p[1] < SUBSET}
                kind = f"{kind} ({r['rows']:,} queries)"
            if kind == "greedy-platypus":
                pairs, rec = "-", "-"
            else:
                got = {tuple(p) for p in found.tolist()}
                pairs, rec = f"{len(got):,}", f"{len(got & truth) / max(1, len(truth)):.4f}"
            rate = r["rows"] / r["seconds"]
            print(f"| {kind} | {rate:,.0f} | {rate / base_rate:.2f} "
                  f"| {r['rss_mb']:,.0f} | {pairs} | {rec} |", flush=True)  # fmt: skip
        # Kept sets. Priority = a fixed pseudo-verbosity per row, the same for every method.
        prio = [Record(f"{i:07d}", "", "", "x" * (i * 7919 % 97), "s") for i in range(n)]
        ours = kept_by_pairs(np.load(results["pairs-exact"]["out"]), prio, n)
        ivf = kept_by_pairs(np.load(results["pairs-ivf"]["out"]), prio, n)
        line = f"kept: exact {len(ours):,}, ivf {len(ivf):,} ({len(ours ^ ivf):,} differ)"
        if "greedy-platypus" in results:
            greedy = set(np.load(results["greedy-platypus"]["out"]).reshape(-1).tolist())
            jac = len(ours & greedy) / len(ours | greedy)
            line += f", Platypus greedy {len(greedy):,} (Jaccard with ours {jac:.3f}; it keeps " \
                    "the first row seen, ours the most verbose)"  # fmt: skip
        print("\n" + line)


if __name__ == "__main__":
    main()
