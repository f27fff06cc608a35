"""Stage what the GPU check carries to a GPU machine: its wheels in .whl/ and its inputs in .gpu/.

    .venv/bin/python scripts/gpu/prepare.py [--python-version 3.12] [--wheels .whl]
                                            [--payload .gpu] [--budget-mib 64]

Wheels: scripts/gpu/wheels.txt in its order, at requirements.lock's versions (else the list's),
downloaded for the target Python on manylinux x86_64 (`pip download --no-deps
--only-binary=:all:`); the few PyPI has only as sources are built here into pure-Python wheels
(`pip wheel --no-deps`). Inputs: SmolLM2's config and tokenizer (the GPU machine makes random
weights of that shape: the packaged weights do not fit), MATH training rows from a build of
../shared/data, and the ARC and Winogrande files the eval checks read (with their SOURCE.md).

The machine takes 64 MiB: the tree (tracked and untracked-not-ignored files) plus the carried
folders. Wheels are dropped from the end of the list until it fits, each with a line saying so;
.whl/MANIFEST.txt lists what is in and what was left out. Exit 2 when even the inputs and the
first wheel group do not fit.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"]  # fmt: skip
REQUIRED = 4  # the first four wheels (pydantic's): platypus does not import without them
MATH_ROWS = 600
EVAL_FILES = {"arc": ["ARC-Challenge-Test.jsonl", "ARC-Challenge-Train.jsonl", "SOURCE.md"],
              "winogrande": None}  # None: the whole folder  # fmt: skip
TOKENIZER = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
             "chat_template.jinja", "generation_config.json")  # fmt: skip


def wanted() -> list[str]:
    """name==version for each line of wheels.txt."""
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            lock[_norm(name)] = version.split(";")[0].strip()
    out = []
    for line in (REPO / "scripts" / "gpu" / "wheels.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        name = spec.split("==")[0]
        version = spec.split("==")[1] if "==" in spec else lock.get(_norm(name))
        if version is None:
            sys.exit(f"gpu prepare: {name} has no version in requirements.lock or wheels.txt")
        out.append(f"{name}=={version}")
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch(spec: str, dest: Path, python_version: str) -> Path:
    """The wheel of `spec` for the target Python in `dest` (downloaded, or built from its
    source where PyPI has no wheel)."""
    before = set(dest.iterdir())
    platform = [a for p in PLATFORMS for a in ("--platform", p)]
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", *platform,
           "-d", str(dest), spec]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:  # no wheel on the index: build one (pure Python) from the source
        with tempfile.TemporaryDirectory() as tmp:
            build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp, spec]
            built = subprocess.run(build, capture_output=True, text=True)
            wheels = list(Path(tmp).glob("*-py3-none-any.whl")) + list(
                Path(tmp).glob("*-py2.py3-none-any.whl")
            )
            if built.returncode != 0 or not wheels:
                sys.exit(f"gpu prepare: {spec}: no wheel ({done.stderr.strip().splitlines()[-1]})")
            shutil.move(str(wheels[0]), dest / wheels[0].name)
    new = [p for p in dest.iterdir() if p not in before]
    if not new:  # already there
        name = _norm(spec.split("==")[0]).replace("-", "_")
        version = spec.split("==")[1]
        new = [p for p in dest.glob("*.whl")
               if _norm(p.name.split("-")[0]).replace("-", "_") == name
               and p.name.split("-")[1] == version]  # fmt: skip
    return new[0]


def stage_inputs(payload: Path) -> None:
    """SmolLM2's config and tokenizer, MATH rows, the eval files."""
    from platypus.config import BuildConfig, SourceConfig
    from platypus.data.build import build
    from platypus.data.sources import SOURCES
    from platypus.models import prepared_path

    shutil.rmtree(payload, ignore_errors=True)
    config = payload / "smollm2-config"
    config.mkdir(parents=True)
    for name in TOKENIZER:
        if (prepared_path() / name).is_file():
            shutil.copy2(prepared_path() / name, config / name)
    # gzip: 3.4 MiB of JSON in 0.8, the room bitsandbytes needs (gpu-check.sh unpacks it)
    subprocess.run(["gzip", "-9", str(config / "tokenizer.json")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        sources = {n: SourceConfig(enabled=n == "math") for n in SOURCES}
        result = build(BuildConfig(output_dir=tmp, sources=sources, data_root=str(SHARED)))
        lines = result.paths["jsonl"].read_text().splitlines()[:MATH_ROWS]
    (payload / "math.jsonl").write_text("\n".join(lines) + "\n")
    for folder, files in EVAL_FILES.items():
        target = payload / "data" / folder
        if files is None:
            shutil.copytree(SHARED / folder, target)
        else:
            target.mkdir(parents=True)
            for name in files:
                shutil.copy2(SHARED / folder / name, target / name)
    for path in payload.rglob("*"):  # copies of read-only sources: writable, so a rerun can clear
        path.chmod(0o755 if path.is_dir() else 0o644)


def tree_bytes() -> int:
    """What travels besides the carried folders: tracked and untracked-not-ignored files."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout  # fmt: skip
    total = 0
    for name in listed.decode().split("\0"):
        path = REPO / name
        if name and path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's: 3.12")
    parser.add_argument("--wheels", type=Path, default=REPO / ".whl")
    parser.add_argument("--payload", type=Path, default=REPO / ".gpu")
    parser.add_argument("--budget-mib", type=float, default=64.0)
    args = parser.parse_args()
    stage_inputs(args.payload)
    args.wheels.mkdir(parents=True, exist_ok=True)
    for old in args.wheels.glob("*.whl"):
        old.unlink()
    fetched = []
    for spec in wanted():
        fetched.append((spec, fetch(spec, args.wheels, args.python_version)))
        wheel = fetched[-1][1]
        print(f"gpu prepare: {wheel.name} ({wheel.stat().st_size / 2**20:.1f} MiB)", flush=True)
    # 0.5 MiB kept free: the manifest, files a run writes into the tree before it travels again
    budget = args.budget_mib * 2**20 - 2**19
    fixed = tree_bytes() + folder_bytes(args.payload)
    kept, dropped = list(fetched), []
    while kept and fixed + sum(p.stat().st_size for _, p in kept) > budget:
        spec, path = kept.pop()
        if len(kept) < REQUIRED:
            print(f"gpu prepare: error: the tree and inputs ({fixed / 2**20:.1f} MiB) leave "
                  f"no room for the required wheels within {args.budget_mib:g} MiB",
                  file=sys.stderr)  # fmt: skip
            return 2
        dropped.append(spec)
        size = path.stat().st_size
        path.unlink()
        print(f"gpu prepare: {spec} left out: it does not fit in {args.budget_mib:g} MiB "
              f"({size / 2**20:.1f} MiB); the checks that need it skip", flush=True)  # fmt: skip
    total = fixed + sum(p.stat().st_size for _, p in kept)
    manifest = {"python": args.python_version, "wheels": [s for s, _ in kept],
                "left_out": dropped, "tree_mib": round(tree_bytes() / 2**20, 2),
                "inputs_mib": round(folder_bytes(args.payload) / 2**20, 2),
                "total_mib": round(total / 2**20, 2)}  # fmt: skip
    (args.wheels / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(
        f"gpu prepare: {len(kept)} wheels, {manifest['total_mib']} MiB with the tree and "
        f"inputs (of {args.budget_mib:g}); left out: {', '.join(dropped) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
