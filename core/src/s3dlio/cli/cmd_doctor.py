"""``s3-cli doctor [URI] [--write]``: is everything installed, configured and reachable?

Three groups of checks, each printed as it completes:

* **plugins** — every plugin found and what happened to it (the ``s3-cli plugins`` report);
* **configuration** — the config file, the settings set outside their defaults, and
  ``S3DLIO_*`` variables nothing reads (a misspelt name never takes effect);
* **the URI**, when one is given — the backend serving it, the endpoint, where the
  credentials come from (redacted), TLS and the CA bundle, reachability (a stat or a
  list: nothing is written), the clock skew against the service's ``Date`` header where
  the backend reports it, and with ``--write`` a put / get / delete round trip of a small
  object under a temporary key, each step reported.

What a backend knows about itself comes from :meth:`s3dlio.store.ObjectStore.describe`,
so no backend-specific logic lives here. Exit codes: 0 when every check passes
(warnings allowed), 5 when a plugin or configuration check failed (including a missing
backend or CA bundle), else 1 when any other check failed.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
import warnings
from typing import TYPE_CHECKING, Any

import attrs

from s3dlio.cli.cmd_list import nothing_at
from s3dlio.cli.context import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, CliContext, UsageError
from s3dlio.config import ConfigWarning
from s3dlio.errors import (
    ConfigError,
    InvalidPathError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    TransientError,
)
from s3dlio.plugin import catalog
from s3dlio.plugin.runtime import loaded_host, runtime, split_scheme
from s3dlio.redaction import redact

if TYPE_CHECKING:
    from s3dlio.plugin.host import PluginHost
    from s3dlio.plugin.runtime import Runtime
    from s3dlio.store import ObjectStore

__all__ = ["Check", "DoctorCommand"]

_STATUSES = ("ok", "info", "warn", "fail", "skip")
_MARKS = {"ok": "ok", "info": "info", "warn": "warn", "fail": "FAIL", "skip": "skip"}
_SKEW_WARN_SECS = 5.0
"""Above this the op-logs of client and server disagree visibly (and the ±1 s of ``Date`` is exceeded)."""
_SKEW_FAIL_SECS = 900.0
"""S3 refuses signatures more than 15 minutes off (RequestTimeTooSkewed); others are as strict."""
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
_DESCRIBED = frozenset({"backend", "root", "endpoint", "local", "tls", "ca_bundle", "tls_verify",
                        "credentials", "problems", "clock_skew_secs"})
"""Keys of :meth:`ObjectStore.describe` the doctor reports on their own lines."""
_RESERVED = frozenset({"credentials", "problems", "type", "section", "name", "status", "detail", "fix",
                       "config"})
"""Keys not copied from a description into the ``endpoint`` record (reported apart, or the record's own)."""


@attrs.frozen
class Check:
    """One line of the report."""

    section: str
    name: str
    status: str = attrs.field(validator=attrs.validators.in_(_STATUSES))
    detail: str
    fix: str = ""
    """What to do about a ``warn`` or ``fail``."""
    config: bool = False
    """A failure of installation or configuration (exit 5 rather than 1)."""
    data: dict[str, Any] = attrs.field(factory=dict)
    """Extra fields of the JSON record (seconds, counts, the backend's description)."""


class _Report:
    """Prints each check as it is made (slow network checks show progress) and counts them."""

    def __init__(self, ctx: CliContext) -> None:
        self.ctx = ctx
        self.checks: list[Check] = []
        self.warnings: list[str] = []
        """Configuration warnings captured while the plugins composed (reported as checks)."""
        self._section = ""

    def add(self, section: str, name: str, status: str, detail: str, *, fix: str = "",
            config: bool = False, **data: Any) -> Check:
        check = Check(section, name, status, redact(detail), redact(fix), config, data)
        self.checks.append(check)
        self.ctx.emit({"type": "check", "section": section, "name": name, "status": status,
                       "detail": check.detail, "fix": check.fix, **data})
        if not self.ctx.json_mode:
            if section != self._section:
                self._section = section
                self.ctx.out(section)
            self.ctx.out(f"  {_MARKS[status]:<5} {name:<12} {check.detail}".rstrip())
            if check.fix:
                self.ctx.out(f"  {'':<5} {'':<12} fix: {check.fix}")
        return check

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def exit_code(self) -> int:
        failed = [c for c in self.checks if c.status == "fail"]
        if any(c.config for c in failed):
            return EXIT_CONFIG
        return EXIT_FAILED if failed else EXIT_OK


class DoctorCommand:
    """Check plugins, configuration and (given a URI) the backend, credentials, TLS and reachability."""

    reports_setup_errors = True
    """``s3-cli`` runs this command even when the plugins or settings failed to load:
    reporting that is its job."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("uri", nargs="?", metavar="URI",
                            help="also check the backend, credentials, TLS and reachability of this URI")
        parser.add_argument("--write", action="store_true",
                            help="also put, get and delete a small object under a temporary key in URI")

    def run(self, args: argparse.Namespace, ctx: CliContext) -> int:
        uri: str | None = args.uri
        if args.write and not uri:
            raise UsageError("--write needs a URI to write under")
        if uri is not None and "://" not in uri:
            hint = f" (did you mean file://{os.path.abspath(uri)}?)" if uri.startswith(("/", ".")) else ""
            raise UsageError(f"{uri!r} is not a URI: expected scheme://…{hint}")
        report = _Report(ctx)
        rt, host, error = _compose(report)
        _plugins(report, host, error)
        _configuration(report, rt, error)
        if uri is not None:
            if rt is None:
                report.add(uri, "backend", "skip", "the configuration failed to load (see above)")
            else:
                _check_uri(report, rt, uri, write=args.write)
        code = report.exit_code()
        ok, warn, failed = report.count("ok"), report.count("warn"), report.count("fail")
        ctx.info(f"doctor: {ok} ok, {warn} warning{'' if warn == 1 else 's'}, {failed} failed"
                 + (" (see fix: above)" if failed and not ctx.json_mode else ""))
        ctx.set_summary(ok=ok, warnings=warn, failed=failed)
        return code


# ------------------------------------------------------------------------------ plugins, settings


def _compose(report: _Report) -> tuple[Runtime | None, PluginHost | None, BaseException | None]:
    """The composed runtime (``None`` if composition failed), the plugin host (``None`` if
    even the plugins failed to load) and the failure, reported by the section it concerns.

    The configuration warnings of composition (unknown keys in the config file) are
    captured here and reported as checks, not printed as warnings.
    """

    rt: Runtime | None = None
    error: BaseException | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        try:
            rt = runtime()
        except (ConfigError, PluginError) as exc:
            error = exc
    report.warnings = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
    host: PluginHost | None = rt.host if rt is not None else None
    if host is None:
        try:
            host = loaded_host()  # the plugins may have loaded even though the settings did not
        except (ConfigError, PluginError):
            host = None
    return rt, host, error


def _plugins(report: _Report, host: PluginHost | None, error: BaseException | None) -> None:
    if isinstance(error, PluginError):
        report.add("plugins", "load", "fail", str(error), config=True,
                   fix="reinstall or disable the plugin named above (S3DLIO_DISABLED_PLUGINS=NAME), "
                       "or unset S3DLIO_STRICT_PLUGINS")
    if host is None:
        if not isinstance(error, PluginError):
            report.add("plugins", "load", "skip", "not loaded: the settings that choose them failed "
                       "(see configuration)")
        return
    for r in host.report():
        who = " ".join(p for p in (r.distribution, r.version) if p) or r.module
        if r.status in ("loaded", "builtin"):
            report.add("plugins", r.name, "ok", f"{who}, {r.status}"
                       + (f" ({r.error})" if r.error else ""), status_of=r.status)
        elif r.status == "disabled":
            report.add("plugins", r.name, "info", f"{who}, disabled: {r.error}", status_of=r.status)
        elif r.status == "conflict":
            report.add("plugins", r.name, "fail", f"{who}: {r.error}", config=True, status_of=r.status,
                       fix="uninstall one of the distributions, or choose one in s3dlio.toml "
                           "([plugins.prefer])")
        else:  # failed, not-found
            reinstall = catalog.install_command(r.distribution) if r.distribution else "install it"
            report.add("plugins", r.name, "fail", f"{who}, {r.status}: {r.error}", config=True,
                       status_of=r.status,
                       fix=f"{reinstall} (or S3DLIO_DISABLED_PLUGINS={r.name} to stop loading it)")


def _configuration(report: _Report, rt: Runtime | None, error: BaseException | None) -> None:
    from s3dlio.config import ConfigWarning, redacted_value, warn_unknown_env

    section = "configuration"
    messages = list(report.warnings)
    if isinstance(error, ConfigError):
        report.add(section, "settings", "fail", str(error), config=True,
                   fix="correct or unset the value named above "
                       "(s3-cli config show --all lists every setting and its variables)")
    if rt is None:
        # Without a composed schema every variable would look unknown.
        report.add(section, "environment", "skip", "not checked: the settings did not load")
        return
    settings = rt.settings
    report.add(section, "config file", "ok" if settings.config_file else "info",
               settings.config_file or "(none: defaults and environment only)",
               path=settings.config_file)
    changed = [row for row in settings.describe() if row.source != "default"]
    report.add(section, "settings", "ok",
               f"resolved; {len(changed)} set outside the defaults" + (":" if changed else ""),
               changed=len(changed))
    for row in changed:
        report.add(section, "", "info", f"{row.section}.{row.name} = {redacted_value(row)} "
                   f"({row.source})", setting=f"{row.section}.{row.name}", source=row.source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        warn_unknown_env(rt.host.schema, os.environ)
    messages += [str(w.message) for w in caught]
    unknown = 0
    for message in dict.fromkeys(messages):  # composition may have warned about the same names
        unknown += 1
        is_env = message.startswith("unknown environment variable")
        report.add(section, "environment" if is_env else "config file", "warn", message,
                   fix="rename or unset it: nothing reads it, so it has no effect" if is_env
                   else "rename or remove the key: it has no effect")
    if not unknown:
        report.add(section, "environment", "ok", "every S3DLIO_* variable set is known")


# ------------------------------------------------------------------------------ the URI


def _check_uri(report: _Report, rt: Runtime, uri: str, *, write: bool) -> None:
    scheme = split_scheme(uri)[0]
    try:
        store, key = rt.resolve(uri)
    except PluginError as exc:
        report.add(uri, "backend", "fail", str(exc), config=True,
                   fix="install the distribution named above (s3-cli plugins lists what is installed)")
        return
    except (InvalidPathError, ValueError) as exc:
        report.add(uri, "uri", "fail", str(exc), fix="correct the URI")
        return
    try:
        plugin = rt.host.backends.spec_for(scheme).plugin
    except PluginError:
        plugin = ""  # a URI rewritten to another scheme by a plugin's s3dlio_resolve_url
    inner = store
    while hasattr(inner, "inner"):  # the middleware wraps the backend's store
        inner = inner.inner
    report.add(uri, "backend", "ok", f"{store.backend} ({type(inner).__name__}"
               + (f", plugin {plugin})" if plugin else ")"), backend=store.backend, plugin=plugin)
    try:
        info = store.describe(probe=True)
    except Exception as exc:  # a describe that fails must not hide the other checks
        report.add(uri, "describe", "warn", f"the backend could not describe itself: {exc}")
        info = {"endpoint": store.endpoint, "local": False}
    local = bool(info.get("local"))
    report.add(uri, "endpoint", "info", str(info.get("endpoint") or "-"),
               **{k: v for k, v in info.items() if k not in _RESERVED})
    extras = {k: v for k, v in info.items() if k not in _DESCRIBED and v not in (None, "")}
    if extras:  # what else the backend told (region, addressing style, …)
        report.add(uri, "details", "info", ", ".join(f"{k}={v}" for k, v in sorted(extras.items())))
    credentials = str(info.get("credentials") or "unknown (the backend does not report it)")
    report.add(uri, "credentials", "info", credentials)
    _tls(report, uri, info)
    for problem in info.get("problems") or ():
        report.add(uri, "backend", "fail", str(problem), config=True, fix="see the message")
    target = _reachability(report, store, key, uri)
    _clock(report, uri, info, local)
    if write:
        _write_round_trip(report, store, key, uri, target)


def _tls(report: _Report, uri: str, info: dict[str, Any]) -> None:
    tls = str(info.get("tls") or "unknown")
    if tls == "https":
        bundle = str(info.get("ca_bundle") or "")
        if info.get("tls_verify") is False:
            report.add(uri, "tls", "warn", "https, certificates NOT verified",
                       fix="drop --insecure / S3DLIO_S3_INSECURE once the CA is trusted (--ca-bundle FILE)")
        elif bundle and not os.path.isfile(bundle):
            report.add(uri, "tls", "fail", f"https, CA bundle {bundle} does not exist", config=True,
                       fix="point --ca-bundle / AWS_CA_BUNDLE at an existing PEM file, or unset it")
        else:
            report.add(uri, "tls", "ok", f"https, certificates verified against "
                       f"{bundle or 'the system CA certificates'}")
    elif tls.startswith("no"):
        host = str(info.get("endpoint") or "").partition("://")[2].split("/")[0].rsplit(":", 1)[0]
        if host in _LOOPBACK:
            report.add(uri, "tls", "info", "no (plain http to this machine)")
        else:
            report.add(uri, "tls", "warn", f"no: plain http to {host}, traffic is not encrypted",
                       fix="use an https:// endpoint unless the network is trusted")
    else:
        report.add(uri, "tls", "info", tls)


def _reachability(report: _Report, store: ObjectStore, key: str, uri: str) -> str | None:
    """Stat the object or list the directory (no writes); the kind of target found
    (``"object"``, ``"directory"``, ``"nothing"``) or ``None`` when unreachable."""
    start = time.perf_counter()
    try:
        if key and not key.endswith("/"):
            try:
                meta = store.head(key)
            except NotFoundError:
                key += "/"  # maybe a directory
            else:
                ms = (time.perf_counter() - start) * 1e3
                report.add(uri, "reachable", "ok", f"stat: an object of {meta.size} bytes ({ms:.1f} ms)",
                           seconds=ms / 1e3, target="object")
                return "object"
        try:
            page = next(iter(store.list(key, recursive=False)), None)
        except InvalidPathError:
            if key:
                raise
            containers = store.list_containers("")  # type: ignore[attr-defined]  # an account root
            ms = (time.perf_counter() - start) * 1e3
            report.add(uri, "reachable", "ok", f"listed the account: {len(containers)} "
                       f"bucket{'' if len(containers) == 1 else 's'} ({ms:.1f} ms)",
                       seconds=ms / 1e3, target="account")
            return "account"
    except Exception as exc:  # every failure is a finding
        report.add(uri, "reachable", "fail", str(exc), fix=_fix_for(exc), error=type(exc).__name__)
        return None
    ms = (time.perf_counter() - start) * 1e3
    if page is None:
        report.add(uri, "reachable", "ok", f"listed {store.uri(key)}: nothing there (empty, or no such "
                   f"directory) ({ms:.1f} ms)", seconds=ms / 1e3, target="nothing")
        return "nothing"
    entries = len(page.keys) + len(page.prefixes)
    report.add(uri, "reachable", "ok", f"listed {store.uri(key)}: {entries} "
               f"entr{'y' if entries == 1 else 'ies'} on the first page "
               f"({ms:.1f} ms)", seconds=ms / 1e3, target="directory", entries=entries)
    return "directory"


def _fix_for(exc: BaseException) -> str:
    if isinstance(exc, PermissionDeniedError):
        return "check the credentials above and that they may read this bucket/prefix"
    if isinstance(exc, NotFoundError):
        return "check the bucket/container name (s3-cli list-buckets URI lists them)"
    if isinstance(exc, TransientError):
        return "check the endpoint URL, the network/firewall, and that the service is up"
    if isinstance(exc, InvalidPathError):
        return "correct the URI"
    return "see the message; -vv shows the full request errors"


def _clock(report: _Report, uri: str, info: dict[str, Any], local: bool) -> None:
    skew = info.get("clock_skew_secs")
    if local:
        report.add(uri, "clock", "info", "n/a (local storage)")
    elif not isinstance(skew, (int, float)):
        report.add(uri, "clock", "info", "unknown (the backend does not report the server's time)")
    else:
        text = f"{skew:+.1f} s against the server's Date header (±1 s)"
        if abs(skew) > _SKEW_FAIL_SECS:
            report.add(uri, "clock", "fail", text, clock_skew_secs=skew,
                       fix="synchronise this machine's clock (NTP): signed requests are refused")
        elif abs(skew) > _SKEW_WARN_SECS:
            report.add(uri, "clock", "warn", text, clock_skew_secs=skew,
                       fix="synchronise this machine's clock (NTP): op-log times will disagree")
        else:
            report.add(uri, "clock", "ok", text, clock_skew_secs=skew)


def _write_round_trip(report: _Report, store: ObjectStore, key: str, uri: str, target: str | None) -> None:
    """Put, get and delete a small object under a temporary key next to (or under) ``key``."""

    section = f"{uri} (--write)"
    if target is None or target == "account":
        reason = "unreachable (see above)" if target is None else "a bucket/container URI is needed"
        for step in ("put", "get", "delete"):
            report.add(section, step, "skip", reason)
        return
    if target == "object":
        directory = key.rpartition("/")[0] + "/" if "/" in key else ""
    else:
        directory = key if not key or key.endswith("/") else key + "/"
    temp = f"{directory}.s3dlio-doctor-{uuid.uuid4().hex[:12]}"
    # The put may create directories (file://): remove afterwards exactly those, i.e. the
    # topmost missing ancestor and what is under it (object stores have none to remove).
    created = ""
    top = directory
    while top and nothing_at(store.uri(top)):
        created, top = top, top[:-1].rpartition("/")[0] + "/" if "/" in top[:-1] else ""
    payload = os.urandom(1024)
    start = time.perf_counter()
    try:
        store.put(temp, memoryview(payload))
    except Exception as exc:  # every failure is a finding
        report.add(section, "put", "fail", str(exc), fix=_fix_for(exc), error=type(exc).__name__)
        for step in ("get", "delete"):
            report.add(section, step, "skip", "the put failed")
        return
    report.add(section, "put", "ok", f"{len(payload)} bytes to {store.uri(temp)} ({_ms(start)})",
               key=store.uri(temp))
    start = time.perf_counter()
    try:
        data = store.get(temp)
    except Exception as exc:  # every failure is a finding
        report.add(section, "get", "fail", str(exc), fix=_fix_for(exc), error=type(exc).__name__)
    else:
        if bytes(data.memoryview()) == payload:
            report.add(section, "get", "ok", f"{len(data)} bytes, content matches ({_ms(start)})")
        else:
            report.add(section, "get", "fail", f"read back {len(data)} bytes that differ from what was put",
                       fix="a proxy or gateway alters objects: check what sits between here and the service")
    start = time.perf_counter()
    try:
        store.delete(temp)
        gone = not store.exists(temp)
        if created:
            store.cleanup_prefix(created)
    except Exception as exc:  # every failure is a finding
        report.add(section, "delete", "fail", f"{exc} (remove {store.uri(temp)} by hand)",
                   fix=_fix_for(exc), error=type(exc).__name__)
        return
    if gone:
        report.add(section, "delete", "ok", f"deleted, and gone ({_ms(start)})")
    else:
        report.add(section, "delete", "fail", f"{store.uri(temp)} still exists after the delete",
                   fix="check the bucket's retention / object-lock settings")


def _ms(start: float) -> str:
    return f"{(time.perf_counter() - start) * 1e3:.1f} ms"
