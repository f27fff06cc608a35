import pytest

from platypus.errors import DataError
from platypus.io.readers import iter_jsonl, iter_table, read_json


def test_non_utf8_names_file_and_row(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    with pytest.raises(DataError) as err:
        list(iter_jsonl(path))
    assert str(err.value) == f"{path}: row 2: not valid UTF-8 (byte 10)"


def test_broken_json_line_names_row(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"rows.jsonl: row 3: invalid JSON"):
        list(iter_jsonl(path))


def test_json_file_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe[]")
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_json(bad)
    scalar = tmp_path / "scalar.json"
    scalar.write_text("3", encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON array"):
        list(iter_table(scalar))
    with pytest.raises(DataError, match="found a folder"):
        list(iter_table(tmp_path))


def test_table_row_ids(tmp_path):
    keyed = tmp_path / "keyed.json"
    keyed.write_text('{"p1": {"x": 1}, "p2": {"x": 2}}', encoding="utf-8")
    assert list(iter_table(keyed)) == [("p1", {"x": 1}), ("p2", {"x": 2})]
    listed = tmp_path / "listed.json"
    listed.write_text('[{"x": 1}, 5]', encoding="utf-8")
    with pytest.raises(DataError, match=r"listed.json: row 2: expected a JSON object, got int"):
        list(iter_table(listed))
