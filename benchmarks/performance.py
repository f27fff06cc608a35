"""The performance table of docs/benchmarks.md, generated from `benchmarks/results/` (never
typed): one row
per speed target, each read from the table its benchmark wrote, with the peer it ran beside,
the host and precision it ran on, and whether the target is met.

    .venv/bin/python benchmarks/performance.py           # rewrite the page's table
    .venv/bin/python benchmarks/performance.py --check   # exit 1 if the page's is stale

A results file's tables are read by their column names, under the nearest heading above them;
a section states its host on a line starting "Host:" (else the file's first such line is used).
A target with no results file yet is a row that says so.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
PAGE = REPO / "docs" / "benchmarks.md"
BEGIN = "<!-- performance table: benchmarks/performance.py writes it from benchmarks/results/ -->"
END = "<!-- end of the performance table -->"


@dataclass
class Section:
    heading: str
    text: list[str]  # the section's lines
    tables: list[list[dict[str, str]]]  # each table's rows, keyed by column name

    def host(self, fallback: str) -> str:
        return next((line[5:].strip() for line in self.text if line.startswith("Host:")), fallback)

    def table_with(self, column: str) -> list[dict[str, str]] | None:
        return next((t for t in reversed(self.tables) if t and column in t[0]), None)


def sections(path: Path) -> list[Section]:
    """The file's sections (split at headings), each with its markdown tables parsed."""
    out: list[Section] = []
    current = Section("", [], [])
    header: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            out.append(current)
            current, header = Section(line.lstrip("#").strip(), [], []), None
            continue
        current.text.append(line)
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            current.tables.append([])
        elif not all(re.fullmatch(r":?-+:?", c) for c in cells):
            current.tables[-1].append(dict(zip(header, cells, strict=False)))
    out.append(current)
    return [s for s in out if s.tables or s.text]


def find_table(
    parsed: list[Section], column: str, heading: str | None = None
) -> tuple[Section, list[dict[str, str]]] | None:
    """The last table with `column` in the last section holding one (of those whose heading
    starts with `heading`, where given)."""
    for section in reversed(parsed):
        if heading is None or section.heading.startswith(heading):
            table = section.table_with(column)
            if table is not None:
                return section, table
    return None


def file_host(parsed: list[Section]) -> str:
    return next((h for s in parsed if (h := s.host(""))), "not recorded")


def ratio(text: str) -> float:
    return float(re.match(r"([\d.]+)x", text).group(1))


@dataclass
class Row:
    stage: str
    target: str
    measured: str
    met: str
    host: str
    source: str


Judge = Callable[[list[Section], list[dict[str, str]]], tuple[str, str]]


def from_table(
    name: str, column: str, stage: str, target: str, judge: Judge, heading: str | None = None
) -> Callable[[], Row]:
    """A target read from the table with `column` in the results file `name` (`find_table`):
    `judge(the file's sections, the table)` says what was measured and whether the target is
    met; the host is the table's section's, else the file's. No file or table: a row saying so."""

    def row() -> Row:
        path = RESULTS / name
        parsed = sections(path) if path.exists() else []
        found = find_table(parsed, column, heading)
        if found is None:
            return Row(stage, target, "not measured", "no", "", name)
        section, table = found
        measured, met = judge(parsed, table)
        return Row(stage, target, measured, met, section.host(file_host(parsed)), name)

    return row


def _training(parsed: list[Section], table: list[dict[str, str]]) -> tuple[str, str]:
    ours = [r for r in table if r["run"].startswith("platypus")]
    peer = next(r for r in table if r["vs fastest peer"] == "1.00x")
    measured = f"against {peer['run']} ({peer['tokens/s']} tokens/s): " + "; ".join(
        f"{r['run']} {ratio(r['vs fastest peer']):.2f}x ({r['tokens/s']} tokens/s, "
        f"{r['of matmul peak']} of matmul peak)"
        for r in ours
    )
    return measured, "yes" if ratio(ours[0]["vs fastest peer"]) >= 1.3 else "no"


def _generation(parsed: list[Section], table: list[dict[str, str]]) -> tuple[str, str]:
    equal = next(k for k in table[0] if k.startswith("completions equal"))

    def identical(r: dict[str, str]) -> bool:
        n, total = r[equal].split("/")
        return n == total

    # The fastest of our runs whose completions are all lm-eval's; the fastest of all where
    # none is (and then the target is not met).
    ours = [r for r in table if r["engine"].startswith("ours")]
    best = max(ours, key=lambda r: (identical(r), ratio(r["vs best lm-eval"])))
    peer = next(r for r in table if r["vs best lm-eval"] == "1.00x")
    measured = (
        f"{ratio(best['vs best lm-eval']):.2f}x {peer['engine']} ({best['engine']}: "
        f"{best['seconds']} vs {peer['seconds']} s; completions equal {best[equal]})"
    )
    met = "yes" if ratio(best["vs best lm-eval"]) >= 2 and identical(best) else "no"
    return measured, met


training = from_table(
    "train-cpu-2core.md", "vs fastest peer", "LoRA training (SmolLM2, 320 MATH rows)",
    ">= 1.3x the fastest peer", _training,
)  # fmt: skip
generation = from_table(
    "generation-cpu-2core.md", "vs best lm-eval", "GSM8K generation (SmolLM2 fp32)",
    ">= 2x lm-eval 0.4 HF, identical text", _generation,
)  # fmt: skip


TOTALS = re.compile(
    r"total: ours fp32 ([\d.]+) s, ours bf16 ([\d.]+) s, lm-eval bs=1 ([\d.]+) s, "
    r"lm-eval bs=8 ([\d.]+) s"
)


def loglik() -> Row:
    """The last section's totals line of the eval benchmark: ours in fp32 (and bf16) against
    the faster of lm-eval's two batch sizes, and the tasks of that section's table."""
    path = RESULTS / "eval-cpu-2core.md"
    stage, target = "Log-likelihood eval (SmolLM2)", ">= 5x lm-eval 0.4, equal choices"
    parsed = sections(path) if path.exists() else []
    for section in reversed(parsed):
        match = next(filter(None, map(TOTALS.search, section.text)), None)
        if match is not None:
            break
    else:
        return Row(stage, target, "not measured", "no", "", path.name)
    fp32, bf16, peer = float(match[1]), float(match[2]), min(float(match[3]), float(match[4]))
    table = section.table_with("task") or []
    tasks = ", ".join(r["task"] for r in table if r["task"] not in ("all", "")) or "all tasks"
    flips = [re.fullmatch(r"(\d+) / (\d+) of (\d+)", r.get("choice flips fp32 / bf16", ""))
             for r in table]  # fmt: skip
    picks = "picks not all equal"
    if flips and all(flips):
        picks = (f"picks differing from lm-eval's: fp32 {sum(int(m[1]) for m in flips)}, bf16 "
                 f"{sum(int(m[2]) for m in flips)} of {sum(int(m[3]) for m in flips)}")  # fmt: skip
    measured = (
        f"{peer / fp32:.1f}x in fp32 ({fp32:.1f} vs {peer:.1f} s over {tasks}; "
        f"bf16 {peer / bf16:.1f}x; {picks})"
    )
    met = "yes" if peer / fp32 >= 5 else "no"
    return Row(stage, target, measured, met, section.host(file_host(parsed)), path.name)


def merged(reruns: str) -> Judge:
    """Every merge method against mergekit: the table given, each method's row replaced by its
    latest rerun in the section whose heading starts with `reruns`."""

    def judge(parsed: list[Section], table: list[dict[str, str]]) -> tuple[str, str]:
        latest = {r["method"]: r for r in table}
        rerun = next((s for s in parsed if s.heading.startswith(reruns)), None)
        rerun_rows = [r for t in (rerun.tables if rerun else []) for r in t]
        latest.update({r["method"]: r for r in rerun_rows})
        rows = list(latest.values())

        def number(text: str) -> float:
            return float(text.replace(",", ""))

        speed = [number(r["mergekit s"]) / number(r["platypus s"]) for r in rows]
        memory = [
            number(r["platypus peak RSS MB"]) / number(r["mergekit peak RSS MB"]) for r in rows
        ]
        measured = (
            f"{min(speed):.2f}x-{max(speed):.2f}x the speed, {min(memory):.2f}x-"
            f"{max(memory):.2f}x the peak RSS ({len(rows)} methods"
            + (f"; {len({r['method'] for r in rerun_rows})} rerun after the last changes)"
               if rerun_rows else ")")
        )  # fmt: skip
        met = sum(r["target met"] == "yes" for r in rows)
        return measured, "yes" if met == len(rows) else f"{met} of {len(rows)}"

    return judge


def within(limit_s: float) -> Judge:
    """A target timed in seconds: the table's fastest row whose leaks (where the file compares
    them) equal the first row's, met at `limit_s` or less."""

    def judge(parsed: list[Section], table: list[dict[str, str]]) -> tuple[str, str]:
        same = [r for r in table if r.get("leaks vs the first row", "=") == "="]
        best = min(same, key=lambda r: float(r["seconds"]))
        seconds = float(best["seconds"])
        label = best.get("configuration")
        measured = f"{seconds:.0f} s" + (f" ({label})" if label else "")
        return measured, "yes" if seconds <= limit_s else "no"

    return judge


MERGE_TARGET = "faster than mergekit 0.1.5, less memory, its output"
ROWS: list[Callable[[], Row]] = [
    training,
    generation,
    loglik,
    from_table(
        "decontaminate-cold-cpu-2core.md", "seconds",
        "First decontaminate, cold cache (six v1 sets)", "<= 5 min on 2 cores", within(300),
    ),
    from_table(
        "quickstart-cpu-2core.md", "seconds", "Quickstart, cold cache", "<= 10 min on 2 cores",
        within(600),
    ),
    from_table(
        "merge-cpu-2core.md", "target met", "Merging, every mergekit method (SmolLM2-135M)",
        MERGE_TARGET, merged("Rerun after the last changes: SmolLM2-135M"),
        heading="SmolLM2-135M (fp32, 0.54 GB) and two noisy fine-tunes",
    ),
    from_table(
        "merge-cpu-2core.md", "target met", "Merging, every mergekit method (random ~1B Llama)",
        MERGE_TARGET, merged("Rerun after the last changes: the random ~1B Llama"),
        heading="The random ~1B Llama",
    ),
]  # fmt: skip


def table() -> str:
    lines = [
        "| stage | target | measured (against the peer's best setting) | met | host | "
        "results file |",
        "|---|---|---|---|---|---|",
    ]
    for make in ROWS:
        r = make()
        source = r.source
        if (RESULTS / r.source).exists():
            source = f"[{r.source}](../benchmarks/results/{r.source})"  # from docs/
        lines.append(
            f"| {r.stage} | {r.target} | {r.measured} | {r.met} | {r.host or '-'} | {source} |"
        )
    return "\n".join(lines)


def with_table(page: str) -> str:
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    return page[:start] + "\n" + table() + "\n" + page[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args()
    current = PAGE.read_text()
    wanted = with_table(current)
    if args.check:
        if wanted != current:
            print("docs/benchmarks.md: the performance table is stale; run "
                  "benchmarks/performance.py")  # fmt: skip
            sys.exit(1)
        return
    PAGE.write_text(wanted)
    print(table())


if __name__ == "__main__":
    main()
