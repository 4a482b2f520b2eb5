"""The documentation names only what the code has, and the code reads only what is documented.

Checked with every distribution installed (``tox -e all``):

* every ``S3DLIO_*`` variable named in README.md, docs/**/*.md and the plugins' READMEs is one
  the code knows (a setting's ``env``, a name declared to the config schema, or a literal in the
  sources);
* every ``S3DLIO_*`` variable the code knows or reads is listed in docs/configuration.md,
  and every one it reads directly is known to the schema (so setting it never warns);
* every ``s3-cli`` invocation in the docs names an existing command (or alias), nested
  command and option of that command; docs/cli.md names only existing commands and flags
  (its tables and its prose), except a short allowlist of flags it calls "not implemented";
* nothing cites sections of the seed design notes, which are not shipped.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Every distribution must be installed: a missing plugin would hide its variables and commands.
DISTRIBUTIONS = (
    "s3dlio-core", "s3dlio-posix", "s3dlio-direct", "s3dlio-s3", "s3dlio-azure", "s3dlio-gcs",
    "s3dlio-datagen", "s3dlio-oplog", "s3dlio-loaders",
)

#: Names the docs mention on purpose although no code reads them. Keep this small; say why.
DOCUMENTED_ONLY_ENV = {
    # configuration.md's example of a misspelt name that draws a "did you mean" warning.
    "S3DLIO_RANGE_THRESHOLD",
}

#: Flags docs/cli.md names on purpose as "not implemented" (from the design of the original's CLI).
NOT_IMPLEMENTED_FLAGS = {
    "--endpoints", "--procs",  # get
    "--only-show-errors", "--continue-on-error", "--max-errors",  # cp
}

#: The plugin template (a copy source, not a distribution): its variables are its own README's.
TEMPLATE_DIR = ROOT / "plugins" / "_template"

_ENV_NAME = re.compile(r"S3DLIO_[A-Z0-9_]*[A-Z0-9]")
_QUOTED_ENV = re.compile(r"""["'](S3DLIO_[A-Z0-9_]*[A-Z0-9])["']""")


def _missing_distributions() -> list[str]:
    missing = []
    for name in DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


pytestmark = pytest.mark.skipif(
    bool(_missing_distributions()),
    reason=f"needs every distribution installed (missing: {', '.join(_missing_distributions())})",
)


# --------------------------------------------------------------------------- sources and docs


def _doc_files() -> list[Path]:
    """README.md, docs/**/*.md and the plugins' READMEs (the template's names its own code)."""
    plugins = [p for p in sorted((ROOT / "plugins").glob("*/README.md")) if p.parent != TEMPLATE_DIR]
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *plugins]


def _source_files(*tops: str) -> Iterator[Path]:
    """Python files of the named top-level folders; ``plugins`` means every plugin's ``src``."""
    for top in tops:
        if top == "plugins":
            for src in sorted((ROOT / "plugins").glob("*/src")):
                if src.parent != TEMPLATE_DIR:
                    yield from sorted(src.rglob("*.py"))
        else:
            yield from sorted((ROOT / top).rglob("*.py"))


def _quoted_env_names(*tops: str) -> dict[str, str]:
    """``S3DLIO_*`` names written as whole string literals (``os.environ.get("S3DLIO_X")``,
    ``setting(env="S3DLIO_X")``, reserved names), each with the first file that has it."""
    found: dict[str, str] = {}
    for path in _source_files(*tops):
        for name in _QUOTED_ENV.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def _code_spans(text: str) -> Iterator[str]:
    """Contents of fenced code blocks (line by line) and of inline code spans."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield line
        else:
            for span in re.findall(r"`([^`]+)`", line):
                yield span.replace("\\|", "|")


@pytest.fixture(scope="module")
def schema_env() -> dict[str, str]:
    """Every environment variable of the composed settings schema → its section (or declarer)."""
    from s3dlio.plugin import runtime as rt

    rt.reset()
    schema = rt.runtime().host.schema
    names: dict[str, str] = {}
    for spec in schema.sections.values():
        for field in attrs.fields(spec.cls):
            for name in field.metadata.get("s3dlio", {}).get("env", ()):
                names.setdefault(name, f"[{spec.name}]")
    for name, declarer in schema.extra_env.items():
        names.setdefault(name, declarer)
    assert "S3DLIO_RANGE_THRESHOLD_MB" in names and "S3DLIO_OPLOG_FILE" in names
    return names


# --------------------------------------------------------------------------- environment variables


def test_docs_name_only_variables_the_code_has(schema_env: dict[str, str]) -> None:
    known = set(schema_env) | set(_quoted_env_names("core/src", "plugins", "benchmarks", "examples"))
    unknown = []
    for path in _doc_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in _ENV_NAME.findall(line):
                if name not in known and name not in DOCUMENTED_ONLY_ENV:
                    unknown.append(f"{path.relative_to(ROOT)}:{lineno}: {name}")
    assert not unknown, "documented variables no code reads:\n" + "\n".join(unknown)


def test_configuration_md_lists_every_variable_the_code_reads(schema_env: dict[str, str]) -> None:
    listed = set(_ENV_NAME.findall((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")))
    code = {n: f"schema {d}" for n, d in schema_env.items() if n.startswith("S3DLIO_")}
    for name, where in _quoted_env_names("core/src", "plugins").items():
        code.setdefault(name, where)
    missing = sorted(f"{name} ({where})" for name, where in code.items() if name not in listed)
    assert not missing, "variables missing from docs/configuration.md:\n" + "\n".join(missing)


def test_every_variable_the_code_reads_is_known_to_the_schema(schema_env: dict[str, str]) -> None:
    """A variable read directly must be declared (``add_known_env``), else setting it warns
    "unknown environment variable"."""
    undeclared = sorted(
        f"{name} ({where})" for name, where in _quoted_env_names("core/src", "plugins").items()
        if name not in schema_env
    )
    assert not undeclared, "read but not declared to the config schema:\n" + "\n".join(undeclared)


# --------------------------------------------------------------------------- s3-cli


@attrs.frozen
class _Parser:
    """The option strings of one (sub-)command and whether each takes a value."""

    options: dict[str, bool]
    nested: dict[str, _Parser]


def _describe(parser: argparse.ArgumentParser) -> _Parser:
    options: dict[str, bool] = {}
    nested: dict[str, _Parser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            nested.update({name: _describe(sub) for name, sub in action.choices.items()})
        elif action.option_strings:
            # nargs 0 (flags, counts) takes nothing; "?" may take one: never skip a token for it.
            takes = action.nargs not in (0, "?")
            options.update(dict.fromkeys(action.option_strings, takes))
        elif action.choices and not nested:  # a positional like `config show`
            nested.update({str(c): _Parser({}, {}) for c in action.choices})
    return _Parser(options, nested)


@pytest.fixture(scope="module")
def cli() -> tuple[_Parser, dict[str, _Parser]]:
    """The top-level options and every command (by name and alias) of ``s3-cli``."""
    from s3dlio.cli.main import _load_registry, build_parser
    from s3dlio.plugin import runtime as rt

    rt.reset()
    registry, error = _load_registry()
    assert error is None, error
    commands: dict[str, _Parser] = {}
    top = None
    for spec in registry.specs():
        parser, _ = build_parser(registry, spec.name)  # adds this command's own arguments
        top = top or _Parser(_describe(parser).options, {})  # global options (+ --version)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        described = _describe(sub.choices[spec.name])
        for name in (spec.name, *spec.aliases):
            commands[name] = described
    assert top is not None and {"ls", "get", "put", "oplog"} <= set(commands)
    return top, commands


def _flag_known(token: str, options: dict[str, bool]) -> bool:
    if token in options:
        return True
    # -vv, -rj: grouped single-letter flags
    return (len(token) > 2 and token[1] != "-"
            and all(f"-{c}" in options for c in token[1:]))


def _check_invocation(tokens: list[str], top: _Parser, commands: dict[str, _Parser]) -> list[str]:
    """Problems of one documented ``s3-cli …`` command line."""
    problems: list[str] = []
    current, command, nested_done = top, None, False
    skip = False
    for raw in tokens:
        if skip:
            skip = False
            continue
        token = raw.strip("[]…,;:")
        if raw == "--" or not token:
            if raw == "--":
                break
            continue
        if token.startswith("-") and len(token) > 1 and not token[1].isdigit():
            flag = token.split("=", 1)[0]
            if not _flag_known(flag, current.options):
                where = f"command {command!r}" if command else "s3-cli"
                problems.append(f"{where} has no option {flag!r}")
            elif current.options.get(flag) and "=" not in token:
                skip = True
            continue
        if not re.fullmatch(r"[a-z][a-z0-9-]*([|/][a-z][a-z0-9-]*)*", token):
            if command is None:
                break  # a placeholder (COMMAND) or prose: nothing more to check
            continue
        if command is None:
            for name in re.split(r"[|/]", token):
                if name not in commands:
                    problems.append(f"no command {name!r}")
            command = re.split(r"[|/]", token)[0]
            current = commands.get(command, current)
        elif current.nested and not nested_done:
            names = re.split(r"[|/]", token)
            for name in names:
                if name not in current.nested:
                    problems.append(f"command {command!r} has no sub-command {name!r}")
            nested_done = True
            if len(names) == 1 and names[0] in current.nested:
                inner = current.nested[names[0]]
                current = _Parser({**current.options, **inner.options}, inner.nested)
    return problems


_INVOCATION = re.compile(r"(?:^|[\s>$(])(?:s3-cli|python -m s3dlio)((?:\s+[^\s`#]+)*)")


def test_documented_s3_cli_invocations_exist(cli: tuple[_Parser, dict[str, _Parser]]) -> None:
    top, commands = cli
    problems = []
    checked = 0
    for path in _doc_files():
        for span in _code_spans(path.read_text(encoding="utf-8")):
            for match in _INVOCATION.finditer(span):
                rest = re.split(r"\s(?:\||&&|;|2?>)\s", match.group(1))[0]
                try:
                    tokens = shlex.split(rest)
                except ValueError:
                    tokens = rest.split()
                checked += 1
                problems += [f"{path.relative_to(ROOT)}: `s3-cli{rest}`: {p}"
                             for p in _check_invocation(tokens, top, commands)]
    assert checked > 50
    assert not problems, "documented s3-cli usage the code does not have:\n" + "\n".join(problems)


def _cli_md_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        sections.setdefault(current, []).append(line)
    return sections


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _flags_in(cell: str) -> list[str]:
    flags = []
    for span in re.findall(r"`([^`]+)`", cell):
        for token in re.split(r"[\s/]+", span.replace("\\|", "|")):
            if re.fullmatch(r"--?[A-Za-z][A-Za-z0-9-]*", token):
                flags.append(token)
    return flags


def test_cli_md_tables_name_existing_commands_and_flags(cli: tuple[_Parser, dict[str, _Parser]]) -> None:
    top, commands = cli
    sections = _cli_md_sections()
    problems = []
    global_rows = [r for r in sections["Global flags"] if r.startswith("| `")]
    assert len(global_rows) >= 8
    for row in global_rows:
        for flag in _flags_in(_cells(row)[0]):
            if not _flag_known(flag, top.options):
                problems.append(f"global flags table: s3-cli has no global option {flag!r}")
    command_rows = [r for r in sections["Commands"] if r.startswith("| `")]
    assert len(command_rows) >= 10
    for row in command_rows:
        cells = _cells(row)
        names = [span.split()[0] for span in re.findall(r"`([^`]+)`", cells[0])]
        for name in names:
            if name not in commands:
                problems.append(f"commands table: no command {name!r}")
        spec = commands.get(names[0]) if names else None
        if spec is None:
            continue
        first = re.findall(r"`([^`]+)`", cells[0])[0].split()
        if len(first) > 1 and spec.nested and first[1] in spec.nested:
            spec = _Parser({**spec.options, **spec.nested[first[1]].options}, {})
        for flag in _flags_in(cells[1]):
            if not _flag_known(flag, spec.options):
                problems.append(f"commands table: {names[0]!r} has no option {flag!r}")
    assert not problems, "docs/cli.md names what s3-cli does not have:\n" + "\n".join(problems)


def test_every_flag_cli_md_names_exists(cli: tuple[_Parser, dict[str, _Parser]]) -> None:
    """Prose included: a flag named anywhere on docs/cli.md is an option of some command."""
    top, commands = cli
    every = dict(top.options)
    for spec in commands.values():
        every.update(spec.options)
        for inner in spec.nested.values():
            every.update(inner.options)
    unknown = set()
    for span in _code_spans((ROOT / "docs" / "cli.md").read_text(encoding="utf-8")):
        for token in re.split(r"[\s/]+", span.replace("python -m", "")):
            flag = token.split("=", 1)[0].strip("[]()…,;:")
            if re.fullmatch(r"--?[A-Za-z][A-Za-z0-9-]*", flag) and not _flag_known(flag, every):
                unknown.add(flag)
    extra = sorted(unknown - NOT_IMPLEMENTED_FLAGS)
    assert not extra, f"docs/cli.md names flags s3-cli lacks: {extra}"
    # The allowlist stays true: a flag that gets implemented leaves it.
    assert not NOT_IMPLEMENTED_FLAGS & set(every), "implemented now; drop from NOT_IMPLEMENTED_FLAGS"


def test_nothing_cites_the_unshipped_design_notes() -> None:
    """Comments and docs point at docs/ pages, not at the seed design notes (not shipped)."""
    design = re.compile(r"\b(?:API|RELIABILITY|OPLOG|PERFORMANCE|ARCHITECTURE)\.md\b")
    files = [ROOT / "README.md"]
    for top in ("core", "plugins", "tests", "benchmarks", "examples", "docs"):
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in (".py", ".md", ".toml")
                  and not {".tox", "node_modules", ".venv"} & set(p.parts)]
    cites = [f"{p.relative_to(ROOT)}:{n}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if design.search(line)]
    assert len(files) > 100
    assert not cites, "cite the design notes instead of docs/:\n" + "\n".join(cites)
