"""MinHash-LSH near duplicates against the exact embedding search, on the real Open-Platypus build.

    .venv/bin/python benchmarks/minhash.py [--out benchmarks/results/minhash-cpu-2core.md]

The set is built from ../shared/data (16,146 rows); both searches run on the rows left after the
exact stage. Embedding pairs: MiniLM vectors (bf16, read from the embedding cache; `--embed`
embeds the rows the cache lacks, else they are left out and counted), every pair at cosine >= 0.8
by the exact search. MinHash: datasketch MinHash (128 permutations, seed 42) + MinHashLSH, a pair
an LSH candidate whose estimated Jaccard reaches the threshold, at several thresholds and
shingle kinds; minhash+embedding: those pairs at cosine >= 0.8. Reported: the MinHash pairs'
recall against the embedding pairs, how lexical the embedding pairs are (their true Jaccard),
seconds of each part (MinHash, pair search) with the embedding rate measured on a sample, and the
kept sets of the three methods under the stage's selection rule (the more verbose row kept).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
RESULTS = REPO / "benchmarks" / "results" / "minhash-cpu-2core.md"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)
SHINGLES = (("char", 5), ("word", 3))
IDLE_EMBED_RATE = 223  # bf16 rows/s on an idle 2-core machine (results/dedup-cpu-2core.md)


def build_rows(workdir: Path) -> Path:
    from platypus.config import BuildConfig
    from platypus.data.build import build

    return build(BuildConfig(output_dir=str(workdir / "build"))).paths["jsonl"]


def true_jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--sample", type=int, default=100, help="rows for the embedding rate")
    parser.add_argument("--embed", action="store_true", help="embed rows the cache lacks")
    args = parser.parse_args()

    from platypus.config import DedupConfig
    from platypus.data.dedup.exact import exact_dedup
    from platypus.data.dedup.minhash import as_neighbours, lsh_pairs, shingles, signatures
    from platypus.data.dedup.run import embed_text
    from platypus.data.dedup.select import select
    from platypus.io.records import read_records
    from platypus.similarity.embed import Embedder, EmbeddingCache, model_fingerprint, text_key
    from platypus.similarity.pairs import exact_neighbours

    load = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="platypus-minhash-"))
    records = read_records(build_rows(workdir))
    after_exact, _ = exact_dedup(records)
    if args.embed:
        x = Embedder(precision="bf16", show_progress=False).encode(
            [embed_text(r) for r in after_exact])  # fmt: skip
        rows = after_exact
    else:
        cache = EmbeddingCache(model_fingerprint(None, "bf16"))
        found = cache.get([text_key(embed_text(r)) for r in after_exact])
        rows = [r for r in after_exact if text_key(embed_text(r)) in found]
        x = np.stack([found[text_key(embed_text(r))] for r in rows])
    texts = [embed_text(r) for r in rows]
    n = len(rows)
    print(f"{len(records):,} rows, {len(after_exact):,} after the exact stage, {n:,} with "
          f"vectors; {workdir}", flush=True)  # fmt: skip

    # Embedding rate with the cache off, on a sample of real rows (the load is reported).
    embedder = Embedder(precision="bf16", use_cache=False, show_progress=False)
    embedder.encode(["warm up"])
    sample = texts[:: max(1, n // args.sample)][: args.sample]
    t0 = time.perf_counter()
    embedder.encode(sample)
    embed_rate = len(sample) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    nb = exact_neighbours(x, 0.8)
    search_s = time.perf_counter() - t0
    truth = nb.pairs()
    print(f"embedding: {len(truth):,} pairs, search {search_s:.1f} s, embed {embed_rate:.1f} "
          "rows/s", flush=True)  # fmt: skip

    sets = {s: [shingles(t, s[1], s[0]) for t in texts] for s in SHINGLES}
    lexical = {  # each embedding pair's true Jaccard, per shingle kind
        s: {p: true_jaccard(sets[s][p[0]], sets[s][p[1]]) for p in truth} for s in SHINGLES
    }
    sweep, default_pairs, timing = [], None, {}
    for unit, size in SHINGLES:
        config = DedupConfig(minhash_unit=unit, minhash_shingle=size)
        t0 = time.perf_counter()
        sig, scheme = signatures(texts, config)
        sig_s = time.perf_counter() - t0
        for threshold in THRESHOLDS:
            t0 = time.perf_counter()
            a, b, jac = lsh_pairs(sig, scheme, config.model_copy(update={"minhash_threshold":
                                                                          threshold}))  # fmt: skip
            lsh_s = time.perf_counter() - t0
            found_pairs = set(zip(a.tolist(), b.tolist(), strict=True))
            hits = found_pairs & truth
            lex = {p for p, j in lexical[(unit, size)].items() if j >= threshold}
            sweep.append({
                "shingles": f"{size}-{unit}", "threshold": threshold, "pairs": len(found_pairs),
                "in_embedding": len(hits), "recall": len(hits) / max(1, len(truth)),
                "lexical": len(lex), "lexical_recall": len(found_pairs & lex) / max(1, len(lex)),
                "seconds": sig_s + lsh_s,
            })  # fmt: skip
            print(sweep[-1], flush=True)
            if (unit, size, threshold) == ("char", 5, 0.7):
                default_pairs = (a, b, jac)
                timing = {"signatures": sig_s, "lsh": lsh_s}

    # The three methods' kept sets, by the stage's own selection rule.
    a, b, jac = default_pairs
    cos = np.einsum("ij,ij->i", x[a], x[b]) if len(a) else np.zeros(0)
    outside = cos < 0.8
    cosine = {(int(i), int(j)): float(c) for i, j, c in zip(a[outside], b[outside], cos[outside],
                                                             strict=True)}  # fmt: skip
    confirmed = as_neighbours(n, a[~outside], b[~outside], cos[~outside].astype(np.float32))
    kept = {}
    for method, pairs in (("embedding", nb), ("minhash", as_neighbours(n, a, b, jac)),
                          ("minhash+embedding", confirmed)):  # fmt: skip
        mask, *_ = select(rows, pairs)
        kept[method] = {rows[i].id for i in np.flatnonzero(mask)}
    in_pairs = len(np.unique(np.concatenate([a, b]))) if len(a) else 0
    seconds = {
        "embedding": {"embed (est.)": n / embed_rate, "pairs": search_s},
        "minhash": {"minhash": timing["signatures"] + timing["lsh"]},
        "minhash+embedding": {"minhash": timing["signatures"] + timing["lsh"],
                              "embed (est.)": in_pairs / embed_rate},
    }  # fmt: skip
    info = {"records": len(records), "after_exact": len(after_exact), "n": n, "load": load,
            "embed_rate": embed_rate, "in_pairs": in_pairs, "sample": len(sample),
            "embedded_all": args.embed}  # fmt: skip
    write(args, rows, truth, lexical, sweep, cosine, kept, seconds, info)


def write(args, rows, truth, lexical, sweep, cosine, kept, seconds, info) -> None:
    n = info["n"]
    default = ("char", 5)
    coverage = (
        "all of them embedded"
        if info["embedded_all"]
        else f"{n:,} of them with vectors in the embedding cache (the rest, never embedded on this "
        "machine, are left out)"
    )
    lines = [
        "# MinHash-LSH against the exact embedding search",
        "",
        f"`benchmarks/minhash.py` on {platform.machine()} ({os.cpu_count()} cores), "
        f"{datetime.date.today()}, load average {info['load'][0]:.1f} when it started: other "
        "jobs shared the two cores, so every time here is slower than on an idle machine. Data: "
        f"the real Open-Platypus build from ../shared/data, {info['records']:,} rows, "
        f"{info['after_exact']:,} after the exact stage, {coverage}. Embedding pairs: MiniLM "
        f"bf16 vectors, every pair at cosine >= 0.8 (exact search): {len(truth):,} pairs. "
        "MinHash: datasketch `MinHash` (128 permutations, seed 42) and `MinHashLSH`; a pair is an "
        "LSH candidate whose estimated Jaccard reaches the threshold.",
        "",
        "## MinHash pairs against the embedding pairs",
        "",
        "recall: share of the embedding pairs (cosine >= 0.8) that MinHash finds; lexical recall: "
        "the same among the embedding pairs whose true Jaccard (of the same shingles) reaches the "
        "threshold, i.e. what MinHash is built to find. seconds: MinHash signatures + LSH.",
        "",
        "| shingles | Jaccard >= | MinHash pairs | of them embedding pairs | recall | lexical "
        "embedding pairs | lexical recall | seconds | rows/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sweep:
        lines.append(
            f"| {s['shingles']} | {s['threshold']} | {s['pairs']:,} | {s['in_embedding']:,} | "
            f"{s['recall']:.3f} | {s['lexical']:,} | {s['lexical_recall']:.3f} | "
            f"{s['seconds']:.1f} | {n / s['seconds']:,.0f} |"
        )
    jac = np.array(list(lexical[default].values()))
    edges = (0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 1.0001)
    counts, _ = np.histogram(jac, bins=edges)
    lines += [
        "",
        "## How lexical the embedding pairs are",
        "",
        f"True Jaccard of 5-character shingles of the {len(truth):,} embedding pairs:",
        "",
        "| Jaccard | pairs | share |",
        "|---|---:|---:|",
    ]
    for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True):
        lines.append(f"| {lo:.1f}–{min(hi, 1.0):.1f} | {c:,} | {c / max(1, len(jac)):.1%} |")
    out_cos = np.array(list(cosine.values()))
    lines += [
        "",
        f"MinHash pairs (5-char, >= 0.7) that are not embedding pairs: {len(out_cos):,}"
        + (
            f"; their cosine: median {np.median(out_cos):.3f}, min {out_cos.min():.3f}, "
            f"max {out_cos.max():.3f}"
            if len(out_cos)
            else ""
        )
        + ". The lowest:",
    ]
    if len(out_cos):
        lines += ["", "| cosine | row | text | row | text |", "|---:|---|---|---|---|"]
        for (i, j), c in sorted(cosine.items(), key=lambda kv: kv[1])[:4]:
            a, b = rows[i], rows[j]
            lines.append(f"| {c:.3f} | `{a.id}` | {_short(a.instruction)} | `{b.id}` | "
                         f"{_short(b.instruction)} |")  # fmt: skip
    lines += [
        "",
        "## Speed and kept sets (defaults: 5-character shingles, Jaccard >= 0.7)",
        "",
        f"Embedding measured here with the cache off on {info['sample']} rows: "
        f"{info['embed_rate']:,.1f} rows/s (bf16) under this load; on an idle machine of this "
        f"kind `benchmarks/dedup.py` measured {IDLE_EMBED_RATE} rows/s (bf16) and 104 (fp32). "
        "`embed (est.)`: "
        "rows to embed at the rate measured here. minhash+embedding embeds only the "
        f"{info['in_pairs']:,} rows of LSH pairs. Kept: the stage's selection rule (most verbose "
        "row first) on each method's pairs.",
        "",
        "| method | seconds here (parts) | rows/s here | rows/s, embedding at the idle 223/s | "
        "kept | differ from embedding's | kept by it, removed by embedding | removed by it, kept "
        "by embedding |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    e = kept["embedding"]
    for method, parts in seconds.items():
        total = sum(parts.values())
        embed_rows = parts.get("embed (est.)", 0.0) * info["embed_rate"]
        idle = total - parts.get("embed (est.)", 0.0) + embed_rows / IDLE_EMBED_RATE
        part_text = " + ".join(f"{k} {v:,.1f}" for k, v in parts.items())
        k = kept[method]
        lines.append(f"| {method} | {total:,.1f} ({part_text}) | {n / total:,.1f} | "
                     f"{n / idle:,.0f} | {len(k):,} | {len(k ^ e):,} | {len(k - e):,} | "
                     f"{len(e - k):,} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


if __name__ == "__main__":
    main()
