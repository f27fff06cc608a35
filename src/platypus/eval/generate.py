"""Greedy generation for generative tasks (GSM8K), batched, through transformers' `generate`.

Contexts are tokenised as the harness tokenises them (no special tokens, the last
`max_length - max_new_tokens` tokens kept), left-padded into batches of similar length, and
decoded greedily. A row stops at its end tokens or, where the stop strings are searched in the
text (lm-eval 0.4), at the first stop string (transformers' `stop_strings`); the decoded
continuation is then cut at the first occurrence of each stop string in turn, as both harnesses
cut it. Log-probabilities are not needed here, so the model's own dtype and autocast apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import torch

from platypus.eval.protocols import Generation


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

    def generate(self, contexts: Sequence[str], rules: Generation) -> list[str]:
        """The greedy continuation of each context, cut at the stop strings; in input order."""
        limit = self._max_context(rules)
        encoded = []
        for c in contexts:
            ids = self.tokenizer(c, add_special_tokens=False).input_ids
            encoded.append(ids[-limit:] if limit else ids)
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
            autocast = (
                torch.autocast(self.device.type, dtype=torch.bfloat16)
                if self.bf16
                else nullcontext()
            )
            with torch.inference_mode(), autocast:
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
