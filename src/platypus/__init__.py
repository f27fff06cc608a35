"""platypus: the Platypus recipe (Lee, Hunter & Ruiz, 2023) as a reusable toolkit."""

__version__ = "0.1.0"
