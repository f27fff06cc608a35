"""The one schema every source is normalised to."""

from __future__ import annotations

from dataclasses import asdict, dataclass

FIELDS = ("id", "instruction", "input", "output", "data_source")


def clean_text(value: str) -> str:
    """CRLF -> LF and surrounding whitespace stripped (SciBench fields carry stray spaces)."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    instruction: str
    input: str
    output: str
    data_source: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Skip:
    """A raw row a loader rejects under a named per-source rule; counted in the card."""

    step: str
    location: str


@dataclass(frozen=True, slots=True)
class Dialogue:
    """A chat row as its turns: (role, content) pairs in order, roles normalised to system,
    user, assistant (ShareGPT's human/gpt included) or the row's own name for other turns."""

    id: str
    turns: tuple[tuple[str, str], ...]
    data_source: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.turns]
