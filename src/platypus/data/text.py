"""Small text transforms shared by loaders."""

from __future__ import annotations

_BOXED = "\\boxed{"


def unbox(text: str) -> str:
    """Replace every `\\boxed{x}` by `x`, matching braces (the original regex was greedy and broke
    on nested braces such as `\\boxed{\\frac{1}{2}}`). An unbalanced box is left as it is."""
    out: list[str] = []
    i = 0
    while (start := text.find(_BOXED, i)) != -1:
        depth, j = 1, start + len(_BOXED)
        while j < len(text) and depth:
            if text[j] == "\\" and j + 1 < len(text):
                j += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        if depth:
            break
        out.append(text[i:start])
        out.append(text[start + len(_BOXED) : j - 1])
        i = j
    out.append(text[i:])
    return "".join(out)


def word_count(text: str) -> int:
    return len(text.split())


def lettered(options: list[str], sep: str = ": ") -> str:
    """'A: x\\nB: y' for a list of options."""
    return "\n".join(f"{chr(65 + i)}{sep}{opt}" for i, opt in enumerate(options))
