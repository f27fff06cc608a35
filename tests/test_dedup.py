"""Similarity exclusion on real data (SciBench from ../shared/data) and on planted vectors."""

import json
import random

import numpy as np
import pytest

from conftest import read_jsonl
from platypus.cli import main
from platypus.config import DedupConfig
from platypus.data.dedup.exact import exact_dedup
from platypus.data.dedup.run import dedup, embed_text
from platypus.data.dedup.select import select
from platypus.data.record import Record
from platypus.similarity.embed import Embedder
from platypus.similarity.pairs import exact_neighbours, neighbours, recall


def rec(i: str, instruction: str, output: str, source: str = "s", text_input: str = "") -> Record:
    return Record(i, instruction, text_input, output, source)


def test_exact_keeps_longer_output_then_smaller_id():
    rows = [
        rec("b", "What is  2+2?", "4"),
        rec("a", "what is 2+2?", "four"),  # same key after case/space normalisation
        rec("c", "What is 2+2?", "4", text_input="in base 3"),  # input differs: not a duplicate
        rec("d", "WHAT IS 2+2?", "four"),  # ties with "a" on length: smaller id wins
    ]
    kept, removed = exact_dedup(rows)
    assert [r.id for r in kept] == ["a", "c"]
    assert sorted((r.id, k.id) for r, k in removed) == [("b", "a"), ("d", "a")]


def planted(n_groups=40, size=3, dim=32, noise=0.05, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_groups, dim))
    x = np.repeat(centres, size, axis=0) + noise * rng.normal(size=(n_groups * size, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_pairs_match_brute_force_including_the_threshold_itself():
    x = planted()
    # Two extra vectors at cosine exactly 0.8 (0.8^2 + 0.6^2 = 1).
    extra = np.zeros((2, x.shape[1]), np.float32)
    extra[0, 0], extra[1, 0], extra[1, 1] = 1.0, 0.8, 0.6
    x = np.vstack([x, extra])
    nb = exact_neighbours(x, 0.8, block=7)  # small blocks exercise the block joins
    sims = x @ x.T
    truth = {(i, j) for i in range(len(x)) for j in range(i + 1, len(x)) if sims[i, j] >= 0.8}
    assert nb.pairs() == truth
    assert (len(x) - 2, len(x) - 1) in truth
    best = np.where(np.eye(len(x), dtype=bool), -np.inf, sims).argmax(1)
    assert np.array_equal(nb.nn_idx, best)


def test_ivf_is_a_subset_with_high_recall():
    x = planted(n_groups=400, dim=48)
    exact = exact_neighbours(x, 0.8)
    approx = neighbours(x, 0.8, "ivf", nlist=20, nprobe=4)
    assert approx.pairs() <= exact.pairs()
    assert recall(approx, exact) >= 0.95


def test_selection_is_greedy_by_verbosity_not_transitive():
    # a~b and b~c but a and c are dissimilar; a has the longest output.
    x = np.array([[1.0, 0.0], [0.9, 0.43589], [0.62, 0.78460]], np.float32)
    rows = [rec("a", "A", "xxxxx"), rec("b", "B", "xxx"), rec("c", "C", "x")]
    kept, by, sim = select(rows, exact_neighbours(x, 0.8))
    # b goes (a is kept and near it); c stays, since its only near neighbour b was removed.
    assert kept.tolist() == [True, False, True] and by[1] == 0 and sim[1] == pytest.approx(0.9)


def test_selection_ignores_input_order():
    x = planted(n_groups=30, size=4, noise=0.15, seed=1)
    rows = [rec(f"r{i:03d}", f"q{i}", "x" * (i % 7 + 1)) for i in range(len(x))]
    kept_ids = None
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(rows))
        kept, *_ = select([rows[i] for i in perm], exact_neighbours(x[perm], 0.8))
        ids = {rows[perm[i]].id for i in np.flatnonzero(kept)}
        assert kept_ids is None or ids == kept_ids
        kept_ids = ids


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("embcache")


def run_dedup(path, out, cache_root, monkeypatch=None, **kw):
    # fp32 unless a test asks otherwise: a CPU without bf16 instructions embeds bf16 ~6x slower
    # (bf16 with its fp32 re-scoring is checked here in the slow set, and in test_similarity).
    config = DedupConfig(**{"precision": "fp32", **kw})
    if monkeypatch is not None:
        monkeypatch.setenv("PLATYPUS_CACHE", str(cache_root))
    return dedup(config, path, out)


def test_dedup_scibench(scibench_jsonl, tmp_path, cache_root, monkeypatch):
    result = run_dedup(scibench_jsonl, tmp_path / "a", cache_root, monkeypatch)
    kept = {r.id: r for r in result.kept}
    # 11 exact duplicates (problems repeated in the *_sol files), then near duplicates.
    assert sum(m.stage == "exact" for m in result.removals) == 11
    assert len(result.kept) + len(result.removals) == 695
    assert 600 <= len(result.kept) <= 640  # the release kept 616 SciBench rows
    for m in result.removals:
        assert m.kept.id in kept and len(m.kept.output) >= len(m.removed.output)
        assert m.similarity >= 0.8
    # Where a problem has a worked solution (*_sol files), its bare-number copy never survives.
    worked = {r.instruction for r in result.records if "_sol/" in r.id}
    assert len(worked) > 100
    assert not [r for r in result.kept if "_sol/" not in r.id and r.instruction in worked]
    # No two kept rows are within the threshold of each other.
    x = Embedder(precision="fp32").encode([embed_text(r) for r in result.kept])
    sims = x @ x.T
    np.fill_diagonal(sims, 0)
    assert sims.max() < 0.8
    # Outputs and their accounting.
    assert [r["id"] for r in read_jsonl(result.paths["kept"])] == [r.id for r in result.kept]
    removed = read_jsonl(result.paths["removed"])
    assert len(removed) == len(result.removals)
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["per_source"]["scibench"]["kept"] == len(result.kept)
    report = result.paths["report"].read_text()
    assert "| scibench | 695 | 11 |" in report and "### Pairs near 0.85" in report


def test_dedup_is_independent_of_order_batch_size_and_cache(scibench_jsonl, tmp_path, cache_root,
                                                            monkeypatch):  # fmt: skip
    full = run_dedup(scibench_jsonl, tmp_path / "full", cache_root, monkeypatch)
    assert full.embedded == 0  # everything came from the cache filled by the previous test
    # Re-embedding all 684 rows in other batches costs half a minute: the rows of every pair
    # (where order could decide which stays) and 60 others are re-embedded instead.
    paired = {r.id for m in full.removals for r in (m.removed, m.kept)}
    others = [r.id for r in full.kept if r.id not in paired][:60]
    wanted = paired | set(others)
    rows = [line for line in scibench_jsonl.read_text().splitlines()
            if json.loads(line)["id"] in wanted]  # fmt: skip
    subset = tmp_path / "subset.jsonl"
    subset.write_text("\n".join(rows) + "\n")
    first = run_dedup(subset, tmp_path / "a", cache_root)
    assert first.embedded == 0 and len(first.removals) == len(full.removals) > 50
    random.Random(0).shuffle(rows)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(rows) + "\n")
    other = run_dedup(shuffled, tmp_path / "b", cache_root, batch_size=8, cache=False)
    exact = sum(m.stage == "exact" for m in first.removals)
    assert other.embedded == len(rows) - exact  # all re-embedded, in other batches
    assert {r.id for r in other.kept} == {r.id for r in first.kept}
    # Output order follows the input order; the kept set does not depend on it.
    assert first.paths["kept"].read_bytes() != other.paths["kept"].read_bytes()


@pytest.mark.slow
def test_bf16_with_rescoring_equals_fp32(scibench_jsonl, tmp_path, cache_root, monkeypatch):
    fp32 = run_dedup(scibench_jsonl, tmp_path / "fp32", cache_root, monkeypatch)
    bf16 = run_dedup(scibench_jsonl, tmp_path / "bf16", cache_root, monkeypatch, precision="bf16")
    assert [r.id for r in bf16.kept] == [r.id for r in fp32.kept]
    assert bf16.neighbours.pairs() == fp32.neighbours.pairs()


@pytest.mark.slow  # a local Ray cluster starts in about a minute on 2 cores
def test_ray_engine_matches_local(scibench_jsonl, tmp_path, cache_root, monkeypatch):
    pytest.importorskip("ray")
    local = run_dedup(scibench_jsonl, tmp_path / "local", cache_root, monkeypatch)
    ray = run_dedup(scibench_jsonl, tmp_path / "ray", cache_root, monkeypatch, engine="ray",
                    ray_blocks=3)  # fmt: skip
    assert [r.id for r in ray.kept] == [r.id for r in local.kept]
    assert ray.paths["removed"].read_bytes() == local.paths["removed"].read_bytes()


def test_cli_dedup_and_errors(scibench_jsonl, tmp_path, cache_root, monkeypatch, capsys):
    monkeypatch.setenv("PLATYPUS_CACHE", str(cache_root))
    code = main(["data", "dedup", "--input", str(scibench_jsonl), "--output-dir",
                 str(tmp_path / "out"), "--threshold", "0.9", "--precision", "fp32"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "695 rows: 11 exact and" in out and "(embedded 0 texts" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "instruction": "q", "output": "a", "data_source": "s"}\n')
    assert main(["data", "dedup", "--input", str(bad), "--output-dir", str(tmp_path / "o")]) == 2
    assert "bad.jsonl: row 1: missing fields ['input']" in capsys.readouterr().err
    assert main(["data", "dedup", "--input", str(bad), "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_removed_rows_are_drop_records(scibench_jsonl, tmp_path, cache_root, monkeypatch):
    """removed.jsonl: each removed row once, as the stages' shared drop record (id, stage,
    reason, the kept row it duplicates, their similarity), with both rows' sources; the
    summary counts them per reason."""
    result = run_dedup(scibench_jsonl, tmp_path, cache_root, monkeypatch)
    drops = read_jsonl(result.paths["removed"])
    by_id = {m.removed.id: m for m in result.removals}
    assert [d["id"] for d in drops] == sorted(by_id)
    kept = {r.id for r in result.kept}
    for d in drops:
        m = by_id[d["id"]]
        assert (d["stage"], d["reason"], d["matched_id"]) == ("dedup", m.stage, m.kept.id)
        assert d["similarity"] == round(m.similarity, 6) and d["source"] == "scibench"
    assert {d["matched_id"] for d in drops if d["reason"] == "exact"} <= kept | set(by_id)
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["dropped"] == {"exact": 11, "semantic": len(drops) - 11}
