"""How a row becomes tokens and the spans of them that are learned: the prompt formats.

`alpaca` is the template Platypus trained with (with and without an input field): prompt and
response are tokenised separately and EOS is appended; a chat row takes it when it is one user
turn and one assistant turn. `chat_template` renders the row with the tokenizer's own chat
template (a record as a user turn and an assistant turn, a chat row with all its turns); each
assistant turn is learned as the template renders it after its generation prompt (its
end-of-turn token included) and everything else is context, so a model trained this way answers
after `apply_chat_template(..., add_generation_prompt=True)` exactly as it was taught to.
`auto` (the default) is chat_template for chat data when the tokenizer has a template, else
alpaca.

Which format an adapter was trained with is recorded in its folder (`PROMPT_RECORD`) and read
back by `prompt_format_of`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from platypus.data.record import Dialogue, Record
from platypus.errors import PlatypusError

Spans = list[tuple[int, int]]  # [start, end) token ranges that carry loss

PROMPT_RECORD = "platypus_prompt.json"  # in an adapter folder: its prompt format

PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
)


def alpaca_prompt(instruction: str, input: str = "") -> str:  # noqa: A002 (the field's name)
    if input.strip():
        return PROMPT_WITH_INPUT.format(instruction=instruction, input=input)
    return PROMPT_NO_INPUT.format(instruction=instruction)


def chat_messages(instruction: str, input: str, output: str | None = None) -> list[dict]:  # noqa: A002
    """The record as chat turns: the user asks the instruction (and its input, if any)."""
    user = instruction + ("\n\n" + input if input.strip() else "")
    messages = [{"role": "user", "content": user}]
    if output is not None:
        messages.append({"role": "assistant", "content": output})
    return messages


class AlpacaFormat:
    """The Alpaca template; the prompt takes the tokenizer's special tokens (e.g. a BOS), the
    response none, and EOS ends it."""

    name = "alpaca"

    def check(self, tokenizer) -> None:
        if tokenizer.eos_token_id is None:
            raise PlatypusError("the tokenizer has no EOS token: cannot mark the end of responses")

    def split(self, record: Record, tokenizer) -> tuple[list[int], list[int]]:
        prompt = tokenizer(alpaca_prompt(record.instruction, record.input)).input_ids
        response = tokenizer(record.output, add_special_tokens=False).input_ids
        return prompt, response + [tokenizer.eos_token_id]

    def encode(self, row: Record | Dialogue, tokenizer) -> tuple[list[int], Spans]:
        if isinstance(row, Dialogue):
            row = _single_turn(row)
        prompt, response = self.split(row, tokenizer)
        return prompt + response, [(len(prompt), len(prompt) + len(response))]

    def template_sha256(self, tokenizer) -> str | None:
        return None  # the template is this module's


def render_chat(tokenizer, messages: list[dict], **kwargs):
    """`tokenizer.apply_chat_template(messages, tokenize=False, ...)`, with a template that fails
    (a syntax error, or an attempt to leave jinja's sandbox, which transformers renders in)
    reported in one line instead of jinja's traceback."""
    import jinja2

    kwargs.setdefault("tokenize", False)
    try:
        return tokenizer.apply_chat_template(messages, **kwargs)
    except jinja2.TemplateError as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise PlatypusError(
            f"the chat template of {tokenizer.name_or_path} failed ({type(exc).__name__}: "
            f"{first}); fix the template or use prompt_format: alpaca"
        ) from None


class ChatTemplateFormat:
    """The tokenizer's own chat template (`tokenizer.chat_template`)."""

    name = "chat_template"

    def check(self, tokenizer) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise PlatypusError(
                f"prompt_format chat_template: the tokenizer of {tokenizer.name_or_path} has no "
                "chat template; use prompt_format: alpaca or a model whose tokenizer has one"
            )

    def split(self, record: Record, tokenizer) -> tuple[list[int], list[int]]:
        ids, spans = self.encode(record, tokenizer)
        return ids[: spans[0][0]], ids[spans[0][0] :]

    def encode(self, row: Record | Dialogue, tokenizer) -> tuple[list[int], Spans]:
        # Rendered as text and cut there: before each assistant turn the conversation up to it
        # with the generation prompt, after it the conversation including it; each piece is
        # tokenised without added special tokens (as apply_chat_template tokenises), so every
        # boundary is exact whatever the BPE merges.
        if isinstance(row, Dialogue):
            messages = row.messages()
        else:
            messages = chat_messages(row.instruction, row.input, row.output)
        full = render_chat(tokenizer, messages)
        pieces: list[tuple[str, bool]] = []
        done = 0  # characters of `full` already in pieces
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = render_chat(tokenizer, messages[:k], add_generation_prompt=True)
            upto = render_chat(tokenizer, messages[: k + 1])
            if not (full.startswith(before) and full.startswith(upto)
                    and done <= len(before) <= len(upto)):  # fmt: skip
                raise PlatypusError(
                    f"prompt_format chat_template: the chat template of {tokenizer.name_or_path} "
                    f"does not render assistant turn {k} after its generation prompt and the "
                    "turns before it, so what to learn cannot be separated from the context "
                    f"(row {row.id}); use prompt_format: alpaca for one-turn rows"
                )
            pieces += [(full[done : len(before)], False), (full[len(before) : len(upto)], True)]
            done = len(upto)
        pieces.append((full[done:], False))
        ids: list[int] = []
        spans: Spans = []
        for text, learned in pieces:
            if not text:
                continue
            start = len(ids)
            ids += tokenizer(text, add_special_tokens=False).input_ids
            if learned and len(ids) > start:
                spans.append((start, len(ids)))
        return ids, spans

    def template_sha256(self, tokenizer) -> str | None:
        return hashlib.sha256(tokenizer.get_chat_template().encode()).hexdigest()


def _single_turn(row: Dialogue) -> Record:
    """A chat row of one user and one assistant turn as the record the Alpaca template takes."""
    roles = [role for role, _ in row.turns]
    if roles != ["user", "assistant"]:
        raise PlatypusError(
            f"row {row.id}: prompt_format alpaca takes one user turn and one assistant turn, this "
            f"row has {', '.join(roles)}; use prompt_format: chat_template"
        )
    return Record(row.id, row.turns[0][1], "", row.turns[1][1], row.data_source)


FORMATS = {f.name: f for f in (AlpacaFormat(), ChatTemplateFormat())}
AUTO = "auto"


def unknown_format(name: str) -> str:
    return f"unknown prompt_format {name!r}; known: {AUTO}, {', '.join(FORMATS)}"


def resolve_prompt_format(name: str, rows: list, tokenizer) -> str:
    """`auto`: the tokenizer's chat template for chat rows when it has one, else alpaca."""
    if name != AUTO:
        return name
    chat = any(isinstance(r, Dialogue) for r in rows)
    return "chat_template" if chat and getattr(tokenizer, "chat_template", None) else "alpaca"


def prompt_record(name: str, tokenizer) -> dict:
    """What train_config.json and the adapter folder record of the prompt format."""
    return {"prompt_format": name, "chat_template_sha256": FORMATS[name].template_sha256(tokenizer)}


def write_prompt_record(adapter_dir: str | Path, record: dict) -> None:
    (Path(adapter_dir) / PROMPT_RECORD).write_text(json.dumps(record, indent=1) + "\n")


def prompt_format_of(adapter_dir: str | Path) -> str:
    """The prompt format an adapter was trained with. Adapters that record none were trained
    before formats were recorded, all with `alpaca`."""
    path = Path(adapter_dir) / PROMPT_RECORD
    if not path.is_file():
        return "alpaca"
    try:
        name = json.loads(path.read_text(encoding="utf-8"))["prompt_format"]
    except (ValueError, KeyError, TypeError):
        raise PlatypusError(f"{path}: not a prompt record (no prompt_format)") from None
    if name not in FORMATS:
        raise PlatypusError(f"{path}: {unknown_format(name)}")
    return name
