"""A tensor merge of whole models (`TensorMerge.run` without slices): the inputs opened (hub ids
through the hub cache, stage folders, MODEL+ADAPTER read as W + delta), checked to hold the same
tensors in the same shapes, then merged one tensor at a time: each read from every input (the
next small one read while this one merges), merged by the method, cast and written before the
next, so peak memory is about one large tensor per input. The inputs' SHA-256 for the card are
taken on a thread of their own meanwhile."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from platypus.errors import PlatypusError

if TYPE_CHECKING:
    from platypus.merge.config import MergeConfig
    from platypus.merge.methods.base import TensorMerge

# A tensor of at most this many bytes is read while the one before it merges: the reads of a
# model's many layer tensors overlap the arithmetic, and the few large ones (embeddings) are
# read alone, so peak memory stays about one large tensor per input.
PREFETCH_BYTES = 64 << 20


def merge_models(method: TensorMerge, config: MergeConfig, out: Path) -> tuple[Path, dict]:
    from platypus.merge.folders import out_dtype, prepare_output, weight_hashes
    from platypus.merge.references import open_model
    from platypus.merge.tensor_writer import StreamWriter
    from platypus.merge.tensors import TensorInfo

    base = open_model(config.base_model, "base_model") if method.reads_base(config) else None
    inputs = [open_model(m.model, "models") for m in config.models]
    layout = base or inputs[0]
    vocab = _vocabulary(config, base, inputs)
    _check_same_tensors(([base] if base else []) + inputs, layout, vocab)
    prepare_output(out)
    entries = [
        TensorInfo(n, out_dtype(config.dtype, i), vocab.shape(n, i.shape) if vocab else i.shape)
        for n, i in layout.info.items()
    ]
    hashing = ThreadPoolExecutor(1, thread_name_prefix="sha256")
    base_hash = hashing.submit(weight_hashes, base.folder, base) if base else None
    hashes = [hashing.submit(weight_hashes, c.folder, c) for c in inputs]
    writer = StreamWriter(out, entries, config.max_shard_bytes)
    _stream(method, config, entries, base, inputs, layout, vocab, writer)
    writer.close()
    hashing.shutdown()
    card = {
        "inputs": _card_inputs(method, config, base, base_hash, inputs, hashes),
        "output": writer.digests,
    }
    if vocab:  # saved by platypus.merge.run once the side files are copied
        card["tokenizer"] = vocab
    return layout.folder, card


def _vocabulary(config: MergeConfig, base, inputs):
    """With `tokenizer_source` union or a model: the merged vocabulary, by which the embedding
    and output rows are permuted; None otherwise."""
    if getattr(config, "tokenizer_source", None) in (None, "base"):
        return None
    from platypus.merge.tokenizers import build

    at = len(inputs) if base else next((i for i, m in enumerate(config.models)
                                        if m.model == config.base_model), None)  # fmt: skip
    return build(config, [c.folder for c in inputs + ([base] if base else [])], at)


def _check_same_tensors(checkpoints: list, layout, vocab) -> None:
    """Every input holds the layout model's tensors in its shapes (the vocabulary's rows aside,
    where the merged vocabulary covers them)."""
    for ckpt in checkpoints:
        if ckpt.info.keys() != layout.info.keys():
            diff = sorted(set(ckpt.info) ^ set(layout.info))
            raise PlatypusError(
                f"{ckpt.folder} and {layout.folder} differ in tensors, e.g. {diff[0]}"
            )
        bad = [n for n, i in ckpt.info.items() if i.shape != layout.info[n].shape
               and not (vocab and vocab.covers(n))]  # fmt: skip
        if bad:
            raise PlatypusError(
                f"{ckpt.folder}: {bad[0]} has shape {ckpt.info[bad[0]].shape}, "
                f"{layout.folder} has {layout.info[bad[0]].shape}"
            )


def _stream(method, config, entries, base, inputs, layout, vocab, writer) -> None:
    """Each tensor merged and written in turn, the next small one read meanwhile."""
    from platypus.merge.methods.base import checked_merge, num_layers
    from platypus.merge.parameters import layer_fraction
    from platypus.progress import progress

    def read(e):
        return [c.get(e.name) for c in inputs], base.get(e.name) if base else None

    reader = ThreadPoolExecutor(1, thread_name_prefix="read")
    layers = num_layers(layout.folder, layout.info)
    ahead = None  # the next entry's inputs, read while this one merges (small ones only)
    for k, e in enumerate(
        progress(entries, desc=f"merge ({method.name})", unit=" tensors", disable=None)
    ):
        tensors, base_t = ahead.result() if ahead is not None else read(e)
        following = entries[k + 1] if k + 1 < len(entries) else None
        ahead = (
            reader.submit(read, following)
            if following is not None and following.nbytes <= PREFETCH_BYTES
            else None
        )
        if vocab and vocab.covers(e.name):
            tensors = vocab.permute(e.name, tensors + ([base_t] if base else []))
            tensors, base_t = tensors[: len(inputs)], tensors[-1] if base else None
        if not tensors[0].is_floating_point():
            merged = layout.get(e.name)
        else:
            settings = method.settings(config, e.name, layer_fraction(e.name, layers))
            merged = checked_merge(
                e.name, method.merge_tensor(e.name, base_t, tensors, settings), e.dtype
            )
        writer.write(e.name, merged.to(e.dtype))
    reader.shutdown()


def _card_inputs(method, config, base, base_hash, inputs, hashes) -> list[dict]:
    """The card's inputs: the base (where read) and each model, with its parameters and the
    SHA-256 of its weights."""
    from platypus.merge.references import describe

    rows = []
    if base:
        rows.append({"role": "base", "path": str(base.folder), **describe(base),
                     "sha256": base_hash.result()})  # fmt: skip
    for m, c, h in zip(config.models, inputs, hashes, strict=True):
        rows.append({"role": "model", "path": str(c.folder), **describe(c),
                     **method.model_parameters(config, m), "sha256": h.result()})  # fmt: skip
    return rows
