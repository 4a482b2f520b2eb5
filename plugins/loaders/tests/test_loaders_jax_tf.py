"""JAX (numpy arrays; numpy alone suffices) and TensorFlow adapters."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import pytest
from loaders_testutil import digest, make_objects

import s3dlio
from s3dlio.testing.contracts import composed_host_for

np = pytest.importorskip("numpy")

from s3dlio_loaders.jax_tf import JaxIterable, S3JaxIterable, make_tf_dataset  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_jax_iterable_numpy(tmp_path: Path) -> None:
    data = make_objects(tmp_path / "j", 11)
    it = JaxIterable.from_prefix(f"file://{tmp_path}/j/", shuffle=True, seed=2)
    arrays = list(it)
    assert all(a.dtype == np.uint8 and a.ndim == 1 and not a.flags.writeable for a in arrays)
    assert sorted(digest(a) for a in arrays) == sorted(digest(d) for d in data.values())
    sizes = list(JaxIterable(f"file://{tmp_path}/j/", transform=len))
    assert sorted(sizes) == sorted(len(d) for d in data.values())
    assert all(a.flags.writeable for a in JaxIterable(f"file://{tmp_path}/j/", writable=True))
    assert len(list(pickle.loads(pickle.dumps(it)))) == 11
    with pytest.warns(DeprecationWarning):
        S3JaxIterable(f"file://{tmp_path}/j/")


def test_adapters_registered() -> None:
    from s3dlio.plugin.registry import NamedRegistry

    adapters = composed_host_for("s3dlio_loaders.plugin").collect(
        "s3dlio_register_adapters", NamedRegistry("adapter"))
    assert {"torch", "jax", "tensorflow"} <= set(adapters.names())
    assert adapters.get("jax").load() is JaxIterable


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_with_jax(tmp_path: Path) -> None:  # pragma: no cover - runs where jax is installed
    import jax.numpy as jnp

    make_objects(tmp_path / "j", 3)
    total = sum(int(jnp.asarray(a).sum() >= 0) for a in JaxIterable(f"file://{tmp_path}/j/"))
    assert total == 3


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed")
def test_make_tf_dataset(tmp_path: Path) -> None:  # pragma: no cover - runs where TF is installed
    data = make_objects(tmp_path / "t", 5)
    ds = make_tf_dataset(f"file://{tmp_path}/t/")
    got = sorted(bytes(t.numpy()) for t in ds)
    assert got == sorted(data.values())


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None, reason="tensorflow is installed")
def test_make_tf_dataset_without_tf(tmp_path: Path) -> None:
    with pytest.raises(s3dlio.errors.FeatureNotInstalledError, match="TensorFlow"):
        make_tf_dataset(f"file://{tmp_path}/")
