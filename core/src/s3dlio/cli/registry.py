"""Sub-command registry passed to the ``s3dlio_register_commands`` hook."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

from s3dlio.errors import PluginError
from s3dlio.plugin.registry import load_object

__all__ = ["Command", "CommandRegistry", "CommandSpec"]


class Command(Protocol):
    """What a command class provides (static or class methods are fine)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, ctx: Any) -> int: ...


def _as_names(value: Iterable[str]) -> tuple[str, ...]:
    """``aliases`` converter (a typed function: mypy cannot infer ``converter=tuple``)."""
    return tuple(value)


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


class CommandRegistry:
    """Commands by name; a name (or alias) claimed twice is a plugin error."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}
        self._names: dict[str, str] = {}
        self._current_plugin = ""

    def register(self, spec: CommandSpec) -> None:
        if not spec.plugin and self._current_plugin:
            spec = attrs.evolve(spec, plugin=self._current_plugin)
        for name in (spec.name, *spec.aliases):
            owner = self._names.get(name)
            if owner is not None and owner != spec.name:
                raise PluginError(
                    f"s3-cli command {name!r} is registered by both "
                    f"{self._specs[owner].plugin} and {spec.plugin}"
                )
            if owner == spec.name and self._specs[owner].plugin != spec.plugin:
                raise PluginError(
                    f"s3-cli command {name!r} is registered by both "
                    f"{self._specs[owner].plugin} and {spec.plugin}"
                )
            self._names[name] = spec.name
        self._specs[spec.name] = spec

    def specs(self) -> list[CommandSpec]:
        return [self._specs[n] for n in sorted(self._specs)]

    def get(self, name: str) -> CommandSpec:
        return self._specs[self._names[name]]

    def __contains__(self, name: object) -> bool:
        return name in self._names
