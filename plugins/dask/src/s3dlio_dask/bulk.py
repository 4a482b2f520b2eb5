"""``s3dlio.bulk``: copy, generate, get and delete many objects, on a Dask cluster or locally.

Each call plans its items in this process (one listing, or the object numbers), cuts them
into partitions, and runs every partition with s3dlio's batch engine — on the cluster's
workers when ``client`` is a ``dask.distributed.Client`` (Dask retries a task whose worker
died), in this process otherwise. Writes are atomic ``put``/``copy`` calls, so a worker that
dies mid-item leaves no partial object: the retried task writes it again. Every call returns
one report::

    {"ok": int, "failed": int, "bytes": int, "seconds": float,
     "failures": [(uri, "ErrorType: message"), ...],
     "workers": [{"worker": address, "ok": int, "bytes": int}, ...]}
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Sequence
from typing import Any

from s3dlio.errors import ConfigError, S3dlioError

__all__ = ["SchedulerUnreachableError", "connect", "copy", "delete", "generate", "get"]

Report = dict[str, Any]
Part = dict[str, Any]


class SchedulerUnreachableError(S3dlioError, ConnectionError):
    """The Dask scheduler named by an address did not answer in time."""


def connect(address: str, *, timeout: float = 10.0) -> Any:
    """A ``dask.distributed.Client`` for ``address``, or ``local:N`` (a LocalCluster of N processes).

    An unreachable scheduler raises :class:`SchedulerUnreachableError` naming it
    within ``timeout`` seconds.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        from s3dlio.errors import FeatureNotInstalledError

        raise FeatureNotInstalledError(
            "a Dask cluster needs: pip install 's3dlio-dask[distributed]'") from exc
    if address.startswith("local:"):
        n = int(address.split(":", 1)[1] or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                               dashboard_address=None)
        return Client(cluster)  # type: ignore[no-untyped-call]
    try:
        return Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachableError(f"Dask scheduler {address} unreachable: {exc}") from exc


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _chunks(items: Sequence[Any], parts: int) -> list[list[Any]]:
    parts = max(1, min(parts, len(items) or 1))
    return [list(items[i::parts]) for i in range(parts)]


def _run_part(op: str, items: list[Any], jobs: int, args: dict[str, Any]) -> Part:
    """One partition on a worker: the batch engine over ``items``; failures collected, not raised."""
    from s3dlio.engines.batch import is_failure, run_batch_settled

    fn = _ITEM_OPS[op](args)
    settled = run_batch_settled(fn, items, window=max(1, min(jobs, len(items) or 1)))
    ok = nbytes = 0
    failures: list[tuple[str, str]] = []
    for item, result in zip(items, settled, strict=True):
        if is_failure(result):
            exc = result.exc  # type: ignore[union-attr]
            failures.append((_label(op, item, args), f"{type(exc).__name__}: {exc}"))
        else:
            ok += 1
            nbytes += result if isinstance(result, int) else 0
    return {"worker": _worker_name(), "ok": ok, "bytes": nbytes, "failures": failures}


def _label(op: str, item: Any, args: dict[str, Any]) -> str:
    if op == "generate":
        return str(_gen_uri(args, int(item)))
    return str(item[0] if isinstance(item, tuple) else item)


def _copy_item(args: dict[str, Any]) -> Callable[[tuple[str, str]], int]:
    from s3dlio.plugin.runtime import resolve

    def one(pair: tuple[str, str]) -> int:
        src_store, src_key = resolve(pair[0])
        dst_store, dst_key = resolve(pair[1])
        if args["no_clobber"] and dst_store.exists(dst_key):
            return 0
        if src_store is dst_store:  # the store's own copy: server-side where it can
            dst_store.copy(src_key, dst_key)
            return dst_store.head(dst_key).size
        data = src_store.get(src_key)
        dst_store.put(dst_key, data.memoryview())  # atomic: a dead worker leaves nothing
        return len(data)

    return one


def _gen_uri(args: dict[str, Any], i: int) -> str:
    return f"{args['prefix']}/{args['template'].format(i, args['num'])}"


def _generate_item(args: dict[str, Any]) -> Callable[[int], int]:
    import s3dlio
    from s3dlio_datagen.api import object_payload_factory

    make = object_payload_factory(args["size"], args["fmt"], args["dedup"], args["compress"],
                                  seed=args["seed"])

    def one(i: int) -> int:
        data = make(i)
        s3dlio.put_bytes(_gen_uri(args, i), data)
        return len(data)

    return one


def _get_item(args: dict[str, Any]) -> Callable[[str], int]:
    import s3dlio

    def one(uri: str) -> int:
        return len(s3dlio.get(uri))

    return one


def _delete_item(args: dict[str, Any]) -> Callable[[str], int]:
    from s3dlio.plugin.runtime import resolve

    def one(uri: str) -> int:
        store, key = resolve(uri)
        store.delete(key)
        return 0

    return one


_ITEM_OPS: dict[str, Callable[[dict[str, Any]], Callable[[Any], int]]] = {
    "copy": _copy_item, "generate": _generate_item, "get": _get_item, "delete": _delete_item,
}


def _execute(op: str, items: Sequence[Any], *, client: Any, jobs: int, partitions: int | None,
             args: dict[str, Any]) -> Report:
    start = time.perf_counter()
    if client is None:
        parts = _chunks(items, partitions or 1)
        results = [_run_part(op, p, jobs, args) for p in parts if p]
    else:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        parts = [p for p in _chunks(items, partitions or workers * 2) if p]
        futures = client.map(_run_part, [op] * len(parts), parts, [jobs] * len(parts),
                             [args] * len(parts), retries=2, pure=False)
        results = client.gather(futures)
    per_worker: dict[str, dict[str, Any]] = {}
    failures: list[tuple[str, str]] = []
    for r in results:
        w = per_worker.setdefault(r["worker"], {"worker": r["worker"], "ok": 0, "bytes": 0})
        w["ok"] += r["ok"]
        w["bytes"] += r["bytes"]
        failures.extend((str(f[0]), str(f[1])) for f in r["failures"])
    return {
        "ok": sum(r["ok"] for r in results),
        "failed": len(failures),
        "bytes": sum(r["bytes"] for r in results),
        "seconds": round(time.perf_counter() - start, 6),
        "failures": failures,
        "workers": sorted(per_worker.values(), key=lambda w: w["worker"]),
    }


def _list(prefix: str) -> list[str]:
    import s3dlio

    return sorted(u for u in s3dlio.list(prefix, recursive=True) if not u.endswith("/"))


def copy(src: str, dst: str, *, client: Any = None, jobs: int = 32, partitions: int | None = None,
         include: str | Sequence[str] | None = None, exclude: str | Sequence[str] | None = None,
         no_clobber: bool = False, op_log: str | None = None) -> Report:
    """Copy every object under ``src`` to the same relative path under ``dst``.

    ``include``/``exclude`` are globs on the relative path; ``no_clobber`` skips
    existing destinations. ``op_log`` is not supported yet (``ConfigError``).
    """
    if op_log is not None:
        raise ConfigError("bulk.copy: op_log is not implemented yet (issue 17)")
    base = src if src.endswith("/") else src + "/"
    target = dst if dst.endswith("/") else dst + "/"
    inc = [include] if isinstance(include, str) else list(include or [])
    exc = [exclude] if isinstance(exclude, str) else list(exclude or [])
    pairs: list[tuple[str, str]] = []
    for uri in _list(base):
        rel = uri[len(base):]
        if inc and not any(fnmatch.fnmatchcase(rel, g) for g in inc):
            continue
        if any(fnmatch.fnmatchcase(rel, g) for g in exc):
            continue
        pairs.append((uri, target + rel))
    return _execute("copy", pairs, client=client, jobs=jobs, partitions=partitions,
                    args={"no_clobber": no_clobber})


def generate(prefix: str, num: int, size: int, *, fmt: str = "raw", dedup: int = 1, compress: int = 1,
             seed: int = 0, template: str | None = None, client: Any = None, jobs: int = 32,
             partitions: int | None = None) -> Report:
    """Write ``num`` deterministic objects ``prefix/template.format(i, num)`` (s3dlio-datagen payloads)."""
    if num < 0 or size < 0:
        raise ConfigError(f"bulk.generate: num and size must be >= 0, got {num}, {size}")
    args = {"prefix": prefix.rstrip("/"), "num": num, "size": size, "fmt": fmt, "dedup": dedup,
            "compress": compress, "seed": seed, "template": template or "object_{}_of_{}.dat"}
    return _execute("generate", list(range(num)), client=client, jobs=jobs, partitions=partitions, args=args)


def get(prefix_or_uris: str | Sequence[str], *, client: Any = None, jobs: int = 64,
        partitions: int | None = None) -> Report:
    """Read every object under a prefix (or in a list of URIs) and discard it: a read benchmark."""
    uris = _list(prefix_or_uris) if isinstance(prefix_or_uris, str) else list(prefix_or_uris)
    return _execute("get", uris, client=client, jobs=jobs, partitions=partitions, args={})


def delete(prefix: str, *, client: Any = None, jobs: int = 64, partitions: int | None = None) -> Report:
    """Delete every object under ``prefix``."""
    return _execute("delete", _list(prefix), client=client, jobs=jobs, partitions=partitions, args={})
