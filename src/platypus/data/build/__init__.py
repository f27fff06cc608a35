"""The build stage: the instruction set from its sources (`run`), configured by `config`."""

from platypus.data.build.run import BuildResult, SourceStats, build, output_paths

__all__ = ["BuildResult", "SourceStats", "build", "output_paths"]
