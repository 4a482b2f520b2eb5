"""Structured logging: events on stdlib loggers, console/JSON rendering, redaction, settings.

Records go through stdlib ``logging`` (an application's handlers apply); structlog
renders them and is never imported while logging is disabled.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from s3dlio_toystore import MemoryStore

from s3dlio import log
from s3dlio.api import configure
from s3dlio.errors import ConfigError, NotFoundError, StoreError, TransientError
from s3dlio.plugin import runtime as rt
from s3dlio.store import UploadPart
from s3dlio.store.multipart import MultipartUploadWriter
from s3dlio.store.retry import RetryPolicy, RetryQuota, RetrySettings

pytestmark = pytest.mark.timeout(60)

TESTS = Path(__file__).resolve().parent


class Collect(logging.Handler):
    """An application's own handler: keeps the records it receives."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[logging.LogRecord]:
        return [r for r in self.records if isinstance(r.msg, dict) and r.msg.get("event") == name]


@pytest.fixture
def s3dlio_logger() -> Iterator[logging.Logger]:
    """The ``s3dlio`` logger, its level/handlers and init_logging's state restored afterwards."""
    logger = logging.getLogger("s3dlio")
    level, handlers = logger.level, list(logger.handlers)
    state = configure._handler, configure._handler_format
    if configure._handler is not None:  # left by an earlier in-process `s3-cli -v`
        logger.removeHandler(configure._handler)
    configure._handler, configure._handler_format = None, None
    yield logger
    logger.setLevel(level)
    logger.handlers[:] = handlers
    configure._handler, configure._handler_format = state


@pytest.fixture
def collect(s3dlio_logger: logging.Logger) -> Collect:
    handler = Collect()
    s3dlio_logger.addHandler(handler)
    s3dlio_logger.setLevel(logging.DEBUG)
    return handler


def _rendered(fmt: str, emit: Any, logger: logging.Logger) -> str:
    """What a handler with ``log.formatter(fmt)`` on ``logger`` prints while ``emit()`` runs."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(log.formatter(fmt, colors=False))
    logger.addHandler(handler)
    try:
        emit()
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def _retry_event() -> None:
    log.event_logger("s3dlio.test").info("retry", op="get", uri="s3://b/k", attempt=2, status=503,
                                         elapsed_ms=12.5)


# --------------------------------------------------------------------------- rendering


def test_json_lines_carry_the_standard_keys_and_the_fields(collect: Collect,
                                                           s3dlio_logger: logging.Logger) -> None:
    text = _rendered("json", _retry_event, s3dlio_logger)
    lines = text.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["event"] == "retry" and obj["level"] == "info" and obj["logger"] == "s3dlio.test"
    assert obj["timestamp"].endswith("Z")
    assert (obj["op"], obj["uri"], obj["attempt"], obj["status"], obj["elapsed_ms"]) == (
        "get", "s3://b/k", 2, 503, 12.5)


def test_json_renders_plain_records_and_their_extras(collect: Collect, s3dlio_logger: logging.Logger) -> None:
    text = _rendered(
        "json",
        lambda: logging.getLogger("s3dlio.engines.x").warning("mallopt %s", "refused", extra={"code": 7}),
        s3dlio_logger,
    )
    obj = json.loads(text)
    assert obj["event"] == "mallopt refused" and obj["level"] == "warning" and obj["code"] == 7
    assert obj["logger"] == "s3dlio.engines.x" and "timestamp" in obj


def test_json_renders_an_exception(collect: Collect, s3dlio_logger: logging.Logger) -> None:
    def emit() -> None:
        try:
            raise RuntimeError("boom AccountKey=c2VjcmV0")
        except RuntimeError:
            log.event_logger("s3dlio.test").exception("failed", op="put")

    obj = json.loads(_rendered("json", emit, s3dlio_logger))
    assert obj["level"] == "error" and "RuntimeError: boom" in obj["exception"]
    assert "c2VjcmV0" not in obj["exception"]


def test_console_line_is_readable_and_uncoloured(collect: Collect, s3dlio_logger: logging.Logger) -> None:
    text = _rendered("console", _retry_event, s3dlio_logger)
    assert text.count("\n") == 1 and "\x1b[" not in text
    assert "retry" in text and "[s3dlio.test]" in text and "info" in text
    for field in ("op=get", "uri=s3://b/k", "attempt=2", "status=503", "elapsed_ms=12.5"):
        assert field in text


def test_formatter_rejects_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="console, json"):
        log.formatter("xml")


# --------------------------------------------------------------------------- redaction

SECRET_URI = "http://user:PASS123@host/bucket/key"
CONN = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=S3CR3TKEY==;"


@pytest.mark.parametrize(("text", "secret"), [
    ("http://user:PASS123@host/x", "PASS123"),
    ("s3://b/k?X-Amz-Signature=abcdef", "abcdef"),
    ("AccountName=a;AccountKey=S3CR3T==", "S3CR3T"),
    ("Authorization: AWS4-HMAC-SHA256 Credential=zz", "AWS4-HMAC"),
    ("aws_secret_access_key: wJalrXUtnFEMI", "wJalrXUtnFEMI"),
    ("PRIVATE_KEY: mykey", "mykey"),
    ("key id AKIAABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP"),
])
def test_redact_prefilter_lets_every_kind_of_secret_through_to_the_patterns(text: str, secret: str) -> None:
    assert secret not in log.redact(text)


def test_redact_leaves_text_without_secrets_alone() -> None:
    for text in ("s3://bucket/some/key.bin", "2026-01-01T00:00:00Z", "retry", ""):
        assert log.redact(text) == text


def _secret_event() -> None:
    log.event_logger("s3dlio.test").warning(
        f"cannot reach {SECRET_URI}", uri=SECRET_URI, connection_string=CONN,
        password="hunter2", nested={"sas_token": "sv=2020&sig=abc", "uris": [SECRET_URI]},
    )


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_are_redacted_in_fields_and_event_text(fmt: str, collect: Collect,
                                                       s3dlio_logger: logging.Logger) -> None:
    text = _rendered(fmt, _secret_event, s3dlio_logger)
    for secret in ("PASS123", "S3CR3TKEY", "hunter2", "sig=abc"):
        assert secret not in text
    assert "user:****@host" in text and "AccountKey=****" in text


def test_an_application_handler_receives_redacted_records(collect: Collect) -> None:
    _secret_event()
    (record,) = collect.events(f"cannot reach {SECRET_URI.replace('PASS123', '****')}")
    message = record.getMessage()
    assert "PASS123" not in message and "S3CR3TKEY" not in message and "hunter2" not in message
    assert record.uri == "http://user:****@host/bucket/key"  # type: ignore[attr-defined]
    assert record.password == "****"  # type: ignore[attr-defined]


def test_init_logging_redacts_plain_records(s3dlio_logger: logging.Logger,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    configure.init_logging("info", "console")
    logging.getLogger("s3dlio.test").warning("aws_secret_access_key=%s", "wJalrXUtnFEMI")
    err = capsys.readouterr().err
    assert "aws_secret_access_key=****" in err and "wJalrXUtnFEMI" not in err


# --------------------------------------------------------------------------- routing


def test_events_are_stdlib_records_on_s3dlio_loggers(collect: Collect) -> None:
    _retry_event()
    (record,) = collect.events("retry")
    assert record.name == "s3dlio.test" and record.levelno == logging.INFO
    # A plain formatter prints the readable line; the fields are record attributes.
    assert record.getMessage() == "retry op=get uri=s3://b/k attempt=2 status=503 elapsed_ms=12.5"
    assert logging.Formatter("%(uri)s %(status)s").format(record) == "s3://b/k 503"
    # The caller's location, not the logging module's.
    assert record.filename == "test_core_logging.py" and record.funcName == "_retry_event"


def test_the_application_level_applies(collect: Collect, s3dlio_logger: logging.Logger) -> None:
    s3dlio_logger.setLevel(logging.WARNING)
    _retry_event()
    log.event_logger("s3dlio.test").warning("gave_up", op="get")
    assert [r.msg["event"] for r in collect.records] == ["gave_up"]  # type: ignore[index]


def test_a_structlog_processor_formatter_of_the_application_renders_events(
    collect: Collect, s3dlio_logger: logging.Logger
) -> None:
    import structlog

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.KeyValueRenderer(key_order=["event", "attempt"])]))
    s3dlio_logger.addHandler(handler)
    try:
        _retry_event()
    finally:
        s3dlio_logger.removeHandler(handler)
    assert out.getvalue().startswith("event='retry' attempt=2 ")


def test_bound_fields_and_structlog_context_join_events(collect: Collect) -> None:
    import structlog

    structlog.contextvars.bind_contextvars(request_id="r-1", op="overridden")
    try:
        log.event_logger("s3dlio.test").bind(uri="s3://b/k").debug("x", op="get")
    finally:
        structlog.contextvars.clear_contextvars()
    (record,) = collect.events("x")
    msg = record.msg
    assert isinstance(msg, dict)
    assert (msg["uri"], msg["op"], msg["request_id"]) == ("s3://b/k", "get", "r-1")


def test_init_logging_keeps_the_old_signature_and_one_handler(s3dlio_logger: logging.Logger,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    before = len(s3dlio_logger.handlers)
    configure.init_logging("debug")
    configure.init_logging("info", "json")
    configure.init_logging("warning")  # None keeps json
    assert len(s3dlio_logger.handlers) == before + 1
    assert s3dlio_logger.level == logging.WARNING
    log.event_logger("s3dlio.test").warning("w", n=1)
    log.event_logger("s3dlio.test").info("not shown")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["w"]
    with pytest.raises(ValueError, match="console, json"):
        configure.init_logging("info", "xml")


# --------------------------------------------------------------------------- settings


def test_log_format_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3DLIO_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match=r"S3DLIO_LOG_FORMAT.*console, json"):
        rt.runtime()


def _probe(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("S3DLIO_")}
    environ.update(env)
    environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                          timeout=50, check=False)


def test_log_level_and_format_from_the_environment_give_json_on_stderr() -> None:
    proc = _probe(
        "import s3dlio.plugin.runtime as rt\n"
        "rt.runtime()\n"
        "from s3dlio.log import event_logger\n"
        "event_logger('s3dlio.probe').info('hello', op='stat', uri='file:///x')\n",
        S3DLIO_LOG_LEVEL="info", S3DLIO_LOG_FORMAT="json",
    )
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [o["event"] for o in objs] == ["hello"]
    assert objs[0]["level"] == "info" and objs[0]["op"] == "stat" and objs[0]["logger"] == "s3dlio.probe"


def test_init_logging_without_a_format_takes_the_environment() -> None:
    proc = _probe(
        "import s3dlio\n"
        "s3dlio.init_logging('debug')\n"
        "from s3dlio.log import event_logger\n"
        "event_logger('s3dlio.probe').debug('hello')\n",
        S3DLIO_LOG_FORMAT="json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr)["event"] == "hello"


def test_structlog_is_not_imported_while_logging_is_disabled() -> None:
    # Storage calls on the toy store, a failing one, retries and a disabled event.
    proc = _probe(
        "import sys, json, s3dlio\n"
        "from s3dlio_toystore import make_host\n"
        "import s3dlio_toystore\n"
        "import s3dlio.plugin.runtime as rt\n"
        "rt.install(rt.Runtime(make_host(('toystore', s3dlio_toystore))))\n"
        "s3dlio.put_bytes('mem://b/k', b'x'); s3dlio.get('mem://b/k'); s3dlio.list('mem://b/')\n"
        "try:\n"
        "    s3dlio.get('mem://b/missing')\n"
        "except s3dlio.NotFoundError:\n"
        "    pass\n"
        "from s3dlio.errors import TransientError\n"
        "from s3dlio.store.retry import RetryPolicy, RetrySettings\n"
        "errors = [TransientError('reset')]\n"
        "def attempt():\n"
        "    if errors: raise errors.pop()\n"
        "    return 1\n"
        "RetryPolicy(RetrySettings(), sleep=lambda s: None).call(attempt, op='get', uri='mem://b/k')\n"
        "from s3dlio.log import event_logger\n"
        "event_logger('s3dlio.x').info('never', uri='mem://b/k')\n"
        "print(json.dumps({'structlog': sorted(m for m in sys.modules if m.startswith('structlog'))}))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"structlog": []}


def test_import_s3dlio_does_not_import_structlog() -> None:
    proc = _probe("import sys, s3dlio, s3dlio.log\nprint('structlog' in sys.modules)")
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr


# --------------------------------------------------------------------------- call sites


def _policy(**overrides: Any) -> RetryPolicy:
    settings = RetrySettings(**overrides)
    return RetryPolicy(settings, endpoint="http://e", quota=RetryQuota(settings.quota),
                       sleep=lambda s: None, rng=lambda: 0.5)


class Flaky:
    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)

    def __call__(self) -> str:
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _transient() -> TransientError:
    return TransientError("slow down", op="get", uri="s3://b/k", status=503)


def test_each_retry_is_an_info_event_with_its_fields(collect: Collect) -> None:
    assert _policy(max_attempts=3, base_ms=100).call(Flaky(_transient(), _transient()),
                                                     op="get", uri="s3://b/k") == "ok"
    retries = collect.events("retry")
    assert [r.msg["attempt"] for r in retries] == [1, 2]  # type: ignore[index]
    first = retries[0].msg
    assert isinstance(first, dict) and retries[0].levelno == logging.INFO
    assert (first["op"], first["uri"], first["status"], first["error"], first["max_attempts"]) == (
        "get", "s3://b/k", 503, "TransientError", 3)
    assert first["delay_ms"] == 50.0 and first["elapsed_ms"] >= 0 and first["endpoint"] == "http://e"
    assert collect.events("retry_gave_up") == []


def test_giving_up_is_a_warning_with_the_reason(collect: Collect) -> None:
    with pytest.raises(TransientError):
        _policy(max_attempts=2).call(Flaky(*(_transient() for _ in range(5))), op="get", uri="s3://b/k")
    (record,) = collect.events("retry_gave_up")
    assert record.levelno == logging.WARNING
    assert record.msg["attempt"] == 2 and record.msg["reason"] == "attempts exhausted"  # type: ignore[index]


def test_an_exhausted_quota_is_the_reason(collect: Collect) -> None:
    settings = RetrySettings(max_attempts=5)
    policy = RetryPolicy(settings, quota=RetryQuota(1), sleep=lambda s: None)
    with pytest.raises(TransientError):
        policy.call(Flaky(_transient()), op="get", uri="s3://b/k")
    (record,) = collect.events("retry_gave_up")
    assert record.msg["reason"] == "retry quota exhausted"  # type: ignore[index]


def test_success_and_non_retryable_failures_log_nothing(collect: Collect) -> None:
    assert _policy().call(lambda: "ok", op="get", uri="s3://b/k") == "ok"
    with pytest.raises(NotFoundError):
        _policy().call(Flaky(NotFoundError(op="get", uri="s3://b/k")), op="get", uri="s3://b/k")
    assert collect.records == []


def test_a_plugin_that_fails_to_load_is_a_warning_event(collect: Collect) -> None:
    from s3dlio_toystore import make_host

    make_host(environ={"S3DLIO_PLUGINS": "s3dlio_no_such_plugin_mod"}).compose()
    (record,) = collect.events("plugin_load_failed")
    assert record.levelno == logging.WARNING and record.name == "s3dlio.plugin.host"
    assert record.msg["plugin"] == "s3dlio_no_such_plugin_mod"  # type: ignore[index]
    assert "ModuleNotFoundError" in record.msg["error"]  # type: ignore[index]


class PartsStore(MemoryStore):
    """The toy store with native multipart (it has the methods); every part upload fails."""

    min_part_size: ClassVar[int] = 4096
    max_parts: ClassVar[int] = 10_000

    def create_upload(self, key: str, *, content_type: str | None = None) -> str:
        return "u1"

    def upload_part(self, key: str, upload_id: str, part_number: int, data: memoryview) -> UploadPart:
        raise StoreError("injected part failure", op="upload_part", uri=self.uri(key))

    def complete_upload(self, key: str, upload_id: str, parts: Sequence[UploadPart]) -> str | None:
        raise AssertionError("a failed upload is never completed")

    def abort_upload(self, key: str, upload_id: str) -> None:
        pass


def test_an_aborted_multipart_upload_is_a_warning_event(collect: Collect, mem_runtime: rt.Runtime) -> None:
    store = PartsStore("mem://parts/", mem_runtime.settings)
    writer = MultipartUploadWriter.for_store(store, "obj", part_size=4096)
    with pytest.raises(StoreError, match="injected"):
        for _ in range(4):
            writer.write(b"x" * 4096)
        writer.close()
    (record,) = collect.events("multipart_aborted")
    assert record.levelno == logging.WARNING
    msg = record.msg
    assert isinstance(msg, dict)
    assert (msg["uri"], msg["upload_id"], msg["error"]) == ("mem://parts/obj", "u1", "StoreError")
