"""The embedding service: cache file names, and the one bf16 re-scoring path on real data (MATH
number theory against MMLU's high-school mathematics)."""

from pathlib import Path

import numpy as np
import pytest

from conftest import build_only
from platypus.config import DecontaminateConfig, DedupConfig
from platypus.data.decontaminate.detect import detect
from platypus.data.decontaminate.run import load_benchmarks
from platypus.data.dedup.run import similar_pairs
from platypus.hashing import file_sha256
from platypus.io.records import read_records
from platypus.models.minilm import minilm_path
from platypus.similarity import rescore as rescore_module
from platypus.similarity.embed import Embedder, EmbeddingCache, model_fingerprint, text_key
from platypus.similarity.pairs import CrossPairs, Neighbours


def test_hub_model_id_gives_a_cache_file(tmp_path, monkeypatch):
    # A hub id passes through resolve_embedder unchanged when the hub is reachable (offline, an
    # uncached id is refused: tests/test_models.py); nothing is downloaded until encode().
    monkeypatch.setattr("platypus.models.minilm._offline_setting", lambda: None)
    embedder = Embedder("BAAI/bge-small-en-v1.5", "bf16", cache_root=tmp_path)
    assert embedder.cache.path.parent == tmp_path
    assert embedder.cache.path.name.startswith("bge-small-en-v1.5-")
    assert embedder.fingerprint.endswith("-bf16") and "/" not in embedder.fingerprint
    key = text_key("a text")
    embedder.cache.put({key: np.arange(3, dtype=np.float32)})
    assert embedder.cache.get([key])[key].tolist() == [0.0, 1.0, 2.0]
    # Another hub model of the same name gets other vectors.
    assert model_fingerprint("other-org/bge-small-en-v1.5", "bf16") != embedder.fingerprint


def test_hub_model_fingerprint_is_a_file_name(tmp_path, monkeypatch):
    monkeypatch.setattr("platypus.similarity.embed.resolve_embedder", lambda name: "org/a b:c")
    fingerprint = model_fingerprint("any", "fp32")
    assert fingerprint.startswith("a_b_c-") and "/" not in fingerprint
    assert EmbeddingCache(fingerprint, tmp_path).path.parent == tmp_path


def test_packaged_model_fingerprint_is_unchanged():
    # Caches written before hub ids were made file names stay valid.
    path = minilm_path()
    weights = file_sha256(Path(path) / "model.safetensors")[:16]
    assert model_fingerprint(None, "bf16") == f"{Path(path).name}-{weights}-bf16"


@pytest.fixture(scope="module")
def number_theory(tmp_path_factory, shared_data):
    """150 of MATH's number-theory test problems and 100 of MMLU's high-school mathematics
    questions: bf16 is embedded at a sixth of fp32's speed where it is emulated."""
    out = tmp_path_factory.mktemp("similarity")
    records = read_records(build_only(out, "math", path="math").paths["jsonl"])
    records = [r for r in records if r.id.startswith("math/test/number_theory/")][:150]
    # A low flag puts many pairs near it: the re-scoring has work to do.
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["mmlu"],
                                 mmlu_subjects=["high_school_mathematics"],
                                 flag_similarity=0.6)  # fmt: skip
    return records, load_benchmarks(config)[:100], config


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("embcache")


@pytest.fixture
def rescore_calls(monkeypatch, cache_root):
    """Calls of the one re-scoring function: (kind of pairs, rows re-scored)."""
    monkeypatch.setenv("PLATYPUS_CACHE", str(cache_root))
    calls = []
    real = rescore_module.rescore

    def spy(found, threshold, margin, fp32, fp32_right=None):
        result = real(found, threshold, margin, fp32, fp32_right)
        calls.append((type(found), result[1]))
        return result

    monkeypatch.setattr(rescore_module, "rescore", spy)
    return calls


def test_decontamination_bf16_rescored_equals_fp32(number_theory, rescore_calls):
    records, items, config = number_theory
    fp32, _ = detect(records, items, config.model_copy(update={"precision": "fp32"}))
    assert rescore_calls == []  # fp32 needs no re-scoring
    bf16, _ = detect(records, items, config.model_copy(update={"precision": "bf16"}))
    # one re-scoring per view of the benchmark items (question alone, with its options)
    assert rescore_calls and all(kind is CrossPairs for kind, _ in rescore_calls)
    assert sum(rows for _, rows in rescore_calls) > 20
    assert [(e.train, e.bench) for e in bf16] == [(e.train, e.bench) for e in fp32]
    # Pairs re-scored carry their fp32 similarity (their rows' fp32 vectors are the cached ones
    # of the fp32 run); pairs clearly above the flag keep their bf16 one.
    fp32_sim = {(e.train, e.bench): e.similarity for e in fp32}
    flagged = [(e.similarity, fp32_sim[(e.train, e.bench)]) for e in bf16]
    flagged = [(bf16_sim, sim) for bf16_sim, sim in flagged if sim >= 0.6]
    assert len([1 for bf16_sim, sim in flagged if bf16_sim == sim]) > 5  # 8 of 23
    assert all(bf16_sim == sim or bf16_sim >= 0.62 for bf16_sim, sim in flagged)
    assert all(abs(bf16_sim - sim) < 0.01 for bf16_sim, sim in flagged)


def test_dedup_bf16_goes_through_the_same_rescoring(number_theory, rescore_calls):
    records, _, _ = number_theory
    fp32, *_ = similar_pairs(records, DedupConfig(precision="fp32", threshold=0.7))
    bf16, _, rescored = similar_pairs(records, DedupConfig(precision="bf16", threshold=0.7))
    assert rescore_calls == [(Neighbours, rescored)] and rescored > 20
    assert bf16.pairs() == fp32.pairs()
