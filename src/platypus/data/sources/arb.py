"""ARB, the Advanced Reasoning Benchmark (Platypus' duckai_format.py), from DuckAI's raw files.

Rules as Platypus applied them to the ARB API: law and MCAT are multiple choice with lettered
options, input "Choose A, B, C or D as your solution." and output the answer letter (law) or the
explained solution without its "N." numbering (MCAT); maths and physics are open problems with
the worked solution as output. Problems that refer to an image are dropped (the images are not
in the data), as are rows with no answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from platypus.data.record import Record, Skip
from platypus.data.sources.base import LoadContext, Source, SourceOptions, Spec, empty_file, require
from platypus.data.sources.reclor import CHOOSE_ABCD
from platypus.data.text import lettered
from platypus.errors import DataError, PlatypusError
from platypus.io.readers import read_json

# A scraping artefact: the next passage's heading glued to the end of an MCAT solution.
_TRAILING_PASSAGE = re.compile(r"\s*Passage [IVXLC]+\s*$")


class Options(SourceOptions):
    subsets: list[str] = ["law", "mcat", "math", "physics"]
    law_file: str = "barbri_bar/output.json"
    mcat_file: str = "MCAT/output_sampled.json"  # ARB's MCAT set was a sample of the books
    math_files: list[str] = [
        "berkeley_ver2.0/output_final.json",
        "harvard_math_quals/harvard_math_quals.json",
        "putnam_book/output_final.json",
    ]
    physics_files: list[str] = [
        "physics_books/data/em_quals_output_final.json",
        "physics_books/data/mechanics_quals_output_final.json",
        "physics_books/data/optics_output_final.json",
        "physics_books/data/quantum_output_final.json",
        "physics_books/data/solid_state_output.json",
        "physics_books/data/statmech_output.json",
    ]


SPEC = Spec(
    name="arb",
    data_source="ARB",
    license="CC BY 4.0 (ARB release); MIT (DuckAI raw files)",
    hub_licenses=("cc-by-4.0", "mit"),
    enabled_by_default=True,
    commercial=True,
    description="Expert-level law, MCAT, maths and physics problems.",
    steps=("no image", "has answer"),
    default_path="arb_precursor",
    options=Options,
    released_rows=713,
    release_note=(
        "Built from DuckAI's raw pre-release collections, a superset of the 713 released ARB "
        "problems; the exact released subset cannot be identified from them."
    ),
)


def load(ctx: LoadContext) -> Iterator[Record | Skip]:
    assert ctx.path is not None, "ARB has no hub copy; set sources.arb.path"
    opts: Options = ctx.options
    unknown = set(opts.subsets) - {"law", "mcat", "math", "physics"}
    if unknown:
        raise PlatypusError(f"arb: unknown subsets {sorted(unknown)} (law, mcat, math, physics)")
    if "law" in opts.subsets:
        yield from _law(ctx, opts.law_file)
    if "mcat" in opts.subsets:
        yield from _mcat(ctx, opts.mcat_file)
    for subset in ("math", "physics"):
        if subset in opts.subsets:
            for name in getattr(opts, f"{subset}_files"):
                yield from _open_problems(ctx, subset, name)


def _law(ctx: LoadContext, name: str) -> Iterator[Record | Skip]:
    path = ctx.file(name)
    data = read_json(path)
    entries = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise DataError(path, "expected a list of entries (or an object with 'entries')")
    if not entries:
        raise empty_file(SPEC.name, path)
    for i, row in enumerate(entries, start=1):
        location = f"{path}:{i}"
        if not isinstance(row, dict):
            raise DataError(path, "expected an object", row=i)
        statement = require(location, row, "Problem Statement")
        choices = require(location, row, "Problem Choices", list)
        answer = str(row.get("Final Answer") or "").strip()
        if answer not in {chr(65 + k) for k in range(len(choices))}:
            yield Skip("has answer", location)
            continue
        instruction = statement + "\n" + lettered([str(c) for c in choices], ". ")
        yield _record("law", path, i, instruction, CHOOSE_ABCD, answer)


def _mcat(ctx: LoadContext, name: str) -> Iterator[Record | Skip]:
    for location, row in ctx.table(name):
        if row.get("Image"):
            yield Skip("no image", location)
            continue
        statement = require(location, row, "Problem Statement")
        solution = str(row.get("Solution") or "")
        # "12. The correct answer is B. ..." -> "The correct answer is B. ..."
        explained = _TRAILING_PASSAGE.sub("", solution.split(".", 1)[-1]).strip()
        if not explained:
            yield Skip("has answer", location)
            continue
        key = location.rpartition(":")[2]
        yield _record("mcat", ctx.path / name, key, statement, CHOOSE_ABCD, explained)


def _open_problems(ctx: LoadContext, subset: str, name: str) -> Iterator[Record | Skip]:
    for location, row in ctx.table(name):
        if row.get("Images") or row.get("Image"):
            yield Skip("no image", location)
            continue
        statement = require(location, row, "Problem Statement")
        solution = str(row.get("Solution") or "")
        if not solution.strip():
            yield Skip("has answer", location)
            continue
        yield _record(subset, ctx.path / name, location.rpartition(":")[2], statement, "", solution)


def _record(subset, path, key, instruction, text_input, output) -> Record:
    return Record(
        id=f"arb/{subset}/{path.parent.name}/{path.stem}/{key}",
        instruction=instruction,
        input=text_input,
        output=output,
        data_source=SPEC.data_source,
    )


class ArbSource(Source):
    spec = SPEC
    load = staticmethod(load)


SOURCE = ArbSource()
