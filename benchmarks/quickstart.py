"""The quickstart as a new user meets it: `platypus run RECIPE` on a fresh run folder with an
empty cache (`PLATYPUS_CACHE`: embeddings, prepared benchmarks, the compute probe), timed from
process start to exit, with each stage's own seconds from its manifest.

    .venv/bin/python benchmarks/quickstart.py [--recipe recipes/quickstart.yaml]

Results: `benchmarks/results/quickstart-cpu-2core.md` (the target: 10 minutes on 2 cores).
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


def stage_seconds(run_dir: Path) -> list[tuple[str, float]]:
    """(stage, seconds) of each stage folder's manifest, in the order they finished."""
    found = []
    for manifest in run_dir.glob("*/manifest.json"):
        data = json.loads(manifest.read_text())
        found.append((data.get("finished_at", ""), data["stage"], float(data["seconds"])))
    return [(stage, seconds) for _, stage, seconds in sorted(found)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(REPO / "recipes" / "quickstart.yaml"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                             "quickstart-cpu-2core.md"))  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir, cache = Path(tmp) / "run", Path(tmp) / "cache"
        env = os.environ | {
            "PLATYPUS_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "PLATYPUS_PROGRESS_SECONDS": "60",
        }  # fmt: skip
        command = [str(REPO / ".venv" / "bin" / "platypus"), "run", args.recipe,
                   "--run-dir", str(run_dir)]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"platypus run: exit {done.returncode}")
        stages = stage_seconds(run_dir)
    name = Path(args.recipe).name
    lines = [
        "# The quickstart on a cold cache",
        "",
        f"Host: {cpu_line()}.",
        "",
        f"`benchmarks/quickstart.py --recipe {name}`: `platypus run {name}` on a fresh run "
        "folder with an empty cache, timed from process start to exit; each stage's seconds "
        "from its manifest (the rest: start-up, loading, the report).",
        "",
        "| stage | stage seconds |",
        "|---|---:|",
        *(f"| {stage} | {s:.0f} |" for stage, s in stages),
        "",
        "| configuration | seconds |",
        "|---|---:|",
        f"| {name} | {seconds:.0f} |",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
