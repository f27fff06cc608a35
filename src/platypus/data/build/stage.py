"""The build stage as the pipeline runs it: its artefacts, outside inputs and summary."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platypus.cli_flags import given, split
from platypus.contract import Stage, Summary, hub_card
from platypus.data.build.config import BuildConfig
from platypus.errors import PlatypusError
from platypus.hashing import tree_fingerprint


class SourceRow(BaseModel):
    name: str
    data_source: str
    license: str
    enabled: bool
    raw_rows: int
    kept: int


class BuildSummary(Summary):
    rows: int
    content_sha256: str
    sources: list[SourceRow]


class BuildStage(Stage):
    name = "build"
    section = "data.build"
    config_model = BuildConfig
    command = ("data", "build")
    help = "build the set from its sources"
    api_name = "build"
    pushed = ("records", "dataset")
    summary_model = BuildSummary
    artefacts = ("records", "removed", "card", "summary")
    extra_outputs = property(hub_card)
    last = "summary"

    def add_flags(self, parser) -> None:
        parser.add_argument(
            "--data-root", help="folder with the source data (default ../shared/data)"
        )
        parser.add_argument("--seed", type=int, help="seed for the build's random choices")
        parser.add_argument("--only", help="comma-separated sources to build (others disabled)")

    def flag_updates(self, args, config: BuildConfig) -> dict:
        updates = given(args, "data_root", "seed")
        if args.only:
            wanted = set(split(args.only))
            unknown = wanted - set(config.sources)
            if unknown:
                raise PlatypusError(f"--only: unknown sources {sorted(unknown)}")
            updates["sources"] = {
                name: src.model_dump() | {"enabled": name in wanted}
                for name, src in config.sources.items()
            }
        return updates

    def output(self, artefact: str, config: BuildConfig, folder: Path) -> Path:
        from platypus.data.build import output_paths

        paths = output_paths(folder, config.name)
        return paths["jsonl" if artefact == "records" else artefact]

    def outside(self, config: BuildConfig, recipe) -> dict:
        return {"data": tree_fingerprint(Path(config.data_root).resolve())}

    def run(self, config: BuildConfig, out: Path, recipe) -> BuildSummary:
        from platypus.data.build import build

        result = build(config, out)
        return BuildSummary(
            rows=len(result.records),
            content_sha256=result.content_hash,
            sources=[
                SourceRow(name=s.name, data_source=s.data_source, license=s.license,
                          enabled=s.enabled, raw_rows=s.raw_rows, kept=s.kept)
                for s in result.sources
            ],
        )  # fmt: skip

    def describe(self, summary: BuildSummary, config: BuildConfig, out: Path) -> list[str]:
        lines = [f"built {summary.rows:,} rows -> {self.output('records', config, out)}"]
        lines += [
            f"  {s.name:<11} {s.raw_rows:>7,} read {s.kept:>7,} kept"
            for s in summary.sources
            if s.enabled
        ]
        card = self.output("card", config, out)
        lines.append(f"card: {card}  sha256: {summary.content_sha256[:16]}")
        return lines
