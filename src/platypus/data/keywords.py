"""The STEM keyword filter Platypus applied to ReClor, airoboros and guanaco, as intended.

The original list (in each of those scripts) had two bugs:
- a missing comma made "calculation" "science" one keyword, "calculationscience", so neither word
  ever matched on its own;
- the text was lower-cased before matching, so the upper-case keyword "AI" could never match.
Here both words are keywords, acronyms match case-sensitively as whole words, everything else
matches case-insensitively as whole words, and the list's duplicates are dropped.
"""

from __future__ import annotations

import re

STEM_KEYWORDS: tuple[str, ...] = (
    # Mathematics
    "algebra", "geometry", "calculus", "statistics", "probability", "theorem", "proof",
    "equation", "integral", "derivative", "matrix", "vector", "graph", "function",
    "complex number", "real number", "imaginary number", "differential", "fraction", "decimal",
    "percent", "logarithm", "sequence", "sum", "product", "difference", "quotient", "prime",
    "composite", "factorial", "binomial", "polynomial", "exponential", "pi", "euler", "infinity",
    "limit", "differential equation", "linear algebra", "set theory", "group theory",
    "ring theory", "field theory", "number theory", "combinatorics", "topology",
    "measure theory", "game theory", "cryptology", "algorithm", "computation", "percentage",
    "calculation",
    # General STEM
    "science", "technology", "engineering", "physics", "chemistry", "biology",
    "computer science", "information technology", "environmental", "aerospace", "biomedical",
    "chemical", "robotics", "AI", "artificial intelligence", "machine learning",
    "deep learning", "neural network", "programming", "coding", "software", "hardware",
    "network", "database", "security", "cybersecurity", "blockchain", "virtual reality",
    "augmented reality", "quantum", "nanotechnology", "biotechnology", "genetics", "genomics",
    "solar", "wind", "hydro", "nuclear", "fossil fuel", "carbon", "greenhouse gas", "pollution",
    "conservation", "biodiversity", "ecosystem", "species", "evolution", "cell", "molecule",
    "atom", "particle", "gravity", "relativity", "momentum", "velocity", "acceleration", "mass",
    "heat", "light", "sound", "electricity", "magnetism",
)  # fmt: skip


class KeywordMatcher:
    """Whole-word match of any keyword; all-caps keywords (acronyms) are case-sensitive."""

    def __init__(self, keywords: tuple[str, ...] | list[str] = STEM_KEYWORDS):
        unique = list(dict.fromkeys(keywords))
        if not unique:
            raise ValueError("keyword list is empty")
        acronyms = [k for k in unique if k.isupper()]
        words = [k for k in unique if not k.isupper()]
        self._words = _pattern(words, re.IGNORECASE)
        self._acronyms = _pattern(acronyms, 0)
        self.keywords = tuple(unique)

    def first_match(self, text: str) -> str | None:
        for pattern in (self._words, self._acronyms):
            if pattern is not None and (m := pattern.search(text)):
                return m.group(0)
        return None

    def __call__(self, text: str) -> bool:
        return self.first_match(text) is not None


def _pattern(keywords: list[str], flags: int) -> re.Pattern | None:
    if not keywords:
        return None
    # Longest first so "differential equation" is reported rather than "differential".
    alternation = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternation})\b", flags)
