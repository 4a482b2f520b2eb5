"""Shared test mixins for backend plugins: the checks every plugin used to copy.

They take the fixtures of :class:`~s3dlio.testing.conformance.ObjectStoreConformance`
— ``store_root`` (the URI of an empty, writable directory ending in ``/``) and, for a store
with ``Capability.BUCKETS``, ``container_parent`` — so a plugin adds them to its
conformance class and writes no fixture twice:

:class:`PicklingChecks`
    a store pickles without its process-bound state (clients, sockets, locks) and still
    serves its objects; pools of ``fork``, ``spawn`` and ``forkserver`` workers read the
    objects correctly after the parent has used its clients.
:class:`CliRoundTripChecks`
    ``s3-cli`` ``cp``/``upload``/``ls``/``stat``/``get``/``rm`` round trips with the exit
    codes of failures, the ``s3-cli`` console script, and ``create-bucket`` /
    ``list-buckets`` / ``delete-bucket`` for stores with ``Capability.BUCKETS``.
:class:`DoctorChecks`
    (includes the CLI checks) ``s3-cli doctor URI --write`` on a network store: described,
    reachable, the server's clock read, the round trip clean, no secret printed.

Import laziness and hookimpl validity are :class:`~s3dlio.testing.contracts.PluginContractChecks`::

    class TestMotoConformance(ObjectStoreConformance, PicklingChecks, CliRoundTripChecks):
        @pytest.fixture
        def store_root(self, bucket):
            return f"{bucket}{uuid.uuid4().hex}/"

        @pytest.fixture
        def container_parent(self, moto):
            return "s3://"
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import random
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

import s3dlio
from s3dlio.plugin import runtime as _runtime
from s3dlio.store import Capability, ObjectStore
from s3dlio.store.middleware import StoreWrapper

__all__ = ["CliResult", "CliRoundTripChecks", "PicklingChecks"]


def _innermost(store: ObjectStore) -> ObjectStore:
    while isinstance(store, StoreWrapper):
        store = store.inner
    return store


def _payload(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# ------------------------------------------------------------------------ pool workers
# Module-level so that spawn and forkserver children can import them by name.


def _use_environment(environ: dict[str, str]) -> None:
    """Pool initializer: the parent's environment as it is now (a forkserver started earlier
    in the session has an older one), and a runtime composed from it."""
    os.environ.clear()
    os.environ.update(environ)
    _runtime.reset()


def _digest(uri: str) -> tuple[int, str]:
    """Pool worker: ``(size, sha256)`` of the object at ``uri``."""
    data = bytes(s3dlio.get(uri))
    return len(data), hashlib.sha256(data).hexdigest()


class _Roots:
    @pytest.fixture
    def store_root(self) -> str:  # pragma: no cover - a subclass must override it
        raise NotImplementedError(f"{type(self).__name__} provides the store_root fixture")

    @pytest.fixture
    def container_parent(self) -> str | None:
        """Where containers are created and listed (stores with ``Capability.BUCKETS``)."""
        return None


class PicklingChecks(_Roots):
    """Stores cross process boundaries without their clients; provide ``store_root``."""

    #: Start methods the pool test runs with (those the platform lacks are skipped).
    #: ``("fork",)`` for a backend whose data lives in the process (``memory://``): a fork
    #: child starts with a snapshot, a spawned one with nothing.
    pool_start_methods: tuple[str, ...] = ("fork", "spawn", "forkserver")

    def test_store_pickles_without_process_state(self, store_root: str) -> None:
        data = _payload(1, 5000)
        s3dlio.put_bytes(store_root + "pickled", data)
        assert s3dlio.get(store_root + "pickled") == data  # the store's clients exist now
        wrapped, base = _runtime.resolve(store_root)
        store = _innermost(wrapped)
        transient = type(store)._transient
        assert not transient or any(name in store.__dict__ for name in transient), (
            f"{type(store).__name__} served requests without building any of {transient}")
        for original in (store, wrapped):
            clone = pickle.loads(pickle.dumps(original))
            assert type(clone) is type(original) and clone.root == original.root
            inner = _innermost(clone)
            leaked = [name for name in transient if name in inner.__dict__]
            assert not leaked, f"process-bound state was pickled: {leaked}"
            assert bytes(clone.get(base + "pickled")) == data

    @pytest.mark.timeout(180)
    @pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
    def test_worker_pools_read_correct_data(self, store_root: str, method: str) -> None:
        if method not in self.pool_start_methods:
            pytest.skip(f"{type(self).__name__} does not run {method} pools")
        if method not in multiprocessing.get_all_start_methods():
            pytest.skip(f"start method {method} is not available here")
        uris = [f"{store_root}pool/{i}" for i in range(8)]
        payloads = [_payload(100 + i, 1000 * (i + 1)) for i in range(8)]
        s3dlio.put_many(list(zip(uris, payloads, strict=True)))
        assert s3dlio.get(uris[0]) == payloads[0]  # the parent has live clients before forking
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(2, initializer=_use_environment, initargs=(dict(os.environ),)) as pool:
            got = pool.map(_digest, uris, chunksize=1)
        assert got == [(len(p), hashlib.sha256(p).hexdigest()) for p in payloads]
        assert s3dlio.get(uris[-1]) == payloads[-1]  # and the parent's clients still work


# ------------------------------------------------------------------------------ CLI


@attrs.frozen
class CliResult:
    """One ``s3-cli`` run: exit code and captured output."""

    returncode: int
    stdout: str
    stderr: str


class CliRoundTripChecks(_Roots):
    """``s3-cli`` against a backend; provide ``store_root`` (and ``container_parent`` for a
    store with ``Capability.BUCKETS``)."""

    #: ``True`` runs the CLI in this process (``s3dlio.cli.main.main``) instead of as
    #: ``python -m s3dlio``: for a backend whose data lives in the process (``memory://``).
    cli_in_process: bool = False

    @pytest.fixture
    def cli(self, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., CliResult]]:
        """``cli("ls", uri)`` → :class:`CliResult`."""
        if self.cli_in_process:
            from s3dlio.cli.main import main

            def run_here(*argv: str) -> CliResult:
                capsys.readouterr()
                code = main(list(argv))
                out, err = capsys.readouterr()
                return CliResult(code, out, err)

            yield run_here
            return

        def run(*argv: str) -> CliResult:
            proc = subprocess.run([sys.executable, "-m", "s3dlio", *argv], capture_output=True,
                                  text=True, env=dict(os.environ), timeout=120, check=False)
            return CliResult(proc.returncode, proc.stdout, proc.stderr)

        yield run

    @pytest.mark.timeout(300)
    def test_cli_round_trip(self, cli: Callable[..., CliResult], store_root: str,
                            tmp_path_factory: pytest.TempPathFactory) -> None:
        tmp_path = tmp_path_factory.mktemp("cli-local")  # never inside store_root
        small, large = _payload(7, 100), _payload(8, 70_000)
        (tmp_path / "a.bin").write_bytes(small)
        (tmp_path / "b.bin").write_bytes(large)

        def ok(*argv: str) -> CliResult:
            result = cli(*argv)
            assert result.returncode == 0, (argv, result.stderr)
            return result

        ok("cp", str(tmp_path / "a.bin"), store_root + "one.bin")
        ok("upload", str(tmp_path / "a.bin"), str(tmp_path / "b.bin"), store_root + "data/")
        assert ok("ls", store_root).stdout.split() == [store_root + "data/", store_root + "one.bin"]
        assert ok("ls", "-r", store_root).stdout.split() == [
            store_root + "data/a.bin", store_root + "data/b.bin", store_root + "one.bin"]
        records = [json.loads(line) for line in
                   ok("stat", "--json", store_root + "data/b.bin").stdout.splitlines()]
        assert [r["size"] for r in records if r.get("type") == "stat"] == [len(large)], records
        ok("get", "-o", str(tmp_path / "back.bin"), store_root + "data/b.bin")
        assert (tmp_path / "back.bin").read_bytes() == large
        ok("cp", store_root + "one.bin", str(tmp_path / "one.bin"))
        assert (tmp_path / "one.bin").read_bytes() == small
        for argv in (("get", "-o", str(tmp_path / "none"), store_root + "missing"),
                     ("stat", store_root + "missing")):
            missing = cli(*argv)
            assert missing.returncode == 4, (argv, missing.stderr)  # 4: not found
            assert "missing" in missing.stderr
        assert not (tmp_path / "none").exists()
        # store_root may be a whole bucket, which rm -r refuses without --force (and --yes).
        ok("rm", "-r", "--force", "--yes", store_root)
        gone = cli("ls", "-r", store_root)  # 4 where the directory went with its objects (file://)
        assert gone.returncode in (0, 4) and gone.stdout == "", gone
        assert s3dlio.list(store_root, recursive=True) == []

    @pytest.mark.timeout(120)
    def test_console_script(self, store_root: str) -> None:
        if self.cli_in_process:
            pytest.skip("the backend's data lives in this process")
        script = shutil.which("s3-cli", path=str(Path(sys.executable).parent))
        if script is None:
            pytest.skip("the s3-cli console script is not installed next to this interpreter")
        s3dlio.put_bytes(store_root + "script.bin", b"via the console script")
        proc = subprocess.run([script, "ls", store_root], capture_output=True, text=True,
                              env=dict(os.environ), timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [store_root + "script.bin"]

    @pytest.mark.timeout(300)
    def test_cli_buckets(self, cli: Callable[..., CliResult], container_parent: str | None) -> None:
        if container_parent is None:
            pytest.skip("no container_parent fixture")
        store, _ = _runtime.resolve(container_parent)
        if Capability.BUCKETS not in store.capabilities:
            pytest.skip(f"{store.backend} has no containers")
        name = f"s3dlio-cli-{uuid.uuid4().hex[:12]}"
        uri = container_parent + name + "/"
        made = cli("create-bucket", uri)
        assert made.returncode == 0, made.stderr
        listed = cli("list-buckets", container_parent)
        assert listed.returncode == 0, listed.stderr
        assert uri in listed.stdout.split()
        gone = cli("delete-bucket", uri)
        assert gone.returncode == 0, gone.stderr
        assert uri not in cli("list-buckets", container_parent).stdout.split()


class DoctorChecks(CliRoundTripChecks):
    """``s3-cli doctor`` against a backend (network stores): the store describes itself,
    is reachable, reports the server's clock, survives the ``--write`` round trip, and no
    secret of the environment reaches the output. Provide ``store_root``."""

    #: Environment variables whose values must never be printed (the backend's secrets).
    secret_env: tuple[str, ...] = ()

    def test_doctor_checks_the_store(self, cli: Callable[..., CliResult], store_root: str) -> None:
        s3dlio.put_bytes(store_root + "one.bin", b"1")
        result = cli("--json", "doctor", store_root, "--write")
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert records[-1]["type"] == "summary", result.stdout
        checks = {c["name"]: c for c in records
                  if c.get("type") == "check" and c.get("section") == store_root}
        assert result.returncode == 0, result.stdout + result.stderr
        assert checks["backend"]["status"] == "ok"
        assert not checks["credentials"]["detail"].startswith("unknown"), checks["credentials"]
        assert checks["reachable"]["status"] == "ok"
        assert checks["clock"]["status"] == "ok" and abs(checks["clock"]["clock_skew_secs"]) < 5
        writes = {c["name"]: c["status"] for c in records
                  if c.get("type") == "check" and c.get("section") == store_root + " (--write)"}
        assert writes == {"put": "ok", "get": "ok", "delete": "ok"}
        assert s3dlio.list(store_root, recursive=True) == [store_root + "one.bin"]
        for name in self.secret_env:
            value = os.environ.get(name)
            if value:
                assert value not in result.stdout + result.stderr, f"{name} printed"
