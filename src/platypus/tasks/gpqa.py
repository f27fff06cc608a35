"""GPQA (graduate-level Google-proof Q&A) as the Open LLM Leaderboard v2 scores it (lm-eval 0.4.13
`leaderboard_gpqa`): its three subsets diamond, extended and main (the subjects, 198 + 546 + 448
questions; diamond is inside main, main inside extended, and the leaderboard scores all three),
0-shot, multiple choice by log-likelihood, acc_norm.

Prompt (lm-eval's `leaderboard/gpqa/_template_yaml`), the question as it is in the data:

    What is the correct answer to this question:{Question}\\nChoices:\\n(A) {c1}\\n
    (B) {c2}\\n(C) {c3}\\n(D) {c4}\\nAnswer:<space>

(one string: the line break after the first "\\n" is only this docstring's), each answer cleaned
by lm-eval's `preprocess` (strip; " [title]" -> ". "; "[...]" spans removed; double spaces made
single). The continuations are " (A)" .. " (D)"; acc_norm divides each log-likelihood by the
length of "(A)", the same for all four, so it is the plain argmax. One extended question
(receXrYDOlmIPLiKz) runs to about 12,900 tokens (SmolLM2's tokenizer, the others at most
about 2,900): lm-eval scores only its last `max_length` tokens (the model's context size).

The four answers (three incorrect, then the correct one) are shuffled by lm-eval's `process_docs`
with Python's global `random`, which `simple_evaluate` seeds with 0 (`random_seed`) before it
builds the tasks; nothing else draws from it in between (loading the model does not). The group
builds its tasks in the order diamond, extended, main and each shuffles all its rows once, in
file order (datasets caches the result of that first pass and lm-eval's later passes read the
cache), so the letters are one stream of `random.Random(0)` shuffles through diamond, then
extended, then main. They are always drawn through all three subsets, so an item's letters do
not depend on which subjects are loaded: they are those of a leaderboard run (the `leaderboard`
and `leaderboard_gpqa` groups); lm-eval running `leaderboard_gpqa_main` or `_extended` alone
would draw other letters for them, and so does a run that finds datasets' cache filled by an
earlier run of another selection (the cache outlives the run). The gold is lm-eval's: the first
of the shuffled answers equal to the cleaned correct answer.

Local data (`gpqa/dataset.zip`, see its SOURCE.md): the CSVs in a ZipCrypto zip under the
password the official README publishes, read in memory. The authors ask that no example be
shown in plain text: nothing here writes a row (`text_private`, no export), and error messages
name a file and row, never its text. Where a copy keeps the original trailing whitespace it is
read (diamond: ADAS-ollama's, main: MEvalKit's, as SOURCE.md advises), else the only copy
(extended). Item ids are `gpqa/<subset>/<Record ID>`.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from platypus.errors import DataError, PlatypusError
from platypus.eval.metrics import acc_norm
from platypus.eval.results import ItemResult
from platypus.progress import progress
from platypus.tasks.base import LeaderboardScore, Task, hub_dataset
from platypus.tasks.schema import TaskItem

NAME = "gpqa"
HUB = "Idavidrein/gpqa"
SPLIT = "train"  # the hub dataset's only split, which lm-eval scores (its `validation_split`)
SUBSETS = ("diamond", "extended", "main")  # the order `_leaderboard_gpqa.yaml` builds them in
ZIP = Path("gpqa") / "dataset.zip"
PASSWORD = b"deserted-untie-orchid"  # the password the official README publishes
MEMBERS = {
    "diamond": "whitespace_preserving_copies/gpqa_diamond.ADAS-ollama.csv",
    "extended": "gpqa_extended.csv",
    "main": "whitespace_preserving_copies/gpqa_main.MEvalKit.csv",
}
SEED = 0  # lm-eval's `simple_evaluate(random_seed=0)`
ANSWERS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3", "Correct Answer")
COLUMNS = ("Record ID", "Question", *ANSWERS)
LETTERS = ("(A)", "(B)", "(C)", "(D)")  # lm-eval's `doc_to_choice`
RECORD_ID = re.compile(r"rec[A-Za-z0-9]+")


def preprocess(text: str | None) -> str:
    """lm-eval's `preprocess` of an answer (a missing one, which the hub gives as None: " ")."""
    if text is None:
        return " "
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def _subsets(subjects: list[str] | None) -> list[str]:
    if subjects is None:
        return list(SUBSETS)
    if not subjects:
        raise PlatypusError("gpqa: the subject list is empty; leave it unset for all subsets")
    unknown = sorted(set(subjects) - set(SUBSETS))
    if unknown:
        raise PlatypusError(f"gpqa: unknown subsets {unknown}; known: {', '.join(SUBSETS)}")
    return [s for s in SUBSETS if s in set(subjects)]


def _items(rows: Mapping[str, Iterable[tuple[str, str, list[str | None]]]]) -> list[TaskItem]:
    """Items of all subsets from (record id, question, answers as `ANSWERS`) per subset, the
    answers shuffled as lm-eval shuffles them (see the module docstring)."""
    rng = random.Random(SEED)
    items = []
    for subset in SUBSETS:
        for record_id, question, answers in rows[subset]:
            choices = [preprocess(a) for a in answers]
            rng.shuffle(choices)
            gold = choices.index(preprocess(answers[-1]))
            items.append(TaskItem(NAME, SPLIT, f"{NAME}/{subset}/{record_id}", question,
                                  tuple(choices), gold, subset))  # fmt: skip
    return items


def parse_csv(data: bytes, where: str) -> list[tuple[str, str, list[str | None]]]:
    """(record id, question, answers) of each row of one subset's CSV. A bad row is a one-line
    `DataError` naming `where` and the row (1 = the first after the header), never its text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(where, f"not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        missing = [c for c in COLUMNS if header is None or c not in header]
        if missing:
            raise DataError(where, f"the header lacks the columns {missing}")
        index = [header.index(c) for c in COLUMNS]
        out, seen = [], set()
        for n, row in enumerate(reader, start=1):
            if len(row) != len(header):
                raise DataError(where, f"{len(row)} fields, the header has {len(header)}", row=n)
            record_id, question, *answers = (row[i] for i in index)
            if not RECORD_ID.fullmatch(record_id):
                raise DataError(where, "the Record ID is not an Airtable id (rec...)", row=n)
            if record_id in seen:
                raise DataError(where, "the Record ID repeats an earlier row's", row=n)
            empty = [c for c, v in zip(COLUMNS[1:], [question, *answers], strict=True) if not v]
            if empty:
                raise DataError(where, f"empty {', '.join(empty)}", row=n)
            seen.add(record_id)
            out.append((record_id, question, answers))
    except csv.Error as exc:
        # csv's message quotes no cell; its line number counts physical lines, header included
        raise DataError(where, f"not a CSV ({exc})", row=f"line {reader.line_num}") from None
    if not out:
        raise DataError(where, "no rows")
    return out


@lru_cache(maxsize=2)
def _decrypt(path: str, stamp: tuple[int, int]) -> dict[str, bytes]:
    """Every subset's CSV, decrypted in memory (`stamp`: the zip's mtime and size, so a changed
    file is read again; ZipCrypto in pure Python takes seconds)."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(path, f"not a readable zip ({type(exc).__name__})") from None
    out = {}
    with archive:
        names = set(archive.namelist())
        for subset in SUBSETS:
            member = MEMBERS[subset]
            if member not in names:
                raise DataError(path, f"no {member} in the zip")
            try:
                out[subset] = archive.read(member, pwd=PASSWORD)
            except (RuntimeError, zipfile.BadZipFile, OSError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise DataError(f"{path}:{member}", f"cannot be read ({first})") from None
    return out


@lru_cache(maxsize=2)
def _parse(path: str, stamp: tuple[int, int]) -> dict[str, list]:
    data = _decrypt(path, stamp)
    return {s: parse_csv(data[s], f"{path}:{MEMBERS[s]}") for s in SUBSETS}


def _zip(root: Path) -> Path:
    return Path(root) / ZIP


def _stamped(root: Path) -> tuple[str, tuple[int, int]]:
    """The zip's path with its mtime and size (the caches' key)."""
    path = _zip(root)
    if not path.is_file():
        raise DataError(path, "GPQA zip not found")
    stat = path.stat()
    return str(path), (stat.st_mtime_ns, stat.st_size)


def decrypted(root: Path) -> dict[str, bytes]:
    """Each subset's CSV as bytes, in memory only: never write them out."""
    return _decrypt(*_stamped(root))


def load_gpqa(root: Path, split: str = SPLIT, subjects: list[str] | None = None) -> list[TaskItem]:
    if split != SPLIT:
        raise PlatypusError(f"gpqa: no split {split!r}; GPQA has only {SPLIT!r}")
    wanted = _subsets(subjects)
    return [i for i in _items(_parse(*_stamped(root))) if i.subject in wanted]


def load_hub(subjects: list[str] | None = None, **_: object) -> list[TaskItem]:
    """The leaderboard's data (gated on the hub: needs an accepted licence and a token)."""
    wanted = _subsets(subjects)
    rows = {
        s: [
            (r["Record ID"], r["Question"], [r[a] for a in ANSWERS])
            for r in hub_dataset(HUB, f"gpqa_{s}", split=SPLIT)
        ]
        for s in SUBSETS
    }
    return [i for i in _items(rows) if i.subject in wanted]


def fewshot(items: list[TaskItem], root: Path) -> tuple[list[TaskItem], None]:
    """0-shot: no pool."""
    return items, None


def context(item: TaskItem) -> str:
    c1, c2, c3, c4 = item.choices
    return (
        f"What is the correct answer to this question:{item.question}\nChoices:\n"
        f"(A) {c1}\n(B) {c2}\n(C) {c3}\n(D) {c4}\nAnswer: "
    )


CONTINUATIONS = tuple(f" {letter}" for letter in LETTERS)  # target_delimiter " " + choice


def metrics(lls: list[float], item: TaskItem) -> dict[str, float]:
    """The leaderboard's one metric: acc_norm over the letters (per character of "(A)")."""
    return {"acc_norm": acc_norm(lls, LETTERS, item.gold)}


def score(scorer, items: list[TaskItem], pool=None, protocol=None) -> list[ItemResult]:
    """Per subset, `scorer.prefix` looks for a token prefix worth caching (the prompts share
    only their first words, so usually none); each item's four continuations are scored after
    its prompt, in one batch."""
    out: list[ItemResult | None] = [None] * len(items)
    with progress(total=len(items), desc=NAME, unit=" items", disable=None) as bar:
        for subset in SUBSETS:
            members = [n for n, item in enumerate(items) if item.subject == subset]
            if not members:
                continue
            contexts = [context(items[n]) for n in members]
            prefix = scorer.prefix(contexts) if len(members) > 1 else None
            scored = scorer.score_many([(c, CONTINUATIONS) for c in contexts], prefix)
            for n, scores in zip(members, scored, strict=True):
                lls = [s.logprob for s in scores]
                out[n] = ItemResult(items[n].id, lls, metrics(lls, items[n]))
            bar.update(len(members))
    return out  # type: ignore[return-value]


def data_files(root: Path, subjects: list[str] | None = None) -> list[Path]:
    """The zip, whatever the subjects: every subset is read for the shuffle (see above)."""
    _subsets(subjects)
    return [_zip(root)]


class GPQATask(Task):
    name = NAME
    headline = "acc_norm"
    split = SPLIT
    load = staticmethod(load_gpqa)
    # An lm-eval export would write the rows to jsonl in plain text, which GPQA's authors ask
    # us not to do; the parity tests feed lm-eval's own task the rows in memory instead.
    export = None
    # ~240-token questions, 4 short choices
    plan_cost = (1_192, 260)
    options = ("subjects",)
    per_subject = True
    text_private = True
    # the leaderboard's GPQA is acc_norm over the three subsets' items, from a chance of 1 in 4
    leaderboard_v2 = LeaderboardScore(("acc_norm",), chance=0.25)


TASK = GPQATask()
