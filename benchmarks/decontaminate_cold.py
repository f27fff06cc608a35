"""A new user's first decontaminate: `platypus data decontaminate` against the six v1 test sets
with an empty cache (embeddings, prepared benchmarks, models' compiled state), timed end to end
as a subprocess, once per configuration given; the leaks each finds compared with the first's.

    .venv/bin/python benchmarks/decontaminate_cold.py \\
        --config default= --config onnx-int8=embed_backend=onnx,precision=int8

The input is the 322 rows of the labelled set (`benchmarks/data/rephrased_leaks.jsonl`): the
time is the benchmarks' (28,659 items and their option views embedded before anything else), so
the input's size barely matters. Results: `benchmarks/results/decontaminate-cold-cpu-2core.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from generation import cpu_line  # noqa: E402


def rows(out: Path) -> Path:
    """The labelled set's training rows as an alpaca jsonl with ids."""
    path = out / "rows.jsonl"
    with path.open("w") as f:
        for line in (REPO / "benchmarks" / "data" / "rephrased_leaks.jsonl").open():
            case = json.loads(line)
            f.write(json.dumps({"id": case["id"], **case["row"]}) + "\n")
    return path


def leaks(folder: Path) -> set[tuple[str, str, str]]:
    found = set()
    for line in (folder / "leaks.jsonl").open():
        k = json.loads(line)
        found.add((str(k["train_id"]), k["benchmark_id"], k["category"]))
    return found


def profile(data_root: str, configs: list[tuple[str, str, str]]) -> list[str]:
    """Where a cold run's embedding time goes: texts and MiniLM tokens per benchmark and view
    (what the detectors embed), and each configuration's embedding rate on a sample of 1,024
    of those texts (no cache), hence the seconds embedding them all would take."""
    import random

    from platypus.config import DecontaminateConfig
    from platypus.data.decontaminate.detect import VIEWS
    from platypus.data.decontaminate.run import load_benchmarks
    from platypus.similarity.embed import Embedder

    config = DecontaminateConfig(data_root=data_root)
    items = load_benchmarks(config)
    tokenizer = Embedder(use_cache=False).model.tokenizer
    limit = Embedder(use_cache=False).model.max_seq_length
    rows, texts = [], []
    for view in config.views:
        for benchmark in config.benchmarks:
            chosen = [t for i in items if i.benchmark == benchmark
                      for t in [VIEWS[view](i)] if t is not None]  # fmt: skip
            if not chosen:  # a view the benchmark has no text for (GSM8K's options)
                continue
            lengths = [min(len(ids), limit) for ids in tokenizer(chosen).input_ids]
            rows.append((benchmark, view, len(chosen), sum(lengths)))
            texts += chosen
    total_tokens = sum(r[3] for r in rows)
    sample = random.Random(0).sample(texts, 1024)
    sample_tokens = sum(min(len(ids), limit) for ids in tokenizer(sample).input_ids)
    lines = [
        "",
        "## Where the embedding time goes",
        "",
        f"What the detectors embed ({len(texts):,} texts, {total_tokens:,} MiniLM tokens, "
        f"truncated at {limit}):",
        "",
        "| benchmark | view | texts | tokens | share of tokens |",
        "|---|---|---:|---:|---:|",
        *(f"| {b} | {v} | {n:,} | {t:,} | {t / total_tokens:.0%} |" for b, v, n, t in rows),
        "",
        f"Embedding rate on 1,024 of those texts ({sample_tokens:,} tokens; no cache), and the "
        "seconds all of them would take at that rate:",
        "",
        "| configuration | precision | tokens/s | seconds for all |",
        "|---|---|---:|---:|",
    ]  # fmt: skip
    for name, backend, precision in configs:
        embedder = Embedder(precision=precision, backend=backend, use_cache=False)
        embedder.encode(sample[:32])  # load and warm up
        t0 = time.perf_counter()
        embedder.encode(sample)
        rate = sample_tokens / (time.perf_counter() - t0)
        lines.append(
            f"| {name} | {backend} {precision} | {rate:,.0f} | {total_tokens / rate:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", action="append", default=None,
        help="NAME=key=value,key=value (--set overrides); the first is the reference",
    )  # fmt: skip
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                             "decontaminate-cold-cpu-2core.md"))  # fmt: skip
    parser.add_argument(
        "--profile", default="",
        help="BACKEND:PRECISION,...: append where the embedding time goes (no runs)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.profile:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        pairs = [p.split(":") for p in args.profile.split(",")]
        lines = profile(args.data_root, [(f"{b} {p}", b, p) for b, p in pairs])
        with Path(args.out).open("a") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    configs = args.config or ["default="]
    table = []
    reference: set | None = None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        input_path = rows(tmp)
        for spec in configs:
            name, _, sets = spec.partition("=")
            cache = tmp / f"cache-{name}"  # empty: a cold start
            folder = tmp / f"out-{name}"
            env = os.environ | {
                "PLATYPUS_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                "PLATYPUS_PROGRESS_SECONDS": "60",
            }  # fmt: skip
            command = [
                str(REPO / ".venv" / "bin" / "platypus"), "data", "decontaminate",
                "--input", str(input_path), "--format", "alpaca", "--id-field", "id",
                "--output-dir", str(folder), "--data-root", args.data_root,
            ]  # fmt: skip
            for setting in filter(None, sets.split(",")):
                command += ["--set", setting]
            t0 = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if done.returncode:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{name}: exit {done.returncode}")
            summary = json.loads((folder / "decontaminate.json").read_text())
            found = leaks(folder)
            if reference is None:
                reference = found
            same = "=" if found == reference else (
                f"{len(found & reference)} shared, {len(found - reference)} more, "
                f"{len(reference - found)} fewer"
            )  # fmt: skip
            setup = summary["config"]
            embedding = f"{setup['embed_backend']} {setup['precision']}"
            table.append((name, sets or "(defaults)", seconds, embedding, len(found), same,
                          summary.get("rows_removed")))  # fmt: skip
            print(name, f"{seconds:.0f} s", len(found), same, flush=True)
    lines = [
        "# First decontaminate on a cold cache",
        "",
        f"Host: {cpu_line()}.",
        "",
        "`benchmarks/decontaminate_cold.py " + " ".join(f"--config {c}" for c in configs)
        + "`: `platypus data decontaminate` of the labelled set's 322 rows against the six v1 "
        "test sets (28,659 items), each configuration with its own empty cache "
        "(`PLATYPUS_CACHE`), timed from process start to exit.",
        "",
        "| configuration | settings | seconds | embedding | leak pairs | leaks vs the first row "
        "| rows removed |",
        "|---|---|---:|---|---:|---|---:|",
    ]  # fmt: skip
    for name, sets, seconds, embedding, n, same, removed in table:
        lines.append(
            f"| {name} | {sets} | {seconds:.0f} | {embedding} | {n} | {same} | {removed} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
