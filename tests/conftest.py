from __future__ import annotations

import json
from pathlib import Path

import pytest

from platypus.config import BuildConfig, SourceConfig
from platypus.data.build import BuildResult, build
from platypus.data.sources import SOURCES

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the shared data must sit beside the repo: {SHARED_DATA}"
    return SHARED_DATA


def build_only(out: Path, name: str, data_root: Path = SHARED_DATA, seed: int = 42, **source):
    """Build one source alone through the real build path."""
    sources = {n: SourceConfig(enabled=False) for n in SOURCES}
    sources[name] = SourceConfig(**source)
    config = BuildConfig(data_root=str(data_root), output_dir=str(out), seed=seed, sources=sources)
    return build(config)


def stats_of(result: BuildResult, name: str):
    return next(s for s in result.sources if s.name == name)


def dropped(result: BuildResult, name: str) -> dict[str, int]:
    return {step["step"]: step["dropped"] for step in stats_of(result, name).steps}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def short_math_rows(tmp: Path, max_output: int, rows: int) -> Path:
    """Real MATH rows (through the build) with outputs under `max_output` characters, the
    first `rows` of them, as a jsonl training set."""
    result = build_only(tmp / "build", "math")
    kept = [r for r in read_jsonl(result.paths["jsonl"]) if len(r["output"]) < max_output]
    path = tmp / "math.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in kept[:rows]))
    return path


@pytest.fixture(scope="session")
def scibench_jsonl(tmp_path_factory) -> Path:
    """The real SciBench source built alone (a small set of real rows), shared by the tests
    that embed or dedup it."""
    out = tmp_path_factory.mktemp("scibench")
    return build_only(out, "scibench", path="scibench/original_2023-07-21").paths["jsonl"]
