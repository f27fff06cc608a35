"""Dedup and decontamination of any dataset through a column mapping (TRL-style prompt/completion,
chat `messages`, parquet), and MinHash-LSH near duplicates, on real GSM8K rows from
../shared/data reshaped, with a planted exact copy and a planted near copy."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import read_jsonl
from platypus.cli import main
from platypus.config import DecontaminateConfig, DedupConfig
from platypus.data.dedup.minhash import minhash_candidates, shingles
from platypus.data.dedup.run import dedup, embed_text
from platypus.similarity.embed import Embedder

ROWS = 24
COPY_OF, NEAR_OF = 2, 7  # the rows the planted exact copy and near copy duplicate


def near_copy(question: str) -> str:
    """A few words changed, numbers kept: the same problem, reworded a little."""
    assert "brother" in question and "boarding school" in question
    return question.replace("brother", "cousin").replace("boarding school", "summer school")


@pytest.fixture(scope="module")
def gsm(shared_data) -> list[dict]:
    """Real GSM8K training rows, then an exact copy of row 2 (spacing and case differ; shorter
    answer), a near copy of row 7 (shorter answer) and a row with an empty prompt."""
    lines = (shared_data / "gsm8k" / "train.jsonl").read_text().splitlines()[:ROWS]
    rows = [{"prompt": r["question"], "completion": r["answer"]} for r in map(json.loads, lines)]
    copy, near = rows[COPY_OF], rows[NEAR_OF]
    rows.append({"prompt": "  " + copy["prompt"].upper().replace(" ", "  "),
                 "completion": copy["completion"].splitlines()[-1]})  # fmt: skip
    rows.append({"prompt": near_copy(near["prompt"]),
                 "completion": near["completion"].splitlines()[-1]})  # fmt: skip
    rows.append({"prompt": "   ", "completion": "An answer without its question."})
    return rows


COPY, NEAR, EMPTY = ROWS, ROWS + 1, ROWS + 2  # their row indices


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("embcache")


@pytest.fixture(autouse=True)
def _cache(cache, monkeypatch):
    monkeypatch.setenv("PLATYPUS_CACHE", str(cache))


def write_jsonl(path, rows) -> list[bytes]:
    """Rows in a spelling of JSON the project would not write itself, so unchanged output is
    visible: compact separators, non-ASCII kept, extra columns."""
    lines = [(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
             for r in rows]  # fmt: skip
    path.write_bytes(b"".join(lines))
    return lines


def with_columns(rows: list[dict]) -> list[dict]:
    return [r | {"uid": f"gsm-{i:03d}", "meta": {"n": i, "tags": ["math", "ü"]}}
            for i, r in enumerate(rows)]  # fmt: skip


def test_prompt_completion_jsonl(gsm, tmp_path, capsys):
    path = tmp_path / "train.jsonl"
    lines = write_jsonl(path, with_columns(gsm))
    out = tmp_path / "out"
    code = main(["data", "dedup", "--input", str(path), "--output-dir", str(out),
                 "--text-fields", "prompt,completion"])  # fmt: skip
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert f"{len(gsm)} rows: 1 exact and 1 near duplicates removed, {len(gsm) - 2} kept" in stdout
    removed = read_jsonl(out / "removed_ids.jsonl")
    assert [(r["id"], r["reason"], r["matched_id"]) for r in removed] == [
        (COPY, "exact", COPY_OF), (NEAR, "semantic", NEAR_OF)]  # fmt: skip
    assert removed[0]["similarity"] == 1.0 and 0.8 <= removed[1]["similarity"] < 1.0
    # The kept rows are the input's own lines, byte for byte, in input order; the row with an
    # empty prompt is not compared, is kept and is counted with its reason.
    kept = [line for i, line in enumerate(lines) if i not in (COPY, NEAR)]
    assert (out / "kept.jsonl").read_bytes() == b"".join(kept)
    summary = json.loads((out / "dedup.json").read_text())
    assert summary["rows_skipped"] == 1 and summary["skipped"] == {"empty prompt": 1}
    assert summary["skipped_rows"] == [{"id": EMPTY, "row": EMPTY, "reason": "empty prompt"}]
    assert summary["rows_kept"] == len(gsm) - 2 and summary["format"] == "jsonl"
    assert not (out / "kept.parquet").exists() and not (out / "removed.jsonl").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"kept.jsonl", "removed_ids.jsonl", "report.md",
                                      "dedup.json", "README.md"}  # fmt: skip
    assert "1 skipped and kept as they are (1 empty prompt)" in (out / "report.md").read_text()


def test_parquet_with_ids(gsm, tmp_path):
    rows = with_columns(gsm)
    table = pa.Table.from_pylist(rows)
    table = table.replace_schema_metadata({b"origin": b"test"})
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    config = DedupConfig(text_fields=["prompt", "completion"], id_field="uid")
    result = dedup(config, path, tmp_path / "out")
    assert result.paths["kept"].name == "kept.parquet"
    kept = pq.read_table(result.paths["kept"])
    assert kept.schema == table.schema and kept.schema.metadata == table.schema.metadata
    assert kept.to_pylist() == [r for i, r in enumerate(rows) if i not in (COPY, NEAR)]
    removed = read_jsonl(result.paths["removed"])
    assert [(r["id"], r["row"], r["reason"], r["matched_id"]) for r in removed] == [
        (f"gsm-{COPY:03d}", COPY, "exact", f"gsm-{COPY_OF:03d}"),
        (f"gsm-{NEAR:03d}", NEAR, "semantic", f"gsm-{NEAR_OF:03d}")]  # fmt: skip
    # The folder loads as the kept rows (its card names kept.parquet).
    from platypus.api import load_dataset

    assert load_dataset(tmp_path / "out")["uid"] == kept.column("uid").to_pylist()


def test_chat_messages(gsm, tmp_path):
    """User turns are compared (a system prompt shared by every row is not), the assistant
    turns' length decides which row stays."""
    system = {"role": "system", "content": "You are a careful maths tutor. Show your work."}
    rows = [{"messages": [system, {"role": "user", "content": r["prompt"]},
                          {"role": "assistant", "content": r["completion"]}]}
            for r in gsm]  # fmt: skip
    path = tmp_path / "chat.jsonl"
    lines = write_jsonl(path, rows)
    result = dedup(DedupConfig(messages_field="messages"), path, tmp_path / "out")
    removed = read_jsonl(result.paths["removed"])
    assert [(r["id"], r["reason"], r["matched_id"]) for r in removed] == [
        (COPY, "exact", COPY_OF), (NEAR, "semantic", NEAR_OF)]  # fmt: skip
    kept = [line for i, line in enumerate(lines) if i not in (COPY, NEAR)]
    assert result.paths["kept"].read_bytes() == b"".join(kept)
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["skipped"] == {"no user turn with text": 1}


def test_mapping_of_the_project_schema_keeps_the_same_rows(gsm, tmp_path):
    """Open-Platypus columns through a mapping ([instruction, input, output], id) compare what
    the schema's own path compares: the same rows are kept."""
    rows = [{"id": f"r{i:02d}", "instruction": r["prompt"], "input": "", "output": r["completion"],
             "data_source": "gsm8k"} for i, r in enumerate(gsm[:EMPTY])]  # fmt: skip
    path = tmp_path / "records.jsonl"
    lines = write_jsonl(path, rows)
    plain = dedup(DedupConfig(), path, tmp_path / "plain")
    mapped = dedup(DedupConfig(text_fields=["instruction", "input", "output"], id_field="id"),
                   path, tmp_path / "mapped")  # fmt: skip
    assert [r.id for r in mapped.kept] == [r.id for r in plain.kept]
    kept = {r.id for r in plain.kept}
    assert mapped.paths["kept"].read_bytes() == b"".join(
        line for line, row in zip(lines, rows, strict=True) if row["id"] in kept)  # fmt: skip


def test_minhash_finds_the_near_copy_within_the_embedding_pairs(gsm, tmp_path):
    rows = gsm[:EMPTY]
    texts = [r["prompt"] for r in rows]
    config = DedupConfig(method="minhash")
    a, b, jaccard = minhash_candidates(texts, config)
    pairs = {(int(i), int(j)): float(s) for i, j, s in zip(a, b, jaccard, strict=True)}
    # a few words changed: a lexical near copy; the exact copy differs only in case and spacing
    assert (NEAR_OF, NEAR) in pairs and (COPY_OF, COPY) in pairs
    truth = len(shingles(texts[NEAR_OF], 5) & shingles(texts[NEAR], 5)) / len(
        shingles(texts[NEAR_OF], 5) | shingles(texts[NEAR], 5))  # fmt: skip
    assert abs(pairs[(NEAR_OF, NEAR)] - truth) < 0.1  # 128 permutations: the estimate is close
    # Every MinHash pair is an embedding pair too (cosine >= 0.8) on this data.
    x = Embedder(precision="fp32").encode(texts)
    assert all(float(x[i] @ x[j]) >= 0.8 for i, j in pairs)
    # Deterministic for a seed; another seed draws other permutations.
    again = minhash_candidates(texts, config)
    assert all(np.array_equal(p, q) for p, q in zip((a, b, jaccard), again, strict=True))
    other = minhash_candidates(texts, config.model_copy(update={"seed": 7}))[2]
    assert not np.array_equal(other, jaccard)

    # Through the stage: minhash and minhash+embedding remove the same rows as the embedding.
    path = tmp_path / "train.jsonl"
    write_jsonl(path, rows)
    for method, near_reason in (("minhash", "minhash"), ("minhash+embedding", "semantic")):
        config = DedupConfig(text_fields=["prompt", "completion"], method=method)
        result = dedup(config, path, tmp_path / method)
        removed = read_jsonl(result.paths["removed"])
        assert [(r["id"], r["reason"], r["matched_id"]) for r in removed] == [
            (COPY, "exact", COPY_OF), (NEAR, near_reason, NEAR_OF)]  # fmt: skip
        report = result.paths["report"].read_text()
        assert "MinHash-LSH (datasketch): 128 permutations (seed 42)" in report
    # after the exact stage, the near copy is the one LSH pair: only its two rows are embedded
    assert result.candidates == 1


def test_api_takes_a_datasets_dataset(gsm, tmp_path):
    import datasets

    from platypus import dedup as dedup_api

    rows = with_columns(gsm)
    mapping = {"text_fields": ["prompt", "completion"], "id_field": "uid"}
    summary = dedup_api(datasets.Dataset.from_list(rows), tmp_path / "out", method="minhash",
                        **mapping)  # fmt: skip
    counts = (summary.rows_in, summary.rows_kept, summary.rows_skipped)
    assert counts == (len(rows), len(rows) - 2, 1)
    kept = read_jsonl(tmp_path / "out" / "kept.jsonl")
    assert kept[0] == rows[0] and len(kept) == len(rows) - 2


def test_decontaminate_prompt_completion(tmp_path, shared_data, monkeypatch):
    """A copied GSM8K test problem in a prompt/completion file is found and removed; the other
    rows come out unchanged."""
    from platypus.data.decontaminate.run import decontaminate
    from platypus.tasks import load_task

    monkeypatch.delenv("PLATYPUS_CACHE")  # the benchmark's vectors: the shared cache
    item = load_task("gsm8k", shared_data)[0]
    lines = (shared_data / "gsm8k" / "train.jsonl").read_text().splitlines()[:6]
    rows = [{"prompt": r["question"], "completion": r["answer"], "source": "gsm8k-train"}
            for r in map(json.loads, lines)]  # fmt: skip
    rows.insert(3, {"prompt": item.question, "completion": item.target, "source": "copied"})
    path = tmp_path / "train.jsonl"
    written = write_jsonl(path, rows)
    # fp32, as tests/test_decontaminate.py embeds GSM8K: its vectors are cached
    config = DecontaminateConfig(data_root=str(shared_data), benchmarks=["gsm8k"], precision="fp32",
                                 text_fields=["prompt", "completion"])  # fmt: skip
    result = decontaminate(config, path, tmp_path / "out")
    removed = read_jsonl(result.paths["removed_ids"])
    assert [(r["id"], r["reason"], r["matched_id"], r["benchmark"]) for r in removed] == [
        (3, "duplicate", item.id, "gsm8k")]  # fmt: skip
    assert result.paths["clean_jsonl"].read_bytes() == b"".join(written[:3] + written[4:])
    summary = json.loads(result.paths["decontaminate_json"].read_text())
    assert summary["rows_clean"] == len(rows) - 1 and summary["rows_removed"] == 1
    assert read_jsonl(result.paths["leaks_jsonl"])[0]["train_id"] == "3"


@pytest.mark.parametrize(
    ("rows", "flags", "message"),
    [
        ([{"prompt": "a", "completion": "b"}, {"prompt": "c"}],
         ["--text-fields", "prompt,completion"],
         "train.jsonl: row index 1, line 2: missing column 'completion'"),
        ([{"prompt": 3, "completion": "b"}], ["--text-fields", "prompt,completion"],
         "train.jsonl: row index 0, line 1: column 'prompt' should be text, got int"),
        ([{"messages": []}], ["--messages-field", "messages"],
         "train.jsonl: row index 0, line 1: column 'messages' is an empty list of messages"),
        ([{"messages": "hi"}], ["--messages-field", "messages"],
         "column 'messages' should be a list of messages, got str"),
        ([{"messages": [{"content": "x"}]}], ["--messages-field", "messages"],
         "messages[0] should be a {role, content} (or ShareGPT {from, value}) object"),
        ([{"p": "a", "k": 1}, {"p": "b", "k": 1}], ["--text-fields", "p", "--id-field", "k"],
         "train.jsonl: row index 1, line 2: duplicate id 1 (also at row index 0)"),
        ([{"p": "a", "k": None}], ["--text-fields", "p", "--id-field", "k"],
         "id 'k' should be a string or an integer, got null"),
        ([{"p": "a"}], ["--text-fields", "p", "--messages-field", "m"],
         "text_fields and messages_field exclude each other"),
        ([{"p": "a"}], ["--id-field", "p"], "id_field needs a format, text_fields or"),
        ([{"p": " "}], ["--text-fields", "p"], "no row has text to compare (every row: empty p)"),
    ],
)  # fmt: skip
def test_errors_are_one_line(rows, flags, message, tmp_path, capsys):
    path = tmp_path / "train.jsonl"
    write_jsonl(path, rows)
    for stage in ("dedup", "decontaminate"):
        args = ["data", stage, "--input", str(path), "--output-dir", str(tmp_path / stage)]
        assert main(args + flags) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_parquet_errors(tmp_path, capsys):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist([{"question": "a", "answer": "b"}]), path)
    assert main(["data", "dedup", "--input", str(path), "--output-dir", str(tmp_path / "o"),
                 "--text-fields", "prompt,completion"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "train.parquet: no column 'prompt' (columns: question, answer)" in err
    assert err.count("\n") == 1


def test_embed_text_of_a_mapped_row(gsm, tmp_path):
    """Prompt fields beyond the first are the input, one per line: compared as instruction +
    " " + input, as Open-Platypus rows are."""
    from platypus.data.columns import read_mapped

    path = tmp_path / "three.jsonl"
    write_jsonl(path, [{"q": "Solve it.", "ctx": "x + 1 = 2", "a": "x = 1"}])
    (record,) = read_mapped(path, DedupConfig(text_fields=["q", "ctx", "a"])).records
    assert (record.instruction, record.input, record.output) == ("Solve it.", "x + 1 = 2", "x = 1")
    assert embed_text(record) == "Solve it. x + 1 = 2"
