"""Training on the dataset formats people bring: records, alpaca, prompt/completion, chat
`messages`, ShareGPT `conversations`; the same GSM8K rows in each give the same examples, masks
and loss; multi-turn chats learn every assistant turn and nothing else."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_DATA, error_lines, read_jsonl
from platypus.cli import main
from platypus.config import ColumnMapping, Recipe, TrainConfig
from platypus.errors import PlatypusError
from platypus.models import prepared_path
from platypus.train.examples import read_training_rows, tokenize
from platypus.train.plan import collate

ROWS = 12


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(prepared_path())


@pytest.fixture(scope="module")
def gsm8k() -> list[dict]:
    return read_jsonl(SHARED_DATA / "gsm8k" / "train.jsonl")[:ROWS]


def _shapes(rows: list[dict]) -> dict[str, list[dict]]:
    """The same question/answer pairs in each convention."""
    q = [r["question"] for r in rows]
    a = [r["answer"] for r in rows]
    n = range(len(rows))
    return {
        "records": [{"id": f"gsm8k-{i}", "instruction": q[i], "input": "", "output": a[i],
                     "data_source": "gsm8k"} for i in n],
        "alpaca": [{"instruction": q[i], "input": "", "output": a[i]} for i in n],
        "alpaca_no_input": [{"instruction": q[i], "output": a[i]} for i in n],
        "prompt_completion": [{"prompt": q[i], "completion": a[i]} for i in n],
        "messages": [{"messages": [{"role": "user", "content": q[i]},
                                   {"role": "assistant", "content": a[i]}]} for i in n],
        "sharegpt": [{"conversations": [{"from": "human", "value": q[i]},
                                        {"from": "gpt", "value": a[i]}]} for i in n],
    }  # fmt: skip


def _write(path, rows: list[dict]):
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("prompt_format", ["alpaca", "chat_template"])
def test_every_format_gives_the_same_examples_and_masks(tmp_path, tok, gsm8k, prompt_format):
    shapes = _shapes(gsm8k)
    suffixes = {"alpaca": ".parquet", "messages": ".json"}  # the other files are jsonl
    seen = {}
    for name, rows in shapes.items():
        path = _write(tmp_path / f"{name}{suffixes.get(name, '.jsonl')}", rows)
        data = read_training_rows(path, ColumnMapping())  # detected, not named
        assert data.data_format == name.removesuffix("_no_input")
        assert len(data.rows) == ROWS and not data.skipped
        examples, counts = tokenize(data.rows, tok, 4096, prompt_format=prompt_format)
        assert counts == {"kept": ROWS}
        batch = collate(examples, tok.eos_token_id, packed=False)
        seen[name] = ([e.ids for e in examples], [e.spans for e in examples],
                      batch["loss_mask"].tolist())  # fmt: skip
    reference = seen.pop("records")
    for name, got in seen.items():
        assert got == reference, name
    # and what is learned is the answer, after exactly the prompt the format renders
    ids, spans, _ = reference
    first = tok.decode(ids[0][spans[0][0][0] : spans[0][0][1]])
    assert first.startswith(gsm8k[0]["answer"][:40])
    prompt = tok.decode(ids[0][: spans[0][0][0]])
    assert prompt.endswith("### Response:\n" if prompt_format == "alpaca" else "assistant\n")


def test_a_multi_turn_chat_learns_every_assistant_turn_and_nothing_else(tmp_path, tok, gsm8k):
    """Two real GSM8K exchanges in one conversation with a system turn: the tokens are the chat
    template's rendering of the whole conversation, and the learned spans are exactly the two
    answers with the template's end-of-turn."""
    (q1, a1), (q2, a2) = [(r["question"], r["answer"]) for r in gsm8k[:2]]
    messages = [{"role": "system", "content": "You solve grade-school maths."},
                {"role": "user", "content": q1}, {"role": "assistant", "content": a1},
                {"role": "user", "content": q2}, {"role": "assistant", "content": a2}]  # fmt: skip
    path = _write(tmp_path / "chat.jsonl", [{"messages": messages}])
    data = read_training_rows(path, TrainConfig())
    (example,), _ = tokenize(data.rows, tok, 4096, prompt_format="chat_template")
    assert example.ids == tok.apply_chat_template(messages, return_dict=False)
    learned = [tok.decode(example.ids[s:e]) for s, e in example.spans]
    assert learned == [a1 + "<|im_end|>\n", a2 + "<|im_end|>\n"]
    mask = collate([example], tok.eos_token_id, packed=False)["loss_mask"][0].tolist()
    # position t predicts t+1: the mask is the learned tokens shifted by one
    assert sum(mask) == example.response_tokens
    assert [t + 1 for t, m in enumerate(mask) if m] == [
        i for s, e in example.spans for i in range(s, e)
    ]
    # auto picks the chat template for chat data; alpaca cannot hold three turns and says so
    config = TrainConfig(input=str(path), val_size=0, max_steps=1)
    with pytest.raises(PlatypusError, match="alpaca takes one user turn and one assistant"):
        tokenize(data.rows, tok, 4096, prompt_format="alpaca")
    assert config.prompt_format == "auto"


def test_rows_with_nothing_to_learn_are_counted_not_dropped_silently(tmp_path, tok, gsm8k):
    q, a = gsm8k[0]["question"], gsm8k[0]["answer"]
    rows = [{"prompt": q, "completion": a}, {"prompt": "", "completion": a},
            {"prompt": q, "completion": "  "},
            {"prompt": q, "completion": a + " again"}]  # fmt: skip
    data = read_training_rows(_write(tmp_path / "pc.jsonl", rows), ColumnMapping())
    assert len(data.rows) == 2
    assert dict(data.skipped) == {"skipped_empty_prompt": 1, "skipped_no_response": 1}
    chat = [
        {"messages": [{"role": "user", "content": q}]},
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
    ]
    data = read_training_rows(_write(tmp_path / "c.jsonl", chat), ColumnMapping())
    assert len(data.rows) == 1 and dict(data.skipped) == {"skipped_no_response": 1}


def test_named_columns_and_errors(tmp_path, tok, gsm8k, capsys):
    rows = [{"q": r["question"], "a": r["answer"], "key": f"k{i}"} for i, r in enumerate(gsm8k)]
    path = _write(tmp_path / "qa.jsonl", rows)
    data = read_training_rows(path, ColumnMapping(text_fields=["q", "a"], id_field="key"))
    assert [r.id for r in data.rows] == [f"k{i}" for i in range(ROWS)]
    assert data.data_format == "columns"
    # unmapped, the columns match no convention: one line naming the known ones
    code = main(["train", "--input", str(path), "--output-dir", str(tmp_path / "t")])
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1, errors
    assert "match no known format" in errors[0] and "sharegpt" in errors[0]
    # a named format whose columns are missing says what the row looks like
    alpaca = _write(tmp_path / "alpaca.jsonl", _shapes(gsm8k)["alpaca"])
    code = main(["train", "--input", str(alpaca), "--format", "messages",
                 "--output-dir", str(tmp_path / "t2")])  # fmt: skip
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1, errors
    assert "missing column 'messages'" in errors[0] and "format: alpaca" in errors[0]


def test_a_recipe_carries_the_mapping_from_dedup_to_decontaminate_to_train():
    recipe = Recipe.model_validate(
        {"data": {"dedup": {"input": "qa.parquet", "text_fields": ["q", "a"], "id_field": "key"}}}
    )
    for stage in (recipe.data.decontaminate, recipe.train):
        assert stage.columns() == (["q", "a"], None) and stage.id_field == "key"
    # a stage that reads its own file, or names its own mapping, keeps its own
    recipe = Recipe.model_validate({"data": {"dedup": {"input": "x.jsonl", "format": "sharegpt"},
                                             "decontaminate": {"format": "messages"}},
                                    "train": {"input": "mine.jsonl"}})  # fmt: skip
    assert recipe.data.decontaminate.columns() == (None, "messages")
    assert not recipe.train.mapped


def test_training_on_alpaca_and_chat_files_learns_as_on_records(tmp_path, tiny_llama, gsm8k):
    """The CLI on the same rows as records, an alpaca file (detected) and a chat file trained
    with the Alpaca template: the same held-out loss before and after, and the summary says
    what the data was and which prompt format `auto` became."""
    shapes = _shapes(gsm8k)
    summaries = {}
    for name, extra in (("records", []), ("alpaca", []),
                        ("messages", ["--prompt-format", "alpaca"]), ("sharegpt", [])):  # fmt: skip
        path = _write(tmp_path / f"{name}.jsonl", shapes[name])
        out = tmp_path / f"train-{name}"
        # `platypus train my_alpaca.jsonl`: a data file given positionally is the input
        given = [str(path)] if name == "alpaca" else ["--input", str(path)]
        code = main(["train", *given, "--model", str(tiny_llama), "--output-dir",
                     str(out), "--max-steps", "2", "--val-size", "4", "--no-bf16",
                     "--micro-batch-size", "4", *extra])  # fmt: skip
        assert code == 0, name
        summaries[name] = json.loads((out / "summary.json").read_text())
    records = summaries["records"]
    for name in ("alpaca", "messages"):
        got = summaries[name]
        assert got["val_loss_start"] == pytest.approx(records["val_loss_start"], rel=1e-6), name
        assert got["val_loss_end"] == pytest.approx(records["val_loss_end"], rel=1e-6), name
        assert got["prompt_format"] == "alpaca" and got["data_format"] == name
    assert summaries["sharegpt"]["prompt_format"] == "chat_template"
    assert summaries["sharegpt"]["val_loss_end"] < summaries["sharegpt"]["val_loss_start"]


def test_a_folder_is_read_through_its_card_or_its_one_data_file(tmp_path, tok, gsm8k, capsys):
    """A dedup output folder of alpaca rows (the card names kept.jsonl), a folder holding one
    data file, and a folder with two (refused in one line)."""
    alpaca = _write(tmp_path / "alpaca.jsonl", _shapes(gsm8k)["alpaca"])
    dedup = tmp_path / "dedup"
    code = main(["data", "dedup", "--input", str(alpaca), "--format", "alpaca",
                 "--output-dir", str(dedup), "--precision", "fp32"])  # fmt: skip
    assert code == 0
    data = read_training_rows(dedup, ColumnMapping())
    assert data.path == dedup / "kept.jsonl" and data.data_format == "alpaca"
    assert [r.instruction for r in data.rows] == [r["question"] for r in gsm8k]
    one = tmp_path / "one" / "data"
    one.mkdir(parents=True)
    _write(one / "train.parquet", _shapes(gsm8k)["prompt_completion"])
    assert len(read_training_rows(one.parent, ColumnMapping()).rows) == ROWS
    _write(one / "more.jsonl", _shapes(gsm8k)["alpaca"])
    code = main(["train", "--input", str(one.parent), "--output-dir", str(tmp_path / "t")])
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1 and "found 2 such files" in errors[0], errors


def test_a_hub_id_is_read_through_datasets(tmp_path, gsm8k, monkeypatch, capsys):
    """`input: org/name` that is no path here: the Hub dataset's train split through
    `datasets.load_dataset` (and its cache). Offline and not cached it is one line; a dataset
    datasets returns (a real `datasets.Dataset` of the GSM8K rows, standing in for the download,
    which needs the network) is kept as parquet under its content fingerprint and read like a
    file."""
    import datasets

    monkeypatch.setenv("PLATYPUS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    code = main(["train", "--input", "nobody-here/no-such-set", "--output-dir", "t"])
    errors = error_lines(capsys.readouterr().err)
    assert code == 2 and len(errors) == 1, errors
    assert "nobody-here/no-such-set: no such file here, and as a hub dataset" in errors[0]

    calls = []

    def load_dataset(repo_id, split):
        calls.append((repo_id, split))
        return datasets.Dataset.from_list(_shapes(gsm8k)["messages"])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    data = read_training_rows("someone/gsm8k-chat", ColumnMapping())
    assert calls == [("someone/gsm8k-chat", "train")]
    assert data.data_format == "messages" and len(data.rows) == ROWS
    assert data.path.parent == tmp_path / "cache" / "datasets" / "someone--gsm8k-chat"
    assert [r.turns[0][1] for r in data.rows] == [r["question"] for r in gsm8k]
