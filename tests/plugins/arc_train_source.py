"""A source: ARC-Challenge's train split as instruction rows (question and lettered options;
the answer as "The answer is X: <option>"). Its test split is a leaderboard task; the train split
is what fine-tunes commonly add."""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, Spec, require

SPEC = Spec(
    name="arc_train",
    data_source="arc_train",
    license="CC BY-SA 4.0",
    hub_licenses=("cc-by-sa-4.0",),
    commercial=True,
    description="Grade-school science questions (ARC-Challenge train split).",
    steps=("answer among choices",),
    default_path="arc",
    hub_id="allenai/ai2_arc",
    enabled_by_default=False,
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    rows = ctx.rows(("ARC-Challenge-Train.jsonl",), "train", name="ARC-Challenge")
    for location, row in rows:
        question = require(location, row, "question", dict)
        choices = [(c["label"], c["text"]) for c in require(location, question, "choices", list)]
        answer = require(location, row, "answerKey")
        if answer not in dict(choices):
            yield Skip("answer among choices", location)
            continue
        options = "\n".join(f"{label}: {text}" for label, text in choices)
        yield Record(
            id=f"arc_train/{row['id']}",
            instruction=f"{require(location, question, 'stem')}\n{options}",
            input="",
            output=f"The answer is {answer}: {dict(choices)[answer]}",
            data_source=SPEC.data_source,
        )


class ArcTrainSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = ArcTrainSource()
