"""Log-likelihood of continuations given a context, scoring each shared token once.

For a multiple-choice item every choice shares the context (few-shot prefix + question). The
context runs through the model once; its KV cache is repeated across the choices, and all
continuations are scored in one right-padded batch (padding after the real tokens cannot change
them under causal attention). A group of items may also share a token prefix (MMLU's 5 examples
for a subject, TruthfulQA's preamble): it runs once and its cache seeds every item of the group.
Items whose choices are single tokens (MMLU's " A".." D") need only the context's last logits,
so their context suffixes run length-sorted in batches.

Tokenisation follows lm-evaluation-harness: trailing spaces of the context move to the
continuation, the continuation is the tail of tok(context + continuation) after len(tok(context))
tokens, no special tokens, and an empty context becomes the EOS token. Shared prefixes are found
on these token ids, so the tokens scored are exactly the harness's.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

MIN_PREFIX = 16  # shorter shared prefixes are not worth a cache copy


@dataclass(frozen=True)
class Score:
    logprob: float  # sum of the continuation's token log-probabilities
    greedy: bool  # every continuation token is the model's argmax


@dataclass
class Prefix:
    """Token ids shared by a group of contexts and their KV cache (batch 1)."""

    ids: list[int]
    cache: object


class LoglikScorer:
    """Scores on the model's device (`device`: where inputs go; None: where the model's input
    embeddings are). `bf16`: autocast to bf16 on that device type; bf16/fp16 weights need no
    autocast. Log-probabilities are always taken in fp32."""

    def __init__(self, model, tokenizer, bf16: bool = False, batch_size: int = 8, device=None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.bf16 = bf16
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else input_device(model)
        self.cache_arg = cache_argument(model)
        # Logits only where they are read: a context's last position (not its ~1,000), a
        # batch's last real positions. The LM head over every position of a 25-shot context
        # was a fifth of the forward's FLOPs (576 x 49,152 per position for SmolLM2).
        self.keep_arg = logits_argument(model)
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0

    def _tok(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def encode(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        if not context:
            return [self.tokenizer.eos_token_id], self._tok(continuation)
        ctx = self._tok(context)
        return ctx, self._tok(context + continuation)[len(ctx) :]

    def _encode_item(self, context: str, continuations: Sequence[str]):
        pairs = [self.encode(context, c) for c in continuations]
        # Trailing-space handling can only change the context for all choices alike.
        ctx = pairs[0][0]
        conts = [c for _, c in pairs]
        if any(p[0] != ctx for p in pairs) or any(not c for c in conts):
            raise ValueError("continuations must be non-empty and share the context")
        return ctx, conts

    def _autocast(self):
        return bf16_autocast(self.device, self.bf16)

    def _tensor(self, ids) -> torch.Tensor:
        return torch.tensor(ids, device=self.device)

    def _forward(self, ids: torch.Tensor, cache=None, mask: torch.Tensor | None = None, keep=None):
        """(logits, cache) of `ids` after `cache`; `keep`: the positions whose logits are
        wanted (an int n: the last n; a 1-D tensor of indices; None: all), as the model's
        `logits_to_keep` computes only those where it has one (else all are computed and the
        kept ones taken here), so the logits' positions are always `keep`'s."""
        kwargs = {"use_cache": True}
        # (the older `num_logits_to_keep` takes a count only)
        passed = keep is not None and (
            self.keep_arg == "logits_to_keep" or (self.keep_arg and isinstance(keep, int))
        )
        if passed:
            kwargs[self.keep_arg] = keep
        if cache is not None:
            kwargs[self.cache_arg] = cache
        if mask is not None:
            kwargs["attention_mask"] = mask
        out = self.model(input_ids=ids, **kwargs)
        new_cache = getattr(out, "cache", None)
        logits = out.logits
        if keep is not None and not passed:
            logits = logits[:, -keep:] if isinstance(keep, int) else logits[:, keep]
        return logits, (out.past_key_values if new_cache is None else new_cache)

    def prefix(self, contexts: Sequence[str]) -> Prefix | None:
        """Run the token prefix shared by all `contexts` once; None when it is too short."""
        encoded = [self.encode(c, "x")[0] for c in contexts]
        if not encoded:
            return None
        # Each context's last token must still run per item: it predicts the continuation.
        limit = min(len(e) for e in encoded) - 1
        first = encoded[0]
        n = 0
        while n < limit and all(e[n] == first[n] for e in encoded):
            n += 1
        if n < MIN_PREFIX:
            return None
        with torch.inference_mode(), self._autocast():
            _, cache = self._forward(self._tensor([first[:n]]), keep=1)
        return Prefix(first[:n], cache)

    def _start(self, ctx: list[int], prefix: Prefix | None):
        """(tokens still to run, cache to run them on) for one context."""
        if prefix is not None and ctx[: len(prefix.ids)] == prefix.ids:
            return ctx[len(prefix.ids) :], copy.deepcopy(prefix.cache)
        return ctx, None

    def score(
        self, context: str, continuations: Sequence[str], prefix: Prefix | None = None
    ) -> list[Score]:
        return self._score_encoded(*self._encode_item(context, continuations), prefix)

    def _score_encoded(
        self, ctx: list[int], conts: list[list[int]], prefix: Prefix | None
    ) -> list[Score]:
        todo, cache = self._start(ctx, prefix)
        with torch.inference_mode(), self._autocast():
            logits, cache = self._forward(self._tensor([todo]), cache, keep=1)
            first = logits[0, -1].float().log_softmax(-1)
            rest: dict[int, torch.Tensor] = {}
            long = [i for i, c in enumerate(conts) if len(c) > 1]
            if long:
                cache.batch_repeat_interleave(len(long))
                width = max(len(conts[i]) - 1 for i in long)
                inp = torch.full((len(long), width), self.pad_id, dtype=torch.long)
                for r, i in enumerate(long):
                    inp[r, : len(conts[i]) - 1] = torch.tensor(conts[i][:-1])
                mask = torch.ones((len(long), len(ctx) + width), dtype=torch.long)
                logits, _ = self._forward(inp.to(self.device), cache, mask.to(self.device))
                logits = logits.float().log_softmax(-1)
                for r, i in enumerate(long):
                    rest[i] = logits[r, : len(conts[i]) - 1]
        return [_score(first, rest.get(i), cont) for i, cont in enumerate(conts)]

    def score_many(
        self, requests: Sequence[tuple[str, Sequence[str]]], prefix: Prefix | None = None
    ) -> list[list[Score]]:
        """Score many (context, continuations) items; results in request order.

        Items whose continuations are all one token (MMLU's letters), and items with a single
        continuation of any length (Winogrande's partial sentence), run in length-sorted
        batches of `batch_size` rows: the context's suffix, then all but the last token of a
        single continuation, right-padded (padding after the real tokens cannot change them
        under causal attention); the rest run one item at a time.
        """
        encoded = [self._encode_item(c, conts) for c, conts in requests]
        results: list[list[Score] | None] = [None] * len(requests)
        shared = prefix.ids if prefix is not None else []
        batched = [
            i
            for i, (ctx, conts) in enumerate(encoded)
            if (all(len(c) == 1 for c in conts) or len(conts) == 1) and ctx[: len(shared)] == shared
        ]
        for i in sorted(set(range(len(requests))) - set(batched)):
            results[i] = self._score_encoded(*encoded[i], prefix)
        todo = {i: encoded[i][0][len(shared) :] for i in batched}
        # a single continuation's tokens but its last are inputs too
        tail = {i: encoded[i][1][0][:-1] if len(encoded[i][1]) == 1 else [] for i in batched}
        batched.sort(key=lambda i: (-len(todo[i]) - len(tail[i]), i))
        for start in range(0, len(batched), self.batch_size):
            batch = batched[start : start + self.batch_size]
            width = max(len(todo[i]) + len(tail[i]) for i in batch)
            inp = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            for r, i in enumerate(batch):
                inp[r, : len(todo[i]) + len(tail[i])] = torch.tensor(todo[i] + tail[i])
            cache, mask = None, None
            if prefix is not None:
                cache = copy.deepcopy(prefix.cache)
                cache.batch_repeat_interleave(len(batch))
                mask = torch.ones((len(batch), len(prefix.ids) + width), dtype=torch.long)
            if mask is not None:
                mask = mask.to(self.device)
            # the positions whose logits are read: a context's last, and a single
            # continuation's inputs
            read = {i: range(len(todo[i]) - 1, len(todo[i]) + len(tail[i])) for i in batch}
            ends = sorted({p for i in batch for p in read[i]})
            column = {end: c for c, end in enumerate(ends)}
            with torch.inference_mode(), self._autocast():
                keep = torch.tensor(ends, device=self.device)
                logits, _ = self._forward(inp.to(self.device), cache, mask, keep)
            for r, i in enumerate(batch):
                rows = logits[r, [column[p] for p in read[i]]].float().log_softmax(-1)
                rest = rows[1:] if len(rows) > 1 else None
                results[i] = [_score(rows[0], rest, c) for c in encoded[i][1]]
        return results  # type: ignore[return-value]


def _score(first: torch.Tensor, rest: torch.Tensor | None, cont: list[int]) -> Score:
    lp = float(first[cont[0]])
    greedy = int(first.argmax()) == cont[0]
    if rest is not None:
        target = torch.tensor(cont[1:], device=rest.device)
        lp += float(rest.gather(1, target[:, None]).sum())
        greedy = greedy and bool((rest.argmax(-1) == target).all())
    return Score(lp, greedy)


def _forward_parameters(model):
    """The parameters of the model's own forward (under PEFT, the base model's)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inspect.signature(base.forward).parameters


def cache_argument(model) -> str:
    """The name of the model's forward argument for a KV cache: transformers renamed
    `past_key_values` to `cache` (5.x)."""
    return "cache" if "cache" in _forward_parameters(model) else "past_key_values"


def logits_argument(model) -> str | None:
    """The name of the model's forward argument that limits the positions logits are computed
    for (`logits_to_keep`; `num_logits_to_keep` before transformers 4.50), or None."""
    params = _forward_parameters(model)
    return next((n for n in ("logits_to_keep", "num_logits_to_keep") if n in params), None)


def bf16_autocast(device: torch.device, enabled: bool):
    """bf16 autocast on the device's type where enabled, else nothing."""
    if not enabled:
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def input_device(model) -> torch.device:
    """Where a model's input ids go: its input embeddings' device (for a model that accelerate
    spread over devices, the device map's entry for them)."""
    device_map = getattr(model, "hf_device_map", None)
    if device_map:
        first = next(iter(device_map.values()))
        if isinstance(first, int):
            return torch.device("cuda", first)
        return torch.device("cpu" if first == "disk" else first)
    try:
        weight = model.get_input_embeddings().weight
    except (AttributeError, NotImplementedError):
        return torch.device("cpu")
    return torch.device("cpu") if weight.device.type == "meta" else weight.device


def naive_scores(
    model, scorer: LoglikScorer, context: str, continuations: Sequence[str]
) -> list[Score]:
    """Reference: each choice as its own full forward pass (what the cache reuse must equal)."""
    out = []
    for cont in continuations:
        ctx, c = scorer.encode(context, cont)
        ids = torch.tensor([ctx + c], device=scorer.device)
        with torch.inference_mode():
            logits = model(input_ids=ids).logits[0].float().log_softmax(-1)
        pos = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(c), device=logits.device)
        target = torch.tensor(c, device=logits.device)
        lp = float(logits[pos].gather(1, target[:, None]).sum())
        out.append(Score(lp, bool((logits[pos].argmax(-1) == target).all())))
    return out
