"""TheoremQA (Platypus' theoremqa_format.py).

Rules: instruction = question + "\\nRelevant Theorem: " + the theorem's definition; output = the
answer. The GitHub json names the theorem (`theorem`) without its definition, so the definition is
joined from all_theorems.json by case-insensitive name; the hub csv carries it as `theorem_def`.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require
from platypus.errors import DataError
from platypus.io.readers import read_json


class Options(SourceOptions):
    questions_file: str = "theoremqa_test.json"
    theorems_file: str = "all_theorems.json"


SPEC = Spec(
    name="theoremqa",
    data_source="theoremqa",
    license="MIT",
    hub_licenses=("mit",),
    enabled_by_default=True,
    commercial=True,
    description="University STEM questions, each tied to a theorem (the benchmark's test split).",
    steps=("theorem definition found",),
    default_path="theoremqa",
    hub_id="wenhu/TheoremQA",
    options=Options,
    released_rows=564,
    release_note=("All rows are TheoremQA test questions; the release is after dedup."),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    opts: Options = ctx.options
    if ctx.path is not None:
        theorems = _theorems(ctx, opts.theorems_file)
        rows = ctx.table(opts.questions_file)
    else:
        theorems = None
        rows = ctx.hub("train", data_files="test.csv")
    for location, row in rows:
        question = require(location, row, "Question")
        if "Answer" not in row:
            require(location, row, "Answer")
        if theorems is None:
            definition = row.get("theorem_def") or ""
        else:
            definition = theorems.get(str(row.get("theorem", "")).strip().lower(), "")
        if not definition.strip():
            yield Skip("theorem definition found", location)
            continue
        yield Record(
            id=f"theoremqa/{row.get('id') or location.rpartition(':')[2]}",
            instruction=f"{question}\nRelevant Theorem: {definition}",
            input="",
            output=str(row["Answer"]),
            data_source=SPEC.data_source,
        )


def _theorems(ctx: LoadContext, name: str) -> dict[str, str]:
    path = ctx.file(name)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, "expected an object mapping theorem name to definition")
    if not data:
        raise DataError(path, "theoremqa: no theorems (an empty file; is the copy complete?)")
    return {str(k).strip().lower(): str(v) for k, v in data.items()}


class TheoremQASource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = TheoremQASource()
