#!/usr/bin/env bash
# Build /work/main/.venv-v1: the Open LLM Leaderboard v1 harness (lm-eval at commit b281b09)
# with the transformers 4.36 stack it needs, next to the project's own .venv.
#
# torch is not installed here: a .pth file appends the project venv's site-packages to
# sys.path *after* this venv's own, so torch (and heavy compiled packages such as scipy,
# scikit-learn, pyarrow, pandas) come from the project venv while the pinned versions
# installed here (transformers 4.36.2, huggingface-hub<1.0, datasets 3.6.0, peft 0.13.2)
# win. Idempotent; touches nothing outside .venv-v1; network is PyPI only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MAIN_VENV="${MAIN_VENV:-$ROOT/.venv}"
V1="${V1_VENV:-$ROOT/.venv-v1}"
TARBALL="${V1_TARBALL:-/work/shared/reference/lm-eval-b281b09.tar.gz}"
TARBALL_SHA256=2c6ba7f5b3b401348cc61b9df447edf1b935305b90c74344e541d4cfd7ac48f8

[ -x "$MAIN_VENV/bin/python" ] || { echo "error: project venv not found at $MAIN_VENV" >&2; exit 2; }
[ -f "$TARBALL" ] || { echo "error: harness archive not found at $TARBALL" >&2; exit 2; }
echo "$TARBALL_SHA256  $TARBALL" | sha256sum -c --quiet - \
    || { echo "error: $TARBALL does not have the expected sha256" >&2; exit 2; }

# Same interpreter as the project venv, so the torch wheel there (cp311) imports here.
BASE_PY="$("$MAIN_VENV/bin/python" -c 'import sys; print(sys._base_executable)')"
[ -x "$V1/bin/python" ] || "$BASE_PY" -m venv "$V1"
PY="$V1/bin/python"

# Link to the project venv's packages, appended after this venv's site-packages.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
MAIN_SITE="$("$MAIN_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$MAIN_SITE" > "$SITE/zz_platypus_main_venv.pth"

# Unpack the harness source once (a normal install would leave out its data folders).
SRC="$V1/src/lm-eval-b281b09"
if [ ! -f "$SRC/setup.py" ]; then
    mkdir -p "$SRC"
    tar -xzf "$TARBALL" -C "$SRC" --strip-components=1
fi

# pip sees the project venv's packages through the .pth, so only what is missing or
# conflicts with a pin is installed here (pip leaves packages outside this venv alone).
"$PY" -m pip install -q \
    "transformers==4.36.2" "huggingface-hub<1.0" "datasets==3.6.0" "peft==0.13.2" requests \
    "sacrebleu==1.5.0" rouge-score pycountry sqlitedict pytablewriter jsonlines \
    omegaconf numexpr zstandard tqdm-multiprocess
# compat mode puts the source folder itself on sys.path (a .pth sorting before ours); the
# default editable finder would lose to the project venv's lm_eval 0.4 found via our .pth.
"$PY" -m pip install -q --no-deps --config-settings editable_mode=compat -e "$SRC"

"$PY" - "$SRC" <<'PYCHECK'
import os, sys
import torch, transformers, datasets, huggingface_hub, peft
import lm_eval.evaluator, lm_eval.models, lm_eval.tasks  # noqa: F401
print("torch", torch.__version__, "transformers", transformers.__version__,
      "datasets", datasets.__version__, "huggingface_hub", huggingface_hub.__version__,
      "peft", peft.__version__, "lm_eval", lm_eval.__file__)
assert transformers.__version__ == "4.36.2", transformers.__version__
assert datasets.__version__ == "3.6.0", datasets.__version__
assert os.path.realpath(lm_eval.__file__).startswith(os.path.realpath(sys.argv[1])), lm_eval.__file__
PYCHECK
