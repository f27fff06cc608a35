"""How a record becomes prompt and response tokens: the prompt formats training can use.

`alpaca` is the template Platypus trained with (with and without an input field): prompt and
response are tokenised separately and EOS is appended. `chat_template` renders the record as
a user turn and an assistant turn with the tokenizer's own chat template; the prompt is the
user turn plus the template's generation prompt, the response whatever the template adds after
it (its end-of-turn token included), so a model trained this way answers after
`apply_chat_template(..., add_generation_prompt=True)` exactly as it was taught to.

Which format an adapter was trained with is recorded in its folder (`PROMPT_RECORD`) and read
back by `prompt_format_of`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from platypus.errors import PlatypusError

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

    def split(self, record, tokenizer) -> tuple[list[int], list[int]]:
        prompt = tokenizer(alpaca_prompt(record.instruction, record.input)).input_ids
        response = tokenizer(record.output, add_special_tokens=False).input_ids
        return prompt, response + [tokenizer.eos_token_id]

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

    def split(self, record, tokenizer) -> tuple[list[int], list[int]]:
        # Rendered as text and cut there, then each side tokenised without added special tokens
        # (as apply_chat_template tokenises), so the boundary is exact whatever the BPE merges.
        prompt_text = render_chat(
            tokenizer, chat_messages(record.instruction, record.input), add_generation_prompt=True
        )
        full_text = render_chat(
            tokenizer, chat_messages(record.instruction, record.input, record.output)
        )
        if not full_text.startswith(prompt_text):
            raise PlatypusError(
                f"prompt_format chat_template: the chat template of {tokenizer.name_or_path} does "
                "not render the assistant turn after its generation prompt, so the response "
                f"cannot be separated from the prompt (row {record.id}); use prompt_format: alpaca"
            )
        prompt = tokenizer(prompt_text, add_special_tokens=False).input_ids
        response = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False).input_ids
        return prompt, response

    def template_sha256(self, tokenizer) -> str | None:
        return hashlib.sha256(tokenizer.get_chat_template().encode()).hexdigest()


FORMATS = {f.name: f for f in (AlpacaFormat(), ChatTemplateFormat())}


def unknown_format(name: str) -> str:
    return f"unknown prompt_format {name!r}; known: {', '.join(FORMATS)}"


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
