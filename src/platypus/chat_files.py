"""The jsonl files of `platypus generate` (and `platypus chat --input`): prompt rows read and
checked, and the finished rows of an output found, so that a run stopped part-way resumes after
them."""

from __future__ import annotations

import json
from pathlib import Path

from platypus.errors import DataError, PlatypusError


def user_turn(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def read_prompt_rows(path: str | Path) -> list[tuple[dict, list[dict]]]:
    """(row, its conversation) for each row of a jsonl of prompts: one line for a row that is
    not an object or has neither a `prompt` string nor a `messages` list ending with the
    user's turn."""
    from platypus.io.readers import iter_jsonl

    rows = []
    for lineno, row in iter_jsonl(path):
        where = f"line {lineno}"
        if not isinstance(row, dict):
            raise DataError(path, "not a JSON object", row=where)
        if isinstance(row.get("prompt"), str):
            messages = user_turn(row["prompt"])
        elif "messages" in row:
            messages = row["messages"]
            ok = isinstance(messages, list) and messages and all(
                isinstance(m, dict) and isinstance(m.get("role"), str)
                and isinstance(m.get("content"), str) for m in messages
            )  # fmt: skip
            if not ok:
                raise DataError(path, "messages: a list of {role, content} strings", row=where)
            if messages[-1]["role"] != "user":
                raise DataError(path, "messages: the last turn must be the user's", row=where)
        else:
            raise DataError(path, "no prompt (a string) or messages", row=where)
        rows.append((row, messages))
    return rows


def _without_completion(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "completion"}


def done_rows(output: Path, rows: list[tuple[dict, list[dict]]]) -> int:
    """How many rows the output already holds: its complete lines, each the input's row of the
    same position with a completion. A last line cut short (a run stopped while writing it) is
    removed; an output of other rows is refused."""
    if not output.exists():
        return 0
    if output.is_symlink() or not output.is_file():
        raise PlatypusError(f"--output {output}: not a regular file")
    data = output.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        output.write_bytes(data)
    done = 0
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        same = (
            isinstance(row, dict)
            and "completion" in row
            and done < len(rows)
            and _without_completion(row) == _without_completion(rows[done][0])
        )
        if not same:
            raise PlatypusError(
                f"--output {output}: holds rows other than the completions of the input's first "
                "rows; remove it or name another file"
            )
        done += 1
    return done
