"""Greedy generation for generative tasks (GSM8K, MATH Lvl 5, IFEval), batched continuously.

Contexts are tokenised as the harness tokenises them (no special tokens, the last
`max_length - max_new_tokens` tokens kept) and decoded greedily. A row stops at its end tokens or,
where the stop strings are searched in the text (lm-eval 0.4), once a stop string appears in its
decoded tokens (as lm-eval's stopping criterion decodes them, special tokens shown); the decoded
continuation is then cut at the first occurrence of each stop string in turn, as both harnesses
cut it. Log-probabilities are not needed here, so the model's own dtype and autocast apply.

Why not `model.generate` on fixed batches (kept as the fallback, `_generate_fixed`): a GSM8K
completion is ~50 tokens of a 256-token budget, and a fixed batch runs until its slowest row
stops, so most of a batch's decode steps are spent on finished rows; its cache grows by
concatenation, copying every layer's keys and values at every step. Here each context's prompt
runs alone (no padding, exactly the single-row forward the harness runs at batch size 1) and
then joins a decode batch of up to `batch_size` rows, whose cache is one preallocated buffer per
layer: every row writes its next column in place, right-aligned at a shared width (shorter rows
left-padded and masked, positions counted per row). A finished row leaves at once and the next
context takes its place. Decoding one token for eight rows costs about twice one row's step on
a CPU (the weights are read once per step), which is where the speed comes from
(`benchmarks/generation.py`). Models whose cache is not a plain per-layer key/value cache
(sliding-window or recurrent layers) take the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer

from platypus.eval.loglik import bf16_autocast, cache_argument
from platypus.eval.protocols import Generation

# How many trailing tokens are decoded to look for a stop string the newest token may have
# completed (every token here is at least one character; stop strings are a few).
_STOP_LOOKBACK = 16
# The decode buffers' columns beyond the longest possible row (at least): fewer means less
# memory and more frequent realignments (each a copy of the live rows' caches).
_MARGIN = 64


class _BufferLayer(DynamicLayer):
    """One layer's keys and values for the decode batch: a preallocated buffer [rows, kv heads,
    capacity, head dim] written in place at the batch's current width (transformers'
    `DynamicLayer` concatenates, a full copy per step); `keys`/`values` are views of the live
    rows' filled columns, as the attention expects them."""

    def __init__(self, batch: _DecodeBatch, keys: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.batch = batch
        self.kbuf, self.vbuf = keys, values
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        n, w, q = self.batch.count, self.batch.width, key_states.shape[-2]
        self.kbuf[:n, :, w : w + q] = key_states
        self.vbuf[:n, :, w : w + q] = value_states
        self.keys = self.kbuf[:n, :, : w + q]
        self.values = self.vbuf[:n, :, : w + q]
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.batch.width

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.batch.width + query_length, 0


@dataclass
class _Row:
    index: int  # the context's position in the input
    position: int  # tokens in the cache, and so the next token's position id
    tokens: list[int]  # generated so far; the last one is the next input


class _DecodeBatch:
    """The rows being decoded together: the first `count` of `rows` buffer rows, each row's
    cache right-aligned at column `width` (`mask` marks its real columns)."""

    def __init__(self, keys: list[torch.Tensor], rows: int, capacity: int):
        self.width = 0
        self.count = 0
        self.rows: list[_Row] = []
        device = keys[0].device
        self.mask = torch.zeros((rows, capacity), dtype=torch.long, device=device)
        layers = []
        for k in keys:
            shape = (rows, k.shape[1], capacity, k.shape[3])
            layers.append(
                _BufferLayer(
                    self,
                    torch.zeros(shape, dtype=k.dtype, device=device),
                    torch.zeros(shape, dtype=k.dtype, device=device),
                )
            )
        self.cache = Cache(layers=layers)
        self.layers = layers

    def longest(self) -> int:
        return max((r.position for r in self.rows), default=0)

    def realign(self, width: int) -> None:
        """Move every row so that its cache ends at `width` (`width` >= the longest row): done
        when the buffers are full, and before a prompt longer than the width joins."""
        n, length, w = self.count, self.longest(), self.width
        if n and width != w:
            src, dst = slice(w - length, w), slice(width - length, width)
            for layer in self.layers:
                layer.kbuf[:n, :, dst] = layer.kbuf[:n, :, src].clone()
                layer.vbuf[:n, :, dst] = layer.vbuf[:n, :, src].clone()
            self.mask[:n, dst] = self.mask[:n, src].clone()
            self.mask[:n, : width - length] = 0
        self.width = width

    def add(self, row: _Row, keys: list[torch.Tensor], values: list[torch.Tensor]) -> None:
        """A prompt's cache (one [1, heads, n, dim] pair per layer) as the next row; the width
        must be at least its length."""
        r, n, w = self.count, row.position, self.width
        for layer, k, v in zip(self.layers, keys, values, strict=True):
            layer.kbuf[r, :, w - n : w] = k[0]
            layer.vbuf[r, :, w - n : w] = v[0]
        self.mask[r] = 0
        self.mask[r, w - n : w] = 1
        self.rows.append(row)
        self.count += 1

    def remove(self, r: int) -> None:
        """Row `r` leaves; the last row moves into its place."""
        last, w = self.count - 1, self.width
        if r != last:
            for layer in self.layers:
                layer.kbuf[r, :, :w] = layer.kbuf[last, :, :w]
                layer.vbuf[r, :, :w] = layer.vbuf[last, :, :w]
            self.mask[r] = self.mask[last]
            self.rows[r] = self.rows[last]
        self.rows.pop()
        self.count -= 1


class Generator:
    def __init__(self, model, tokenizer, device, bf16: bool = False, batch_size: int = 8):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.bf16 = bf16
        self.batch_size = batch_size
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.cache_arg = cache_argument(model)

    @classmethod
    def like(cls, scorer) -> Generator:
        """A generator on the same model, device and precision as a `LoglikScorer`."""
        return cls(scorer.model, scorer.tokenizer, scorer.device, scorer.bf16, scorer.batch_size)

    def _max_context(self, rules: Generation) -> int | None:
        config = getattr(self.model, "config", None)
        limit = getattr(config, "max_position_embeddings", None)
        return None if limit is None else limit - rules.max_new_tokens

    def _end_ids(self, rules: Generation) -> list[int]:
        if rules.until_is_eos:
            # b281b09: the first stop string, which must be one token, is the only end token.
            ids = self.tokenizer(rules.until[0], add_special_tokens=False).input_ids
            if len(ids) != 1:
                raise ValueError(f"stop string {rules.until[0]!r} is {len(ids)} tokens, not one")
            return ids
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        return list(eos) if isinstance(eos, list | tuple) else [eos]

    def _autocast(self):
        return bf16_autocast(self.device, self.bf16)

    def _prompt_cache(self) -> DynamicCache | None:
        """A fresh cache for one prompt, or None where the model's layers are not all plain
        key/value layers (which the decode batch's buffers cannot stand for)."""
        try:
            cache = DynamicCache(config=self.model.config)
        except Exception:  # noqa: BLE001 - a config transformers cannot lay out: the fallback
            return None
        if not cache.layers or any(type(layer) is not DynamicLayer for layer in cache.layers):
            return None
        return cache

    def generate(
        self,
        contexts: Sequence[str],
        rules: Generation,
        done: Callable[[int], None] | None = None,
    ) -> list[str]:
        """The greedy continuation of each context, cut at the stop strings; in input order.
        `done(n)` is told as n more contexts are finished (progress)."""
        limit = self._max_context(rules)
        encoded = []
        for c in contexts:
            ids = self.tokenizer(c, add_special_tokens=False).input_ids
            encoded.append(ids[-limit:] if limit else ids)
        if not encoded:
            return []
        if self._prompt_cache() is None:
            return self._generate_fixed(encoded, rules, done)
        return self._generate_continuous(encoded, rules, done)

    def _prompt(self, ids: list[int]):
        """One prompt alone: its cache's keys and values per layer, and its first greedy token."""
        cache = self._prompt_cache()
        with torch.inference_mode(), self._autocast():
            out = self.model(
                input_ids=torch.tensor([ids], device=self.device),
                use_cache=True,
                logits_to_keep=1,
                **{self.cache_arg: cache},
            )
        first = int(out.logits[0, -1].float().argmax())
        keys = [layer.keys for layer in cache.layers]
        return keys, [layer.values for layer in cache.layers], first

    def _step(self, batch: _DecodeBatch) -> None:
        """One greedy token for every row of the batch."""
        n, w = batch.count, batch.width
        ids = torch.tensor([[r.tokens[-1]] for r in batch.rows], device=self.device)
        positions = torch.tensor([[r.position] for r in batch.rows], device=self.device)
        batch.mask[:n, w] = 1
        with torch.inference_mode(), self._autocast():
            out = self.model(
                input_ids=ids,
                attention_mask=batch.mask[:n, : w + 1],
                position_ids=positions,
                use_cache=True,
                **{self.cache_arg: batch.cache},
            )
        batch.width += 1
        for row, token in zip(batch.rows, out.logits[:, -1].float().argmax(-1).tolist(),
                              strict=True):  # fmt: skip
            row.position += 1
            row.tokens.append(token)

    def _finished(self, row: _Row, end_ids: set[int], stops: tuple[str, ...], most: int) -> bool:
        if row.tokens[-1] in end_ids or len(row.tokens) >= most:
            return True
        if not stops:
            return False
        # As lm-eval's stopping criterion decodes: special tokens shown. A stop string the
        # newest token completed lies within the last few tokens.
        tail = self.tokenizer.decode(row.tokens[-_STOP_LOOKBACK:], skip_special_tokens=False)
        return any(s in tail for s in stops)

    def _generate_continuous(self, encoded, rules: Generation, done) -> list[str]:
        end_list = self._end_ids(rules)
        end_ids, most = set(end_list), rules.max_new_tokens
        # b281b09 stops at its end token alone; lm-eval 0.4 also at each stop string in the text.
        stops = () if rules.until_is_eos else tuple(s for s in rules.until if s)
        # Longest first: a joining prompt is then seldom longer than the batch's width.
        waiting = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), -i))
        # Room for the longest row plus a margin: when the width reaches the capacity, the
        # rows are moved back to the start (`realign`), at least the margin's steps apart.
        capacity = len(encoded[waiting[-1]]) + most + max(_MARGIN, most // 4)
        out: list[str | None] = [None] * len(encoded)
        batch: _DecodeBatch | None = None

        def finish(row: _Row) -> None:
            out[row.index] = self._decode(row.tokens, end_list, rules)
            if done is not None:
                done(1)

        while waiting or (batch is not None and batch.count):
            while waiting and (batch is None or batch.count < self.batch_size):
                i = waiting.pop()
                keys, values, first = self._prompt(encoded[i])
                row = _Row(i, len(encoded[i]), [first])
                if self._finished(row, end_ids, stops, most):
                    finish(row)
                    continue
                if batch is None:
                    batch = _DecodeBatch(keys, min(self.batch_size, len(encoded)), capacity)
                if batch.width < row.position:  # full buffers are realigned before the step
                    batch.realign(max(row.position, batch.longest()))
                batch.add(row, keys, values)
            if batch is None or not batch.count:
                continue
            if batch.width >= capacity:
                batch.realign(batch.longest())
            self._step(batch)
            for r in reversed(range(batch.count)):
                if self._finished(batch.rows[r], end_ids, stops, most):
                    finish(batch.rows[r])
                    batch.remove(r)
        return out  # type: ignore[return-value]

    def _generate_fixed(self, encoded, rules: Generation, done) -> list[str]:
        """transformers' `generate` on fixed batches of similar length, left-padded: for models
        whose cache the decode batch cannot hold."""
        end_ids = self._end_ids(rules)
        order = sorted(range(len(encoded)), key=lambda i: (-len(encoded[i]), i))
        out: list[str | None] = [None] * len(encoded)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, i in enumerate(batch):
                n = len(encoded[i])
                ids[r, width - n :] = torch.tensor(encoded[i])
                mask[r, width - n :] = 1
            kwargs = {}
            # No stop strings (IFEval): the end tokens alone stop a row; transformers refuses
            # an empty `stop_strings`.
            if not rules.until_is_eos and rules.until:
                kwargs = {"stop_strings": list(rules.until), "tokenizer": self.tokenizer}
            with torch.inference_mode(), self._autocast():
                generated = self.model.generate(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    max_new_tokens=rules.max_new_tokens,
                    do_sample=False,
                    eos_token_id=end_ids,
                    pad_token_id=self.pad_id,
                    **kwargs,
                )
            for r, i in enumerate(batch):
                out[i] = self._decode(generated[r, width:].tolist(), end_ids, rules)
            if done is not None:
                done(len(batch))
        return out  # type: ignore[return-value]

    def _decode(self, tokens: list[int], end_ids: list[int], rules: Generation) -> str:
        # Whatever follows the first end token is padding of a finished row.
        for n, t in enumerate(tokens):
            if t in end_ids:
                tokens = tokens[: n + 1]
                break
        text = self.tokenizer.decode(tokens, skip_special_tokens=rules.skip_special)
        for stop in rules.until:
            text = text.split(stop)[0]
        return text
