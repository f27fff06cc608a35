"""An optional second opinion from a local causal LM on uncertain pairs.

The model reads both questions and is asked whether they are the same question; its judgement
is P("Yes") / (P("Yes") + P("No")) for the next token (through the chat template when the
tokenizer has one). Pairs it calls the same are upgraded to duplicate, with the probability
recorded. The packaged SmolLM2-135M is too small to judge this (it gives P(Yes) of 0.2-0.4 to
identical and unrelated questions alike): point `judge_model` at a larger instruct model.
"""

from __future__ import annotations

from collections.abc import Sequence

PROMPT = (
    "Question 1: {a}\nQuestion 2: {b}\n\n"
    "Do Question 1 and Question 2 ask exactly the same thing? Reply with Yes or No."
)


class Judge:
    def __init__(self, model_name: str | None = None, max_chars: int = 1500):
        from platypus.models import load_causal_lm

        self.model, self.tokenizer = load_causal_lm(model_name)
        self.max_chars = max_chars
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        space = "" if self.chat else " "  # after "Answer:" the word comes with its space
        self.yes = self.tokenizer(space + "Yes", add_special_tokens=False).input_ids[0]
        self.no = self.tokenizer(space + "No", add_special_tokens=False).input_ids[0]

    def _ids(self, prompt: str):
        if self.chat:
            ids = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True,
                return_tensors="pt", return_dict=True,
            )  # fmt: skip
            return ids["input_ids"]
        return self.tokenizer(prompt + "\nAnswer:", return_tensors="pt").input_ids

    def same_question(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(Yes) / (P(Yes) + P(No)) for each (text, text) pair."""
        import torch

        out = []
        for a, b in pairs:
            ids = self._ids(PROMPT.format(a=a[: self.max_chars], b=b[: self.max_chars]))
            with torch.inference_mode():
                logits = self.model(ids).logits[0, -1]
            pair = torch.stack([logits[self.yes], logits[self.no]]).float().softmax(0)
            out.append(float(pair[0]))
        return out
