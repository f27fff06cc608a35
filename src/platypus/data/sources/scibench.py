"""SciBench college science problems (Platypus' scibench_format.py).

Rules: every `*.json` of `dataset/original`; instruction = problem_text; output = the worked
solution where the file has one (`*_sol.json`), else answer_number. The files hold both as
strings; a number there is taken as its text (so an answer of 0 is kept, not read as missing).
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, Spec, require
from platypus.errors import DataError

SPEC = Spec(
    name="scibench",
    data_source="scibench",
    license="MIT",
    hub_licenses=("mit",),
    enabled_by_default=True,
    commercial=True,
    description="College-level physics, chemistry and maths problems (textbook exercises).",
    steps=("has solution or answer",),
    # The last version before Platypus' release; original_head_2024-07-08 is the later edit.
    default_path="scibench/original_2023-07-21",
    released_rows=616,
    release_note=(
        "The `*_sol.json` files repeat problems of the base files with worked solutions; dedup "
        "keeps the more verbose copy, which is how the release reaches 616."
    ),
)


def _text(location: str, row: dict, name: str) -> str:
    """A text field the files hold as a string; a plain number (a JSON edit of the files, or
    the answer 0) is its text, and absent or null is empty."""
    value = row.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    path, _, rowno = location.rpartition(":")
    kind = type(value).__name__
    raise DataError(path, f"field {name!r} should be a string or a number, got {kind}", row=rowno)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    assert ctx.path is not None, "scibench has no hub copy; set sources.scibench.path"
    files = sorted(ctx.path.glob("*.json"))
    if not files:
        raise DataError(ctx.path, "no SciBench *.json files in this folder")
    for path in files:
        for location, row in ctx.table(path.name):
            problem = require(location, row, "problem_text")
            solution = _text(location, row, "solution")
            output = solution if solution.strip() else _text(location, row, "answer_number")
            if not output.strip():
                yield Skip("has solution or answer", location)
                continue
            yield Record(
                id=f"scibench/{path.stem}/{location.rpartition(':')[2]}",
                instruction=problem,
                input="",
                output=output,
                data_source=SPEC.data_source,
            )


class SciBenchSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = SciBenchSource()
