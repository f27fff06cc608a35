"""TigerResearch/tigerbot-kaggle-leetcodesolutions-en-2k (Platypus' tigerbot_format.py).

Rules: keep rows whose instruction asks for Python; the problem text (the dataset's `input`)
becomes the instruction and the input is left empty.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require


class Options(SourceOptions):
    split: str = "train"


SPEC = Spec(
    name="tigerbot",
    data_source="tigerbot-kaggle",
    license="Apache-2.0",
    hub_licenses=("apache-2.0",),
    commercial=True,
    description="Kaggle/LeetCode solutions; the Python ones only.",
    steps=("python only",),
    hub_id="TigerResearch/tigerbot-kaggle-leetcodesolutions-en-2k",
    options=Options,
    released_rows=386,
    release_note=("Python-only rows; the release is after dedup."),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    for location, row in ctx.rows((), ctx.options.split):
        # Case-sensitive, as in the original: the instructions say "... in python".
        if "python" not in require(location, row, "instruction"):
            yield Skip("python only", location)
            continue
        yield Record(
            id=f"tigerbot-kaggle/{location.rpartition(':')[2]}",
            instruction=require(location, row, "input"),
            input="",
            output=require(location, row, "output"),
            data_source=SPEC.data_source,
        )


class TigerbotSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = TigerbotSource()
