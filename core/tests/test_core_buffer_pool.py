"""The recycled-buffer pool behind ``BytesView`` (docs/configuration.md, ``buffer_pool_mb``).

What must hold: memory that anything still references — a memoryview, numpy array or
torch tensor made from an earlier result — is never handed out again, across many later
reads and across threads; the pool's bounds hold (RSS measured in a subprocess); a fork
or spawn child never reuses the parent's pooled blocks; the settings size and disable it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import s3dlio
from s3dlio.bytesview import BytesView, buffer_pool, configure_pool

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12) or not buffer_pool().enabled,
    reason="the pool serves the Python 3.11 CPython BytesView",
)

MiB = 1 << 20
SIZE = 256 << 10  # pooled sizes start at 64 KiB


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    pool = buffer_pool()
    before = (pool.max_bytes, pool.max_count)
    pool.clear()
    configure_pool(256, 1024)
    yield
    pool.clear()
    pool.configure(*before)


def _address(view: BytesView) -> int:
    probe = ctypes.c_char.from_buffer(view)
    try:
        return ctypes.addressof(probe)
    finally:
        del probe


def _filled(byte: int, size: int = SIZE) -> BytesView:
    view, mv = BytesView.allocate(size)
    mv.release()
    ctypes.memset(_address(view), byte, size)  # no temporary holding the pattern
    return view


def test_a_dead_view_is_recycled_already_faulted_in() -> None:
    view = _filled(1)
    where = _address(view)
    del view
    assert len(buffer_pool()) == 1
    again, _mv = BytesView.allocate(SIZE)
    assert _address(again) == where
    assert len(again) == SIZE and bytes(again[:4]) == b"\x01" * 4  # same block, not zeroed
    smaller, _ = BytesView.allocate(SIZE - 1000)  # a nearby size fits the same class
    assert len(smaller) == SIZE - 1000


def test_zeroed_allocations_never_come_from_the_pool() -> None:
    _filled(7)  # dies at once: its block goes to the pool
    assert len(buffer_pool()) == 1
    view, _ = BytesView.allocate(SIZE, zeroed=True)
    assert bytes(view) == bytes(SIZE)


def _holders() -> dict[str, Callable[[BytesView], Any]]:
    np = pytest.importorskip("numpy")
    out: dict[str, Callable[[BytesView], Any]] = {
        "memoryview": lambda v: v.memoryview(),
        "memoryview-slice": lambda v: memoryview(v)[100:],
        "numpy": lambda v: np.frombuffer(v, dtype=np.uint8),
        "numpy-view": lambda v: np.frombuffer(v, dtype=np.uint8)[: len(v) // 4 * 4].reshape(-1, 4)[1:],
        "ctypes": lambda v: (ctypes.c_char * len(v)).from_buffer(v),
    }
    try:
        import torch

        out["torch"] = lambda v: torch.frombuffer(v, dtype=torch.uint8)
        out["torch-view"] = lambda v: torch.frombuffer(v, dtype=torch.uint8)[8:].view(torch.int16)
    except ImportError:  # pragma: no cover - torch is in the all env
        pass
    return out


def _content(holder: Any) -> bytes:
    if isinstance(holder, memoryview):
        return holder.tobytes()
    if isinstance(holder, ctypes.Array):
        return bytes(holder)
    if hasattr(holder, "numpy"):
        return holder.contiguous().numpy().tobytes()
    return bytes(holder.tobytes())


@pytest.mark.parametrize("kind", sorted(_holders()))
def test_memory_still_held_is_never_reused(memory_root: str, kind: str) -> None:
    make = _holders()[kind]
    held: list[tuple[int, Any, bytes]] = []
    for i in range(60):
        uri = f"{memory_root}o{i % 3}"
        s3dlio.put_bytes(uri, bytes([i % 251 + 1]) * (SIZE + i))
        view = s3dlio.get(uri)
        if i % 2:  # every other result dies at once and feeds the pool
            del view
            continue
        holder = make(view)
        held.append((i, holder, _content(holder)))
        del view  # only the holder keeps the block now
    assert buffer_pool().stats()["hits"] > 10  # the pool was busy while holders lived
    for i, holder, first in held:
        assert _content(holder) == first, i
        assert first[:1] == bytes([i % 251 + 1]), i


def test_held_results_survive_reads_in_other_threads(memory_root: str) -> None:
    np = pytest.importorskip("numpy")
    for i in range(8):
        s3dlio.put_bytes(f"{memory_root}t{i}", bytes([i + 1]) * (SIZE * (1 + i % 3)))
    kept: dict[int, list[tuple[int, Any]]] = {}
    errors: list[BaseException] = []

    def reader(tid: int) -> None:
        mine = kept.setdefault(tid, [])
        try:
            for n in range(40):
                k = (tid + n) % 8
                view = s3dlio.get(f"{memory_root}t{k}")
                if n % 3 == 0:
                    mine.append((k, np.frombuffer(view, dtype=np.uint8)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for arrays in kept.values():
        for k, arr in arrays:
            assert arr.size == SIZE * (1 + k % 3) and (arr == k + 1).all(), k
    assert buffer_pool().stats()["hits"] > 0


def test_file_reads_recycle_too(tmp_path: Any) -> None:
    pytest.importorskip("s3dlio_posix")
    path = tmp_path / "f"
    path.write_bytes(b"z" * SIZE)
    uri = f"file://{path}"
    first = s3dlio.get(uri)
    mv = first.memoryview()
    del first
    second = s3dlio.get(uri)  # mv still holds the first block: this one is new
    assert mv.tobytes() == b"z" * SIZE and bytes(second) == b"z" * SIZE
    where = _address(second)
    del second
    assert _address(s3dlio.get(uri)) == where  # and now recycled


def test_disabled_pool_keeps_nothing() -> None:
    configure_pool(0, 0)
    _filled(3)
    assert len(buffer_pool()) == 0 and not buffer_pool().enabled


def test_count_and_byte_bounds() -> None:
    configure_pool(256, 3)
    views = [_filled(i) for i in range(10)]
    del views
    assert len(buffer_pool()) == 3
    configure_pool(1, 1024)  # 1 MiB: four 256 KiB blocks at most (their capacity is a bit more)
    assert buffer_pool().held_bytes <= 1 * MiB
    views = [_filled(i) for i in range(10)]
    del views
    assert buffer_pool().held_bytes <= 1 * MiB and len(buffer_pool()) == 3


_RSS_PROBE = r"""
import ctypes, gc, os
from s3dlio.plugin import runtime
runtime.runtime()
from s3dlio.bytesview import BytesView, buffer_pool

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

base = rss()
for _ in range(3):
    keep = []
    for i in range(48):  # 384 MiB alive at once, faulted in
        view, mv = BytesView.allocate(8 << 20)
        ctypes.memset(ctypes.addressof(ctypes.c_char.from_buffer(mv)), i, 8 << 20)
        mv.release()
        keep.append(view)
    del keep
    gc.collect()
print((rss() - base) >> 20, buffer_pool().held_bytes >> 20, len(buffer_pool()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS from /proc")
@pytest.mark.parametrize(("env", "max_mb"), [({"S3DLIO_BUFFER_POOL_MB": "64"}, 64),
                                             ({"S3DLIO_BUFFER_POOL_COUNT": "2"}, 18),
                                             ({"S3DLIO_BUFFER_POOL_MB": "0"}, 0)])
def test_rss_stays_within_the_pool_bounds(env: dict[str, str], max_mb: int) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("S3DLIO_")} | env
    # A fixed mmap threshold makes glibc give every freed 8 MiB block back to the kernel at
    # once, so what stays resident is what the pool holds.
    clean["MALLOC_MMAP_THRESHOLD_"] = str(128 << 10)
    proc = subprocess.run([sys.executable, "-c", _RSS_PROBE], env=clean, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    grown, held, count = map(int, proc.stdout.split())
    assert held <= max_mb
    if "S3DLIO_BUFFER_POOL_COUNT" in env:
        assert count <= 2
    assert grown <= max_mb + 16, proc.stdout  # 16 MiB slack: interpreter and allocator


def _child_report(queue: Any) -> None:
    pool = buffer_pool()
    blocks = len(pool)
    view, _ = BytesView.allocate(SIZE)
    queue.put((blocks, pool.stats()["hits"], bytes(view[:16])))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_children_never_reuse_a_parents_pooled_block(method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method}")
    secret = b"\x5a" * 16
    kept = [_filled(0x5A) for _ in range(3)]
    del kept
    assert len(buffer_pool()) >= 1
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_report, args=(queue,))
    proc.start()
    blocks, hits, head = queue.get(timeout=60)
    proc.join(60)
    assert proc.exitcode == 0
    assert blocks == 0 and hits == 0
    assert head != secret
    assert len(buffer_pool()) >= 1  # the parent's pool is its own business


_FAULTS_PROBE = r"""
import resource
from s3dlio.plugin import runtime
runtime.runtime()
from s3dlio.bytesview import BytesView

def round_():
    keep = []
    for _ in range(16):  # 128 MiB alive at once, like a get_many result
        view, mv = BytesView.allocate(8 << 20)
        mv[::4096] = bytes(len(mv[::4096]))  # a read touches every page
        mv.release()
        keep.append(view)
    del keep
round_()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    round_()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="getrusage minor faults")
def test_recycled_results_skip_the_first_touch_page_faults() -> None:
    def faults(env: dict[str, str]) -> int:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("S3DLIO_")} | env
        clean["MALLOC_MMAP_THRESHOLD_"] = str(128 << 10)  # the allocator returns freed blocks
        proc = subprocess.run([sys.executable, "-c", _FAULTS_PROBE], env=clean, capture_output=True,
                              text=True, timeout=100, check=False)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout.strip())

    off = faults({"S3DLIO_BUFFER_POOL_MB": "0"})
    pooled = faults({})
    assert off > 1000, off  # 3 x 128 MiB of fresh memory (huge pages make it fewer faults)
    assert pooled < off // 10, (pooled, off)


def test_a_full_pool_evicts_the_least_recently_returned_blocks() -> None:
    configure_pool(1, 1024)  # 1 MiB: three 256 KiB blocks
    old = [_filled(1) for _ in range(3)]
    del old
    assert len(buffer_pool()) == 3
    new = [_filled(2, 3 * SIZE // 2) for _ in range(2)]  # another size class
    del new
    stats = buffer_pool().stats()
    assert stats["evicted"] >= 2 and stats["bytes"] <= 1 * MiB
    view, _mv = BytesView.allocate(3 * SIZE // 2)  # the newer size is served
    assert buffer_pool().stats()["hits"] == stats["hits"] + 1 and bytes(view[:1]) == b"\x02"
