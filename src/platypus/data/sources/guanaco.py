"""timdettmers/openassistant-guanaco (Platypus' guanaco_format.py), first turn, STEM filtered.

Rules: the first "### Human:" message is the instruction and the first "### Assistant:" reply the
output (the original kept the rest of the conversation inside the output); kept only when a STEM
keyword occurs in the instruction. Train and test splits both, as Platypus did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require

_TURN = re.compile(r"###\s*(Human|Assistant):")


class Options(SourceOptions):
    splits: list[str] = ["train", "test"]
    files: list[str] = []  # local files, one per split, in the same order as `splits`


SPEC = Spec(
    name="guanaco",
    data_source="guanaco",
    license="Apache-2.0",
    hub_licenses=("apache-2.0",),
    commercial=True,
    description="OpenAssistant conversations (guanaco subset); first exchange, STEM only.",
    steps=("has a human/assistant turn",),
    hub_id="timdettmers/openassistant-guanaco",
    keyword_filter=True,
    options=Options,
    released_rows=797,
    release_note=("Keyword-filtered with the intended keyword list, first exchange only."),
)


def first_turn(text: str) -> tuple[str, str] | None:
    """(first human message, first assistant reply), or None if the text has no such pair."""
    parts = _TURN.split(text)
    # parts = [preamble, role, message, role, message, ...]
    turns = list(zip(parts[1::2], parts[2::2], strict=True))
    if len(turns) < 2 or turns[0][0] != "Human" or turns[1][0] != "Assistant":
        return None
    human, assistant = turns[0][1].strip(), turns[1][1].strip()
    return (human, assistant) if human and assistant else None


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    opts: Options = ctx.options
    if ctx.path is not None:
        streams = [(f, ctx.table(f)) for f in (opts.files or [""])]
    else:
        streams = [(s, ctx.hub(s)) for s in opts.splits]
    for tag, rows in streams:
        for location, row in rows:
            pair = first_turn(require(location, row, "text"))
            if pair is None:
                yield Skip("has a human/assistant turn", location)
                continue
            yield Record(
                id=f"guanaco/{tag.rsplit('/', 1)[-1] or 'data'}/{location.rpartition(':')[2]}",
                instruction=pair[0],
                input="",
                output=pair[1],
                data_source=SPEC.data_source,
            )


class GuanacoSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = GuanacoSource()
