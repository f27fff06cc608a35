"""jondurbin/airoboros-gpt4-1.4.1 (Platypus' airoboros_format.py), STEM keyword filtered.

Rules: instruction = instruction, output = response; kept only when a STEM keyword occurs.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require


class Options(SourceOptions):
    data_files: str = "instructions.jsonl"


SPEC = Spec(
    name="airoboros",
    data_source="airoboros",
    license="other (GPT-4 generated; OpenAI terms of use apply)",
    hub_licenses=("other",),  # OpenAI terms of use
    commercial=None,
    description="GPT-4 generated instructions of many kinds; the STEM ones only.",
    hub_id="jondurbin/airoboros-gpt4-1.4.1",
    keyword_filter=True,
    options=Options,
    released_rows=2605,
    release_note=(
        "Keyword-filtered with the intended keyword list; the release used the buggy one."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    for location, row in ctx.rows((), "train", data_files=ctx.options.data_files):
        key = row.get("question_id") or location.rpartition(":")[2]
        yield Record(
            id=f"airoboros/{key}",
            instruction=require(location, row, "instruction"),
            input="",
            output=require(location, row, "response"),
            data_source=SPEC.data_source,
        )


class AiroborosSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = AiroborosSource()
