"""Names served lazily by a plugin: imported on first access, with an install hint.

``s3dlio`` itself and the compatibility modules ``s3dlio.torch`` / ``s3dlio.jax_tf`` expose
names implemented in plugin distributions. Importing those modules imports nothing; the
first access to a name imports its implementation module, caches the value in the
module's namespace, and turns a missing distribution into a
:class:`~s3dlio.errors.FeatureNotInstalledError` that says what to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any

from s3dlio.errors import FeatureNotInstalledError

__all__ = ["resolve_served"]


def resolve_served(
    namespace: MutableMapping[str, Any],
    owner: str,
    name: str,
    served: Mapping[str, tuple[str, str]],
) -> Any:
    """Import ``served[name] = (module, distribution)``, cache it in ``namespace``, return it.

    ``owner`` is the public module name used in messages (``s3dlio.torch``). Raises
    ``AttributeError`` for unknown names, like a module would.
    """
    entry = served.get(name)
    if entry is None:
        raise AttributeError(f"module {owner!r} has no attribute {name!r}")
    module_name, dist = entry
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name.split(".")[0]):
            raise FeatureNotInstalledError(
                f"{owner}.{name} is provided by {dist}: pip install {dist}"
            ) from exc
        raise
    value = getattr(module, name)
    namespace[name] = value  # later lookups skip __getattr__
    return value
