"""ReClor logical reasoning (Platypus' reclor_formatted.py).

Rules: instruction = context + " " + question + lettered answers; input = "Choose A, B, C or D as
your solution."; output = the answer letter. Rows without a label (the hidden test split) are
skipped. Platypus trained on the train split (hub `metaeval/reclor`); locally any labelled file.

Platypus' script also applies the STEM keyword filter, but that filter keeps only about 37% of
ReClor rows (186 of the 500 val rows with the original list), while the release holds 4,530 of
the 4,638 train rows: the released set was not keyword-filtered. The default follows the
release; `keyword_filter: true` applies the filter.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require
from platypus.data.text import lettered

CHOOSE_ABCD = "Choose A, B, C or D as your solution."


class Options(SourceOptions):
    # Platypus used train (4,638 rows); the shared copy has only val, so that is the default.
    files: list[str] = ["val.json"]  # local files under the source path
    split: str = "train"  # hub split


SPEC = Spec(
    name="reclor",
    data_source="reclor",
    license="ReClor terms: non-commercial research use only",
    hub_licenses=("other",),  # ReClor's own non-commercial terms
    enabled_by_default=True,
    commercial=False,
    description="GMAT/LSAT-style logical reasoning multiple choice.",
    steps=("labelled",),
    default_path="reclor",
    hub_id="metaeval/reclor",
    options=Options,
    released_rows=4530,
    release_note=(
        "Platypus used the train split (4,638 rows); the default here is the val split, the "
        "only labelled split in the shared data. Platypus' script keyword-filters ReClor, but "
        "that filter keeps about 37% of rows (186 of 500 val rows with the original list) while "
        "the release keeps 4,530 of 4,638: the release was not filtered, and neither is this "
        "build unless `keyword_filter: true`."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    opts: Options = ctx.options
    sources = (
        [ctx.table(name) for name in opts.files] if ctx.path is not None else [ctx.hub(opts.split)]
    )
    for rows in sources:
        for location, row in rows:
            context = require(location, row, "context")
            question = require(location, row, "question")
            answers = require(location, row, "answers", list)
            label = row.get("label")
            if not isinstance(label, int) or not 0 <= label < len(answers):
                yield Skip("labelled", location)
                continue
            yield Record(
                id=f"reclor/{row.get('id_string') or location.rpartition(':')[2]}",
                instruction=f"{context} {question}\n{lettered([str(a) for a in answers])}",
                input=CHOOSE_ABCD,
                output=chr(65 + label),
                data_source=SPEC.data_source,
            )


class ReClorSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = ReClorSource()
