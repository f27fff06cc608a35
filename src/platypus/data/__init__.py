"""Data stages: build the instruction set from its sources (and later dedup/decontaminate it)."""
