"""Embedding backends (torch, ONNX Runtime, OpenVINO) against torch fp32 on real rows (SciBench
from ../shared/data), and the chunked embedding cache that concurrent processes share."""

import multiprocessing as mp
import os
import sqlite3
import time

import numpy as np
import pytest

from platypus.config import DedupConfig
from platypus.data.dedup.run import dedup, embed_text
from platypus.errors import PlatypusError
from platypus.io.records import read_records
from platypus.similarity.embed import Embedder, model_fingerprint

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def texts(scibench_jsonl):
    return [embed_text(r) for r in read_records(scibench_jsonl)]


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("embcache")


@pytest.fixture(scope="module")
def reference(texts, cache_root):
    """torch fp32 vectors of the first 200 rows: the reference every backend is held to."""
    return Embedder(precision="fp32", cache_root=cache_root).encode(texts[:200])


def test_fingerprints_keep_backends_apart():
    torch_fp32 = model_fingerprint(None, "fp32")
    onnx_fp32 = model_fingerprint(None, "fp32", "onnx")
    onnx_int8 = model_fingerprint(None, "int8", "onnx")
    assert not torch_fp32.endswith("onnx") and len({torch_fp32, onnx_fp32, onnx_int8}) == 3
    assert onnx_fp32.startswith(torch_fp32 + "-onnx-")  # same model tag, then the backend
    with pytest.raises(ValueError, match="precision must be one of"):
        Embedder(precision="bf16", backend="onnx")
    with pytest.raises(ValueError, match="embed_backend must be one of"):
        Embedder(backend="tensorrt")
    with pytest.raises(ValueError, match="precision must be one of"):
        Embedder(precision="int8", backend="openvino")
    with pytest.raises(ValueError, match="precision bf16 does not run on embed_backend onnx"):
        DedupConfig(embed_backend="onnx", precision="bf16")
    assert DedupConfig(embed_backend="onnx", precision="int8").effective_rescore_margin == 0.08
    assert DedupConfig(precision="fp32").effective_rescore_margin == 0.0


def test_onnx_fp32_equals_torch_fp32_and_int8_is_close(texts, reference, cache_root):
    rows = texts[:200]
    fp32 = Embedder(precision="fp32", backend="onnx", cache_root=cache_root).encode(rows)
    cos = (fp32 * reference).sum(1)
    assert cos.min() > 1 - 1e-5 and np.abs(fp32 - reference).max() < 1e-4
    int8 = Embedder(precision="int8", backend="onnx", cache_root=cache_root).encode(rows)
    cos = (int8 * reference).sum(1)
    # Dynamic int8 (weights per channel, activations per batch) moves a vector by a few
    # hundredths at most, a pair's score by under the int8 re-scoring margin (0.08).
    assert cos.min() > 0.97 and np.median(cos) > 0.99
    sims = np.abs(int8 @ int8.T - reference @ reference.T)
    assert sims.max() < 0.08
    assert not np.array_equal(int8, fp32)  # the quantised model is what ran


def test_openvino_fp32_equals_torch_fp32(texts, reference, cache_root):
    pytest.importorskip("openvino")
    x = Embedder(precision="fp32", backend="openvino", cache_root=cache_root).encode(texts[:200])
    assert (x * reference).sum(1).min() > 1 - 1e-5


@pytest.mark.slow  # 11 s; ONNX parity with torch stays in the default suite above
def test_dedup_onnx_int8_rescored_keeps_torch_fp32_rows(scibench_jsonl, tmp_path, cache_root,
                                                         monkeypatch):  # fmt: skip
    monkeypatch.setenv("PLATYPUS_CACHE", str(cache_root))
    rows = tmp_path / "rows.jsonl"  # the first 250 rows: 68 of them in borderline pairs
    rows.write_text("".join(scibench_jsonl.read_text().splitlines(keepends=True)[:250]))
    fp32 = dedup(DedupConfig(precision="fp32"), rows, tmp_path / "fp32")
    int8_config = DedupConfig(precision="int8", embed_backend="onnx")
    int8 = dedup(int8_config, rows, tmp_path / "int8")
    assert int8.rescored > 20  # the borderline pairs went back to torch fp32
    assert [r.id for r in int8.kept] == [r.id for r in fp32.kept]
    assert int8.neighbours.pairs() == fp32.neighbours.pairs()


def test_onnx_backend_refuses_other_pooling(tmp_path):
    from platypus.models.minilm import minilm_path
    from platypus.similarity.onnx_backend import _max_length

    assert _max_length(minilm_path()) == 256
    (tmp_path / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "p", "type": "sentence_transformers.models.Pooling"}]'
    )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    with pytest.raises(PlatypusError, match="mean pooling only"):
        _max_length(tmp_path)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_chunked_equals_unchunked_bitwise(texts, backend):
    rows = texts[:56]
    whole = Embedder(precision="fp32", backend=backend, use_cache=False, chunk_size=10_000)
    chunked = Embedder(precision="fp32", backend=backend, use_cache=False, chunk_size=20)
    assert chunked.chunk_size == 16  # whole batches of 16: the same batches as unchunked
    assert np.array_equal(whole.encode(rows), chunked.encode(rows))
    assert whole.computed == chunked.computed == len(set(rows))


def _embed_in_child(rows, cache_root, chunk_size, delay, queue):
    """One process embedding `rows`; `delay` seconds after each chunk stand for a slower
    machine, so that the other process overlaps it."""
    from pathlib import Path

    emb = Embedder(precision="fp32", cache_root=Path(cache_root), chunk_size=chunk_size,
                   show_progress=False)  # fmt: skip
    real = emb._embed

    def slow(chunk):
        out = real(chunk)
        time.sleep(delay)
        return out

    emb._embed = slow
    x = emb.encode(rows)
    queue.put((os.getpid(), emb.computed, x))


def _rows_written(db) -> int:
    """Vectors in the cache database so far: 0 until the first process has created its table
    (the file exists a moment before the table does)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=60) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'vec'").fetchone():
            return 0
        return con.execute("SELECT count(*) FROM vec").fetchone()[0]


# Two spawned processes, each loading torch and MiniLM (25 s): in the slow set.
@pytest.mark.slow
def test_a_second_process_reads_what_the_first_has_written(texts, tmp_path):
    rows = list(dict.fromkeys(texts))[:96]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    # Daemons, ended in `finally` whatever fails: a child left blocked on the queue would keep
    # pytest from exiting.
    first = ctx.Process(target=_embed_in_child, args=(rows, str(tmp_path), 16, 1.0, queue),
                        daemon=True)  # fmt: skip
    second = ctx.Process(target=_embed_in_child, args=(rows, str(tmp_path), 16, 0.0, queue),
                         daemon=True)  # fmt: skip
    db = tmp_path / f"{model_fingerprint(None, 'fp32')}.sqlite"
    results = {}
    try:
        first.start()
        deadline = time.monotonic() + 300
        # the second starts once the first has written a chunk
        while time.monotonic() < deadline and not _rows_written(db):
            assert first.is_alive() or not queue.empty(), f"exit code {first.exitcode}"
            time.sleep(0.2)
        second.start()
        for _ in range(2):
            pid, computed, x = queue.get(timeout=600)
            results[pid] = (computed, x)
    finally:
        for child in (first, second):
            if child.pid is not None:
                child.join(60)
                if child.is_alive():
                    child.terminate()
                    child.join(10)
        queue.cancel_join_thread()
        queue.close()
    (first_computed, x1), (second_computed, x2) = results[first.pid], results[second.pid]
    assert second_computed < len(rows)  # alone it would embed all of them
    assert first_computed + second_computed >= len(rows)
    assert np.abs(x1 - x2).max() < 1e-5  # the same texts' vectors, read or computed
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM vec").fetchone()[0] == len(rows)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
