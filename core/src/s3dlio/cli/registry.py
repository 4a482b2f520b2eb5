"""What plugins add to ``s3-cli``: sub-commands and global options (the ``s3dlio_register_commands`` hook)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

from s3dlio.plugin.registry import Registry, load_object

__all__ = ["Command", "CommandRegistry", "CommandSpec", "GlobalOption"]


class Command(Protocol):
    """What a command class provides (static or class methods are fine)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, ctx: Any) -> int: ...


def _as_names(value: Iterable[str]) -> tuple[str, ...]:
    """Converter of name tuples (a typed function: mypy cannot infer ``converter=tuple``)."""
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class CommandSpec:
    """One ``s3-cli`` sub-command.

    ``factory`` is a lazy ``"module:Class"`` reference to a :class:`Command`;
    ``ctx`` passed to ``run`` is a :class:`s3dlio.cli.context.CliContext`
    (output helpers, JSON mode, progress bars, exit codes).
    """

    name: str
    factory: str
    help: str = ""
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_as_names)
    plugin: str = ""

    def load(self) -> Command:
        obj = load_object(self.factory)
        return obj() if isinstance(obj, type) else obj  # type: ignore[no-any-return]


@attrs.frozen
class GlobalOption:
    """A flag every ``s3-cli`` command accepts, contributed by a plugin.

    ``env`` names environment variables the value is exported to *before* plugins
    compose (``--region`` → ``AWS_REGION``), so it reaches the plugin's settings
    exactly as the variable would. ``session`` is a lazy ``"module:callable"``
    reference: ``callable(value)`` returns a context manager entered around the
    command when the flag is given (``--op-log FILE`` records the run and flushes
    the log at the end; a failure on exit fails the run). ``flag=True`` makes it a
    switch without a value.
    """

    flags: tuple[str, ...] = attrs.field(converter=_as_names)
    dest: str
    help: str = ""
    metavar: str | None = None
    flag: bool = False
    env: tuple[str, ...] = attrs.field(default=(), converter=_as_names)
    session: str = ""
    plugin: str = ""

    @property
    def name(self) -> str:
        return self.dest

    def add_to(self, group: Any) -> None:
        """Add the flag to an argparse group (defaults suppressed, see ``cli.main``)."""
        if self.flag:
            group.add_argument(*self.flags, dest=self.dest, action="store_true", help=self.help)
        else:
            group.add_argument(*self.flags, dest=self.dest, metavar=self.metavar, help=self.help)


class CommandRegistry(Registry[CommandSpec]):
    """Commands by name and alias, plus plugins' global options; a name claimed twice is a plugin error."""

    def __init__(self) -> None:
        super().__init__("s3-cli command", keys=lambda spec: (spec.name, *spec.aliases), exclusive=True)
        self.options: Registry[GlobalOption] = Registry(
            "s3-cli option", keys=lambda opt: (opt.dest, *opt.flags), exclusive=True
        )

    def add_global_option(self, option: GlobalOption) -> None:
        """Add a global flag (see :class:`GlobalOption`); called from ``s3dlio_register_commands``."""
        with self.options.attributing(self._current_plugin):
            self.options.register(option)

    def global_options(self) -> list[GlobalOption]:
        """The plugins' global options, in the order of their first flag."""
        return sorted(self.options.specs(), key=lambda o: o.flags[0])

    def specs(self) -> list[CommandSpec]:
        """Every command once, sorted by name."""
        return sorted(super().specs(), key=lambda s: s.name)
