"""Model-side evidence: Min-K% Prob (Shi et al. 2023, "Detecting Pretraining Data from Large
Language Models") of benchmark items under a fine-tuned model against its base.

Min-K% Prob of a text is the mean log-probability of its k% least likely tokens: a text a model
has trained on has fewer very unlikely tokens. Its absolute value depends on the text, so an item
is scored under the fine-tuned model (base + LoRA adapter) and under the base alone; a positive
difference says fine-tuning made the item's surprising tokens less surprising, which is what
training on it (or on a rephrasing of it) does. The difference is reported beside the data-side
categories, with the same difference on unflagged items of the same benchmarks as the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from platypus.errors import PlatypusError
from platypus.tasks.schema import TaskItem


def item_text(item: TaskItem) -> str:
    """What a training row holding the item would hold: the question and its answer."""
    return f"{item.question} {item.gold_text}".strip()


def min_k_prob(
    model, tokenizer, texts: Sequence[str], k: float = 0.2, max_tokens=512
) -> list[float]:
    """Mean log-probability of the ceil(k * n) least likely of each text's n predicted tokens."""
    import torch

    device = next(model.parameters()).device
    out = []
    for text in texts:
        ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens)
        ids = ids.input_ids.to(device)
        if ids.shape[1] < 2:
            out.append(float("nan"))
            continue
        with torch.inference_mode():
            logits = model(ids).logits[0, :-1].float()
        logp = logits.log_softmax(-1).gather(1, ids[0, 1:, None])[:, 0]
        lowest = logp.topk(max(1, math.ceil(k * len(logp))), largest=False).values
        out.append(float(lowest.mean()))
    return out


class MinKScorer:
    """A base model and a LoRA adapter on it: scores under both from one copy of the weights."""

    def __init__(
        self, base: str | None, adapter: str, k: float = 0.2, trust_remote_code: bool = False
    ):
        from peft import PeftModel

        from platypus.merge.adapter_files import check_adapter_folder
        from platypus.models import load_causal_lm

        model, self.tokenizer = load_causal_lm(base, trust_remote_code=trust_remote_code)
        check_adapter_folder(adapter)  # one line for a crafted config or weights header
        try:
            self.model = PeftModel.from_pretrained(model, adapter).eval()
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PlatypusError(f"min_k_adapter {adapter}: could not apply it ({first})") from None
        self.k = k

    def deltas(self, texts: Sequence[str]) -> list[float]:
        """Min-K% Prob under the fine-tuned model minus under its base, per text."""
        tuned = min_k_prob(self.model, self.tokenizer, texts, self.k)
        with self.model.disable_adapter():
            base = min_k_prob(self.model, self.tokenizer, texts, self.k)
        return [t - b for t, b in zip(tuned, base, strict=True)]
