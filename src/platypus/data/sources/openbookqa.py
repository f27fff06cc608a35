"""OpenBookQA (Platypus' OpenBookQA_format.py): in the paper's source list, not in the release.

Rules: instruction = question stem + ": " + lettered choices; input = the supporting science
fact (`fact1`, in the "additional" config) or empty when the data has none; output =
"The answer is X: <choice>". Reads the Main TSVs (no fact), the Additional `*_complete.jsonl`
files (with fact1), or the hub's `allenai/openbookqa` "additional" config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, empty_file, require
from platypus.errors import DataError
from platypus.io.readers import iter_jsonl, iter_tsv

_OPTION = re.compile(r"\(([A-Z])\)\s*")
_HUB_SPLIT = {"dev": "validation"}


class Options(SourceOptions):
    splits: list[str] = ["train", "dev", "test"]


SPEC = Spec(
    name="openbookqa",
    data_source="openbookqa",
    license="Apache-2.0 (allenai repository; the hub card says unknown)",
    hub_licenses=("apache-2.0",),
    commercial=True,
    description="Elementary science multiple choice over an open book of facts.",
    steps=("answer among choices",),
    default_path="openbookqa",
    hub_id="allenai/openbookqa",
    options=Options,
    released_rows=0,
    release_note=(
        "Named in the paper but absent from the release, so off by default. Without the "
        "`additional` config (fact1) the input is empty."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    for split in ctx.options.splits:
        for location, key, stem, choices, answer, fact in _rows(ctx, split):
            letters = [label for label, _ in choices]
            if answer not in letters:
                yield Skip("answer among choices", location)
                continue
            options = "\n".join(f"{label}: {text}" for label, text in choices)
            yield Record(
                id=f"openbookqa/{split}/{key}",
                instruction=f"{stem}: \n{options}",
                input=fact,
                output=f"The answer is {answer}: {dict(choices)[answer]}",
                data_source=SPEC.data_source,
            )


def _rows(ctx: LoadContext, split: str):
    """(location, id, stem, [(label, text)], answer, fact) in one shape for all three layouts."""
    if ctx.path is None:
        for location, row in ctx.hub(_HUB_SPLIT.get(split, split), name="additional"):
            ch = require(location, row, "choices", dict)
            choices = list(zip(ch["label"], ch["text"], strict=True))
            yield (location, row.get("id"), require(location, row, "question_stem"), choices,
                   require(location, row, "answerKey"), row.get("fact1") or "")  # fmt: skip
        return
    complete = ctx.path / f"{split}_complete.jsonl"
    if complete.is_file():
        ctx.files.append(complete)
        lineno = 0
        for lineno, row in iter_jsonl(complete):
            location = f"{complete}:{lineno}"
            question = require(location, row, "question", dict)
            choices = [
                (c["label"], c["text"]) for c in require(location, question, "choices", list)
            ]
            yield (location, row.get("id", lineno), require(location, question, "stem"), choices,
                   require(location, row, "answerKey"), row.get("fact1") or "")  # fmt: skip
        if not lineno:
            raise empty_file(SPEC.name, complete)
        return
    tsv = ctx.file(f"{split}.tsv")
    rowno = 0
    for rowno, row in iter_tsv(tsv):
        location = f"{tsv}:{rowno}"
        for name in ("ID", "Question Stem", "Choices", "Answer Key"):
            require(location, row, name)
        choices = _parse_choices(row["Choices"])
        if not choices:
            raise DataError(tsv, "Choices should look like '(A) ... (B) ...'", row=rowno)
        yield location, row["ID"], row["Question Stem"], choices, row["Answer Key"].strip(), ""
    if not rowno:
        raise empty_file(SPEC.name, tsv)


def _parse_choices(text: str) -> list[tuple[str, str]]:
    parts = _OPTION.split(text)
    return [(label, body.strip()) for label, body in zip(parts[1::2], parts[2::2], strict=True)]


class OpenBookQASource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = OpenBookQASource()
