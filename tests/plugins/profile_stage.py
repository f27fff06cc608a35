"""A stage: the length profile of the clean set (rows, characters of instructions and outputs,
their quantiles), after decontamination. Its config, its summary, its stage and its plan, in one
module."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from platypus.contract import Stage, Summary
from platypus.io.readers import iter_jsonl
from platypus.settings import STRICT, InputPath, Setting
from platypus.sizing import StagePlan

PROFILE = "profile.json"


class ProfileConfig(BaseModel):
    model_config = STRICT
    input: str | None = InputPath(None)  # None: the decontaminate stage's clean rows
    output_dir: str = Setting("runs/profile")
    quantile: float = Field(0.9, gt=0.0, lt=1.0)


class ProfileSummary(Summary):
    rows: int
    mean_output_chars: float
    quantile_output_chars: int


class ProfileStage(Stage):
    name = "profile"
    section = "profile"
    config_model = ProfileConfig
    summary_model = ProfileSummary
    reads = {"input": "decontaminate.clean"}
    artefacts = ("profile",)
    command = ("profile",)
    help = "the clean set's length profile"
    api_name = "profile"

    def add_flags(self, parser) -> None:
        parser.add_argument("--quantile", type=float, help="which quantile (default 0.9)")

    def flag_updates(self, args, config: ProfileConfig) -> dict:
        return {"quantile": args.quantile} if args.quantile is not None else {}

    def output(self, artefact: str, config: ProfileConfig, folder: Path) -> Path:
        return folder / PROFILE

    def run(self, config: ProfileConfig, out: Path, recipe) -> ProfileSummary:
        lengths = sorted(len(row["output"]) for _, row in iter_jsonl(Path(config.input)))
        at = min(len(lengths) - 1, int(config.quantile * len(lengths)))
        summary = ProfileSummary(
            rows=len(lengths),
            mean_output_chars=round(sum(lengths) / len(lengths), 2),
            quantile_output_chars=lengths[at],
        )
        (out / PROFILE).write_text(json.dumps(summary.model_dump(), indent=2))
        return summary

    def plan(self, config: ProfileConfig, hardware) -> StagePlan:
        return StagePlan("profile", memory_gb_per_device=0.1, fits=True, hours=0.0, devices=1,
                         strategy="one pass over the rows")  # fmt: skip
