"""The Stage contract: what every stage declares about itself. Each stage's package defines its
stage (`<package>/stage.py`) on this; the pipeline registers them (`platypus.pipeline.stages`)
and runs every one the same way (`platypus.pipeline.stage.run_stage`).

A stage declares its name, the recipe section it reads its configuration from, which of that
configuration's input fields are fed by which artefact of which earlier stage (`reads`), the
artefacts it writes (`output`), a typed `Summary`, and `run(config, out, recipe) -> Summary`.
`recipe` is the run's `platypus.config.Recipe` (typed loosely here: the Recipe is assembled
above the stages).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Summary(BaseModel):
    """What a finished stage reports: typed numbers, kept in its manifest, printed by the CLI and
    rendered by the report. Subclasses declare the fields."""

    model_config = ConfigDict(extra="forbid")

    def counts(self) -> dict[str, int | float]:
        """The headline numbers: every top-level int or float field."""
        return {
            k: v
            for k, v in self.model_dump().items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }


class Stage(ABC):
    name: ClassVar[str]
    section: ClassVar[str]  # dotted path of the stage's configuration in a Recipe
    config_model: ClassVar[type[BaseModel]]  # the configuration's model (the section's type)
    summary_model: ClassVar[type[Summary]]
    # config field -> "stage.artefact" that feeds it under `platypus run` (and, standalone, by
    # default from that stage's own output folder)
    reads: ClassVar[dict[str, str]] = {}
    artefacts: ClassVar[tuple[str, ...]] = ()  # what `output` can place
    # moved into place after the other outputs: the file readers took as "finished" before
    # manifests existed (a summary, a card)
    last: ClassVar[str | None] = None
    resumable: ClassVar[bool] = False  # writes in place and picks up its own partial work
    # names it writes besides its artefacts (a Hub card): checked, like them, before it runs
    extra_outputs: ClassVar[tuple[str, ...]] = ()
    # Values of other sections of the recipe it depends on, by a name of its own ("trained_base":
    # "train.model"), read through `linked` rather than by reaching into those sections.
    links: ClassVar[dict[str, str]] = {}
    # What the outer layers make of it. `platypus run` runs the stages marked `in_pipeline` in
    # registry order (then the recipe's evaluations). The CLI gives a stage with a `command` its
    # subcommand (`("data", "build")`: `platypus data build`) with the flags every stage takes
    # (a recipe, --output-dir, --set) and its own (`add_flags`, read back by `flag_updates`);
    # `reads_datasets` adds the column-mapping flags, `loads_models` --device and
    # --trust-remote-code. `api_name` is its function in `platypus.api`. `pushed` is the
    # artefact --push-to-hub uploads and the Hub repository type.
    in_pipeline: ClassVar[bool] = True
    command: ClassVar[tuple[str, ...] | None] = None
    help: ClassVar[str] = ""
    reads_datasets: ClassVar[bool] = False
    loads_models: ClassVar[bool] = False
    api_name: ClassVar[str | None] = None
    pushed: ClassVar[tuple[str, str] | None] = None

    def config(self, recipe: Any) -> BaseModel:
        """This stage's section of the recipe (a plug-in stage's section is kept by the recipe
        under its dotted name: `Recipe.section`)."""
        return recipe.section(self.section, self.config_model)

    def linked(self, recipe: Any, name: str) -> Any:
        """The value `links[name]` names in `recipe`: a section, or a field of a built-in one
        (`Recipe.section` walks the dotted path)."""
        return recipe.section(self.links[name], BaseModel)

    def add_flags(self, parser: Any) -> None:
        """The daily flags of this stage's command (an argparse parser), beyond the shared ones."""
        return None  # a stage without flags of its own: a recipe, --output-dir and --set

    def flag_updates(self, args: Any, config: BaseModel) -> dict:
        """The configuration changes those flags ask for (`config`: the recipe's section);
        `--set` overrides are applied after them."""
        return {}

    def plan(self, config: BaseModel, hardware: Any) -> Any:
        """What `platypus plan` says of this stage (a `platypus.sizing.StagePlan`), for a stage
        the planner does not price itself; None: nothing to plan."""
        return None

    @abstractmethod
    def output(self, artefact: str, config: BaseModel, folder: Path) -> Path:
        """Where this stage puts `artefact` in `folder`: artefact names are defined here once."""

    def wants(self, field: str, config: BaseModel) -> bool:
        """Whether the `reads` entry for `field` applies under this configuration."""
        return True

    def default_output_dir(self, config: BaseModel) -> Path:
        return Path(config.output_dir)

    def outside(self, config: BaseModel, recipe: Any) -> dict:
        """Fingerprints of inputs that no earlier stage produced (data folders, base weights)
        and of other sections' settings the result depends on; part of the stage key."""
        return {}

    def check(self, config: BaseModel) -> None:
        """Refuse (one-line PlatypusError) a configuration the stage cannot run, before its
        output folder is touched; what the config model alone cannot tell."""
        return None  # most stages: the config model's validation is the whole check

    @abstractmethod
    def run(self, config: BaseModel, out: Path, recipe: Any) -> Summary:
        """Produce the outputs in `out` (empty, or this stage's own partial work if resumable)."""

    def found_in(self, folder: Path, artefact: str) -> Path | None:
        """Where `artefact` is in `folder` when the folder's manifest says this stage wrote it
        (under the configuration the manifest records: artefact names can depend on it, e.g.
        the build's `name`); None for any other folder."""
        from platypus.pipeline.manifest import read_manifest

        manifest = read_manifest(folder) or {}
        if manifest.get("stage") != self.name:
            return None
        try:
            config = self.config_model.model_validate(manifest.get("config") or {})
        except ValueError:
            config = self.config_model()
        return self.output(artefact, config, folder)

    def describe(self, summary: Summary, config: BaseModel, out: Path) -> list[str]:
        """What the CLI prints after a run."""
        counts = ", ".join(f"{k} {v:,}" for k, v in summary.counts().items())
        return [f"{self.name}: {counts} -> {out}"]


def hub_card(stage: Stage) -> tuple[str, ...]:
    """The data stages' outputs besides their artefacts: the Hub dataset card (the name from
    the module that writes it; imported when asked, not at start-up)."""
    from platypus.cards import CARD

    return (CARD,)
