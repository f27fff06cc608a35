"""The prompt format a model was trained with, saved as its tokenizer's chat template.

An adapter folder (and a folder it is merged into) carries the tokenizer with the template
training actually used as `chat_template` (transformers 5 writes it to `chat_template.jinja`),
so `apply_chat_template`, a chat UI or `platypus chat` prompts the model as it was tuned:

- `alpaca`: `ALPACA_CHAT_TEMPLATE` (below). A user turn renders exactly
  `template.alpaca_prompt(instruction)` (the no-input form) and an assistant turn after it the
  response followed by `eos_token`: with the tokenizer's BOS in front where `tokenizer(text)`
  adds one (`alpaca_chat_template(bos=True)`; SmolLM2's adds none), the ids of
  `apply_chat_template` are the ids `AlpacaFormat.split` trains on: the prompt with
  `add_generation_prompt=True`, prompt + response with the assistant turn. (Tokenised as one
  text the boundary can merge differently when a response starts with whitespace; training
  tokenises the two sides apart.)
  - A row with an `input` field was trained with the with-input prompt (`### Input:`), which no
    chat turn can express: `chat_messages` puts instruction + "\\n\\n" + input in the user turn
    and this template renders that as an instruction of the no-input form.
  - A system turn is ignored: Alpaca's fixed preamble ("Below is an instruction ...") is the
    system prompt the model was trained with (chat clients add a system turn of their own).
  - Alpaca training is single-turn: a second user turn is refused (`raise_exception`) rather
    than rendered in a pattern the model never saw. `supports_multi_turn` tells which templates
    take a conversation.
- `chat_template`: the tokenizer's own template, as it was when training used it.
"""

from __future__ import annotations

from pathlib import Path

from platypus.errors import PlatypusError
from platypus.train.template import PROMPT_NO_INPUT

# PROMPT_NO_INPUT is the preamble, "### Instruction:\n{instruction}\n\n" and the generation
# prompt (tests/test_chat.py checks the rendering against alpaca_prompt).
_PREAMBLE, _, _ = PROMPT_NO_INPUT.partition("### Instruction:\n")
_GENERATION_PROMPT = "### Response:\n"

SINGLE_TURN_ERROR = (
    "the alpaca prompt format is single-turn: one user turn, optionally followed by its "
    "assistant answer (a system turn is ignored)"
)


def _jinja_text(text: str) -> str:
    """`text` as a jinja string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def alpaca_chat_template(bos: bool = False) -> str:
    """The Alpaca format as a chat template; `bos`: start with `bos_token`, for a tokenizer that
    adds it to every text it tokenises (as `AlpacaFormat` tokenises its prompts)."""
    return (
        "{%- set turns = messages | rejectattr('role', 'equalto', 'system') | list -%}\n"
        "{%- if turns | length == 0 or turns | length > 2 or turns[0]['role'] != 'user'"
        " or (turns | length == 2 and turns[1]['role'] != 'assistant') -%}\n"
        f"{{{{- raise_exception({_jinja_text(SINGLE_TURN_ERROR)}) -}}}}\n"
        "{%- endif -%}\n"
        + ("{{- bos_token -}}\n" if bos else "")
        + f"{{{{- {_jinja_text(_PREAMBLE + '### Instruction:' + chr(10))} + turns[0]['content']"
        f" + {_jinja_text(chr(10) * 2)} -}}}}\n"
        "{%- if add_generation_prompt or turns | length == 2 -%}\n"
        f"{{{{- {_jinja_text(_GENERATION_PROMPT)} -}}}}\n"
        "{%- endif -%}\n"
        "{%- if turns | length == 2 -%}\n"
        "{{- turns[1]['content'] + eos_token -}}\n"
        "{%- endif -%}\n"
    )


ALPACA_CHAT_TEMPLATE = alpaca_chat_template()


def adds_bos(tokenizer) -> bool:
    """Whether `tokenizer(text)` puts the BOS token in front of a text."""
    bos = tokenizer.bos_token_id
    if bos is None:
        return False
    ids = tokenizer("a").input_ids
    return len(ids) > len(tokenizer("a", add_special_tokens=False).input_ids) and ids[0] == bos


def training_chat_template(prompt_format: str, tokenizer) -> str:
    """The chat template that renders what training with `prompt_format` on `tokenizer` fed the
    model."""
    if prompt_format == "alpaca":
        return alpaca_chat_template(bos=adds_bos(tokenizer))
    if prompt_format == "chat_template":
        if not getattr(tokenizer, "chat_template", None):
            raise PlatypusError(
                f"prompt_format chat_template: the tokenizer of {tokenizer.name_or_path} has no "
                "chat template"
            )
        return tokenizer.get_chat_template()  # (of several named ones, the default)
    raise PlatypusError(f"prompt format {prompt_format!r}: no chat template known for it")


def save_training_template(folder: str | Path, prompt_format: str, tokenizer) -> None:
    """Save `tokenizer` into `folder` with the training template as its `chat_template`
    (`chat_template.jinja`, read back by `AutoTokenizer.from_pretrained`). The tokenizer
    object itself is left as it was; with `chat_template` its own template(s) are saved."""
    if prompt_format == "chat_template":
        training_chat_template(prompt_format, tokenizer)  # (it has one)
        tokenizer.save_pretrained(str(folder))
        return
    previous = tokenizer.chat_template
    tokenizer.chat_template = training_chat_template(prompt_format, tokenizer)
    try:
        tokenizer.save_pretrained(str(folder))
    finally:
        tokenizer.chat_template = previous


def supports_multi_turn(tokenizer, template: str | None = None) -> bool:
    """Whether the template renders a conversation of two user turns (the alpaca one refuses)."""
    import jinja2

    turns = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    try:
        tokenizer.apply_chat_template(
            turns, chat_template=template, add_generation_prompt=True, tokenize=False
        )
    except jinja2.TemplateError:
        return False
    return True


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def _folder_tokenizer(folder: Path, trust_remote_code: bool):
    """The tokenizer saved in `folder`; None where it holds none."""
    from transformers import AutoTokenizer

    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return None
    try:
        return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise PlatypusError(f"{folder}: the tokenizer could not be loaded ({first})") from None


def adapter_prompt_format(adapter_dir: str | Path) -> str | None:
    """The prompt format an adapter was trained with: as recorded (`prompt_format_of`; an
    adapter trained here before formats were recorded, which has the base record, was trained
    with alpaca); None for an adapter trained elsewhere, which records neither (then its
    tokenizer's own template, or its base's, is all there is to go by)."""
    from platypus.train.run_files import BASE_RECORD
    from platypus.train.template import PROMPT_RECORD, prompt_format_of

    adapter_dir = Path(adapter_dir)
    if not any((adapter_dir / name).is_file() for name in (PROMPT_RECORD, BASE_RECORD)):
        return None
    return prompt_format_of(adapter_dir)


def save_adapter_template(folder: str | Path, adapter_dir: str | Path, trust_remote_code=False):
    """A model folder an adapter was merged into: its tokenizer saved again with the template
    the adapter was trained with (its recorded prompt format; for `chat_template`, the template
    of the tokenizer saved with the adapter, which is the one training used). Returns whether
    there was a template to save: an adapter trained elsewhere (no record) or a folder without
    a tokenizer is left as it is."""
    folder = Path(folder)
    prompt_format = adapter_prompt_format(adapter_dir)
    if prompt_format is None:
        return False
    tokenizer = _folder_tokenizer(folder, trust_remote_code)
    if tokenizer is None:
        return False
    if prompt_format == "chat_template":
        trained = _folder_tokenizer(Path(adapter_dir), trust_remote_code)
        if trained is not None and trained.chat_template:
            tokenizer.chat_template = trained.chat_template
    save_training_template(folder, prompt_format, tokenizer)
    return True
