"""Fuzzed bad input with hypothesis (issue 16, item 3), run with the chaos suite.

Every family feeds generated input to one entry point (API call, writer, setting, or an
``s3-cli`` command line) and checks the one rule: the call succeeds (round trips are
byte-exact) or raises a typed error — an ``S3dlioError``, or ``TypeError``/``ValueError``
where the API documents them for a wrong type or value — and nothing is written outside
the target directory. CLI families check the exit code is a documented one and that no
traceback is printed.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import s3dlio
from s3dlio.errors import S3dlioError
from s3dlio.plugin import runtime as rt

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.timeout(300)

FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                database=None)

FAMILIES: dict[str, str] = {}
"""Family name → what it fuzzes (counted by test_at_least_forty_families)."""


def family(name: str, what: str) -> Callable[[Any], Any]:
    FAMILIES[name] = what

    def mark(fn: Any) -> Any:
        return fn

    return mark


def typed(fn: Callable[[], Any], *, value_errors: bool = False) -> Any:
    """Run ``fn``: its result, or ``None`` after a typed error; anything else fails."""
    try:
        return fn()
    except S3dlioError:
        return None
    except (TypeError, ValueError):
        if value_errors:
            return None
        raise


# ------------------------------------------------------------------ strategies

SEGMENT_CHARS = st.characters(blacklist_categories=("Cs",))
weird_text = st.text(SEGMENT_CHARS, min_size=0, max_size=40)
specials = st.sampled_from(["", ".", "..", "/", "//", "\x00", "\n", "\r\n", "\t", " ", "%2F", "+",
                            "ü", "u\u0308", "~", "*", "?", "[", "]", "\\", "a" * 300])
key_parts = st.lists(st.one_of(weird_text, specials), min_size=1, max_size=5)
keys = key_parts.map("/".join)
long_keys = st.integers(1000, 1100).map(lambda n: "k" * n)
bucket_names = st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=70),
                         st.sampled_from(["ab", "Bad_Name", "a" * 64, "-x-", "x..y", "192.168.0.1"]))
ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 1, -1, 2**31, 2**63, 2**64]))
not_ints = st.one_of(st.floats(allow_nan=True), st.text(max_size=5), st.none(), st.booleans(),
                     st.lists(st.integers(), max_size=2), st.just(b"12"))


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/inside``: the only place a file:// family may write."""
    inside = tmp_path / "inside"
    inside.mkdir()
    yield inside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inside"], "wrote outside the target"


def _mem() -> str:
    return f"memory://fz{uuid.uuid4().hex[:10]}/"


# ------------------------------------------------------------------ memory:// keys


@family("memory-put-get-keys", "arbitrary keys: put, get back byte-exact or typed error")
@FUZZ
@given(key=keys, data=st.binary(max_size=64))
def test_memory_keys_round_trip(key: str, data: bytes) -> None:
    uri = _mem() + key
    if typed(lambda: s3dlio.put_bytes(uri, data), value_errors=False) is None and not _exists(uri):
        return
    got = typed(lambda: s3dlio.get(uri))
    assert got is None or bytes(got) == data


def _exists(uri: str) -> bool:
    return bool(typed(lambda: s3dlio.exists(uri)))


@family("memory-long-keys", "keys of 1000-1100 bytes")
@FUZZ
@given(key=long_keys)
def test_memory_long_keys(key: str) -> None:
    typed(lambda: s3dlio.put_bytes(_mem() + key, b"x"))


@family("memory-buckets", "odd bucket names")
@FUZZ
@given(name=bucket_names)
def test_memory_bucket_names(name: str) -> None:
    typed(lambda: s3dlio.put_bytes(f"memory://{name}/k", b"x"))
    typed(lambda: s3dlio.list(f"memory://{name}/"))


for _op in ("stat", "exists", "delete", "list"):
    FAMILIES[f"memory-{_op}-keys"] = f"{_op} of arbitrary keys"


@FUZZ
@given(key=keys, op=st.sampled_from(["stat", "exists", "delete", "list"]))
def test_memory_other_ops(key: str, op: str) -> None:
    uri = _mem() + key
    fn = {"stat": s3dlio.stat, "exists": s3dlio.exists, "delete": s3dlio.delete, "list": s3dlio.list}[op]
    typed(lambda: fn(uri))


# ------------------------------------------------------------------ file:// paths


for _op in ("put", "get", "stat", "list", "delete", "delete-recursive", "mkdir"):
    FAMILIES[f"file-{_op}-paths"] = f"file:// {_op} of arbitrary paths under the target"


@FUZZ
@given(key=keys, op=st.sampled_from(["put", "get", "stat", "list", "delete", "delete-recursive", "mkdir"]))
def test_file_paths_stay_inside(root: Path, key: str, op: str) -> None:
    uri = f"file://{root}/{key}"
    fns: dict[str, Callable[[], Any]] = {
        "put": lambda: s3dlio.put_bytes(uri, b"data"), "get": lambda: s3dlio.get(uri),
        "stat": lambda: s3dlio.stat(uri), "list": lambda: s3dlio.list(uri, recursive=True),
        "delete": lambda: s3dlio.delete(uri), "delete-recursive": lambda: s3dlio.delete(uri, recursive=True),
        "mkdir": lambda: s3dlio.mkdir(uri),
    }
    typed(fns[op])
    if op == "put" and _exists(uri):
        assert bytes(s3dlio.get(uri)) == b"data"


@family("file-download-keys", "download of objects with arbitrary keys (memory:// → file://)")
@FUZZ
@given(key=keys)
def test_download_never_escapes(root: Path, key: str) -> None:
    base = _mem()
    if typed(lambda: s3dlio.put_bytes(base + key, b"d")) is None and not _exists(base + key):
        return
    typed(lambda: s3dlio.download(base, str(root / "dl")))


@family("file-upload-names", "upload of local files with arbitrary names")
@FUZZ
@given(name=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                    min_size=1, max_size=50).filter(lambda n: n not in (".", "..")))
def test_upload_names(root: Path, name: str) -> None:
    src = root / "src"
    src.mkdir(exist_ok=True)
    try:
        (src / name).write_bytes(b"u")
    except OSError:
        return  # the local filesystem refuses the name itself
    typed(lambda: s3dlio.upload([str(src / name)], _mem() + "up/"))


# ------------------------------------------------------------------ URIs and schemes


@family("uri-schemes", "garbage before ://")
@FUZZ
@given(scheme=st.text(max_size=12), rest=weird_text)
def test_schemes(scheme: str, rest: str) -> None:
    typed(lambda: s3dlio.get(f"{scheme}://{rest}"))


@family("uri-no-scheme", "text without ://")
@FUZZ
@given(text=weird_text)
def test_no_scheme(text: str) -> None:
    typed(lambda: s3dlio.get(text.replace("://", "")))


@family("uri-non-str", "non-string URIs")
@FUZZ
@given(value=not_ints)
def test_non_string_uris(value: Any) -> None:
    typed(lambda: s3dlio.get(value), value_errors=True)


# ------------------------------------------------------------------ ranges and sizes


@pytest.fixture(scope="module")
def ranged() -> str:
    uri = _mem() + "r"
    s3dlio.put_bytes(uri, bytes(range(100)))
    return uri


@family("range-offsets-lengths", "get_range offset × length integers")
@FUZZ
@given(offset=ints, length=st.one_of(st.none(), ints))
def test_ranges(ranged: str, offset: int, length: int | None) -> None:
    got = typed(lambda: s3dlio.get_range(ranged, offset, length), value_errors=True)
    if got is not None:
        end = 100 if length is None else min(100, offset + length)
        assert bytes(got) == bytes(range(100))[offset:end]


@family("range-types", "get_range with non-integers")
@FUZZ
@given(offset=not_ints, length=st.one_of(st.none(), not_ints))
def test_range_types(ranged: str, offset: Any, length: Any) -> None:
    typed(lambda: s3dlio.get_range(ranged, offset, length), value_errors=True)


@family("put-data-types", "put_bytes with arbitrary objects")
@FUZZ
@given(value=st.one_of(not_ints, st.integers(),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_put_data_types(value: Any) -> None:
    typed(lambda: s3dlio.put_bytes(_mem() + "p", value), value_errors=True)


@family("writer-part-size", "MultipartUploadWriter part_size")
@FUZZ
@given(part_size=st.one_of(ints, not_ints))
def test_writer_part_size(part_size: Any) -> None:
    from s3dlio.store.multipart import MultipartUploadWriter

    w = typed(lambda: MultipartUploadWriter.from_uri(_mem() + "w", part_size=part_size), value_errors=True)
    if w is not None:
        w.abort()


@family("writer-expected-size", "MultipartUploadWriter expected_size")
@FUZZ
@given(size=st.one_of(ints, not_ints))
def test_writer_expected_size(size: Any) -> None:
    from s3dlio.store.multipart import MultipartUploadWriter

    w = typed(lambda: MultipartUploadWriter.from_uri(_mem() + "w", expected_size=size), value_errors=True)
    if w is not None:
        w.abort()


@family("writer-reserve-commit", "reserve(n) then commit(m)")
@FUZZ
@given(n=st.one_of(st.integers(-5, 1 << 20), st.sampled_from([2**40, 2**62])), m=st.integers(-5, 1 << 21))
def test_writer_reserve_commit(n: int, m: int) -> None:
    from s3dlio.store.multipart import MultipartUploadWriter

    w = MultipartUploadWriter.from_uri(_mem() + "w")
    try:
        view = typed(lambda: w.reserve(n), value_errors=True)
        if view is not None:
            typed(lambda: w.commit(m), value_errors=True)
    finally:
        w.abort()


@family("get-many-window", "get_many max_in_flight")
@FUZZ
@given(window=st.one_of(ints, not_ints))
def test_get_many_window(ranged: str, window: Any) -> None:
    typed(lambda: s3dlio.get_many([ranged], max_in_flight=window), value_errors=True)


@family("list-patterns", "list pattern= regexes")
@FUZZ
@given(pattern=st.text(max_size=12))
def test_list_patterns(ranged: str, pattern: str) -> None:
    typed(lambda: s3dlio.list(ranged.rpartition("/")[0] + "/", pattern=pattern))


@family("list-globs", "globs in the last segment")
@FUZZ
@given(glob=st.text(st.sampled_from("*?[]!^-a/\\"), max_size=10))
def test_globs(ranged: str, glob: str) -> None:
    typed(lambda: s3dlio.list(ranged.rpartition("/")[0] + "/" + glob))


@family("delete-globs", "delete of globs")
@FUZZ
@given(glob=st.text(st.sampled_from("*?[]!^-a"), min_size=1, max_size=8))
def test_delete_globs(glob: str) -> None:
    base = _mem()
    s3dlio.put_bytes(base + "a", b"a")
    typed(lambda: s3dlio.delete(base + glob))


# ------------------------------------------------------------------ settings


ENV_NAMES = ["S3DLIO_RANGE_THRESHOLD_MB", "S3DLIO_MAX_RETRY_ATTEMPTS", "S3DLIO_FSYNC", "S3DLIO_CHECKSUM",
             "S3DLIO_PART_SIZE_MB", "S3DLIO_READ_TIMEOUT_SECS"]
for _name in ENV_NAMES:
    FAMILIES[f"env-{_name}"] = f"{_name} set to arbitrary text"


@FUZZ
@given(name=st.sampled_from(ENV_NAMES), value=st.one_of(st.text(max_size=12), ints.map(str)))
def test_env_values(name: str, value: str) -> None:
    if "\x00" in value:
        return  # the environment itself cannot hold NUL
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        rt.reset()
        typed(lambda: s3dlio.put_bytes(_mem() + "e", b"e"))
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved
        rt.reset()


@family("configure-retries", "configure_retries keyword values")
@FUZZ
@given(value=st.one_of(ints, not_ints), key=st.sampled_from(["max_attempts", "base_ms", "quota"]))
def test_configure_retries(value: Any, key: str) -> None:
    from s3dlio.api.configure import configure_retries

    saved = {section: dict(values) for section, values in rt._explicit.items()}
    try:
        typed(lambda: configure_retries(**{key: value}), value_errors=True)
        typed(lambda: s3dlio.put_bytes(_mem() + "c", b"c"))  # the value is checked on use
    finally:
        # Explicit settings outlive rt.reset(): put back what was there for later tests.
        rt._explicit.clear()
        rt._explicit.update(saved)
        rt.reset()


# ------------------------------------------------------------------ s3-cli argv

COMMANDS = ["ls", "stat", "get", "upload", "download", "cp", "rm", "list-buckets", "create-bucket",
            "delete-bucket", "config", "plugins", "put"]
for _cmd in COMMANDS:
    FAMILIES[f"cli-{_cmd}"] = f"s3-cli {_cmd} with arbitrary arguments"

TOKENS = st.one_of(
    st.sampled_from(["-r", "-j", "0", "-1", "5000", "--json", "-q", "-p", "(", "--offset", "--length",
                     "--keylist", "/nonexistent", "--dry-run", "--force", "-c", "-l", "--bogus", "--",
                     "memory://fzcli/", "memory://fzcli/a", "file:///nonexistent/x", "ftp://x/y", "s3://",
                     "relative/path", "show", "-s", "1k", "--size", "abc", "-n", "3", "--num"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
)
DOCUMENTED = {0, 1, 2, 3, 4, 5}


@FUZZ
@given(command=st.sampled_from(COMMANDS), args=st.lists(TOKENS, max_size=5))
def test_cli_argv(root: Path, command: str, args: list[str]) -> None:
    from s3dlio.cli.main import main

    if command in ("rm", "cp", "upload", "download", "put"):
        # Writes only where this example may: the memory store and the target directory.
        args = [a if not a.startswith("file://") else f"file://{root}/x" for a in args]
        args = [a for a in args if not a.startswith("/") or a == "/nonexistent"]
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([command, *args])
    except SystemExit as exc:  # pragma: no cover - main returns codes, never exits
        pytest.fail(f"SystemExit({exc.code}) escaped main for {[command, *args]}")
    finally:
        os.chdir(cwd)
        if dict(os.environ) != saved:
            os.environ.clear()
            os.environ.update(saved)
        rt.reset()
    assert code in DOCUMENTED, (command, args, code, err.getvalue())
    assert "Traceback" not in err.getvalue(), (command, args, err.getvalue())


def test_at_least_forty_families() -> None:
    assert len(FAMILIES) >= 40, sorted(FAMILIES)
