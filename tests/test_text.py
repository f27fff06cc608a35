import pytest

from platypus.data.record import clean_text
from platypus.data.text import lettered, unbox


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the answer is $\\boxed{2}$.", "the answer is $2$."),
        ("$\\boxed{\\frac{1}{2}}$", "$\\frac{1}{2}$"),  # nested braces: the original regex broke
        ("$\\boxed{a}$ and $\\boxed{b}$", "$a$ and $b$"),
        ("$\\boxed{\\{1,2\\}}$", "$\\{1,2\\}$"),  # escaped braces are not structure
        ("no box here", "no box here"),
        ("$\\boxed{unbalanced$", "$\\boxed{unbalanced$"),
    ],
)
def test_unbox(text, expected):
    assert unbox(text) == expected


def test_lettered_and_clean_text():
    assert lettered(["x", "y"]) == "A: x\nB: y"
    assert lettered(["x", "y"], ". ") == "A. x\nB. y"
    assert clean_text("  a\r\nb \r ") == "a\nb"
