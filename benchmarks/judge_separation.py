"""Can the contamination check's LLM judge tell a leak from a hard negative? Its P(same question)
for every labelled row against the very item it leaks or imitates, and the AUC of leaks over
hard negatives (0.5: no better than a coin).

    .venv/bin/python benchmarks/judge_separation.py [--judge-model M] [--judge-endpoint URL]
        [--split dev|held-out|all]

Default: the packaged SmolLM2-135M-Instruct, run locally, on the dev rows (the held-out rows'
texts reach the judge only when asked for). Results:
benchmarks/results/judge-separation-cpu-2core.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from contamination import LABELLED, resolve_id  # noqa: E402
from generation import cpu_line  # noqa: E402

from platypus.config import DecontaminateConfig  # noqa: E402
from platypus.data.compare import embed_text  # noqa: E402
from platypus.data.decontaminate.judge import make_judge  # noqa: E402
from platypus.data.decontaminate.run import load_benchmarks  # noqa: E402
from platypus.data.record import Record  # noqa: E402
from platypus.paths import data_root  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "judge-separation-cpu-2core.md"


def auc(positive: list[float], negative: list[float]) -> float:
    """P(a random leak scores above a random negative), ties counting half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge-model", default=None)
    parser.add_argument("--judge-endpoint", default=None)
    parser.add_argument("--split", choices=("dev", "held-out", "all"), default="dev")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    config = DecontaminateConfig(data_root=str(data_root(None)), judge=True,
                                 judge_model=args.judge_model,
                                 judge_endpoint=args.judge_endpoint)  # fmt: skip
    items = load_benchmarks(config)
    by_id = {item.id: i for i, item in enumerate(items)}
    rows = [json.loads(line) for line in LABELLED.read_text().splitlines() if line]
    rows = [r for r in rows if r["benchmark_id"] and args.split in ("all", r["split"])]
    pairs = [(embed_text(Record(r["id"], **r["row"])),
              items[resolve_id(r["benchmark_id"], by_id)].question) for r in rows]  # fmt: skip
    start = time.perf_counter()
    p = make_judge(config).same_question(pairs)
    seconds = time.perf_counter() - start
    leaks = [x for x, r in zip(p, rows, strict=True) if r["label"] == "leak"]
    negatives = [x for x, r in zip(p, rows, strict=True) if r["label"] == "clean"]
    model = args.judge_model or "the packaged SmolLM2-135M-Instruct"
    lines = [
        "# The LLM judge: leaks against hard negatives",
        "",
        f"`benchmarks/judge_separation.py` on {cpu_line()}, "
        f"{time.strftime('%Y-%m-%d')}: {model}"
        f"{' at ' + args.judge_endpoint if args.judge_endpoint else ', run locally'}, asked "
        "llm-decontaminator's question (the same question?) of each labelled row "
        f"({args.split} rows) and the very benchmark item it leaks or imitates.",
        "",
        "| rows | pairs | mean P(same) |",
        "|---|---:|---:|",
        f"| leaks | {len(leaks)} | {sum(leaks) / len(leaks):.3f} |",
        f"| hard negatives | {len(negatives)} | {sum(negatives) / len(negatives):.3f} |",
        "",
        f"AUC (a leak scored above a negative): **{auc(leaks, negatives):.3f}** "
        f"(0.5: a coin). {seconds:.0f} s for {len(pairs)} pairs.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
