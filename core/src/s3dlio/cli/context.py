"""``CliContext``: what every ``s3-cli`` command uses to talk to the user.

Data goes to stdout (one URI per line, or NDJSON records with ``--json``);
summaries, warnings and errors go to stderr. A progress bar is drawn on stderr
only when stderr is a terminal and neither ``--quiet``, ``--json`` nor
``--no-progress`` is given, so logs and pipes never receive control characters.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

__all__ = ["EXIT_CONFIG", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_NOT_FOUND", "EXIT_OK",
           "EXIT_PARTIAL", "EXIT_USAGE", "CliContext", "Progress", "UsageError"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_FOUND = 4
EXIT_CONFIG = 5
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad combination of options found after parsing; exit code 2."""


class Progress:
    """A small self-drawn progress bar (thread-safe; a no-op when disabled)."""

    _WIDTH = 30
    _INTERVAL = 0.1

    def __init__(self, stream: TextIO | None, total: int | None, label: str) -> None:
        self._stream = stream
        self._total = total
        self._label = label
        self._items = 0
        self._bytes = 0
        self._start = time.perf_counter()
        self._last = 0.0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def update(self, nbytes: int = 0, items: int = 1) -> None:
        """Count finished items/bytes; redraw at most ten times a second."""
        if self._stream is None:
            return
        with self._lock:
            self._items += items
            self._bytes += nbytes
            now = time.perf_counter()
            if now - self._last >= self._INTERVAL or self._items == self._total:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        assert self._stream is not None
        elapsed = max(now - self._start, 1e-9)
        rate = self._bytes / elapsed / 1e6
        if self._total:
            filled = int(self._WIDTH * min(self._items / self._total, 1.0))
            bar = "#" * filled + "." * (self._WIDTH - filled)
            text = f"\r{self._label} [{bar}] {self._items}/{self._total} {rate:.1f} MB/s"
        else:
            text = f"\r{self._label} {self._items} done {rate:.1f} MB/s"
        self._stream.write(text)
        self._stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._stream is None:
            return
        with self._lock:
            self._draw(time.perf_counter())
            self._stream.write("\n")
            self._stream.flush()
            self._stream = None


class CliContext:
    """Output helpers and flags shared by every command."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        no_progress: bool = False,
        verbose: int = 0,
        command: str = "",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.no_progress = no_progress
        self.verbose = verbose
        self.command = command
        self._stdout = stdout
        self._stderr = stderr
        self.summary: dict[str, Any] = {}
        """Fields of the final ``{"type": "summary"}`` record (``--json``)."""
        self.stdout_holds_data = False
        """Set by a command writing object bytes to stdout (``get -o -``): NDJSON records
        and the summary then go to stderr, so they never mix into the data."""

    @property
    def stdout(self) -> TextIO:
        # Looked up at call time so pytest's capsys and redirected streams are honoured.
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def records(self) -> TextIO:
        """Where ``--json`` records go: stdout, or stderr while stdout holds data."""
        return self.stderr if self.stdout_holds_data else self.stdout

    # ------------------------------------------------------------------ output
    def out(self, line: str) -> None:
        """One line of data on stdout (suppressed in JSON mode: use :meth:`emit`)."""
        if not self.json_mode:
            self.stdout.write(line + "\n")

    def emit(self, record: dict[str, Any], text: str | None = None) -> None:
        """A data record: NDJSON with ``--json``, else ``text`` (if given) on stdout."""
        if self.json_mode:
            self.records.write(json.dumps(record, default=str) + "\n")
        elif text is not None:
            self.stdout.write(text + "\n")

    def info(self, message: str) -> None:
        """A summary or status line on stderr (silenced by ``--quiet``)."""
        if not self.quiet:
            self.stderr.write(message + "\n")

    def warn(self, message: str) -> None:
        """A warning on stderr (always shown)."""
        self.stderr.write(f"s3-cli: warning: {message}\n")

    def error(self, message: str) -> None:
        """An error on stderr (always shown)."""
        self.stderr.write(f"s3-cli: error: {message}\n")

    def set_summary(self, **fields: Any) -> None:
        """Add fields to the final summary record."""
        self.summary.update(fields)

    def write_summary(self, exit_code: int) -> None:
        """With ``--json``: print the last line, ``{"type": "summary", …}``."""
        if self.json_mode:
            record = {"type": "summary", "command": self.command, "exit_code": exit_code, **self.summary}
            self.records.write(json.dumps(record, default=str) + "\n")
            self.records.flush()

    # ---------------------------------------------------------------- progress
    @property
    def progress_enabled(self) -> bool:
        if self.quiet or self.json_mode or self.no_progress:
            return False
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty is not None and isatty())

    def progress(self, total: int | None, label: str) -> Progress:
        """A progress bar on stderr, or a no-op one when bars are disabled."""
        return Progress(self.stderr if self.progress_enabled else None, total, label)
