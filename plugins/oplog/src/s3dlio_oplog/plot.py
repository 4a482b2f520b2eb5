"""``oplog analyze --plot``: throughput and latency over time per op (needs the ``plot`` extra)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from s3dlio.errors import FeatureNotInstalledError
from s3dlio_oplog.reader import OplogReader

__all__ = ["plot_oplogs", "series"]


def series(
    paths: Iterable[str | os.PathLike[str]], *, bin_s: float | None = None
) -> tuple[float, dict[str, list[tuple[float, float, float]]]]:
    """``(bin_s, {op: [(t_s, MiB/s, mean latency ms), …]})`` in time bins over the run.

    Rows are binned by ``end``; failed rows are left out. ``bin_s`` defaults to span/200
    (at least 1 ms).
    """
    records = [r for p in paths for r in OplogReader(p) if not r.error]
    if not records:
        return 1.0, {}
    t0 = min(r.start_ns for r in records)
    t1 = max(r.end_ns for r in records)
    if bin_s is None:
        bin_s = max((t1 - t0) / 1e9 / 200, 0.001)
    acc: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))
    for r in records:
        b = int((r.end_ns - t0) / 1e9 / bin_s)
        cell = acc[r.op][b]
        cell[0] += r.bytes
        cell[1] += r.duration_ns / 1e6
        cell[2] += 1
    out: dict[str, list[tuple[float, float, float]]] = {}
    for op, bins in acc.items():
        out[op] = [((b + 0.5) * bin_s, c[0] / 1048576 / bin_s, c[1] / c[2]) for b, c in sorted(bins.items())]
    return bin_s, out


def plot_oplogs(paths: Iterable[str | os.PathLike[str]], out: str) -> None:
    """Write a PNG with MiB/s and mean latency over time, one line per op."""
    import importlib

    try:
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError as exc:
        raise FeatureNotInstalledError(
            "--plot needs matplotlib: pip install 's3dlio-oplog[plot]'"
        ) from exc
    bin_s, data = series(paths)
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    for op, points in sorted(data.items()):
        ts = [p[0] for p in points]
        ax1.plot(ts, [p[1] for p in points], label=op)
        ax2.plot(ts, [p[2] for p in points], label=op)
    ax1.set_ylabel("MiB/s")
    ax2.set_ylabel("mean latency (ms)")
    ax2.set_xlabel(f"time since start (s), bins of {bin_s:.3f} s")
    ax1.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
