"""What `platypus plan` sizes training by: the rows of the run's clean set and their mean
tokens under the training base's tokenizer when the set exists, else the released Open-Platypus
size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platypus.config import Recipe
from platypus.errors import PlatypusError

OPEN_PLATYPUS_ROWS = 24_926  # the released garage-bAInd/Open-Platypus
# Mean tokens per Alpaca-formatted row assumed when no clean set exists: 260 measured on the
# MATH rows of ../shared/data with SmolLM2's tokenizer (template included); Llama's tokenizer
# splits digits and the hub-only sources (guanaco, airoboros, leetcode) are longer.
ASSUMED_TOKENS_PER_ROW = 400
CHARS_PER_TOKEN = 2.5  # measured on MATH with SmolLM2's tokenizer; used when no tokenizer loads


@dataclass
class DataSize:
    rows: int
    tokens_per_row: float
    source: str


def _clean_set(recipe: Recipe) -> Path | None:
    from platypus.pipeline.stages import STAGES

    if recipe.train.input:
        path = Path(recipe.train.input)
        if not path.is_file():
            raise PlatypusError(f"train.input {path}: no such file")
        return path
    if not any(s.enabled for s in recipe.data.build.sources.values()):
        raise PlatypusError(
            "data.build enables no source and train.input is not set: nothing to plan "
            "training on; enable a source or set train.input"
        )
    run_dir = Path(recipe.run_dir or f"runs/{recipe.name}")
    stage = STAGES["decontaminate"]
    candidates = sorted(run_dir.glob("decontaminate-*"), key=lambda p: p.stat().st_mtime)
    for folder in reversed(candidates):
        path = stage.output("clean", recipe.data.decontaminate, folder)
        if path.is_file():
            return path
    return None


def data_size(recipe: Recipe) -> DataSize:
    """Rows and mean tokens per row: the run's clean set when it exists, else Open-Platypus."""
    path = _clean_set(recipe)
    if path is None:
        return DataSize(
            OPEN_PLATYPUS_ROWS,
            ASSUMED_TOKENS_PER_ROW,
            f"Open-Platypus size ({OPEN_PLATYPUS_ROWS:,} rows, "
            f"{ASSUMED_TOKENS_PER_ROW} tokens/row assumed)",
        )
    from platypus.train.examples import read_training_rows
    from platypus.train.template import alpaca_prompt

    records = read_training_rows(path, recipe.train).rows
    sample = records[:: max(1, len(records) // 500)]
    texts = [_row_text(r, alpaca_prompt) for r in sample]
    tok = _tokenizer(recipe)
    if tok is not None:
        mean = sum(len(tok(t).input_ids) for t in texts) / max(1, len(texts))
        how = "tokenised"
    else:
        mean = sum(len(t) for t in texts) / max(1, len(texts)) / CHARS_PER_TOKEN
        how = f"{CHARS_PER_TOKEN} chars/token"
    what = f"{path} ({len(records):,} rows, {mean:.0f} tokens/row, {how})"
    return DataSize(len(records), mean, what)


def _tokenizer(recipe: Recipe):
    """The training base's tokenizer; None when it cannot be had (an unknown model offline), and
    the row length is estimated instead. A base that ships code is refused without the opt-in,
    not silently estimated."""
    from transformers import AutoTokenizer

    from platypus.models import resolve_causal_lm
    from platypus.models.remote_code import check_custom_code

    try:
        base = resolve_causal_lm(recipe.train.model)
    except PlatypusError:
        return None
    trust = recipe.train.compute.trust_remote_code
    check_custom_code(base, trust)
    try:
        return AutoTokenizer.from_pretrained(base, trust_remote_code=trust)
    except (OSError, ValueError):
        return None


def _row_text(row, alpaca_prompt) -> str:
    if hasattr(row, "turns"):  # a chat row: its turns, without the template's few tokens
        return "\n".join(content for _, content in row.turns)
    return alpaca_prompt(row.instruction, row.input) + row.output
