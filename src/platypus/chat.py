"""`platypus chat` and `platypus generate`: try a model as it was trained.

The model is a base folder or hub id (default: the packaged SmolLM2) with an adapter on top (an
adapter folder or a training output folder), or a merged folder alone. Prompts are rendered
with the template the model was trained with (`platypus.train.saved_template`): with an
adapter, the template of its recorded prompt format (`platypus_prompt.json`; for
`chat_template`, the template of the tokenizer saved with it); without one, the folder's own
saved chat template (a merged adapter's is its training template).

- one prompt (`--prompt TEXT`): the completion on stdout;
- a jsonl of prompts (`--input rows.jsonl --output out.jsonl`, or `platypus generate`): each row
  has `prompt` (the user's turn) or `messages` (a conversation of {role, content} ending with
  the user's turn) and is written back with `completion`, in input order, batched. Rows are
  appended as their batch finishes, so a run stopped part-way resumes after the rows already
  in the output when it is run again;
- otherwise a session reading one user turn per line from stdin: on a terminal an interactive
  chat, from a pipe or file each line a turn (answered in order, the same way). The
  conversation's history is kept when the template takes several turns (the alpaca one is
  single-turn: each line is a conversation of its own); `/reset` clears it, `/exit` or Ctrl-D
  ends.

Decoding is greedy by default (`temperature` 0: deterministic); a temperature above 0 samples,
seeded by `seed`. A completion ends at the tokenizer's EOS or the model's end tokens, and is
decoded without special tokens.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from platypus.chat_files import done_rows, read_prompt_rows, user_turn
from platypus.errors import PlatypusError

COMMANDS = ("/reset", "/exit")


@dataclass
class Settings:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0: greedy
    seed: int = 0
    batch_size: int = 8

    def check(self) -> None:
        if self.max_new_tokens < 1:
            raise PlatypusError(f"--max-new-tokens {self.max_new_tokens}: at least 1")
        if not self.temperature >= 0:  # (NaN too)
            raise PlatypusError(f"--temperature {self.temperature}: 0 (greedy) or more")
        if self.batch_size < 1:
            raise PlatypusError(f"--batch-size {self.batch_size}: at least 1")


def adapter_folder(path: str | Path) -> Path:
    """An adapter folder, or the training (or stage) folder holding one, resolved as the API
    resolves `adapter`; checked to be a PEFT adapter (one line otherwise)."""
    from platypus.api import artefact_in
    from platypus.merge.adapter_files import read_adapter_config
    from platypus.pipeline.stages import STAGES

    folder = Path(path)
    if not folder.is_dir():
        raise PlatypusError(f"adapter {path}: no such folder")
    folder = artefact_in(STAGES["eval"], "adapter", folder) or folder
    read_adapter_config(folder)  # "not a PEFT adapter (no adapter_config.json)"
    return Path(folder)


def _adapter_base(adapter: Path) -> str | None:
    """The base an adapter was trained on, as training recorded it, else as its config names
    it."""
    from platypus.train.run_files import BASE_RECORD

    recorded = ((BASE_RECORD, "base_model"), ("adapter_config.json", "base_model_name_or_path"))
    for name, key in recorded:
        try:
            value = json.loads((adapter / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str) and value:
            return value
    return None


def _recorded_sha(adapter: Path) -> str | None:
    from platypus.train.template import PROMPT_RECORD

    try:
        value = json.loads((adapter / PROMPT_RECORD).read_text(encoding="utf-8"))
        return value.get("chat_template_sha256")
    except (OSError, ValueError, AttributeError):
        return None


class ChatModel:
    """A model, its tokenizer and the template it was trained with."""

    def __init__(self, model, tokenizer, template: str, described: str):
        from platypus.train.saved_template import supports_multi_turn

        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.described = described
        self.device = next(model.parameters()).device
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        ends = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        ends = list(ends) if isinstance(ends, list | tuple) else [ends]
        self.end_ids = sorted({e for e in [*ends, tokenizer.eos_token_id] if e is not None})
        self.multi_turn = supports_multi_turn(tokenizer, template)

    def render(self, messages: list[dict]) -> str:
        """The prompt for `messages` (ending with the user's turn), generation prompt added."""
        import jinja2

        try:
            return self.tokenizer.apply_chat_template(
                messages, chat_template=self.template, add_generation_prompt=True, tokenize=False
            )
        except jinja2.TemplateError as exc:
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise PlatypusError(f"the chat template refused the conversation: {first}") from None

    def encode(self, prompt: str) -> list[int]:
        """The prompt's ids; the template holds any BOS, so none is added (as
        `apply_chat_template` tokenises)."""
        return self.tokenizer(prompt, add_special_tokens=False).input_ids

    def generate(self, prompts: list[str], settings: Settings) -> list[str]:
        """The completion of each rendered prompt, in order; `settings.batch_size` at a time
        (left-padded)."""
        import torch

        limit = getattr(self.model.config, "max_position_embeddings", None)
        keep = None if limit is None else max(1, limit - settings.max_new_tokens)
        encoded = [self.encode(p)[-keep:] if keep else self.encode(p) for p in prompts]
        out: list[str] = [""] * len(prompts)
        for start in range(0, len(encoded), settings.batch_size):
            batch = list(range(start, min(start + settings.batch_size, len(encoded))))
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                n = len(encoded[i])
                ids[r, width - n :] = torch.tensor(encoded[i], dtype=torch.long)
                mask[r, width - n :] = 1
            sampling = (
                {"do_sample": True, "temperature": settings.temperature}
                if settings.temperature > 0
                else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
            )
            with torch.inference_mode():
                generated = self.model.generate(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    max_new_tokens=settings.max_new_tokens,
                    eos_token_id=self.end_ids,
                    pad_token_id=self.pad_id,
                    **sampling,
                )
            for r, i in enumerate(batch):
                out[i] = self.decode(generated[r, width:].tolist())
        return out

    def decode(self, tokens: list[int]) -> str:
        """The completion's text: up to its first end token, special tokens left out."""
        for n, t in enumerate(tokens):
            if t in self.end_ids:
                tokens = tokens[:n]
                break
        return self.tokenizer.decode(tokens, skip_special_tokens=True)


def load_tokenizer_and_template(
    model: str | None, adapter: Path | None, trust_remote_code: bool = False
):
    """(tokenizer, template, base) for the model (and adapter): the adapter's saved tokenizer
    where it has one (the one training used), else the model's; the template of the adapter's
    recorded prompt format, else the tokenizer's own."""
    from transformers import AutoTokenizer

    from platypus.models import resolve_causal_lm
    from platypus.models.remote_code import check_custom_code
    from platypus.train.saved_template import (
        TOKENIZER_FILES,
        adapter_prompt_format,
        training_chat_template,
    )

    base = model if model is not None or adapter is None else _adapter_base(adapter)
    path = resolve_causal_lm(base)
    check_custom_code(path, trust_remote_code)
    source = path
    if adapter is not None and any((adapter / n).is_file() for n in TOKENIZER_FILES):
        source = str(adapter)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise PlatypusError(f"{source}: the tokenizer could not be loaded ({first})") from None
    prompt_format = adapter_prompt_format(adapter) if adapter is not None else None
    if prompt_format is not None:
        template = training_chat_template(prompt_format, tokenizer)
        recorded = _recorded_sha(adapter)
        if prompt_format == "chat_template" and recorded:
            import hashlib

            if hashlib.sha256(template.encode()).hexdigest() != recorded:
                print(
                    f"platypus: warning: {adapter} was trained with another chat template than "
                    f"the one of {source} (sha256 {recorded[:12]}); prompting with the latter",
                    file=sys.stderr,
                )
    else:
        if not getattr(tokenizer, "chat_template", None):  # (an adapter trained elsewhere too)
            raise PlatypusError(
                f"{source}: the tokenizer has no chat template to prompt the model with (a base "
                "model?); give the adapter trained on it (--adapter) or the folder it was merged "
                "into"
            )
        template = tokenizer.get_chat_template()
    return tokenizer, template, base


def load(
    model: str | None = None,
    adapter: str | Path | None = None,
    device: str = "auto",
    trust_remote_code: bool = False,
) -> ChatModel:
    """The model (and adapter) with the template it was trained with."""
    from platypus.compute import resolve
    from platypus.eval.run import apply_adapter
    from platypus.models import load_causal_lm
    from platypus.settings import ComputeSettings

    adapter_dir = adapter_folder(adapter) if adapter is not None else None
    if adapter_dir is not None:
        from platypus.merge.adapter_files import check_adapter_folder

        check_adapter_folder(adapter_dir)  # before the base is loaded: one line
    tokenizer, template, base = load_tokenizer_and_template(model, adapter_dir, trust_remote_code)
    settings = ComputeSettings(device=device, trust_remote_code=trust_remote_code)
    policy = resolve(settings, allow_bf16=False, probe=False)
    lm, _ = load_causal_lm(base, compute=policy)
    described = str(base or "smollm2")
    if adapter_dir is not None:
        lm = apply_adapter(lm, str(adapter_dir), described)
        described += f" + {adapter_dir}"
    return ChatModel(lm, tokenizer, template, described)


# ---- the three modes ------------------------------------------------------------------------


def complete(chat: ChatModel, prompt: str, settings: Settings) -> str:
    """One prompt's completion."""
    _seed(settings)
    return chat.generate([chat.render(user_turn(prompt))], settings)[0]


def _seed(settings: Settings) -> None:
    import torch

    torch.manual_seed(settings.seed)


def generate_file(
    chat: ChatModel, input: str | Path, output: str | Path, settings: Settings, rows=None
) -> tuple[int, int]:
    """Completions of a jsonl of prompts into `output` (module doc); (rows written, rows that
    were already there)."""
    from platypus.progress import progress

    input, output = Path(input), Path(output)
    rows = read_prompt_rows(input) if rows is None else rows
    prompts = [chat.render(messages) for _, messages in rows]  # all refused before any is run
    done = done_rows(output, rows)
    _seed(settings)
    bar = progress(total=len(rows), initial=done, desc="generate", unit=" rows", disable=None)
    with open(output, "a", encoding="utf-8") as f:
        for start in range(done, len(rows), settings.batch_size):
            end = min(start + settings.batch_size, len(rows))
            completions = chat.generate(prompts[start:end], settings)
            for (row, _), text in zip(rows[start:end], completions, strict=True):
                f.write(json.dumps(row | {"completion": text}, ensure_ascii=False) + "\n")
            f.flush()
            bar.update(end - start)
    bar.close()
    return len(rows) - done, done


def session(chat: ChatModel, settings: Settings, lines: Iterable[str], out=None, tty=False):
    """A conversation, one user turn per line of `lines` (module doc); each answer written to
    `out` as it comes."""
    out = out or sys.stdout
    history: list[dict] = []
    _seed(settings)
    if tty:
        turns = "the conversation is kept" if chat.multi_turn else (
            "single-turn: each line starts a new conversation"
        )  # fmt: skip
        print(f"{chat.described} ({turns}); /reset clears, /exit or Ctrl-D ends", file=sys.stderr)
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if text.strip() == "/exit":
            break
        if text.strip() == "/reset":
            history = []
            if tty:
                print("(conversation cleared)", file=sys.stderr)
            continue
        messages = [*history, *user_turn(text)] if chat.multi_turn else user_turn(text)
        answer = chat.generate([chat.render(messages)], settings)[0]
        if chat.multi_turn:
            history = [*messages, {"role": "assistant", "content": answer}]
        print(answer, file=out, flush=True)
        if tty:
            print(file=out, flush=True)


def _terminal_lines():
    """Lines typed at a terminal, with line editing, until Ctrl-D."""
    try:
        import readline  # noqa: F401  (input() gets history and editing)
    except ImportError:
        pass
    while True:
        try:
            yield input("> ")
        except EOFError:
            print(file=sys.stderr)
            return


def run(args) -> int:
    """`platypus chat` / `platypus generate` with parsed arguments."""
    settings = Settings(args.max_new_tokens, args.temperature, args.seed, args.batch_size)
    settings.check()
    batch = args.input is not None or args.output is not None
    if batch and (args.input is None or args.output is None):
        raise PlatypusError("--input and --output go together (prompts in, completions out)")
    if batch and args.prompt is not None:
        raise PlatypusError("--prompt or --input, not both")
    if getattr(args, "batch_only", False) and not batch:
        raise PlatypusError("generate needs --input PROMPTS.jsonl and --output COMPLETIONS.jsonl")
    rows = None
    if batch:
        if Path(args.input).resolve() == Path(args.output).resolve():
            raise PlatypusError("--output must not be the --input file")
        if not Path(args.output).resolve().parent.is_dir():
            raise PlatypusError(f"--output {args.output}: its folder does not exist")
        rows = read_prompt_rows(args.input)  # a bad row: one line before the model loads
    chat = load(args.model, args.adapter, args.device or "auto", args.trust_remote_code)
    if batch:
        written, kept = generate_file(chat, args.input, args.output, settings, rows)
        resumed = f" ({kept} already there)" if kept else ""
        print(f"{written} completions written to {args.output}{resumed}", file=sys.stderr)
    elif args.prompt is not None:
        print(complete(chat, args.prompt, settings))
    elif sys.stdin.isatty():
        session(chat, settings, _terminal_lines(), tty=True)
    else:
        session(chat, settings, sys.stdin)
    return 0


def add_arguments(parser, batch_only: bool = False) -> None:
    """The flags of `platypus chat` (and of `platypus generate`, its batch mode)."""
    parser.add_argument(
        "--model",
        help="base model folder or hub id (default: the adapter's base, else the packaged "
        "SmolLM2), or a merged folder",
    )
    parser.add_argument("--adapter", help="adapter folder or training output folder")
    if not batch_only:
        parser.add_argument("--prompt", help="one prompt: its completion on stdout")
    parser.add_argument("--input", help="jsonl of rows with prompt (or messages)")
    parser.add_argument("--output", help="jsonl written: each input row with its completion")
    parser.add_argument("--max-new-tokens", type=int, default=256, help="default 256")
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="0 (default): greedy; above: sampling"
    )
    parser.add_argument("--seed", type=int, default=0, help="for sampling (default 0)")
    parser.add_argument("--batch-size", type=int, default=8, help="jsonl rows per batch")
    from typing import get_args

    from platypus.settings import ComputeSettings

    devices = list(get_args(ComputeSettings.model_fields["device"].annotation))
    parser.add_argument("--device", choices=devices, help="where the model runs (default auto)")
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="run Python code a model folder ships"
    )
    parser.set_defaults(batch_only=batch_only, prompt=None)
