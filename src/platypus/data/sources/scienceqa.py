"""ScienceQA, text-only questions with a worked solution (Platypus' scienceqa_format.py).

Rules, checked in this order: text-only (no image); skill not in the removed list; non-empty
solution; instruction = question + lettered choices; the lecture becomes the input only for
questions that cue it ("Based on", "Look at the", ...); inputs over 400 words are dropped.
Reads lupantech's `problems.json` (object keyed by problem id, with `image` and `split`), or a
table in the hub's `metaeval/ScienceQA_text_only` layout, or that hub dataset itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, require
from platypus.data.text import lettered, word_count


class Options(SourceOptions):
    splits: list[str] = ["train"]
    max_input_words: int = 400
    skills_to_remove: list[str] = [
        "Choose customary units of distance",
        "Choose customary units of mass",
        "Choose customary units of volume",
        "Is it a complete sentence or a run-on",
        "Is the sentence simple compound, comples, or compound-complex",
        "Use guide words",
    ]
    lecture_cues: list[str] = [
        "What information supports",
        "Based on",
        "Read the following",
        "Use the evidence",
        "Look at the",
        "According to a",
    ]


SPEC = Spec(
    name="scienceqa",
    data_source="scienceqa",
    license="CC BY-NC-SA 4.0",
    hub_licenses=("cc-by-nc-sa-4.0",),
    commercial=False,
    description="Grade-school science multiple choice with lectures and solutions (text-only).",
    steps=("text-only", "skill kept", "has solution", "input <= max words"),
    hub_id="metaeval/ScienceQA_text_only",
    options=Options,
    released_rows=1317,
    release_note=(
        "Built from the `metaeval/ScienceQA_text_only` train split; the release is after dedup."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    opts: Options = ctx.options
    removed = set(opts.skills_to_remove)
    for split in opts.splits:
        if ctx.path is None:
            rows = ctx.hub(split)
        else:
            rows = ctx.table("problems.json") if ctx.path.is_dir() else ctx.table()
        for location, row in rows:
            # problems.json holds every split; the hub table is already one split.
            if "split" in row and row["split"] != split:
                continue
            if row.get("image"):
                yield Skip("text-only", location)
                continue
            if row.get("skill") in removed:
                yield Skip("skill kept", location)
                continue
            solution = require(location, row, "solution")
            if not solution.strip():
                yield Skip("has solution", location)
                continue
            question = require(location, row, "question")
            choices = require(location, row, "choices", list)
            instruction = question + "\n" + lettered([str(c) for c in choices])
            lecture = row.get("lecture") or ""
            cued = any(cue in instruction for cue in opts.lecture_cues)
            text_input = lecture if cued else ""
            if word_count(text_input) > opts.max_input_words:
                yield Skip("input <= max words", location)
                continue
            yield Record(
                id=f"scienceqa/{_row_id(location)}",
                instruction=instruction,
                input=text_input,
                output=solution,
                data_source=SPEC.data_source,
            )


def _row_id(location: str) -> str:
    source, _, row = location.rpartition(":")
    return f"{source.rsplit('/', 1)[-1]}/{row}" if source.startswith("hub:") else row


class ScienceQASource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = ScienceQASource()
