"""Measurement harness: worker processes, interleaved repetitions, medians, ratios.

Every case is a list of :class:`Arm` s (our implementation, plain-Python
references, the original). :func:`run_case` runs one warm-up of every arm, then
``reps`` rounds in which every arm runs once (the order rotates each round, so
A B C, B C A, C A B …), and reduces each arm to its median wall time, median CPU
seconds and median minor page faults. Ratios are computed between arms of the same
run only.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Arm", "Case", "Result", "Worker", "run_case"]

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


class WorkerError(RuntimeError):
    """A worker failed to run an arm (the arm is reported as failed, the suite goes on)."""


class Worker:
    """One long-lived ``worker.py`` process under a given interpreter."""

    def __init__(self, python: str, *, import_lib: bool, label: str,
                 env: dict[str, str] | None = None) -> None:
        self.python = python
        self.label = label
        args = [python, WORKER] + (["--import"] if import_lib else [])
        env = {**os.environ, **(env or {})}
        env.setdefault("PYTHONHASHSEED", "0")
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env,
            cwd="/",
        )

    def call(self, fn: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"fn": fn, "params": params or {}}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.label} worker died (exit {self.proc.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise WorkerError(reply.get("error", "unknown error"))
        return reply

    def close(self) -> None:
        """Close stdin and wait for the process to exit."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class Arm:
    """One contender of a case.

    ``impl`` is ``ours``, ``ref`` or ``original``; ``fn`` a worker function name
    (or a callable returning one sample dict, for cases measured by the driver such
    as ``import``); ``params`` its arguments.
    """

    name: str
    impl: str
    fn: str | Callable[[], dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Case:
    """A measured scenario: arms, the unit of the headline number, and which arms to compare."""

    name: str
    title: str
    unit: str
    """``GB/s``, ``us/op``, ``Mentries/s``, ``ms`` — how the headline rate is shown."""
    arms: list[Arm]
    reference: str
    """Name of the arm every other arm's ``vs_ref`` ratio is taken against."""
    pairs: dict[str, str] = field(default_factory=dict)
    """Our arm name → the original's arm doing the same call (for ``vs_original``)."""
    reps: int = 5
    note: str = ""
    cleanup: list[str] = field(default_factory=list)
    """Directories removed (untimed) once every arm has run."""


@dataclass
class Result:
    """Medians of one arm of one case."""

    case: str
    arm: str
    impl: str
    unit: str
    ok: bool
    wall_s: float = 0.0
    cpu_s: float = 0.0
    minflt: float = 0.0
    ops: int = 0
    nbytes: int = 0
    samples: list[float] = field(default_factory=list)
    rate: float = 0.0
    vs_ref: float | None = None
    vs_original: float | None = None
    error: str = ""
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        """The JSON line printed for this measurement."""
        out = {k: v for k, v in self.__dict__.items() if k != "samples"}
        out["samples_s"] = [round(s, 6) for s in self.samples]
        for k in ("wall_s", "cpu_s"):
            out[k] = round(out[k], 6)
        out["rate"] = round(self.rate, 4)
        for k in ("vs_ref", "vs_original"):
            if out[k] is not None:
                out[k] = round(out[k], 3)
        return out


def rate_of(unit: str, wall_s: float, ops: int, nbytes: int) -> float:
    """Headline number of a sample: higher-is-better for rates, lower for us/op and ms."""
    if unit == "GB/s":
        return nbytes / wall_s / 1e9 if wall_s else 0.0
    if unit == "us/op":
        return wall_s / ops * 1e6 if ops else 0.0
    if unit == "Mentries/s":
        return ops / wall_s / 1e6 if wall_s else 0.0
    if unit == "kobj/s":
        return ops / wall_s / 1e3 if wall_s else 0.0
    if unit == "ms":
        return wall_s * 1e3
    raise ValueError(unit)


def higher_is_better(unit: str) -> bool:
    """``True`` for throughput units."""
    return unit not in ("us/op", "ms")


def run_case(
    case: Case,
    workers: dict[str, Worker],
    *,
    warmup: int = 1,
    emit: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Measure every arm of ``case`` interleaved; return one :class:`Result` per arm."""
    samples: dict[str, list[dict[str, Any]]] = {a.name: [] for a in case.arms}
    errors: dict[str, str] = {}

    def once(arm: Arm) -> dict[str, Any] | None:
        if arm.name in errors:
            return None
        try:
            if callable(arm.fn):
                return arm.fn()
            return workers[arm.impl].call(arm.fn, arm.params)
        except Exception as exc:  # one failing arm must not stop the suite
            errors[arm.name] = f"{type(exc).__name__}: {exc}"[:500]
            return None

    arms = list(case.arms)
    for _ in range(warmup):
        for arm in arms:
            once(arm)
    for rep in range(case.reps):
        k = rep % len(arms)
        for arm in arms[k:] + arms[:k]:
            s = once(arm)
            if s is not None:
                samples[arm.name].append(s)

    for d in case.cleanup:
        shutil.rmtree(d, ignore_errors=True)

    results: dict[str, Result] = {}
    for arm in case.arms:
        got = samples[arm.name]
        if not got:
            results[arm.name] = Result(case.name, arm.name, arm.impl, case.unit, ok=False,
                                       error=errors.get(arm.name, "no sample"), note=arm.note)
            continue
        walls = [s["wall_s"] for s in got]
        med = statistics.median(walls)
        r = Result(
            case.name, arm.name, arm.impl, case.unit, ok=True,
            wall_s=med,
            cpu_s=statistics.median(s["cpu_s"] for s in got),
            minflt=statistics.median(s["minflt"] for s in got),
            ops=int(got[0]["ops"]), nbytes=int(got[0]["nbytes"]),
            samples=walls, note=arm.note,
        )
        r.rate = rate_of(case.unit, med, r.ops, r.nbytes)
        results[arm.name] = r

    ref = results.get(case.reference)
    for r in results.values():
        if not r.ok:
            continue
        if ref is not None and ref.ok and r.arm != case.reference:
            r.vs_ref = _ratio(case.unit, r.rate, ref.rate)
        partner = case.pairs.get(r.arm)
        if partner is not None and results.get(partner) and results[partner].ok:
            r.vs_original = _ratio(case.unit, r.rate, results[partner].rate)
    out = [results[a.name] for a in case.arms]
    if emit is not None:
        for r in out:
            emit(r)
    return out


def _ratio(unit: str, mine: float, theirs: float) -> float | None:
    """How many times better ``mine`` is than ``theirs`` (> 1: better), whatever the unit."""
    if not mine or not theirs:
        return None
    return mine / theirs if higher_is_better(unit) else theirs / mine


def print_json(result: Result) -> None:
    """Print one measurement as a JSON line on stdout."""
    sys.stdout.write(json.dumps(result.as_json()) + "\n")
    sys.stdout.flush()
