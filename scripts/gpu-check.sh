#!/usr/bin/env bash
# The GPU check: the `-m gpu` tests, then the GPU benchmark (benchmarks/gpu.py), on a bare GPU
# machine whose image holds torch and the Hugging Face stack but has no network.
#
#   bash scripts/gpu-wheels.sh          # here: .whl/ (wheels for Python 3.12) and .gpu/ (inputs)
#   bash scripts/gpu-check.sh           # there, from the repo root, with .whl and .gpu carried;
#                                       # tables and logs go to $OUT (default .gpu-out/)
#   bash scripts/gpu-check.sh --dry-run # here: the rehearsal, end to end on the CPU (below)
#
# On the machine: the carried wheels and then the project are installed with --no-deps and
# --no-index into /tmp/site, over the image's torch; the models are made (tests/gpu_models.py);
# the tests run (PLATYPUS_GPU_* variables: tests/test_gpu.py), then the benchmark, each under a
# time limit so that the whole stays within GPU_CHECK_SECONDS (default 480); every step prints a
# timestamp. Exit status: the tests' (the benchmark's tables are written either way).
#
# --dry-run: builds the same wheel set for this machine's Python into .gpu-rehearsal/whl, makes a
# fresh venv holding only what the GPU image holds (scripts/gpu/image.txt, from the package
# index; any wheel of the carried set that came along is removed again), then runs this script's
# machine part with that venv's python, CPU sizes and the tests on the CPU
# (PLATYPUS_GPU_TEST_DEVICE=cpu; the GPU-only checks skip).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
T0=$SECONDS
stamp() { echo "[$(date -u +%H:%M:%S) +$((SECONDS - T0))s] $*"; }

if [ "${1:-}" = "--dry-run" ]; then
  set -e
  REH=$REPO/.gpu-rehearsal
  PYV=$(.venv/bin/python -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  stamp "rehearsal: the wheel set for Python $PYV and the inputs"
  .venv/bin/python scripts/gpu/prepare.py --python-version "$PYV" --wheels "$REH/whl"
  stamp "rehearsal: a fresh venv holding what the GPU image holds"
  rm -rf "$REH/venv" && python3 -m venv "$REH/venv"
  "$REH/venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  grep -v '^#' scripts/gpu/image.txt | sed 's/ *#.*//' | grep . > "$REH/image-requirements.txt"
  "$REH/venv/bin/python" -m pip install -q -c requirements.lock -r "$REH/image-requirements.txt" \
    2>&1 | grep -v "^WARNING: Location" || true
  carried=$(sed 's/#.*//; s/==.*//; s/ //g' scripts/gpu/wheels.txt | grep . | tr '\n' ' ')
  # shellcheck disable=SC2086
  "$REH/venv/bin/python" -m pip uninstall -q -y $carried 2>/dev/null || true
  stamp "rehearsal: the machine part, on the CPU"
  # The CPU is many times slower than the GPU: the rehearsal checks that every step runs, with
  # an hour in place of the machine's eight minutes.
  export PLATYPUS_GPU_TEST_DEVICE=cpu GPU_CHECK_SIZE=cpu GPU_CHECK_SECONDS=${GPU_CHECK_SECONDS:-3600}
  exec env PYTHON="$REH/venv/bin/python" WHEELS="$REH/whl" OUT="${OUT:-$REH/out}" \
    bash scripts/gpu-check.sh --machine
fi

# The machine part ---------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-$REPO/.whl}
OUT=${OUT:-$REPO/.gpu-out}
SIZE=${GPU_CHECK_SIZE:-gpu}
BUDGET=${GPU_CHECK_SECONDS:-480}
SITE=/tmp/platypus-site
MODELS=/tmp/platypus-gpu-models
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 PYTHONUNBUFFERED=1
if [ ! -d .gpu ] || ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  echo "gpu-check: .gpu/ and the wheels are missing: run 'bash scripts/gpu-wheels.sh' first and carry .whl and .gpu" >&2
  exit 2
fi

stamp "install: $(ls "$WHEELS"/*.whl | wc -l) wheels into $SITE (--no-deps --no-index)"
rm -rf "$SITE"
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
  "$WHEELS"/*.whl || { echo "gpu-check: the wheels did not install" >&2; exit 1; }
export PYTHONPATH=$SITE
# The project itself, --no-deps over the image's packages; where the image's setuptools cannot
# build it, its source folder serves as well.
if "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
    --target "$SITE" . >"$OUT/project-install.txt" 2>&1; then
  stamp "install: the project into $SITE"
else
  export PYTHONPATH=$SITE:$REPO/src
  stamp "install: the project from src/ (pip could not build it here: $(tail -1 "$OUT/project-install.txt"))"
fi
rm -f "$OUT/project-install.txt"
{
  "$PYTHON" -c 'import sys, torch, transformers, peft, accelerate, platypus
print("python", sys.version.split()[0], "| torch", torch.__version__, "| transformers",
      transformers.__version__, "| peft", peft.__version__, "| accelerate", accelerate.__version__)
print("cuda:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  grep -c ^processor /proc/cpuinfo | sed 's/^/cpu cores: /'
  cat "$WHEELS/MANIFEST.json" 2>/dev/null
} > "$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

stamp "models: SmolLM2's shape and a ~1.2B Llama, random weights ($SIZE sizes)"
CONFIG=$REPO/.gpu/smollm2-config
[ -f "$CONFIG/tokenizer.json" ] || gunzip -kf "$CONFIG/tokenizer.json.gz"
timeout 120 "$PYTHON" tests/gpu_models.py "$MODELS" --from "$CONFIG" --size "$SIZE" \
  || { echo "gpu-check: the models could not be made" >&2; exit 1; }

LEFT=$((BUDGET - (SECONDS - T0)))
TESTS_LIMIT=$((LEFT * 50 / 100))
stamp "tests: -m gpu (at most ${TESTS_LIMIT}s)"
rm -f "$OUT/gpu-tests.jsonl"
PLATYPUS_GPU_MODELS=$MODELS PLATYPUS_SHARED_DATA=$REPO/.gpu/data \
PLATYPUS_GPU_ROWS=$REPO/.gpu/math.jsonl PLATYPUS_GPU_REPORT=$OUT \
  timeout "$TESTS_LIMIT" "$PYTHON" -m pytest tests/test_gpu.py -m gpu -p no:cacheprovider -q -rs \
  --timeout "$TESTS_LIMIT" --junitxml "$OUT/gpu-tests.xml" -o junit_family=xunit1 --durations 0
TESTS=$?
stamp "tests: exit $TESTS"

LEFT=$((BUDGET - (SECONDS - T0)))
stamp "benchmark (at most ${LEFT}s)"
timeout "$LEFT" "$PYTHON" benchmarks/gpu.py --models "$MODELS" --rows .gpu/math.jsonl \
  --data-root .gpu/data --out "$OUT" --size "$SIZE" --deadline $((LEFT * 70 / 100))
stamp "benchmark: exit $?"
rm -rf "$OUT/work" "$OUT"/rows-*.jsonl
stamp "done: $(ls "$OUT" | tr '\n' ' ')"
exit "$TESTS"
