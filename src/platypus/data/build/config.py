"""The build stage's configuration: which sources, from where, with which filters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from platypus.settings import STRICT, InputPath, Seed, Setting, default_data_root, plain_name


class SourceConfig(BaseModel):
    """One source of the build. `path` wins over `hub_id`; both unset means the source's own
    default (its folder under the data root, else its hub dataset)."""

    model_config = STRICT
    enabled: bool = True
    path: str | None = None  # relative to data_root unless absolute
    hub_id: str | None = None
    keyword_filter: bool | None = None  # None: what Platypus did for this source
    options: dict[str, Any] = Field(default_factory=dict)


def _default_sources() -> dict[str, SourceConfig]:
    """Each source as it declares itself (`Spec.enabled_by_default`): the released
    Open-Platypus sources that ../shared/data holds on, hub-only ones off (turn them on with a
    local `path` or, online, the hub); OpenBookQA, in the paper's list but not the release, off."""
    from platypus.data.sources import SOURCES

    return {name: SourceConfig(enabled=m.spec.enabled_by_default) for name, m in SOURCES.items()}


class BuildConfig(BaseModel):
    model_config = STRICT
    name: str = "open-platypus"
    data_root: str = InputPath(default_factory=default_data_root)
    output_dir: str = Setting("runs/data/build")
    seed: int = Seed(42)
    sources: dict[str, SourceConfig] = Field(default_factory=_default_sources)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return plain_name(value)

    @field_validator("sources", mode="after")
    @classmethod
    def _known_sources(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        from platypus.data.sources import SOURCES

        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {sorted(SOURCES)}")
        # Sources a recipe leaves out keep their defaults, so recipes list only what they change.
        return {**_default_sources(), **value}
