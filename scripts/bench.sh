#!/usr/bin/env bash
# The benchmark command: speed and memory against the reference tools, side by side, plus the
# slow tests and a timed quickstart run on a fresh run folder. Takes about an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1
.venv/bin/python -m pytest -m slow -q || [ $? -eq 5 ]   # 5: no slow tests selected
.venv/bin/python benchmarks/dedup.py
.venv/bin/python benchmarks/train.py
.venv/bin/python benchmarks/merge.py
.venv/bin/python benchmarks/eval.py
run_dir=$(mktemp -d)
start=$(date +%s)
.venv/bin/platypus run recipes/quickstart.yaml --run-dir "$run_dir"
echo "quickstart: $(( $(date +%s) - start )) s (report: $run_dir/report.html)"
