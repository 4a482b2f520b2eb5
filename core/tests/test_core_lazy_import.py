"""``import s3dlio`` is light, and plugin-served names fail with an install hint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import s3dlio
from s3dlio.errors import FeatureNotInstalledError

HEAVY = ("boto3", "botocore", "numpy", "pyarrow", "torch", "azure", "google", "jax", "tensorflow")


def probe(code: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_composes_nothing_and_imports_nothing_heavy() -> None:
    result = probe(
        "import sys, json\n"
        "import s3dlio\n"
        "import s3dlio.plugin.runtime as rt\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        f"heavy = [m for m in {HEAVY!r} if m in top]\n"
        "print(json.dumps({'heavy': heavy, 'composed': rt._runtime is not None,\n"
        "  'pluggy': 'pluggy' in sys.modules, 'plugins': 's3dlio.plugin.host' in sys.modules,\n"
        "  'api': 's3dlio.api' in sys.modules, 'version': s3dlio.__version__}))\n"
    )
    assert result["heavy"] == []
    assert result["composed"] is False
    assert result["plugins"] is False  # the plugin host is not even imported
    assert result["api"] is False  # public functions resolve on first access
    assert result["version"] == s3dlio.__version__


def test_first_access_loads_the_api() -> None:
    result = probe(
        "import sys, json, s3dlio\n"
        "fn = s3dlio.get\n"
        "print(json.dumps({'api': 's3dlio.api' in sys.modules, 'name': fn.__module__,\n"
        "  'composed': __import__('s3dlio.plugin.runtime').plugin.runtime._runtime is not None}))\n"
    )
    assert result == {"api": True, "name": "s3dlio.api", "composed": False}


@pytest.mark.parametrize(("name", "dist", "module"), [
    ("generate_data", "s3dlio-datagen", "s3dlio_datagen"),
    ("put", "s3dlio-datagen", "s3dlio_datagen"),
    ("init_op_log", "s3dlio-oplog", "s3dlio_oplog"),
    ("create_dataset", "s3dlio-loaders", "s3dlio_loaders"),
])
def test_plugin_names_raise_feature_not_installed(name: str, dist: str, module: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the distribution is absent even where a developer has it installed.
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, f"{module}.api", None)
    monkeypatch.delitem(s3dlio.__dict__, name, raising=False)
    with pytest.raises(FeatureNotInstalledError) as info:
        getattr(s3dlio, name)
    assert f"pip install {dist}" in str(info.value)
    assert isinstance(info.value, ImportError)
    with pytest.raises(ImportError, match=dist):
        exec(f"from s3dlio import {name}", {})


def test_feature_not_installed_in_a_clean_interpreter() -> None:
    result = probe(
        "import sys, json\n"
        "sys.modules['s3dlio_oplog'] = None\n"
        "import s3dlio\n"
        "try:\n"
        "    s3dlio.init_op_log\n"
        "except s3dlio.FeatureNotInstalledError as exc:\n"
        "    print(json.dumps({'message': str(exc)}))\n"
    )
    assert "pip install s3dlio-oplog" in result["message"]


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        s3dlio.no_such_thing  # noqa: B018
    assert "get" in dir(s3dlio) and "generate_data" in dir(s3dlio)
    assert hasattr(s3dlio, "hookimpl") and isinstance(s3dlio.__version__, str)


def test_plugin_submodules_name_the_distribution_when_missing() -> None:
    """``import s3dlio.torch`` / ``s3dlio.jax_tf`` without s3dlio-loaders say what to install."""
    code = r"""
import sys
sys.modules["s3dlio_loaders"] = None          # the loaders distribution is not installed
import s3dlio
for statement, hint in (("import s3dlio.torch", "pip install 's3dlio-loaders[torch]'"),
                        ("from s3dlio.jax_tf import JaxIterable", "pip install s3dlio-loaders"),
                        ("s3dlio.torch", "pip install 's3dlio-loaders[torch]'")):
    try:
        exec(statement, {"s3dlio": s3dlio})
    except s3dlio.FeatureNotInstalledError as exc:
        assert hint in str(exc) and isinstance(exc, ImportError), exc
    else:
        raise AssertionError(statement)
try:
    import s3dlio.no_such_module
except ModuleNotFoundError as exc:
    assert not isinstance(exc, s3dlio.FeatureNotInstalledError)
else:
    raise AssertionError("s3dlio.no_such_module imported")
print("ok")
"""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
