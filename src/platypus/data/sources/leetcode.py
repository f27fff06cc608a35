"""nuprl/leetcode-solutions-python-testgen-gpt4 (Platypus' leetcode_format.py).

Rules: instruction = prompt, output = full_code. Reads a local jsonl/json/parquet copy of the
hub dataset, or the hub dataset itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require


class Options(SourceOptions):
    split: str = "train"


SPEC = Spec(
    name="leetcode",
    data_source="leetcode_ne",
    license="unspecified (no licence on the hub card; GPT-4 generated tests)",
    hub_licenses=("unknown",),
    commercial=None,
    description="LeetCode problems with Python solutions and GPT-4 generated tests.",
    hub_id="nuprl/leetcode-solutions-python-testgen-gpt4",
    options=Options,
    released_rows=1100,
    release_note=("No filter; the release is after dedup."),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    for location, row in ctx.rows((), ctx.options.split):
        yield Record(
            id=f"leetcode_ne/{row.get('slug') or location.rpartition(':')[2]}",
            instruction=require(location, row, "prompt"),
            input="",
            output=require(location, row, "full_code"),
            data_source=SPEC.data_source,
        )


class LeetcodeSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = LeetcodeSource()
