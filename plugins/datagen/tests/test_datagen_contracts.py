"""Plugin contract checks (lazy imports, valid hookimpls, lazy specs) and registrations."""

from __future__ import annotations

import pytest

from s3dlio.plugin.registry import NamedRegistry
from s3dlio.testing.contracts import PluginContractChecks, composed_host_for

pytestmark = pytest.mark.timeout(120)


class TestDatagenContracts(PluginContractChecks):
    @pytest.fixture
    def plugin_module(self) -> str:
        return "s3dlio_datagen.plugin"


def test_generators_and_commands_registered() -> None:
    host = composed_host_for("s3dlio_datagen.plugin")
    generators = host.collect("s3dlio_register_generators", NamedRegistry("generator"))
    assert {"random", "zeros"} <= set(generators.names())
    gen = generators.get("random").load()(size=100, dedup=1, compress=1, seed=1)
    import numpy as np

    out = np.zeros(100, dtype=np.uint8)
    gen.fill(out, 0)
    import s3dlio

    assert out.tobytes() == s3dlio.generate_data(100, seed=1)


def test_vendor_generator_selected_by_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from s3dlio_datagen import api

    monkeypatch.setattr(api, "_registered_generators", lambda: ["zeros", "vendor"])
    monkeypatch.setattr(api, "_configured_generator", lambda: "vendor")
    assert api.resolve_algorithm("random") == "vendor"
    assert api.resolve_algorithm("zeros") == "zeros"
    monkeypatch.setattr(api, "_configured_generator", lambda: "missing")
    assert api.resolve_algorithm("prand") == "random"
