"""Records -> token ids with a response mask: the prompt is context, the response is learned.

Prompt and response are tokenised separately (prompt with the tokenizer's special tokens, e.g.
a BOS; response without) and EOS is appended, so the boundary between them is exact.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tqdm import tqdm

from platypus.data.record import Record
from platypus.errors import PlatypusError
from platypus.train.template import alpaca_prompt


@dataclass(frozen=True)
class Example:
    id: str
    ids: list[int]
    prompt_len: int  # tokens before the response; only ids[prompt_len:] carry loss

    @property
    def response_tokens(self) -> int:
        return len(self.ids) - self.prompt_len


def tokenize(
    records: list[Record], tokenizer, max_length: int, overlong: str = "truncate"
) -> tuple[list[Example], Counter]:
    """Examples plus counts of what happened to rows over `max_length` tokens.

    truncate: cut the response's tail (rows whose prompt alone fills `max_length` are skipped,
    as nothing would be learned from them); skip: leave over-long rows out. Either way every row
    is accounted for in the counts.
    """
    if tokenizer.eos_token_id is None:
        raise PlatypusError("the tokenizer has no EOS token: cannot mark the end of responses")
    counts: Counter = Counter()
    out = []
    for rec in tqdm(records, desc="tokenize", unit=" rows", disable=None):
        prompt = tokenizer(alpaca_prompt(rec.instruction, rec.input)).input_ids
        response = tokenizer(rec.output, add_special_tokens=False).input_ids
        ids = prompt + response + [tokenizer.eos_token_id]
        if len(ids) > max_length:
            if overlong == "skip":
                counts["skipped_overlong"] += 1
                continue
            if len(prompt) >= max_length:
                counts["skipped_prompt_too_long"] += 1
                continue
            ids = ids[:max_length]
            counts["truncated"] += 1
        counts["kept"] += 1
        out.append(Example(rec.id, ids, len(prompt)))
    return out, counts
