"""Records -> token ids with a response mask: the prompt is context, the response is learned.

The prompt format (`template.FORMATS`) gives prompt and response tokens separately, so the
boundary between them is exact.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from platypus.data.record import Record
from platypus.progress import progress
from platypus.train.template import FORMATS


@dataclass(frozen=True)
class Example:
    id: str
    ids: list[int]
    prompt_len: int  # tokens before the response; only ids[prompt_len:] carry loss

    @property
    def response_tokens(self) -> int:
        return len(self.ids) - self.prompt_len


def tokenize(
    records: list[Record],
    tokenizer,
    max_length: int,
    overlong: str = "truncate",
    prompt_format: str = "alpaca",
) -> tuple[list[Example], Counter]:
    """Examples plus counts of what happened to rows over `max_length` tokens.

    truncate: cut the response's tail (rows whose prompt alone fills `max_length` are skipped,
    as nothing would be learned from them); skip: leave over-long rows out. Either way every row
    is accounted for in the counts.
    """
    fmt = FORMATS[prompt_format]
    fmt.check(tokenizer)
    counts: Counter = Counter()
    out = []
    for rec in progress(records, desc="tokenize", unit=" rows", disable=None):
        prompt, response = fmt.split(rec, tokenizer)
        ids = prompt + response
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
