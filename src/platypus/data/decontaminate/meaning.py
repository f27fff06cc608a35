"""The meaning detector: a benchmark question retold in other words, answered in other words.

Lexical evidence (the gold option's words, its letter, its number) and the question's own
embedding miss a leak that keeps neither: "our town limits what exhaust cars may give off; what
good does that do?" -> "the air is kept less dirty" leaks ARC's "What is the most likely benefit
of emission limits?" -> "the air stays cleaner" at a question cosine near 0.4. What such a row
keeps is its meaning, question and answer together, so this detector compares meanings:

1. each training row's whole text (instruction, input, output: `compare.whole_text`) against
   each item's question with its gold answer, and takes the row's nearest item (`similarity`);
2. for that pair, the row's output against each of the item's options: the cosine to the gold
   option (`answer`) and how far it is ahead of the closest other option (`margin`).

A row whose nearest item is close enough and whose output is closest, by a margin, to the gold
option, says what the item says: `classify` calls it a duplicate (`Meaning.agrees`). A row on
the item's topic answering another question sits nearer some other option or none. The other
way round, a row whose output is closer to another option than to the gold, by a margin, answers
otherwise (`Meaning.answers_otherwise`: a converse question, a false option in other words),
as lexical evidence of another option says, and no similarity makes it a duplicate. Only items
whose options carry meaning are compared (`Task.options_carry_meaning`: not WinoGrande's names or
BBH's labels; and options in words, not numbers or formulas, which MiniLM reads as noise), and
only items with options: a numeric answer is the number detectors' to judge. Only an output of
up to `meaning_max_words` words is read as an answer: a worked solution's embedding is its steps.

Out of fp32 (bf16, int8) the three values of a pair within the rescore margin of a threshold are
measured again in torch fp32, so decisions match an fp32 run's (as the similarity search does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from platypus.data.compare import whole_text
from platypus.data.decontaminate.config import DecontaminateConfig
from platypus.data.record import Record
from platypus.similarity.engine import embed_texts
from platypus.similarity.pairs import pair_dots, top_k
from platypus.tasks.registry import TASKS
from platypus.tasks.schema import TaskItem


@dataclass(frozen=True)
class Meaning:
    similarity: float  # the row's whole text to the item's question with its gold answer
    answer: float  # the row's output to the gold option
    margin: float  # answer minus the closest other option's cosine
    nearest: bool = False  # the item is the row's nearest by meaning
    # the row's output's length in words; 0: it says nothing in words (a letter, a number)
    output_words: int = 0

    def is_an_answer(self, config: DecontaminateConfig) -> bool:
        """The output says something in words, and briefly enough for its embedding to say what
        it answers: a worked solution's embedding is its steps (MiniLM reads 256 tokens)."""
        return 0 < self.output_words <= config.meaning_max_words

    def agrees(self, config: DecontaminateConfig) -> bool:
        """The row asks what its nearest item asks and answers with its gold option, by
        meaning."""
        return (
            self.nearest
            and self.is_an_answer(config)
            and self.similarity >= config.meaning_similarity
            and self.answer >= config.meaning_answer_similarity
            and self.margin >= config.meaning_margin
        )

    def answers_otherwise(self, config: DecontaminateConfig) -> bool:
        """The output is closer to another option than to the gold, by meaning_other_margin:
        the row answers otherwise (a converse question, a false option in other words)."""
        return self.is_an_answer(config) and self.margin <= -config.meaning_other_margin

    def near_threshold(self, config: DecontaminateConfig, margin: float) -> bool:
        """Another precision could put one of the values on the other side of its threshold
        (the margin between two cosines moves by up to twice a cosine's error)."""
        return (
            abs(self.similarity - config.meaning_similarity) < margin
            or abs(self.answer - config.meaning_answer_similarity) < margin
            or abs(self.margin - config.meaning_margin) < 2 * margin
            or abs(self.margin + config.meaning_other_margin) < 2 * margin
        )


_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{3,}")


def has_words(option: str) -> bool:
    """The option says something in words ("gravity", "Sunday"), not only in numbers or a
    formula ("42", "x^2 + y^2 = 9", "\\frac{8}{45}", "19.6 m"), which MiniLM reads as noise."""
    return bool(_WORD.search(_LATEX_COMMAND.sub(" ", option)))


def compared(item: TaskItem) -> bool:
    """An item whose options a row's answer can be compared with by meaning: several options,
    of a task whose options carry meaning, each saying something in words."""
    return (
        len(item.choices) >= 2
        and TASKS[item.benchmark].options_carry_meaning
        and all(has_words(c) for c in item.choices)
    )


def answer_view(item: TaskItem) -> str:
    """The item as a row that leaks it reads: its question, then its gold answer."""
    return f"{item.question} {item.gold_text}"


class MeaningIndex:
    """The meaning view of one check: every row's whole text and every compared item's question
    with its gold answer, embedded once; the outputs and options of measured pairs embedded as
    they are needed."""

    def __init__(
        self, records: Sequence[Record], items: Sequence[TaskItem], config: DecontaminateConfig
    ):
        self.records, self.items, self.config = records, items, config
        self.owners = [b for b, item in enumerate(items) if compared(item)]
        self.position = {b: i for i, b in enumerate(self.owners)}
        self.margin = config.effective_rescore_margin
        self.embedded = 0
        # Outputs and options by (precision, text): nearest() and measure() share rows and items.
        self._measured: dict[tuple[str | None, str], np.ndarray] = {}
        if self.owners and records:
            texts = [answer_view(items[b]) for b in self.owners]
            self.item_x = self._embed(texts)
            self.row_x = self._embed([whole_text(r) for r in records])

    def _embed(self, texts: list[str], precision: str | None = None) -> np.ndarray:
        backend = "torch" if precision else None
        x, n = embed_texts(texts, self.config, precision or self.config.precision, backend)
        self.embedded += n
        return x

    def _vectors(self, texts: list[str], precision: str | None) -> np.ndarray:
        """The vectors of `texts`, each embedded once per precision within this check."""
        missing = [t for t in dict.fromkeys(texts) if (precision, t) not in self._measured]
        if missing:
            for text, x in zip(missing, self._embed(missing, precision), strict=True):
                self._measured[(precision, text)] = x
        return np.stack([self._measured[(precision, t)] for t in texts])

    def nearest(self) -> dict[tuple[int, int], Meaning]:
        """{(row, item): Meaning} for each row whose nearest compared item is at cosine >=
        meaning_similarity."""
        if not self.owners or not self.records:
            return {}
        # Each row's nearest item; out of fp32 a pair just under the threshold may be over it.
        items, rows = top_k(self.item_x, self.row_x, 1)
        sims = pair_dots(self.item_x, items, self.row_x, rows)
        keep = sims >= self.config.meaning_similarity - self.margin
        keys = [(int(t), self.owners[int(i)]) for i, t in zip(items[keep], rows[keep], strict=True)]
        found = self.measure(keys)
        return {
            key: replace(m, nearest=True)
            for key, m in found.items()
            if m.similarity >= self.config.meaning_similarity
        }

    def measure(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Meaning]:
        """The Meaning of each (row, item) pair whose item is compared; fp32-exact near the
        thresholds."""
        keys = [k for k in dict.fromkeys(keys) if k[1] in self.position]
        if not keys:
            return {}
        at = np.array([self.position[b] for _, b in keys])
        sims = np.einsum("ij,ij->i", self.row_x[[t for t, _ in keys]], self.item_x[at])
        found = self._answers(keys, sims)
        if self.margin:
            border = [k for k, m in found.items() if m.near_threshold(self.config, self.margin)]
            if border:
                found |= self._answers(border, self._fp32_similarity(border), "fp32")
        return found

    def _fp32_similarity(self, keys: list[tuple[int, int]]) -> np.ndarray:
        rows = self._embed([whole_text(self.records[t]) for t, _ in keys], "fp32")
        items = self._embed([answer_view(self.items[b]) for _, b in keys], "fp32")
        return np.einsum("ij,ij->i", rows, items)

    def _answers(
        self, keys: list[tuple[int, int]], sims: np.ndarray, precision: str | None = None
    ) -> dict[tuple[int, int], Meaning]:
        """Each pair with the row's output compared with the item's options."""
        rows = sorted({t for t, _ in keys})
        options = sorted({c for _, b in keys for c in self.items[b].choices})
        out_x = self._vectors([self.records[t].output for t in rows], precision)
        opt_x = self._vectors(options, precision)
        row_at = {t: i for i, t in enumerate(rows)}
        option_at = {c: i for i, c in enumerate(options)}
        found = {}
        for (t, b), sim in zip(keys, sims, strict=True):
            item = self.items[b]
            cosines = opt_x[[option_at[c] for c in item.choices]] @ out_x[row_at[t]]
            gold = float(cosines[item.gold])
            other = float(np.max(np.delete(cosines, item.gold)))
            output = self.records[t].output
            words = len(output.split()) if has_words(output) else 0
            found[(t, b)] = Meaning(
                round(float(sim), 6), round(gold, 6), round(gold - other, 6), output_words=words
            )
        return found
