"""A merge's `tokenizer_source` (mergekit's key): `union` (a tokenizer holding every input's
tokens) or a model reference (that model's tokenizer), with the vocabulary tensors of every
input permuted onto the output's vocabulary as mergekit 0.1.5 does (`mergekit.tokenizer`:
build_tokenizer, PermutedVocabulary):
- the tokenizers: the base's (`base_model`, else the first model's) stripped of the tokens at
  or past its config's `vocab_size`, every other input's as it is (one that does not load is
  taken as the base's);
- `union`: the base's tokenizer, then each input's ordinary tokens it lacks, then every input's
  added tokens (the first settings of each), in that order; a model: its tokenizer as it is;
- each input's tensors on the vocabulary axis (`embed_tokens`, `lm_head`: rows are tokens) are
  rebuilt row by row in the output's order: the input's own row where it has the token, else the
  row of the one input that has it, else the base's when the base has it, else the mean of the
  inputs that have it, else zeros;
- the output's tokenizer is saved (in place of the copied one) and config.json's `vocab_size` is
  the size of its vocabulary.
`base` (or unset) keeps the layout model's tokenizer as before; `slices` with another source
are refused.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    import torch

VOCAB_TENSOR = re.compile(r"(^|\.)(embed_tokens|lm_head)\.weight$")  # rows are tokens
# What a saved tokenizer is made of: the layout model's are removed before ours is saved
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
                   "chat_template.jinja", "chat_template.json")  # fmt: skip


def active(config: Any) -> bool:
    """Whether the merge builds its tokenizer (a source other than unset or `base`)."""
    return getattr(config, "tokenizer_source", None) not in (None, "base")


def is_vocab_tensor(name: str) -> bool:
    return bool(VOCAB_TENSOR.search(name))


def _vocab_size(folder: Path) -> int | None:
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    size = cfg.get("vocab_size")
    if size is None and isinstance(cfg.get("text_config"), dict):
        size = cfg["text_config"].get("vocab_size")
    return size if isinstance(size, int) else None


def _load(folder: Path, what: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), use_fast=True)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's folder
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PlatypusError(
            f"tokenizer_source: {what} {folder} has no tokenizer: {first}"
        ) from None


def _stripped(folder: Path):
    """The base's tokenizer without the tokens at or past its config's vocab_size."""
    import tokenizers

    tokenizer = _load(folder, "the base")
    vocab = tokenizer.get_vocab()
    size = _vocab_size(folder) or len(vocab)
    unused = {tok for tok, idx in vocab.items() if idx >= size}
    if not unused:
        return tokenizer
    data = json.loads(tokenizer._tokenizer.to_str())
    if data["model"]["type"] != "BPE":
        kind = data["model"]["type"]
        raise PlatypusError(f"tokenizer_source: the base {folder} has tokens past its "
                            f"vocab_size in a {kind} tokenizer (only BPE is stripped)")  # fmt: skip
    data["added_tokens"] = [e for e in data["added_tokens"] if e["id"] < size]
    for tok in unused:
        data["model"]["vocab"].pop(tok, None)

    def keep(m):
        toks = m.split(" ") if isinstance(m, str) else m
        return not any(t in unused for t in toks)

    data["model"]["merges"] = [m for m in data["model"]["merges"] if keep(m)]
    tokenizer._tokenizer = tokenizers.Tokenizer.from_str(json.dumps(data))
    return tokenizer


def _union(base_tok, toks: list[tuple[Path, Any]]):
    from transformers import AutoTokenizer

    out_vocab: dict[str, int] = {}
    out_added: dict[str, Any] = {}
    for folder, tok in toks:
        size = _vocab_size(folder) or tok.vocab_size
        added = tok.added_tokens_decoder
        added_names = {info.content for info in added.values()}
        for t, idx in tok.get_vocab().items():
            if idx >= size or t in added_names:
                continue
            out_vocab.setdefault(t, len(out_vocab))
        for idx, info in added.items():
            if idx < size:
                out_added.setdefault(info.content, info)
    with tempfile.TemporaryDirectory() as p:  # a copy: the base's tokenizer is not changed
        base_tok.save_pretrained(p, legacy_format=False, safe_serialization=True)
        res = AutoTokenizer.from_pretrained(p, use_fast=True)
    base_vocab = base_tok.get_vocab()
    for t in out_vocab:
        if t not in out_added and t not in base_vocab:
            res.add_tokens(t)
    for info in out_added.values():
        res.add_tokens(info)
    return res


@dataclass
class Vocabulary:
    """The output's tokenizer and, for each input of the merge (in order), the input's row for
    each output token id (-1: the input lacks the token)."""

    source: str
    tokenizer: Any
    rows: list[torch.Tensor]
    base: int | None  # the input that is the merge's base_model, if any

    @property
    def size(self) -> int:
        return len(self.tokenizer.get_vocab())

    def covers(self, name: str) -> bool:
        """Whether tensor `name` is on the vocabulary axis (its rows are tokens)."""
        return is_vocab_tensor(name)

    def shape(self, name: str, shape: tuple) -> tuple:
        """The output's shape of tensor `name` (an input's is `shape`)."""
        return (self.size, *shape[1:]) if self.covers(name) else shape

    def permute(self, name: str, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each input's tensor `name` with its rows in the output's token order, the rows of the
        tokens it lacks filled as mergekit fills them."""
        import torch

        shapes = [tuple(t.shape) for t in tensors]
        if any(t.ndim == 0 or t.shape[1:] != tensors[0].shape[1:] for t in tensors):
            raise PlatypusError(f"{name}: the inputs differ beyond the vocabulary: {shapes}")
        for t, rows in zip(tensors, self.rows, strict=True):
            if int(rows.max()) >= t.shape[0]:
                raise PlatypusError(f"{name}: an input has {t.shape[0]} rows, its tokenizer "
                                    f"{int(rows.max()) + 1} tokens")  # fmt: skip
        dtype = tensors[0].dtype
        for t in tensors:
            dtype = torch.promote_types(dtype, t.dtype)
        dtype = torch.promote_types(dtype, torch.float32)  # merges compute in float32 (or 64)
        tensors = [t.to(dtype) for t in tensors]
        present = torch.stack([r >= 0 for r in self.rows])  # inputs x tokens
        count = present.sum(0)
        missing = (~present.all(0)).nonzero().flatten().tolist()
        fill: dict[int, torch.Tensor] = {}
        for tid in missing:
            n = int(count[tid])
            has = [i for i in range(len(tensors)) if present[i, tid]]
            if n == 0:
                fill[tid] = torch.zeros(tensors[0].shape[1:], dtype=dtype)
            elif n == 1:
                fill[tid] = tensors[has[0]][self.rows[has[0]][tid]]
            elif self.base is not None and present[self.base, tid]:
                fill[tid] = tensors[self.base][self.rows[self.base][tid]]
            else:
                embed = torch.zeros(tensors[0].shape[1:], dtype=dtype)
                for i in has:
                    embed = embed + tensors[i][self.rows[i][tid]]
                fill[tid] = embed / n
        out = []
        for t, rows in zip(tensors, self.rows, strict=True):
            new = t[rows.clamp(min=0)].clone()
            for tid in (rows < 0).nonzero().flatten().tolist():
                new[tid] = fill[tid]
            out.append(new)
        return out

    def save(self, out: Path) -> dict:
        """The output's tokenizer in place of the copied one, config.json's vocab_size its size;
        what the merge card records."""
        for name in TOKENIZER_FILES:
            (out / name).unlink(missing_ok=True)
        self.tokenizer.save_pretrained(str(out), safe_serialization=True)
        cfg_path = out / "config.json"
        if cfg_path.is_file():
            from platypus.io.writers import write_bytes

            cfg = json.loads(cfg_path.read_text())
            holder = cfg["text_config"] if "vocab_size" not in cfg and isinstance(
                cfg.get("text_config"), dict) else cfg  # fmt: skip
            holder["vocab_size"] = self.size
            write_bytes(cfg_path, (json.dumps(cfg, indent=2) + "\n").encode("utf-8"))
        return {"source": self.source, "vocab_size": self.size}


def build(config: Any, folders: list[Path], base: int | None) -> Vocabulary:
    """The output's tokenizer for `config.tokenizer_source` over the merge's inputs (`folders`,
    in order; `base`: the index of the one that is `base_model`), with each input's rows."""
    import torch

    from platypus.merge.references import model_folder, parse

    source = config.tokenizer_source
    if config.base_model is not None:
        ref = parse(config.base_model, "base_model")
        base_folder = model_folder(ref.model, "base_model", ref.revision, config.base_model)
    else:
        base_folder = folders[0]
    base_tok = _stripped(base_folder)
    toks: dict[Path, Any] = {base_folder.resolve(): base_tok}
    order = [(base_folder, base_tok)]
    for folder in folders:
        key = folder.resolve()
        if key in toks:
            continue
        try:
            toks[key] = _load(folder, "the model")
        except PlatypusError:  # as mergekit: taken to be the base's
            continue
        order.append((folder, toks[key]))
    if source == "union":
        tokenizer = _union(base_tok, order)
    else:
        ref = parse(source, "tokenizer_source")
        tokenizer = _load(model_folder(ref.model, "tokenizer_source", ref.revision, source),
                          "the model")  # fmt: skip
    vocab_out = tokenizer.get_vocab()
    rows = []
    for folder in folders:
        vocab = toks.get(folder.resolve(), base_tok).get_vocab()
        size = _vocab_size(folder) or len(vocab)
        r = torch.full((len(vocab_out),), -1, dtype=torch.long)
        for tok, new in vocab_out.items():
            old = vocab.get(tok)
            if old is None:
                continue
            if old >= size:
                raise PlatypusError(f"tokenizer_source: {folder}'s token {tok!r} has id {old}, "
                                    f"past its vocab_size {size}")  # fmt: skip
            r[new] = old
        rows.append(r)
    return Vocabulary(str(source), tokenizer, rows, base)
