"""A merge's `chat_template` (mergekit's key): the chat template the merged tokenizer gets.

As mergekit 0.1.5 reads it (`mergekit.merge._set_chat_template`): `auto` takes the template
most of the inputs' tokenizers have (none: the output keeps the one it has); a short name
without braces is one of mergekit's packaged templates (chatml, llama3, alpaca, mistral,
exaone: read from the installed mergekit package, which this project does not ship); anything
else must be a Jinja template (at least 20 characters, with a brace). The template is saved as
transformers saves one (`chat_template.jinja` beside the tokenizer files).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from platypus.errors import PlatypusError


def resolve_chat_template(value: str, inputs: list[Path]) -> str | None:
    """The template text for `value`; None where `auto` finds no input template."""
    if value == "auto":
        from transformers import AutoTokenizer

        found = []
        for folder in inputs:
            try:
                template = AutoTokenizer.from_pretrained(folder).chat_template
            except (OSError, ValueError):
                continue  # no tokenizer in that folder: mergekit skips it too
            if isinstance(template, dict):
                template = template.get("default")
            if template:
                found.append(template.strip())
        return Counter(found).most_common(1)[0][0] if found else None
    if len(value) < 256 and "\n" not in value and "{" not in value:
        try:
            from importlib.resources import files

            from mergekit._data import chat_templates
        except ImportError:
            raise PlatypusError(
                f"chat_template {value!r}: the named templates are mergekit's; install mergekit "
                "(pip install mergekit) or give the template's Jinja text"
            ) from None
        path = files(chat_templates).joinpath(value + ".jinja")
        if not path.is_file():
            raise PlatypusError(f"chat_template {value!r}: no such named template")
        return path.read_text()
    if len(value) < 20 or "{" not in value:
        raise PlatypusError(f"chat_template {value[:40]!r}: not a Jinja template")
    return value


def save_chat_template(out: Path, template: str) -> None:
    """The merged folder's tokenizer, saved again with `template` as its chat template."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(out)
    except (OSError, ValueError):
        raise PlatypusError(f"chat_template: the merged folder {out} has no tokenizer to set "
                            "it on") from None  # fmt: skip
    tokenizer.chat_template = template
    tokenizer.save_pretrained(out)
