"""requirements-all.txt installs every distribution of the repository, from the clone.

The distributions are not on a public index, so ``pip install -r requirements-all.txt`` (run
from the repository root) is the README's install path: it must name core and every plugin
directory (``plugins/_template`` is a template to copy, not a distribution to install), each
one must exist and be a distribution, and the README must name every distribution.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements-all.txt"

#: Directories under plugins/ that are not distributions for users.
NOT_INSTALLED = {"_template"}


def _requirement_paths() -> list[str]:
    """The local paths of requirements-all.txt, extras (``[torch]``) stripped."""
    paths = []
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            paths.append(re.sub(r"\[[^\]]*\]$", "", line))
    return paths


def _distribution_dirs() -> list[Path]:
    plugins = sorted(p for p in (ROOT / "plugins").iterdir()
                     if p.is_dir() and p.name not in NOT_INSTALLED and not p.name.startswith("."))
    return [ROOT / "core", *plugins]


def _name(directory: Path) -> str:
    with (directory / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["name"])


def test_every_line_is_an_existing_distribution_directory() -> None:
    paths = _requirement_paths()
    assert paths, "requirements-all.txt lists nothing"
    for path in paths:
        # Relative to the repository root, where the README says to run pip.
        assert path.startswith("./"), f"{path!r}: pip resolves paths against the current directory; use ./"
        directory = ROOT / path
        assert (directory / "pyproject.toml").is_file(), f"{path!r} is not a distribution directory"
    assert len(paths) == len(set(paths)), "a directory is listed twice"


def test_every_distribution_is_listed() -> None:
    listed = {(ROOT / p).resolve() for p in _requirement_paths()}
    missing = [str(d.relative_to(ROOT)) for d in _distribution_dirs() if d.resolve() not in listed]
    assert not missing, f"requirements-all.txt does not install: {missing}"
    assert (ROOT / "plugins" / "posix").resolve() in listed  # the check itself sees the plugins
    assert len(listed) >= 9


def test_core_comes_first() -> None:
    # Not needed by pip's resolver, but the file doubles as the list to read.
    assert _requirement_paths()[0] == "./core"


def test_core_all_extra_names_every_plugin() -> None:
    """``s3dlio-core[all]`` (for the published packages) installs every plugin distribution."""
    with (ROOT / "core" / "pyproject.toml").open("rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    named = {re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0] for req in extras["all"]}
    plugins = {_name(d) for d in _distribution_dirs()} - {"s3dlio-core"}
    assert named == plugins


def test_readme_names_every_distribution() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    development = readme[readme.index("## Development"):]
    for directory in _distribution_dirs():
        name = _name(directory)
        assert f"`{name}`" in readme, f"README.md does not name {name}"
        assert name in development, f"README.md's Development section does not name {name}"
    assert "pip install -r requirements-all.txt" in readme
