"""`platypus data build`: run every enabled source loader, apply the shared filters, and write the
set (jsonl + parquet), a dataset card and a machine-readable build summary."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platypus.data.build.config import BuildConfig, SourceConfig
from platypus.data.card import write_cards
from platypus.data.drops import REMOVED, Drop, reason_counts, write_drops
from platypus.data.keywords import KeywordMatcher
from platypus.data.record import Record, Skip, clean_text
from platypus.data.sources import SOURCES
from platypus.data.sources.base import LoadContext
from platypus.errors import DataError, PlatypusError
from platypus.hashing import bytes_sha256, file_sha256
from platypus.io.writers import jsonl_bytes, write_bytes, write_parquet
from platypus.paths import data_root
from platypus.progress import progress
from platypus.settings import validated
from platypus.version import __version__

NON_EMPTY = "non-empty instruction and output"
KEYWORD = "STEM keyword"
EXAMPLES_PER_STEP = 3


@dataclass
class SourceStats:
    name: str
    data_source: str
    license: str
    commercial: bool | None
    enabled: bool
    origin: str = ""
    raw_rows: int = 0
    steps: list[dict] = field(default_factory=list)  # {step, dropped, rows_after, examples}
    notes: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, str]] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.steps[-1]["rows_after"] if self.steps else self.raw_rows


@dataclass
class BuildResult:
    records: list[Record]
    sources: list[SourceStats]
    content_hash: str
    paths: dict[str, Path]  # jsonl, parquet, card, summary, removed
    drops: list[Drop] = field(default_factory=list)  # the raw rows a rule rejected, and which


def output_paths(out: Path, name: str) -> dict[str, Path]:
    return {"jsonl": out / f"{name}.jsonl", "parquet": out / f"{name}.parquet",
            "card": out / "card.md", "summary": out / "build.json",
            "removed": out / REMOVED}  # fmt: skip


def build(config: BuildConfig, output_dir: str | Path | None = None) -> BuildResult:
    out = Path(output_dir or config.output_dir)
    root = data_root(config.data_root)
    records: list[Record] = []
    stats: list[SourceStats] = []
    seen_ids: dict[str, str] = {}
    drops: list[Drop] = []
    for name, source in SOURCES.items():
        cfg = config.sources[name]
        spec = source.spec
        s = SourceStats(name, spec.data_source, spec.license, spec.commercial, cfg.enabled)
        stats.append(s)
        if not cfg.enabled:
            continue
        for record in _run_source(source, cfg, config.seed, root, s, drops):
            if record.id in seen_ids:
                raise PlatypusError(
                    f"{name}: record id {record.id!r} occurs twice (is an input file listed twice?)"
                )
            seen_ids[record.id] = name
            records.append(record)
    if not records:
        raise PlatypusError("the build produced no rows: enable at least one source with data")

    data = jsonl_bytes(records)
    content_hash = bytes_sha256(data)
    paths = output_paths(out, config.name)
    write_bytes(paths["jsonl"], data)
    write_parquet(paths["parquet"], records)
    write_drops(paths["removed"], drops)
    result = BuildResult(records, stats, content_hash, paths, drops)
    summary = {
        "name": config.name,
        "version": __version__,
        "seed": config.seed,
        "rows": len(records),
        "content_sha256": content_hash,
        "config": config.model_dump(mode="json", exclude={"output_dir"}),
        "sources": [asdict(s) | {"kept": s.kept} for s in stats],
        "dropped": reason_counts(drops),
    }
    write_bytes(paths["summary"], (json.dumps(summary, indent=2) + "\n").encode())
    write_cards(config, result)  # card.md and the Hub card, README.md
    return result


def _run_source(source, cfg: SourceConfig, seed: int, root: Path, s: SourceStats,
                drops: list[Drop]):  # fmt: skip
    spec = source.spec
    options = validated(spec.options, cfg.options, f"sources.{spec.name}.options")
    path, hub_id = _resolve_origin(spec, cfg, root)
    s.origin = str(path) if path is not None else f"hub:{hub_id}"
    ctx = LoadContext(spec=spec, path=path, hub_id=hub_id, options=options, seed=seed, root=root)

    use_keywords = spec.keyword_filter if cfg.keyword_filter is None else cfg.keyword_filter
    steps = list(spec.steps) + [NON_EMPTY] + ([KEYWORD] if use_keywords else [])
    matcher = KeywordMatcher() if use_keywords else None
    dropped: Counter[str] = Counter()
    examples: dict[str, list[str]] = {step: [] for step in steps}

    def skip(step: str, location: str, record_id: str | None = None) -> None:
        dropped[step] += 1
        if len(examples[step]) < EXAMPLES_PER_STEP:
            examples[step].append(location)
        where = {"id": record_id} if record_id is not None else {"location": location}
        drops.append(Drop("build", step, **where, extra={"source": spec.name}))

    items: Iterator = source.load(ctx)
    for item in progress(items, desc=f"build {spec.name}", unit=" rows", disable=None):
        s.raw_rows += 1
        if isinstance(item, Skip):
            if item.step not in examples:
                raise AssertionError(f"{spec.name} loader used undeclared step {item.step!r}")
            skip(item.step, item.location)
            continue
        record = _clean(item)
        if not record.instruction or not record.output:
            skip(NON_EMPTY, record.id, record.id)
        elif matcher is not None and not matcher(record.instruction):
            skip(KEYWORD, record.id, record.id)
        else:
            yield record

    remaining = s.raw_rows
    for step in steps:
        remaining -= dropped[step]
        s.steps.append({"step": step, "dropped": dropped[step], "rows_after": remaining,
                        "examples": examples[step]})  # fmt: skip
    s.notes = dict(sorted(ctx.notes.items()))
    s.files = [{"path": str(p), "sha256": file_sha256(p)} for p in dict.fromkeys(ctx.files)]


def _resolve_origin(spec, cfg: SourceConfig, root: Path) -> tuple[Path | None, str | None]:
    if cfg.path:
        path = Path(cfg.path)
        path = path if path.is_absolute() else root / path
    elif cfg.hub_id:
        return None, cfg.hub_id
    elif spec.default_path:
        path = root / spec.default_path
    elif spec.hub_id:
        return None, spec.hub_id
    else:
        raise PlatypusError(f"sources.{spec.name}: set a local `path` (no default location)")
    if not path.exists():
        raise DataError(
            path,
            f"{spec.name}: source data not found (check data_root or sources.{spec.name}.path)",
        )
    return path, None


def _clean(record: Record) -> Record:
    return Record(
        id=record.id,
        instruction=clean_text(record.instruction),
        input=clean_text(record.input),
        output=clean_text(record.output),
        data_source=record.data_source,
    )
