"""GPQA (`platypus.tasks.gpqa`) against lm-eval 0.4.13's own `leaderboard_gpqa` task.

GPQA's authors ask that no example be shown in plain text, so these tests write no row anywhere
and print none: lm-eval gets the rows as in-memory `datasets.Dataset`s in the hub's schema
(`datasets.load_dataset` patched while its tasks are built), texts are compared by digest and
every assertion message names items by id only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest

from platypus.errors import DataError, PlatypusError
from platypus.tasks import get_task, load_task
from platypus.tasks import gpqa as G

datasets = pytest.importorskip("datasets")
lm_eval = pytest.importorskip("lm_eval")

COUNTS = {"diamond": 198, "extended": 546, "main": 448}  # SOURCE.md
# Items per subset scored by both lm-eval and us (lm-eval runs the whole prompt again for each of
# the four continuations): the default suite runs the shortest of each subset, the slow set the
# first few.
PARITY = 1
PARITY_SLOW = 3


def digest(value) -> str:
    """What a text comparison shows on failure instead of the text."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def hub_rows(root) -> dict[str, list[dict]]:
    """Each subset's CSV rows, all 78 columns, decrypted in memory: the hub's `train` split."""
    texts = {s: data.decode() for s, data in G.decrypted(root).items()}
    return {s: list(csv.DictReader(io.StringIO(t, newline=""))) for s, t in texts.items()}


def csv_rows(root, subset: str) -> list[list[str]]:
    """One subset's CSV as lists of cells, header first, in memory."""
    return list(csv.reader(io.StringIO(G.decrypted(root)[subset].decode(), newline="")))


@contextmanager
def hub_in_memory(rows: dict[str, list[dict]]):
    """`datasets.load_dataset("Idavidrein/gpqa", "gpqa_<subset>")` gives the rows in memory;
    `Dataset.map` keeps its first result per (dataset, function), as datasets' cache does for the
    hub's on-disk data (the leaderboard's run shuffles each subset once: every later pass of
    lm-eval reads the cached shuffle). Yields the datasets made, to check none has a file."""
    made: list = []
    memo: dict = {}
    real_map = datasets.Dataset.map
    real_load = datasets.load_dataset

    def load_dataset(path=None, name=None, **kwargs):
        assert path == G.HUB and name in {f"gpqa_{s}" for s in G.SUBSETS}, (path, name)
        ds = datasets.Dataset.from_list(rows[name.removeprefix("gpqa_")])
        made.append(ds)
        return datasets.DatasetDict({G.SPLIT: ds})

    def cached_map(self, function=None, *args, **kwargs):
        key = (self._fingerprint, datasets.fingerprint.Hasher.hash(function))
        if key not in memo:
            memo[key] = real_map(self, function, *args, **kwargs)
            made.append(memo[key])
        return memo[key]

    datasets.load_dataset = load_dataset
    datasets.Dataset.map = cached_map
    try:
        yield made
    finally:
        datasets.load_dataset = real_load
        datasets.Dataset.map = real_map


@pytest.fixture(scope="module")
def ours(shared_data):
    return G.load_gpqa(shared_data)


@pytest.fixture(scope="module")
def rows(shared_data):
    return hub_rows(shared_data)


@pytest.fixture(scope="module")
def task_manager():
    """lm-eval's task index holding only its leaderboard GPQA folder (its own YAML and utils.py:
    indexing all of lm-eval's tasks takes seconds)."""
    from pathlib import Path

    from lm_eval.tasks import TaskManager

    folder = Path(lm_eval.__file__).parent / "tasks" / "leaderboard" / "gpqa"
    return TaskManager(include_path=str(folder), include_defaults=False)


@pytest.fixture(scope="module")
def theirs(rows, task_manager):
    """lm-eval's three leaderboard GPQA tasks built from its own YAML and utils.py, as
    `simple_evaluate` builds them: the global `random` seeded with its default 0 first."""
    state = random.getstate()
    try:
        with hub_in_memory(rows) as made:
            random.seed(0)
            loaded = task_manager.load(["leaderboard_gpqa"])["tasks"]
            docs = {s: list(loaded[f"leaderboard_gpqa_{s}"].eval_docs) for s in G.SUBSETS}
        assert made and all(not ds.cache_files for ds in made)  # nothing written to disk
    finally:
        random.setstate(state)
    return {s: (loaded[f"leaderboard_gpqa_{s}"], docs[s]) for s in G.SUBSETS}


def by_subset(items):
    return {s: [i for i in items if i.subject == s] for s in G.SUBSETS}


# ---- the loader on the real data


def test_counts_ids_and_subsets(ours):
    assert {s: len(v) for s, v in by_subset(ours).items()} == COUNTS
    assert [i.subject for i in ours] == sorted(i.subject for i in ours)  # diamond, extended, main
    assert len({i.id for i in ours}) == len(ours) == sum(COUNTS.values())
    assert all(i.id.startswith(f"gpqa/{i.subject}/rec") and i.split == "train" for i in ours)
    assert all(len(i.choices) == 4 and 0 <= i.gold < 4 for i in ours)
    # diamond inside main inside extended (SOURCE.md), by Record ID
    ids = {s: {i.id.rsplit("/", 1)[1] for i in v} for s, v in by_subset(ours).items()}
    assert ids["diamond"] < ids["main"] < ids["extended"]
    # the shuffle spreads the gold over the letters (1,192 draws: each letter well above 200)
    assert min(np.bincount([i.gold for i in ours], minlength=4)) > 200


def test_subjects_select_subsets_without_changing_items(shared_data, ours):
    main = load_task("gpqa", shared_data, subjects=["main"])
    # the same items, letters included, as in the full load (compared by digest: no text shown)
    assert digest(main) == digest([i for i in ours if i.subject == "main"])
    with pytest.raises(PlatypusError, match=r"^gpqa: unknown subsets \['physics'\]"):
        load_task("gpqa", shared_data, subjects=["physics", "main"])
    with pytest.raises(PlatypusError, match="subject list is empty"):
        G.load_gpqa(shared_data, subjects=[])
    with pytest.raises(PlatypusError, match="no split 'test'"):
        G.load_gpqa(shared_data, split="test")


def test_the_hub_rows_give_the_same_items(monkeypatch, rows, ours):
    """`load_hub` on the hub's rows (here the local ones in memory, as datasets would give them)
    makes the local loader's items; a subset selection keeps the full run's letters."""

    def hub(path, name, split):
        assert (path, split) == (G.HUB, G.SPLIT)
        return rows[name.removeprefix("gpqa_")]

    monkeypatch.setattr(G, "hub_dataset", hub)
    assert digest(G.load_hub()) == digest(ours)
    assert digest(G.load_hub(subjects=["extended"])) == digest(by_subset(ours)["extended"])


def test_the_task_record(shared_data):
    task = get_task("gpqa")
    assert task is G.TASK and task.text_private and task.export is None
    assert task.per_subject and task.options == ("subjects",) and task.headline == "acc_norm"
    assert task.data_files(shared_data, subjects=["diamond"]) == [shared_data / "gpqa/dataset.zip"]
    assert task.fewshot([], shared_data) == ([], None) and task.default_shots == 0


# ---- the same docs as lm-eval's own task, on every row


def test_preprocess_is_lm_evals_on_every_answer(rows):
    from lm_eval.tasks.leaderboard.gpqa.utils import preprocess

    answers = [r[a] for v in rows.values() for r in v for a in G.ANSWERS]
    extra = [None, "", " a [title] b ", "x [ref] y  z", "[a][b]c", "  two  spaces  "]
    differ = [n for n, a in enumerate(answers + extra) if G.preprocess(a) != preprocess(a)]
    assert differ == [] and len(answers) == 4 * sum(COUNTS.values())


def test_prompts_letters_and_gold_are_lm_evals(ours, theirs):
    """Every item's prompt, continuations and gold letter equal those lm-eval's task builds from
    the same rows (its shuffle through diamond, extended, main after seed 0)."""
    for subset, items in by_subset(ours).items():
        task, docs = theirs[subset]
        assert len(docs) == len(items)
        differ = []
        for n, (item, doc) in enumerate(zip(items, docs, strict=True)):
            ctx = task.fewshot_context(doc, num_fewshot=0)
            # (`task.task_name` would draw from the global random: lm-eval's default argument)
            requests = task.construct_requests(doc, ctx, metadata=(task.config.task, n, 1))
            args = [r.arguments for r in requests]
            gold = task.doc_to_choice(doc).index(task.doc_to_target(doc))  # "(B)" -> 1
            if (
                doc["Record ID"] != item.id.rsplit("/", 1)[1]
                or digest(args) != digest([(G.context(item), c) for c in G.CONTINUATIONS])
                or gold != item.gold
            ):
                differ.append(item.id)
        assert differ == [], f"{len(differ)} items differ from lm-eval's, first {differ[:3]}"


def test_the_shuffle_is_lm_evals_with_datasets_cache_on_disk(tmp_path, task_manager):
    """Without the in-memory stand-in for datasets' cache: made-up rows as many as GPQA's, saved
    as datasets on disk (as the hub's are), built into lm-eval's tasks. Its docs, read by a later
    pass over each subset, carry the first pass's shuffle (datasets' cache), which is ours."""
    made_up = {
        s: [(f"rec{s[:3]}{k:011d}", f"{s} question {k}", [f"{s} {k} w{j}" for j in (1, 2, 3)]
             + [f"{s} {k} right"]) for k in range(n)]
        for s, n in COUNTS.items()
    }  # fmt: skip
    stored = {}
    for s, rows_ in made_up.items():
        table = {c: [r[0] if c == "Record ID" else r[1] if c == "Question" else
                     r[2][G.ANSWERS.index(c)] for r in rows_] for c in G.COLUMNS}  # fmt: skip
        datasets.Dataset.from_dict(table).save_to_disk(tmp_path / s)
        stored[f"gpqa_{s}"] = datasets.DatasetDict(
            {G.SPLIT: datasets.load_from_disk(str(tmp_path / s))}
        )
    state, real_load = random.getstate(), datasets.load_dataset
    datasets.load_dataset = lambda path=None, name=None, **kw: stored[name]
    try:
        random.seed(0)
        loaded = task_manager.load(["leaderboard_gpqa"])["tasks"]
        for s in G.SUBSETS:
            assert loaded[f"leaderboard_gpqa_{s}"].eval_docs.cache_files  # datasets' cache used
        docs = [d for s in G.SUBSETS for d in loaded[f"leaderboard_gpqa_{s}"].eval_docs]
    finally:
        datasets.load_dataset = real_load
        random.setstate(state)
    items = G._items(made_up)
    assert [(i.choices, G.LETTERS[i.gold]) for i in items] == [
        ((d["choice1"], d["choice2"], d["choice3"], d["choice4"]), d["answer"]) for d in docs
    ]


def test_acc_norm_is_lm_evals_process_results(ours, theirs):
    """Our per-item acc_norm equals lm-eval's `process_results` for the same log-likelihoods, on
    every item: random ones, a tie (first wins) and the gold made best."""
    rng = np.random.default_rng(0)
    differ = []
    for subset, items in by_subset(ours).items():
        task, docs = theirs[subset]
        for item, doc in zip(items, docs, strict=True):
            best = [-5.0] * 4
            best[item.gold] = -1.0
            for lls in (list(rng.normal(-3, 1, 4)), [-2.0] * 4, best):
                expected = task.process_results(doc, [(ll, False) for ll in lls])["acc_norm"]
                if G.metrics(lls, item) != {"acc_norm": expected}:
                    differ.append(item.id)
    assert differ == []


# ---- malformed data: a one-line error naming the file and row, never quoting it


def _csv_bytes(header: list[str], body: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    return out.getvalue().encode()


def _quotes(message: str, row: list[str]) -> bool:
    return any(cell.strip() and cell.strip() in message for cell in row if len(cell.strip()) > 3)


def _spoil(row: list[str], header: list[str], how: str) -> list[str]:
    if how == "short":
        return row[:-1]
    column, value = {"empty": ("Correct Answer", ""), "id": ("Record ID", "recX-1")}[how]
    return [value if c == column else v for v, c in zip(row, header, strict=True)]


@pytest.mark.parametrize(
    "how, expected",
    [
        ("short", r"row 7: 77 fields, the header has 78$"),
        ("empty", r"row 7: empty Correct Answer$"),
        ("id", r"row 7: the Record ID is not an Airtable id \(rec\.\.\.\)$"),
    ],
)
def test_a_malformed_real_row_is_one_line_naming_file_and_row(shared_data, how, expected):
    """Row 7 of the real diamond CSV spoilt in memory (nothing written)."""
    header, *body = csv_rows(shared_data, "diamond")
    original = body[6]
    body[6] = _spoil(body[6], header, how)
    where = f"{shared_data / G.ZIP}:{G.MEMBERS['diamond']}"
    with pytest.raises(DataError) as info:
        G.parse_csv(_csv_bytes(header, body), where)
    message = str(info.value)
    assert message.startswith(f"{where}: ") and "\n" not in message
    assert re.search(expected, message), digest(message)
    assert not _quotes(message, original) and not _quotes(message, body[6])


def test_a_repeated_record_id_names_the_second_row(shared_data):
    header, *body = csv_rows(shared_data, "main")
    body.insert(3, body[0])
    with pytest.raises(DataError, match=r"gpqa_main\.MEvalKit\.csv: row 4: the Record ID repeats"):
        G.parse_csv(_csv_bytes(header, body), f"x.zip:{G.MEMBERS['main']}")


def _synthetic_zip(path, members: dict[str, bytes]) -> None:
    """A zip like the real one (unencrypted: zipfile cannot encrypt) of made-up rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _synthetic_csv(n: int, broken: int | None = None) -> bytes:
    header = ["Pre-Revision Question", *G.COLUMNS, "Canary String"]
    body = [
        ["p", f"rec{k:014d}", f"made-up question {k}", "w1", "w2", "w3", "right", "canary"]
        for k in range(n)
    ]
    if broken is not None:
        body[broken - 1] = body[broken - 1][:3]
    return _csv_bytes(header, body)


def test_the_loader_reads_the_zip_and_names_a_bad_member_and_row(tmp_path):
    zip_path = tmp_path / G.ZIP
    members = {m: _synthetic_csv(3) for m in G.MEMBERS.values()}
    _synthetic_zip(zip_path, members)
    items = G.load_gpqa(tmp_path)
    assert [i.id for i in items][:2] == [
        "gpqa/diamond/rec00000000000000",
        "gpqa/diamond/rec00000000000001",
    ]
    assert all(i.choices[i.gold] == "right" for i in items) and len(items) == 9
    # a changed file is read again (the decrypted rows are cached by mtime and size)
    members[G.MEMBERS["extended"]] = _synthetic_csv(4, broken=2)
    _synthetic_zip(zip_path, members)
    with pytest.raises(DataError) as info:
        G.load_gpqa(tmp_path, subjects=["main"])
    assert (
        str(info.value) == f"{zip_path}:{G.MEMBERS['extended']}: row 2: 3 fields, the header has 8"
    )
    members[G.MEMBERS["extended"]] = _synthetic_csv(4)
    del members[G.MEMBERS["main"]]
    _synthetic_zip(zip_path, members)
    with pytest.raises(DataError, match=f"no {G.MEMBERS['main']} in the zip$"):
        G.load_gpqa(tmp_path)
    with pytest.raises(DataError, match="GPQA zip not found"):
        G.load_gpqa(tmp_path / "elsewhere")
    zip_path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"dataset\.zip: not a readable zip \(BadZipFile\)$"):
        G.load_gpqa(tmp_path)


# ---- log-likelihoods and acc_norm against lm-eval's leaderboard_gpqa on SmolLM2


@pytest.fixture(scope="module")
def models(smollm2_pair):
    """(our scorer, lm-eval's HF model): SmolLM2, fp32, CPU, shared by the session."""
    from platypus.eval.loglik import LoglikScorer

    model, tokenizer, theirs = smollm2_pair
    return LoglikScorer(model, tokenizer), theirs


def shortest(items, k: int) -> dict[str, list[int]]:
    """Per subset, the positions of its `k` items with the shortest prompts, in file order."""
    out = {}
    for subset, group in by_subset(items).items():
        order = sorted(range(len(group)), key=lambda n: (len(G.context(group[n])), n))
        out[subset] = sorted(order[:k])
    return out


def compare(ours, rows, task_manager, models, picks: dict[str, list[int]]):
    """lm-eval's `simple_evaluate` on its `leaderboard_gpqa` group, for the items at `picks`
    (positions per subset; all rows are given: the shuffles run through all of them), against
    our scorer. Returns our results and the largest log-likelihood difference."""
    from lm_eval import simple_evaluate

    from platypus.eval.lm_eval_engine import no_git_describe

    scorer, lm = models
    chosen = {f"leaderboard_gpqa_{s}": picks[s] for s in G.SUBSETS}
    state = random.getstate()
    try:
        with hub_in_memory(rows) as made, no_git_describe():
            out = simple_evaluate(model=lm, tasks=["leaderboard_gpqa"], samples=chosen,
                                  log_samples=True, task_manager=task_manager)  # fmt: skip
        assert all(not ds.cache_files for ds in made)
    finally:
        random.setstate(state)
    items = [by_subset(ours)[s][n] for s in G.SUBSETS for n in picks[s]]
    results = G.score(scorer, items)
    samples = {}
    for subset in G.SUBSETS:
        got = sorted(out["samples"][f"leaderboard_gpqa_{subset}"], key=lambda s: s["doc_id"])
        assert [s["doc_id"] for s in got] == picks[subset]
        samples |= {f"gpqa/{subset}/{s['doc']['Record ID']}": s for s in got}
    assert list(samples) == [i.id for i in items]
    worst = 0.0
    for item, r in zip(items, results, strict=True):
        s = samples[item.id]
        # the same requests: lm-eval's prompt and continuations, its doc's gold letter
        requests = [(G.context(item), c) for c in G.CONTINUATIONS]
        assert digest([tuple(a) for a in s["arguments"]]) == digest(requests), item.id
        assert s["target"] == G.LETTERS[item.gold], item.id
        theirs_lls = [float(x[0][0]) for x in s["resps"]]
        worst = max(worst, *(abs(a - b) for a, b in zip(r.lls, theirs_lls, strict=True)))
        assert r.lls == pytest.approx(theirs_lls, abs=2e-3), item.id
        assert r.metrics == {"acc_norm": float(s["acc_norm"])}, item.id
    mean = sum(r.metrics["acc_norm"] for r in results) / len(results)
    weighted = out["results"]["leaderboard_gpqa"]["acc_norm,none"]
    assert mean == pytest.approx(weighted)  # the group's size-weighted mean is the item mean
    return results, worst


def test_loglikelihoods_and_acc_norm_match_lm_eval(ours, rows, task_manager, models):
    # the shortest prompt of each subset (about 60 tokens; they sit deep in the shuffle stream)
    results, worst = compare(ours, rows, task_manager, models, shortest(ours, PARITY))
    assert len(results) == 3 * PARITY and worst < 2e-3


@pytest.mark.slow
def test_more_items_match_lm_eval(ours, rows, task_manager, models):
    picks = {s: list(range(PARITY_SLOW)) for s in G.SUBSETS}  # the first ones, as `--limit`
    results, worst = compare(ours, rows, task_manager, models, picks)
    assert len(results) == 3 * PARITY_SLOW and worst < 2e-3
