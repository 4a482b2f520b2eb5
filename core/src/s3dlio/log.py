"""Logging and redaction: structured events routed through stdlib ``logging``.

The library never configures logging globally and never logs per successful I/O.
``s3dlio*`` loggers get a ``NullHandler``, so nothing is printed unless the
application (or :func:`s3dlio.init_logging`, ``S3DLIO_LOG_LEVEL``, ``s3-cli -v``)
adds a handler.

Events (:class:`EventLogger`, from :func:`event_logger`) are named things with
fields — ``retry op=get uri=… attempt=1 status=503 elapsed_ms=12.5`` — emitted as
ordinary :class:`logging.LogRecord` s on the ``s3dlio.*`` loggers, so an
application's handlers, levels and filters apply. A record carries the event as a
structlog event dict (``record.msg``, a dict whose ``str()`` is the readable line),
so a :class:`structlog.stdlib.ProcessorFormatter` renders it as structured data and
a plain :class:`logging.Formatter` prints ``event key=value …``; the fields are also
record attributes (``%(uri)s``). :func:`formatter` builds the console and JSON
renderers ``init_logging`` uses.

structlog is imported only when an event is actually emitted or a formatter is
built: a disabled event costs one ``Logger.isEnabledFor`` call.

Error messages, settings reprs, log records, event fields and CLI output all pass
through :func:`redact`, so a secret that reaches a URI, an exception text or a config
value never reaches a terminal or a log file.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from s3dlio.redaction import redact

if TYPE_CHECKING:
    from structlog.typing import EventDict, Processor

__all__ = [
    "FORMATS",
    "EventLogger",
    "RedactingFilter",
    "StderrHandler",
    "event_logger",
    "formatter",
    "get_logger",
    "redact",
    "redact_event",
]

FORMATS = ("console", "json")
"""Renderings :func:`formatter` (and ``init_logging``, ``S3DLIO_LOG_FORMAT``) accept."""

class RedactingFilter(logging.Filter):
    """Redacts secrets from the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the caller's bug; leave the record as is
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def get_logger(name: str) -> logging.Logger:
    """The stdlib logger ``name`` with a :class:`RedactingFilter` (for plain records).

    Prefer :func:`event_logger` for anything with fields.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


# --------------------------------------------------------------------------- events

# Field names whose values are secrets whatever they look like (``password="hunter2"``
# matches no text pattern). Whole names or ``*_name``: ``tokens`` (a count) stays.
_SECRET_FIELD = re.compile(
    r"(?i)^(?:.*_)?(?:password|passwd|secret|secret_key|secret_access_key|token|credentials?|"
    r"authorization|account_key|private_key|signature|sas)$"
)
# Keys of an event dict that are not fields: kept out of the readable line and of the
# record attributes. ``_record``/``_from_structlog`` are ProcessorFormatter's own.
_META = frozenset({"event", "level", "logger", "timestamp", "exc_info", "stack_info",
                   "_record", "_from_structlog"})
# Names a LogRecord already has (``extra`` may not overwrite them) plus the two
# attributes by which ProcessorFormatter recognises a structlog record.
_RECORD_KEYS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "_logger", "_name"}
_METHODS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
            logging.ERROR: "error", logging.CRITICAL: "critical"}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    if isinstance(value, Mapping):
        return {k: "****" if _SECRET_FIELD.match(str(k)) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(v) for v in value]
    return redact(str(value))


def redact_event(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: :func:`redact` the event text and every field value.

    Fields named like a secret (``password``, ``*_token``, ``account_key`` …) become
    ``****``; exceptions become ``"Type: message"``; ``exc_info`` is left for the
    renderer (whose output is redacted again).
    """
    for key, value in event_dict.items():
        if key in ("exc_info", "_record", "_from_structlog", "level", "timestamp"):
            continue
        event_dict[key] = "****" if _SECRET_FIELD.match(key) else _redact_value(value)
    return event_dict


def _text(value: Any) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"'=" for c in value):
        return value
    return repr(value) if isinstance(value, str) else str(value)


class _Event(dict[str, Any]):
    """A structlog event dict as ``record.msg``: plain formatters print ``str()`` of it."""

    def __str__(self) -> str:
        fields = " ".join(f"{k}={_text(v)}" for k, v in self.items() if k not in _META)
        event = str(self.get("event", ""))
        return f"{event} {fields}" if fields else event


_pipeline: list[Callable[[Any, str, Any], Any]] | None = None


def _processors() -> list[Callable[[Any, str, Any], Any]]:
    """The emit-side structlog chain, built (and structlog imported) on first use."""
    global _pipeline
    if _pipeline is None:
        import structlog

        _pipeline = [
            # The application's structlog context (request ids …) joins s3dlio's events.
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_event,
        ]
    return _pipeline


class EventLogger:
    """Emits structured events on one stdlib logger (see the module docstring).

    ``events.info("retry", op="get", uri=uri, attempt=2)``: the event name first,
    fields as keywords (``exc_info=True`` or an exception attaches a traceback).
    A call whose level is disabled returns after one ``isEnabledFor`` check; nothing
    is built and structlog is not imported.
    """

    __slots__ = ("_context", "_logger")

    def __init__(self, logger: logging.Logger, context: Mapping[str, Any] | None = None) -> None:
        self._logger = logger
        self._context: dict[str, Any] = dict(context) if context else {}

    @property
    def name(self) -> str:
        return self._logger.name

    @property
    def logger(self) -> logging.Logger:
        """The stdlib logger the records go to."""
        return self._logger

    def is_enabled_for(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)

    def bind(self, **fields: Any) -> EventLogger:
        """A logger that adds ``fields`` to every event (the call's own fields win)."""
        return EventLogger(self._logger, {**self._context, **fields})

    # Each method checks the level itself (no shared helper) so a disabled call costs
    # one method call and one cached dict lookup; _emit's stacklevel relies on every
    # public method calling it directly.
    def debug(self, event: str, /, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, /, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, event, fields)

    def error(self, event: str, /, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, event, fields)

    def exception(self, event: str, /, **fields: Any) -> None:
        """``error`` with the exception being handled attached."""
        if self._logger.isEnabledFor(logging.ERROR):
            fields.setdefault("exc_info", True)
            self._emit(logging.ERROR, event, fields)

    def log(self, level: int, event: str, /, **fields: Any) -> None:
        if self._logger.isEnabledFor(level):
            self._emit(level, event, fields)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        method = _METHODS.get(level) or logging.getLevelName(level).lower()
        ed: dict[str, Any] = {"event": event, **self._context, **fields}
        exc_info: Any = ed.pop("exc_info", None)
        stack_info = bool(ed.pop("stack_info", False))
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if not exc_info or exc_info[0] is None:
            exc_info = None
        else:
            # Resolved now: a QueueHandler may format the record after the except block.
            ed["exc_info"] = exc_info
        for processor in _processors():
            ed = processor(self._logger, method, ed)
        extra: dict[str, Any] = {k: v for k, v in ed.items() if k not in _META and k not in _RECORD_KEYS}
        extra["_logger"], extra["_name"] = self._logger, method
        # stacklevel 3: past _emit and the public method, so %(filename)s is the caller's.
        self._logger.log(level, _Event(ed), exc_info=exc_info, stack_info=stack_info, extra=extra,
                         stacklevel=3)


_event_loggers: dict[str, EventLogger] = {}


def event_logger(name: str) -> EventLogger:
    """The :class:`EventLogger` for stdlib logger ``name`` (one per name; cheap to hold)."""
    found = _event_loggers.get(name)
    if found is None:
        found = _event_loggers.setdefault(name, EventLogger(logging.getLogger(name)))
    return found


# --------------------------------------------------------------------------- rendering


class _RedactRendered:
    """Final processor: the console renderer's output, redacted (it renders tracebacks itself)."""

    def __init__(self, render: Processor) -> None:
        self._render = render

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> str:
        out = self._render(logger, method_name, event_dict)
        text = out.decode() if isinstance(out, (bytes, bytearray)) else str(out)
        return redact(text)


def formatter(fmt: str = "console", *, colors: bool | None = None) -> logging.Formatter:
    """A :class:`structlog.stdlib.ProcessorFormatter` rendering s3dlio events and plain records.

    ``console``: one aligned line per record (colours when ``colors``, default: stderr
    is a terminal and ``NO_COLOR`` is unset). ``json``: one JSON object per line with
    ``event``, ``level``, ``logger``, ``timestamp`` and the event's fields (an
    exception as ``exception``). Plain records (``logger.warning("…")``) get the same
    keys; their ``extra`` attributes become fields. Everything is redacted.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}")
    import structlog

    if colors is None:
        colors = _isatty(sys.stderr) and "NO_COLOR" not in os.environ
    tail: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        # The traceback becomes the ``exception`` field and is redacted as a value: a
        # pattern applied to the JSON text could eat an escaping backslash.
        tail += [structlog.processors.format_exc_info, redact_event, structlog.processors.JSONRenderer()]
    else:
        tail.append(_RedactRendered(structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )))
    foreign: Sequence[Processor] = (
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_event,
    )
    return structlog.stdlib.ProcessorFormatter(processors=tail, foreign_pre_chain=foreign)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever ``sys.stderr`` is when a record arrives.

    (Bound at emit time, so a replaced ``sys.stderr`` — pytest, a notebook — still
    receives the records, like :data:`logging.lastResort`.)
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.setStream; the stream is always stderr
        pass


logging.getLogger("s3dlio").addHandler(logging.NullHandler())
