"""Benchmark cases (issue 2 item 6) and the data sets they read.

Each ``*_cases`` function returns :class:`~benchmarks.harness.Case` objects whose
arms name worker functions (see ``worker.py``). Data sets are written once with
plain Python (random, incompressible content) and reused between runs when their
sizes match.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import Arm, Case

__all__ = ["Sizes", "direct_cases", "get_cases", "import_case", "list_case", "overhead_cases",
           "put_cases", "sizes_for"]

KiB = 1 << 10
MiB = 1 << 20


@dataclass(frozen=True)
class Sizes:
    """Object counts and sizes of one run (full or ``--quick``)."""

    shapes: tuple[tuple[int, int, str], ...]
    """``(count, size, label)`` of the GET/PUT data sets."""
    small_count: int
    """Number of 1 KiB objects of the per-call overhead case."""
    list_dirs: int
    list_files_per_dir: int
    direct: tuple[int, int, str]
    reps: int
    import_reps: int


FULL = Sizes(
    shapes=((1000, 64 * KiB, "1000x64KiB"), (100, 8 * MiB, "100x8MiB"), (4, 256 * MiB, "4x256MiB")),
    small_count=2000, list_dirs=10, list_files_per_dir=1000,
    direct=(4, 256 * MiB, "4x256MiB"), reps=5, import_reps=9,
)
QUICK = Sizes(
    shapes=((200, 64 * KiB, "200x64KiB"), (16, 8 * MiB, "16x8MiB"), (2, 64 * MiB, "2x64MiB")),
    small_count=500, list_dirs=4, list_files_per_dir=500,
    direct=(2, 64 * MiB, "2x64MiB"), reps=5, import_reps=5,
)


def sizes_for(quick: bool) -> Sizes:
    """The sizes of a full or a ``--quick`` run."""
    return QUICK if quick else FULL


# ----------------------------------------------------------------------------- data sets

_BLOCK: bytes | None = None


def _block() -> bytes:
    global _BLOCK
    if _BLOCK is None:
        _BLOCK = os.urandom(MiB)
    return _BLOCK


def _write_file(path: str, size: int) -> None:
    block = _block()
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(block))
            fh.write(block[:n])
            left -= n


def make_dataset(root: str, count: int, size: int) -> list[str]:
    """``count`` files of ``size`` bytes under ``root`` (kept if already right); their paths."""
    os.makedirs(root, exist_ok=True)
    paths = [os.path.join(root, f"obj-{i:05d}.bin") for i in range(count)]
    for p in paths:
        try:
            if os.stat(p).st_size == size:
                continue
        except FileNotFoundError:
            pass
        _write_file(p, size)
    return paths


def make_tree(root: str, dirs: int, per_dir: int) -> int:
    """``dirs`` directories of ``per_dir`` empty files under ``root``; the file count."""
    for d in range(dirs):
        sub = os.path.join(root, f"d{d:03d}")
        os.makedirs(sub, exist_ok=True)
        have = len(os.listdir(sub))
        if have == per_dir:
            continue
        for i in range(per_dir):
            p = os.path.join(sub, f"f{i:05d}")
            if not os.path.exists(p):
                open(p, "wb").close()
    return dirs * per_dir


def _uris(paths: list[str], scheme: str = "file") -> list[str]:
    return [f"{scheme}://{p}" for p in paths]


# ----------------------------------------------------------------------------- cases


def get_cases(data: str, sizes: Sizes, original: bool, reps: int,
              want: Callable[[str], bool] = lambda _n: True) -> list[Case]:
    """file:// GET: ``get`` loop, ``get_many``, ``get_many_stats`` vs ``readinto`` loop/pool."""
    out = []
    for count, size, label in sizes.shapes:
        if not want(f"get-{label}"):
            continue
        paths = make_dataset(os.path.join(data, "get", label), count, size)
        uris = _uris(paths)
        ref = {"paths": paths, "size": size}
        s3 = {"uris": uris}
        arms = [
            Arm("readinto loop", "ref", "ref_readinto_loop", ref,
                note="reused page-aligned buffer"),
            Arm("readinto loop, bytearray", "ref", "ref_readinto_loop", {**ref, "aligned": False},
                note="reused bytearray buffer (glibc places it at page+16)"),
            Arm("readinto 16 threads", "ref", "ref_readinto_pool", {**ref, "threads": 16}),
            Arm("get loop", "ours", "s3_get_loop", s3),
            Arm("get_many", "ours", "s3_get_many", s3),
            Arm("get_many_stats", "ours", "s3_get_many_stats", s3,
                note="reused per-worker buffer; the original supports it for s3:// only"),
            Arm("get_many, MALLOC_RETAIN_MB=1024", "ours-retain", "s3_get_many", s3,
                note="ours with the opt-in S3DLIO_MALLOC_RETAIN_MB=1024 (a separate process)"),
        ]
        pairs = {}
        if original:
            arms += [Arm("original get loop", "original", "s3_get_loop", s3),
                     Arm("original get_many", "original", "s3_get_many", s3)]
            pairs = {"get loop": "original get loop", "get_many": "original get_many",
                     "get_many, MALLOC_RETAIN_MB=1024": "original get_many"}
        out.append(Case(f"get-{label}", f"file:// GET {label}", "GB/s", arms,
                            reference="readinto loop", pairs=pairs, reps=reps))
    return out


def put_cases(data: str, sizes: Sizes, original: bool, reps: int,
              want: Callable[[str], bool] = lambda _n: True) -> list[Case]:
    """file:// PUT of new objects: ``put_bytes`` loop and ``put_many`` vs plain writes."""
    out = []
    for count, size, label in sizes.shapes:
        if not want(f"put-{label}"):
            continue
        base = os.path.join(data, "put", label)

        def arm(name: str, impl: str, fn: str, sub: str, extra: dict[str, Any] | None = None,
                base: str = base, count: int = count, size: int = size) -> Arm:
            d = os.path.join(base, sub)
            paths = [os.path.join(d, f"obj-{i:05d}.bin") for i in range(count)]
            params: dict[str, Any] = {"size": size, "clean": [d], "clean_after": [d], **(extra or {})}
            if fn.startswith("s3_"):
                params["uris"] = _uris(paths)
            else:
                params["paths"] = paths
            return Arm(name, impl, fn, params)

        arms = [
            arm("write loop", "ref", "ref_write_loop", "ref-loop"),
            arm("write 16 threads", "ref", "ref_write_pool", "ref-pool", {"threads": 16}),
            arm("put_bytes loop", "ours", "s3_put_loop", "ours-loop"),
            arm("put_many", "ours", "s3_put_many", "ours-many"),
        ]
        pairs = {}
        if original:
            arms += [arm("original put_bytes loop", "original", "s3_put_loop", "orig-loop"),
                     arm("original put_many", "original", "s3_put_many", "orig-many")]
            pairs = {"put_bytes loop": "original put_bytes loop", "put_many": "original put_many"}
        out.append(Case(f"put-{label}", f"file:// PUT {label} (new objects)", "GB/s", arms,
                        reference="write loop", pairs=pairs, reps=reps))
    return out


def overhead_cases(data: str, shm: str | None, sizes: Sizes, original: bool, reps: int,
                   want: Callable[[str], bool] = lambda _n: True) -> list[Case]:
    """Per-call overhead with 1 KiB objects: ``get`` and ``put_bytes`` µs/op."""
    n = sizes.small_count
    out = []
    places = [("ext4", data)] + ([("tmpfs", shm)] if shm else [])
    for fs, root in places:
        if not any(want(f"overhead-{k}-{fs}") for k in ("get", "put-new", "put-overwrite")):
            continue
        paths = make_dataset(os.path.join(root, "small", "get"), n, KiB)
        uris = _uris(paths)
        arms = [Arm("readinto loop", "ref", "ref_readinto_loop", {"paths": paths, "size": KiB}),
                Arm("get", "ours", "s3_get_loop", {"uris": uris})]
        pairs = {}
        if original:
            arms.append(Arm("original get", "original", "s3_get_loop", {"uris": uris}))
            pairs = {"get": "original get"}
        if want(f"overhead-get-{fs}"):
            out.append(Case(f"overhead-get-{fs}", f"file:// get 1 KiB x {n} ({fs})", "us/op", arms,
                            reference="readinto loop", pairs=pairs, reps=reps))
        for mode in ("new", "overwrite"):
            if not want(f"overhead-put-{mode}-{fs}"):
                continue
            arms = []
            cleanup: list[str] = []
            for name, impl, fn, sub in (("write loop", "ref", "ref_write_loop", "ref"),
                                        ("put_bytes", "ours", "s3_put_loop", "ours"),
                                        ("original put_bytes", "original", "s3_put_loop", "orig")):
                if impl == "original" and not original:
                    continue
                d = os.path.join(root, "small", f"put-{mode}", sub)
                if mode == "new":
                    shutil.rmtree(d, ignore_errors=True)
                p = [os.path.join(d, f"obj-{i:05d}.bin") for i in range(n)]
                params: dict[str, Any] = {"size": KiB}
                if fn.startswith("s3_"):
                    params["uris"] = _uris(p)
                else:
                    params["paths"] = p
                if mode == "new":
                    # a new empty directory per call: re-creating names just deleted hits
                    # ext4's online-discard path and measures the disk, not the call
                    params["fresh_base"] = d
                    cleanup.append(d)
                else:
                    os.makedirs(d, exist_ok=True)
                arms.append(Arm(name, impl, fn, params))
            pairs = {"put_bytes": "original put_bytes"} if original else {}
            out.append(Case(f"overhead-put-{mode}-{fs}", f"file:// put_bytes 1 KiB x {n}, {mode} ({fs})",
                            "us/op", arms, reference="write loop", pairs=pairs, reps=reps,
                            cleanup=cleanup))
    return out


def list_case(data: str, sizes: Sizes, original: bool, reps: int) -> Case:
    """Recursive listing of ``dirs x files_per_dir`` files vs an ``os.scandir`` walk."""
    root = os.path.join(data, "list")
    make_tree(root, sizes.list_dirs, sizes.list_files_per_dir)
    n = sizes.list_dirs * sizes.list_files_per_dir
    arms = [Arm("os.scandir walk + sort", "ref", "ref_scandir", {"root": root}),
            Arm("list(recursive=True)", "ours", "s3_list", {"uri": f"file://{root}/"})]
    pairs = {}
    if original:
        arms.append(Arm("original list", "original", "s3_list", {"uri": f"file://{root}/"}))
        pairs = {"list(recursive=True)": "original list"}
    return Case("list", f"file:// list {n} files ({sizes.list_dirs} dirs)", "Mentries/s", arms,
                reference="os.scandir walk + sort", pairs=pairs, reps=reps)


def direct_cases(data: str, sizes: Sizes, original: bool, reps: int) -> list[Case]:
    """direct:// GET and PUT of large objects vs O_DIRECT ``preadv``/``pwritev`` references."""
    count, size, label = sizes.direct
    paths = make_dataset(os.path.join(data, "direct", "get"), count, size)
    uris = _uris(paths, "direct")
    ref = {"paths": paths, "size": size, "chunk": 8 * MiB}
    arms = [Arm("O_DIRECT preadv QD1", "ref", "ref_odirect_read", ref),
            Arm("O_DIRECT preadv 8 threads", "ref", "ref_odirect_read_qd", {**ref, "threads": 8}),
            Arm("get loop", "ours", "s3_get_loop", {"uris": uris}),
            Arm("get_many", "ours", "s3_get_many", {"uris": uris})]
    pairs = {}
    if original:
        arms += [Arm("original get loop", "original", "s3_get_loop", {"uris": uris}),
                 Arm("original get_many", "original", "s3_get_many", {"uris": uris})]
        pairs = {"get loop": "original get loop", "get_many": "original get_many"}
    get_case = Case(f"direct-get-{label}", f"direct:// GET {label}", "GB/s", arms,
                    reference="O_DIRECT preadv QD1", pairs=pairs, reps=reps)

    base = os.path.join(data, "direct", "put")

    def parm(name: str, impl: str, fn: str, sub: str) -> Arm:
        d = os.path.join(base, sub)
        p = [os.path.join(d, f"obj-{i:05d}.bin") for i in range(count)]
        params: dict[str, Any] = {"size": size, "clean": [d], "clean_after": [d], "chunk": 8 * MiB}
        if fn.startswith("s3_"):
            params["uris"] = _uris(p, "direct")
        else:
            params["paths"] = p
        return Arm(name, impl, fn, params)

    arms = [parm("O_DIRECT pwritev QD1", "ref", "ref_odirect_write", "ref"),
            parm("put_bytes loop", "ours", "s3_put_loop", "ours-loop"),
            parm("put_many", "ours", "s3_put_many", "ours-many")]
    pairs = {}
    if original:
        arms += [parm("original put_bytes loop", "original", "s3_put_loop", "orig-loop"),
                 parm("original put_many", "original", "s3_put_many", "orig-many")]
        pairs = {"put_bytes loop": "original put_bytes loop", "put_many": "original put_many"}
    put_case = Case(f"direct-put-{label}", f"direct:// PUT {label}", "GB/s", arms,
                    reference="O_DIRECT pwritev QD1", pairs=pairs, reps=reps)
    return [get_case, put_case]


# ----------------------------------------------------------------------------- import time


def _wall_of(cmd: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd="/")
    return {"wall_s": time.perf_counter() - t0, "cpu_s": 0.0, "minflt": 0, "ops": 1, "nbytes": 0}


def plugin_modules(python: str) -> list[str]:
    """Modules of every plugin registered in entry-point group ``s3dlio`` for ``python``."""
    code = ("from importlib.metadata import entry_points\n"
            "print(' '.join(sorted(ep.value.split(':')[0] for ep in entry_points(group='s3dlio'))))")
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return out.stdout.split()


def import_case(python: str, original_python: str | None, reps: int, probe: str) -> Case:
    """``import s3dlio`` (alone, + every installed plugin, + a first file:// call), fresh interpreter.

    Numbers include interpreter start-up; the bare ``python -c pass`` arm is the
    reference, so ``ms`` above it is the import cost.
    """
    mods = plugin_modules(python)
    all_plugins = "import s3dlio" + "".join(f", {m}" for m in mods)
    first_call = f"import s3dlio; s3dlio.exists('file://{probe}')"

    def runner(py: str, code: str) -> Callable[[], dict[str, Any]]:
        return lambda: _wall_of([py, "-I", "-c", code])

    arms = [Arm("python -c pass", "ref", runner(python, "pass")),
            Arm("import s3dlio", "ours", runner(python, "import s3dlio")),
            Arm("import s3dlio + all plugins", "ours", runner(python, all_plugins),
                note="plugins: " + ", ".join(mods)),
            Arm("import + first file:// call", "ours", runner(python, first_call))]
    pairs = {}
    if original_python:
        arms += [Arm("original python -c pass", "ref", runner(original_python, "pass")),
                 Arm("original import s3dlio", "original", runner(original_python, "import s3dlio")),
                 Arm("original import + first call", "original", runner(original_python, first_call))]
        pairs = {"import s3dlio": "original import s3dlio",
                 "import s3dlio + all plugins": "original import s3dlio",
                 "import + first file:// call": "original import + first call"}
    return Case("import", "import time (fresh interpreter, wall incl. start-up)", "ms", arms,
                reference="python -c pass", pairs=pairs, reps=reps)


def importtime_top(python: str, code: str, top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """``-X importtime``: median cumulative ms of ``s3dlio`` and the ``top`` heaviest top-level imports."""
    runs: list[dict[str, float]] = []
    for _ in range(5):
        proc = subprocess.run([python, "-I", "-X", "importtime", "-c", code], capture_output=True,
                              text=True, check=True, cwd="/")
        rows: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            if len(parts) != 3 or not parts[0].startswith("import time:") or "cumulative" in line:
                continue
            name = parts[2][1:].rstrip()
            if name.startswith(" "):
                continue  # nested import: counted in its parent's cumulative time
            rows[name] = rows.get(name, 0.0) + float(parts[1]) / 1000
        runs.append(rows)
    names = set().union(*runs)
    med = {n: statistics.median(r.get(n, 0.0) for r in runs) for n in names}
    tops = sorted(med.items(), key=lambda kv: -kv[1])
    return med.get("s3dlio", 0.0), tops[:top]
