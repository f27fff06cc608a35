#!/usr/bin/env bash
# The test command: sets up (idempotent, quick when already done) and runs the default suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k keywords`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/setup.sh >/tmp/platypus-setup.$$.log 2>&1; then
    cat /tmp/platypus-setup.$$.log >&2
    echo "setup failed (log above)" >&2
    exit 1
fi
rm -f /tmp/platypus-setup.$$.log
# Tests never reach a model hub: the packaged models are used.
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1
exec .venv/bin/python -m pytest "$@"
