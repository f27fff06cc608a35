"""The dataset card: what was built, from what, under which licences, and where rows went."""

from __future__ import annotations

from typing import TYPE_CHECKING

from platypus.data.keywords import STEM_KEYWORDS
from platypus.version import __version__

if TYPE_CHECKING:
    from platypus.data.build import BuildResult, SourceStats
    from platypus.data.build.config import BuildConfig


# Rows per source in the released garage-bAInd/Open-Platypus (after its similarity exclusion).
def _spec(s: SourceStats):
    """The source's own declaration (its rows in the release, why counts differ)."""
    from platypus.data.sources import SOURCES

    return SOURCES[s.name].spec


def _commercial(value: bool | None) -> str:
    return {True: "yes", False: "**NO (non-commercial)**", None: "unclear"}[value]


def _n(value: int) -> str:
    return f"{value:,}"


def render_card(config: BuildConfig, result: BuildResult) -> str:
    built = [s for s in result.sources if s.enabled]
    total = len(result.records)
    lines = [
        f"# Dataset card: {config.name}",
        "",
        f"- rows: **{_n(total)}** from {len(built)} sources",
        f"- content sha256 (of `{result.paths['jsonl'].name}`): `{result.content_hash}`",
        f"- built by platypus {__version__}, seed {config.seed}, data root `{config.data_root}`",
        "- schema: `id, instruction, input, output, data_source`; text fields have CRLF turned "
        "into LF and surrounding whitespace stripped",
        "- stage: source build, before similarity exclusion (dedup) and decontamination",
        "",
        "## Rows per source",
        "",
        "| source | data_source | origin | raw rows | kept | share | released Open-Platypus "
        "| licence | commercial use |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for s in result.sources:
        if s.enabled:
            share = f"{100 * s.kept / total:.1f}%"
            lines.append(
                f"| {s.name} | {s.data_source} | `{s.origin}` | {_n(s.raw_rows)} | {_n(s.kept)} "
                f"| {share} | {_n(_spec(s).released_rows)} | {s.license} | "
                f"{_commercial(s.commercial)} |"
            )
        else:
            lines.append(
                f"| {s.name} | {s.data_source} | not built (disabled) | 0 | 0 | 0.0% | "
                f"{_n(_spec(s).released_rows)} | {s.license} | {_commercial(s.commercial)} |"
            )
    lines.append(
        f"| **total** | | | {_n(sum(s.raw_rows for s in built))} | {_n(total)} | 100.0% | "
        f"{_n(sum(_spec(s).released_rows for s in result.sources))} | | |"
    )
    restricted = [s for s in built if s.commercial is not True]
    if restricted:
        lines += ["", "## Licence warnings", ""]
        for s in restricted:
            rows = _n(s.kept)
            if s.commercial is False:
                lines.append(f"- **{s.name}** ({rows} rows): {s.license}. Not for commercial use.")
            else:
                lines.append(f"- **{s.name}** ({rows} rows): {s.license}. Check before use.")

    lines += [
        "",
        "## Filters, per source",
        "",
        "Each rule is checked in order; a row is counted at the first rule it fails.",
        "",
    ]
    for s in built:
        lines += _funnel(s)
    lines += _keyword_section()
    lines += ["", "## Input files", ""]
    for s in built:
        for f in s.files:
            lines.append(f"- `{f['path']}` sha256 `{f['sha256'][:16]}…`")
    return "\n".join(lines) + "\n"


def _funnel(s: SourceStats) -> list[str]:
    lines = [f"### {s.name}", "", "| step | dropped | rows after | first dropped rows |",
             "|---|---:|---:|---|", f"| raw rows read | | {_n(s.raw_rows)} | |"]  # fmt: skip
    for step in s.steps:
        where = ", ".join(f"`{e}`" for e in step["examples"])
        lines.append(f"| {step['step']} | {_n(step['dropped'])} | {_n(step['rows_after'])} | "
                     f"{where} |")  # fmt: skip
    for note, count in s.notes.items():
        lines.append(f"\n- {note}: {_n(count)}")
    spec = _spec(s)
    why = spec.release_note or "Not in the released Open-Platypus."
    lines += ["", f"Compared with the release ({_n(spec.released_rows)} rows): {why}", ""]
    return lines


def _keyword_section() -> list[str]:
    return [
        "## The STEM keyword filter",
        "",
        "Applied by default to airoboros and guanaco (and to any source with "
        "`keyword_filter: true`): a row is kept when its "
        "instruction contains one of the keywords as a whole word. Platypus' list had two bugs, "
        'fixed here: a missing comma fused `"calculation"` and `"science"` into '
        "`calculationscience`, and the text was lower-cased before matching, so `AI` never "
        "matched. Here acronyms match case-sensitively, other keywords case-insensitively.",
        "",
        f"Keywords ({len(STEM_KEYWORDS)}): " + ", ".join(f"`{k}`" for k in STEM_KEYWORDS),
    ]


def write_cards(config: BuildConfig, result: BuildResult) -> None:
    """card.md, and README.md: the same card under the Hub's dataset metadata, so the build
    folder loads with `datasets.load_dataset(folder)` and can be pushed as it is."""
    from platypus.cards import write_dataset_card
    from platypus.io.writers import write_bytes

    body = render_card(config, result)
    write_bytes(result.paths["card"], body.encode("utf-8"))
    write_dataset_card(
        result.paths["jsonl"].parent, result.paths["jsonl"], result.records, body, "build",
        name=config.name,
    )  # fmt: skip
