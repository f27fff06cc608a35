"""Log-likelihood of continuations given a context, scoring each context once.

For a multiple-choice item every choice shares the context (few-shot prefix + question). The
context runs through the model once; its KV cache is repeated across the choices, and all
continuations are scored in one right-padded batch (padding after the real tokens cannot change
them under causal attention). Tokenisation follows lm-evaluation-harness: trailing spaces of the
context move to the continuation, the continuation is the tail of tok(context + continuation)
after len(tok(context)) tokens, no special tokens, and an empty context becomes the EOS token.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Score:
    logprob: float  # sum of the continuation's token log-probabilities
    greedy: bool  # every continuation token is the model's argmax


class LoglikScorer:
    def __init__(self, model, tokenizer, bf16: bool = False):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.bf16 = bf16
        # transformers renamed the forward argument `past_key_values` to `cache` (5.x).
        params = inspect.signature(model.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
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

    def score(self, context: str, continuations: Sequence[str]) -> list[Score]:
        pairs = [self.encode(context, c) for c in continuations]
        # Trailing-space handling can only change the context for all choices alike.
        ctx = pairs[0][0]
        conts = [c for _, c in pairs]
        if any(p[0] != ctx for p in pairs) or any(not c for c in conts):
            raise ValueError("continuations must be non-empty and share the context")
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with torch.inference_mode(), autocast:
            out = self.model(input_ids=torch.tensor([ctx]), use_cache=True)
            first = out.logits[0, -1].float().log_softmax(-1)
            rest: dict[int, torch.Tensor] = {}
            long = [i for i, c in enumerate(conts) if len(c) > 1]
            if long:
                cache = getattr(out, "cache", None)
                cache = out.past_key_values if cache is None else cache
                cache.batch_repeat_interleave(len(long))
                width = max(len(conts[i]) - 1 for i in long)
                inp = torch.full((len(long), width), self.pad_id, dtype=torch.long)
                for r, i in enumerate(long):
                    inp[r, : len(conts[i]) - 1] = torch.tensor(conts[i][:-1])
                mask = torch.ones((len(long), len(ctx) + width), dtype=torch.long)
                kwargs = {self.cache_arg: cache, "attention_mask": mask, "use_cache": True}
                logits = self.model(input_ids=inp, **kwargs).logits.float().log_softmax(-1)
                for r, i in enumerate(long):
                    rest[i] = logits[r, : len(conts[i]) - 1]
        scores = []
        for i, cont in enumerate(conts):
            lp = float(first[cont[0]])
            greedy = int(first.argmax()) == cont[0]
            if i in rest:
                target = torch.tensor(cont[1:])
                lp += float(rest[i].gather(1, target[:, None]).sum())
                greedy = greedy and bool((rest[i].argmax(-1) == target).all())
            scores.append(Score(lp, greedy))
        return scores


def naive_scores(
    model, scorer: LoglikScorer, context: str, continuations: Sequence[str]
) -> list[Score]:
    """Reference: each choice as its own full forward pass (what the cache reuse must equal)."""
    out = []
    for cont in continuations:
        ctx, c = scorer.encode(context, cont)
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ctx + c])).logits[0].float().log_softmax(-1)
        pos = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(c))
        target = torch.tensor(c)
        lp = float(logits[pos].gather(1, target[:, None]).sum())
        out.append(Score(lp, bool((logits[pos].argmax(-1) == target).all())))
    return out
