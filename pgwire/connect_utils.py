"""The cold, pure-Python part of connecting.

Parameter sources (kwargs > DSN > service file > environment > defaults),
.pgpass, libpq sslmode semantics, the SSLRequest exchange, multi-host
connect, the startup on a connected socket (``_connect_one``) and SASLprep.
The socket dial and CancelRequest live in ``_dial`` (shared with
``connection``, which this module imports).

Uses the C extension for the certificate's signature hash (channel
binding) and the protocol object.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import getpass
import hashlib
import inspect
import math
import os
import pathlib
import re
import socket
import ssl as ssl_module
import stat
import stringprep
import struct
import sys
import typing
import unicodedata
import urllib.parse
import warnings

import pgwire
from . import _pgwire
from . import exceptions
from ._dial import (  # noqa: F401  (CANCEL_REQUEST_CODE, _dial: re-exported)
    CANCEL_REQUEST_CODE, _abort_socket, _dial, _shuffled, send_cancel_request)
from .connection import Connection

__all__ = (
    "SSLMode",
    "SessionAttribute",
    "LoadBalanceHosts",
    "ConnectionParameters",
    "ClientConfiguration",
    "parse_connect_arguments",
    "open_socket",
    "send_cancel_request",
    "connect",
    "saslprep",
)

SSL_REQUEST_CODE = 80877103
DEFAULT_PORT = 5432
ALPN_PROTOCOLS = ["postgresql"]

_WINDOWS = sys.platform == "win32"
if _WINDOWS:
    _DEFAULT_HOSTS = ("localhost",)
    _PGPASSFILE = "pgpass.conf"
else:
    _DEFAULT_HOSTS = ("/run/postgresql", "/var/run/postgresql", "/tmp",
                      "/private/tmp", "localhost")
    _PGPASSFILE = ".pgpass"
_PG_SERVICEFILE = ".pg_service.conf"

# Ranks of the parameter sources; lower wins.
_R_KWARGS, _R_DSN, _R_SERVICE, _R_ENV, _R_DEFAULT = range(5)


# ---------------------------------------------------------------------------
# Enums and result tuples
# ---------------------------------------------------------------------------
class SSLMode(enum.IntEnum):
    disable = 0
    allow = 1
    prefer = 2
    require = 3
    verify_ca = 4
    verify_full = 5

    @classmethod
    def parse(cls, value):
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls.__members__.get(value.strip().replace("-", "_"))
            if member is not None:
                return member
        modes = ", ".join(m.name.replace("_", "-") for m in cls)
        raise _cfg_error(
            f"`sslmode` parameter must be one of: {modes}, got {value!r}")

    def __str__(self):
        return self.name.replace("_", "-")


class SessionAttribute(str, enum.Enum):
    any = "any"
    primary = "primary"
    standby = "standby"
    prefer_standby = "prefer-standby"
    read_write = "read-write"
    read_only = "read-only"


class LoadBalanceHosts(str, enum.Enum):
    """libpq 16's load_balance_hosts (not in asyncpg)."""
    disable = "disable"
    random = "random"


class ConnectionParameters(typing.NamedTuple):
    user: str
    password: typing.Any          # str, callable, coroutine function or None
    database: str
    ssl: typing.Optional[ssl_module.SSLContext]
    sslmode: SSLMode
    direct_tls: bool
    server_settings: typing.Dict[str, str]
    target_session_attrs: SessionAttribute
    krbsrvname: typing.Optional[str] = None
    gsslib: str = "gssapi"
    connect_timeout: typing.Optional[float] = None   # per host, seconds
    passfile: typing.Optional[pathlib.Path] = None   # set iff it gave password
    load_balance_hosts: LoadBalanceHosts = LoadBalanceHosts.disable
    # TCP liveness (libpq's keepalives* and tcp_user_timeout): None = the
    # operating system's default
    keepalives: bool = True
    keepalives_idle: typing.Optional[int] = None      # seconds
    keepalives_interval: typing.Optional[int] = None  # seconds
    keepalives_count: typing.Optional[int] = None
    tcp_user_timeout: typing.Optional[int] = None     # milliseconds
    # libpq 16's require_auth: (allowed PGC_AUTHM_* bit set, the option's
    # text) or None
    require_auth: typing.Optional[typing.Tuple[int, str]] = None
    # libpq 13's channel_binding: disable, prefer or require
    channel_binding: str = "prefer"

    @property
    def ssl_negotiation(self):
        return "direct" if self.direct_tls else "postgres"

    def __repr__(self):
        # never the password (nor the repr of a password callable)
        fields = ", ".join(
            "{}={}".format(name, "'***'" if name == "password" and
                           value is not None else repr(value))
            for name, value in zip(self._fields, self))
        return "ConnectionParameters({})".format(fields)

    def redacted(self):
        """A copy whose password is '***' (None stays None): what query
        loggers get as LoggedQuery.conn_params."""
        if self.password is None:
            return self
        return self._replace(password="***")


class ClientConfiguration(typing.NamedTuple):
    command_timeout: typing.Optional[float]
    statement_cache_size: int
    max_cached_statement_lifetime: float
    max_cacheable_statement_size: int
    # the bound on a cancellation: the CancelRequest dial, then the wait for
    # the cancelled query's end before the connection is aborted
    cancel_timeout: float = 5.0
    # 'numeric' ($n) or 'pyformat' (%s, %(name)s; paramstyle.c)
    paramstyle: str = 'numeric'


# ---------------------------------------------------------------------------
# Exceptions (looked up at use, see the module docstring)
# ---------------------------------------------------------------------------


def _exc(name):
    """The class `name` from pgwire.exceptions."""
    return getattr(exceptions, name)


def _new_error(cls, msg, *, detail=None, hint=None):
    try:
        exc = cls(msg, detail=detail, hint=hint)
    except TypeError:
        exc = cls(msg)
        exc.detail = detail
        exc.hint = hint
    return exc


def _cfg_error(msg, *, detail=None, hint=None):
    return _new_error(_exc("ClientConfigurationError"), msg,
                      detail=detail, hint=hint)


_ssl_negotiation_error_cls = None


def _ssl_negotiation_error():
    """InterfaceError + ConnectionError: the next host is tried."""
    global _ssl_negotiation_error_cls
    if _ssl_negotiation_error_cls is None:
        base = _exc("InterfaceError")
        _ssl_negotiation_error_cls = type(
            "SSLNegotiationError", (base, ConnectionError),
            {"__module__": __name__,
             "__doc__": "The server refused or failed the SSL negotiation."})
    return _ssl_negotiation_error_cls


def __getattr__(name):
    if name == "SSLNegotiationError":
        return _ssl_negotiation_error()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sqlstate(exc):
    return getattr(exc, "sqlstate", None)


def _is_auth_rejection(exc):
    """28000 (no pg_hba.conf entry, ...) or 28P01 (wrong password)."""
    return (isinstance(exc, _exc("InvalidAuthorizationSpecificationError"))
            or _sqlstate(exc) in ("28000", "28P01"))


def _is_pre_auth_rejection(exc):
    """A server error before AuthenticationOk (a pg_hba.conf rejection, a
    wrong password, an unknown database the server checks early, ...) but
    "cannot connect now" (the next host is tried): sslmode allow/prefer
    then try the other transport, as libpq and asyncpg do."""
    if _is_auth_rejection(exc):
        return True
    return (isinstance(exc, _exc("PostgresError"))
            and getattr(exc, "_auth_received", None) is False
            and not _is_cannot_connect_now(exc))


def _is_invalid_password(exc):
    return (isinstance(exc, _exc("InvalidPasswordError"))
            or _sqlstate(exc) == "28P01")


def _is_cannot_connect_now(exc):
    return (isinstance(exc, _exc("CannotConnectNowError"))
            or _sqlstate(exc) == "57P03")


# ---------------------------------------------------------------------------
# SASLprep (RFC 4013), as PostgreSQL's src/common/saslprep.c applies it
# ---------------------------------------------------------------------------
_PROHIBITED = (
    stringprep.in_table_c12, stringprep.in_table_c21_c22,
    stringprep.in_table_c3, stringprep.in_table_c4, stringprep.in_table_c5,
    stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
    stringprep.in_table_c9, stringprep.in_table_a1,
)


def saslprep(password: str) -> str:
    """Prepare a SCRAM password; on any failure return it unchanged (libpq).

    Like the server (which prepares stored verifiers the same way), ASCII
    input is returned as is, and the prohibited-output, unassigned and bidi
    checks look at the mapped string before NFKC normalisation.
    """
    if not isinstance(password, str) or password.isascii():
        return password
    mapped = []
    for ch in password:
        if stringprep.in_table_c12(ch):
            mapped.append(" ")
        elif not stringprep.in_table_b1(ch):
            mapped.append(ch)
    if not mapped:
        return password
    for ch in mapped:
        if any(table(ch) for table in _PROHIBITED):
            return password
    if any(stringprep.in_table_d1(ch) for ch in mapped):
        if any(stringprep.in_table_d2(ch) for ch in mapped):
            return password
        if not (stringprep.in_table_d1(mapped[0])
                and stringprep.in_table_d1(mapped[-1])):
            return password
    return unicodedata.normalize("NFKC", "".join(mapped))


# ---------------------------------------------------------------------------
# Small parsers
# ---------------------------------------------------------------------------
def _home() -> typing.Optional[pathlib.Path]:
    try:
        return pathlib.Path.home()
    except (RuntimeError, KeyError, OSError):
        return None


def _pg_dir_file(name) -> typing.Optional[pathlib.Path]:
    home = _home()
    if home is None:
        return None
    if _WINDOWS:
        appdata = os.environ.get("APPDATA")
        if appdata:
            return pathlib.Path(appdata) / "postgresql" / name
    return home / ".postgresql" / name


def _parse_port(value) -> typing.List[int]:
    """int, str ('5432' or '5432,5433') or a sequence -> list of ports."""
    if isinstance(value, bool):
        raise _cfg_error(f"invalid port number: {value!r}")
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [p.strip() for p in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _cfg_error(f"invalid port number: {value!r}")
    ports = []
    for item in items:
        try:
            if isinstance(item, bool) or isinstance(item, float):
                raise ValueError
            port = int(item)
        except (TypeError, ValueError):
            raise _cfg_error(f"invalid port number: {item!r}") from None
        if not 0 < port < 65536:
            raise _cfg_error(f"invalid port number: {item!r}")
        ports.append(port)
    if not ports:
        raise _cfg_error(f"invalid port number: {value!r}")
    return ports


def _parse_hostlist(spec: str, *, unquote: bool):
    """'h1:5432,[::1]:5433,/tmp' -> [(host, port or None), ...]."""
    result = []
    for item in spec.split(","):
        item = item.strip()
        port = None
        if item.startswith("["):
            end = item.find("]")
            rest = item[end + 1:] if end > 0 else None
            if end <= 1 or (rest and not rest.startswith(":")):
                raise _cfg_error(
                    f"invalid IPv6 address in the host list: {item!r}")
            host, portspec = item[1:end], (rest[1:] if rest else "")
        elif unquote:
            # URI: ':' separates the port; socket dirs are %2F-encoded.
            host, _, portspec = item.partition(":")
        elif item.startswith("/") or item.count(":") > 1:
            host, portspec = item, ""          # socket dir / bare IPv6
        else:
            host, _, portspec = item.partition(":")
        if unquote:
            host = urllib.parse.unquote(host)
            portspec = urllib.parse.unquote(portspec)
        if portspec:
            port = _parse_port(portspec)[0]
        result.append((host, port))
    return result


def _host_kwarg(host):
    if isinstance(host, str):
        return [(host, None)]
    if isinstance(host, (list, tuple)) and all(
            isinstance(h, str) and h for h in host):
        return [(h, None) for h in host]
    raise _cfg_error(
        f"host is expected to be a str or a sequence of str, got {host!r}")


def _first_of(text, chars, start=0):
    """Index of the first of ``chars`` in ``text`` from ``start``, else
    len(text)."""
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else len(text)


def _query_ok(query):
    """Whether a URI query string splits into key=value items."""
    for item in query.split("&"):
        if item and (not item.partition("=")[1] or item.startswith("=")):
            return False
    return True


def _plain_split_ok(rest, n0_end):
    """Whether ``rest`` (after "//", no '@' in its host list) reads as a
    host list, a path without '@' and a well-formed query."""
    try:
        _parse_hostlist(rest[:n0_end], unquote=True)
    except Exception:
        return False
    after, _, query = rest[n0_end:].partition("?")
    return "@" not in after and _query_ok(query)


def _lookahead_userinfo(rest):
    """For a DSN whose password holds an unescaped '/' or '?': the first
    '@' after which comes a host list with no '@' in it, preceded by
    ``user[:password]`` with a plain user name -> (userinfo, remainder),
    else None."""
    p = rest.find("@")
    while p >= 0:
        prefix, after = rest[:p], rest[p + 1:]
        user = prefix.partition(":")[0]
        if not any(c in user for c in "/?#@") and \
                "@" not in after[:_first_of(after, "/?")]:
            return prefix, after
        p = rest.find("@", p + 1)
    return None


def _split_userinfo(rest):
    """-> (userinfo or None, the rest, suspect).  ``suspect``: the DSN has
    an '@' that is not the user information's, so parts of a password with
    unescaped separators may have been read as other parameters; errors
    then show none of the DSN's values (see parse_connect_arguments)."""
    n0_end = _first_of(rest, "/?")
    n0 = rest[:n0_end]
    if "@" in n0:
        # host lists hold no '@': the last one ends the user information
        userinfo, _, hosts = n0.rpartition("@")
        return userinfo, hosts + rest[n0_end:], "@" in rest[n0_end:]
    if "@" not in rest:
        return None, rest, False
    look = _lookahead_userinfo(rest)
    if look is None or _plain_split_ok(rest, n0_end):
        return None, rest, True
    return look[0], look[1], "@" in look[1]


def _split_dsn(dsn: str):
    """Split a postgres:// URI -> (user, password, hostspec, db, query,
    suspect); see _split_userinfo for ``suspect``."""
    scheme, colon, rest = dsn.partition(":")
    if not colon or not scheme.replace("+", "").replace("-", "").replace(
            ".", "").isalnum():
        scheme = ""                     # e.g. "host=h dbname=d"
    if scheme.lower() not in ("postgres", "postgresql"):
        raise _cfg_error(
            'invalid DSN: scheme is expected to be either '
            f'"postgresql" or "postgres", got {scheme!r}')
    if not rest.startswith("//"):
        raise _cfg_error(
            f'invalid DSN: expected "{scheme}://" at the start of the URI')
    userinfo, rest, suspect = _split_userinfo(rest[2:])
    rest, _, query = rest.partition("?")
    slash = rest.find("/")
    if slash >= 0:
        netloc, path = rest[:slash], rest[slash + 1:]
    else:
        netloc, path = rest, ""
    user = password = None
    if userinfo is not None:
        u, has_pw, pw = userinfo.partition(":")
        user = urllib.parse.unquote(u) or None
        if has_pw:
            password = urllib.parse.unquote(pw) or None
    database = urllib.parse.unquote(path) or None
    params = {}
    for item in query.split("&"):
        if not item:
            continue
        key, eq, val = item.partition("=")
        if not eq:
            raise _cfg_error(
                f"invalid DSN: query parameter {item!r} has no value")
        key = urllib.parse.unquote_plus(key)
        val = urllib.parse.unquote_plus(val)
        if not key:
            raise _cfg_error(f"invalid DSN: bad query parameter {item!r}")
        if val:
            params[key] = val              # the last one wins
        else:
            params.pop(key, None)
    return user, password, netloc, database, params, suspect


def _dsn_is_suspect(dsn):
    """Whether errors about ``dsn`` must not quote its values: an '@'
    outside the user information (see _split_userinfo), or a password in
    the query string (an unescaped '&' or '=' in it makes its parts look
    like other parameters); never raises."""
    if not isinstance(dsn, str):
        return False
    rest = dsn.partition("://")[2]
    if not rest:
        return "@" in dsn or "password" in dsn
    _, rest, suspect = _split_userinfo(rest)
    query = rest.partition("?")[2]
    return suspect or any(
        urllib.parse.unquote_plus(item.partition("=")[0]) in (
            "password", "sslpassword") for item in query.split("&"))


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _redact_quoted(text):
    return None if text is None else _QUOTED.sub("'***'", str(text))


def _redacted_config_error(e):
    """A copy of ClientConfigurationError ``e`` that quotes no value."""
    msg = _redact_quoted(str(e.args[0]) if e.args else "")
    return _new_error(type(e), msg + (
        " (values are not shown: the DSN holds a password whose unescaped "
        "characters may have been read as other parameters; percent-encode "
        "'@', '/', '?', '#', ':', '&' and '=' in it)"),
        detail=_redact_quoted(getattr(e, "detail", None)),
        hint=_redact_quoted(getattr(e, "hint", None)))


def _parse_tls_version(value):
    if isinstance(value, ssl_module.TLSVersion):
        return value
    name = str(value).strip()
    if name.upper().startswith("SSL"):
        raise _cfg_error(f"Unsupported TLS version: {value}")
    try:
        return ssl_module.TLSVersion[name.replace(".", "_")]
    except KeyError:
        raise _cfg_error(f"No such TLS version: {value}") from None


def _parse_nonneg_int(name, value):
    """An integer option >= 0 (libpq's keepalives_*, tcp_user_timeout)."""
    try:
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError
        n = value if isinstance(value, int) else int(str(value).strip())
    except (TypeError, ValueError):
        raise _cfg_error(
            f"invalid integer value {value!r} for connection option "
            f'"{name}"') from None
    if n < 0 or n > 2 ** 31 - 1:
        raise _cfg_error(
            f"invalid value {value!r} for connection option \"{name}\": "
            "expected an integer from 0 to 2147483647")
    return n


def _parse_keepalives(value):
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    n = _parse_nonneg_int("keepalives", value)
    return n != 0


# require_auth method names -> the C core's PGC_AUTHM_* bits
_AUTH_METHODS = {"none": 1, "password": 2, "md5": 4, "scram-sha-256": 8,
                 "gss": 16, "sspi": 32}
_ALL_AUTH_METHODS = 63


def _parse_require_auth(value):
    """libpq 16: a comma list of methods, or of methods each negated with
    '!', never both.  -> (allowed bit set, text) or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _cfg_error(
            f"require_auth must be a str, got {type(value).__name__}")
    if value.strip() == "":
        return None
    seen = 0
    negated = None
    for raw in value.split(","):
        name = raw.strip()
        neg = name.startswith("!")
        if neg:
            name = name[1:]
        bit = _AUTH_METHODS.get(name)
        if bit is None:
            raise _cfg_error(f'invalid require_auth method: "{name}"')
        if negated is None:
            negated = neg
        elif negated != neg:
            raise _cfg_error(
                f'negative require_auth method "{raw.strip()}" cannot be '
                'mixed with non-negative methods' if neg else
                f'require_auth method "{raw.strip()}" cannot be mixed with '
                'negative methods')
        if seen & bit:
            raise _cfg_error(
                f'require_auth method "{name}" is specified more than once')
        seen |= bit
    allowed = _ALL_AUTH_METHODS & ~seen if negated else seen
    return allowed, value


_CHANNEL_BINDING = ("disable", "prefer", "require")


def _parse_channel_binding(value):
    """libpq 13+: SCRAM-SHA-256-PLUS with tls-server-end-point over TLS
    (prefer, the default), never (disable), or nothing else accepted
    (require)."""
    if value is None:
        return "prefer"
    if not isinstance(value, str):
        raise _cfg_error(
            f"channel_binding must be a str, got {type(value).__name__}")
    if value not in _CHANNEL_BINDING:
        raise _cfg_error(f'invalid channel_binding value: "{value}"')
    return value


def channel_binding_data(transport):
    """-> (TLS in use, tls-server-end-point hash of the server certificate
    or None when its signature algorithm has no usable hash)."""
    sslobj = transport.get_extra_info("ssl_object")
    if sslobj is None:
        return False, None
    der = sslobj.getpeercert(binary_form=True)
    name = _pgwire.cert_signature_hash(der) if der else None
    return True, (hashlib.new(name, der).digest() if name else None)


def _parse_connect_timeout(value):
    """libpq: integer seconds; <= 0 means none; 1 is raised to 2."""
    try:
        if isinstance(value, bool):
            raise ValueError
        secs = value if isinstance(value, (int, float)) else \
            int(str(value).strip())
        if not math.isfinite(secs):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise _cfg_error(
            f"invalid integer value {value!r} for connection option "
            '"connect_timeout"') from None
    if secs <= 0:
        return None
    return float(max(secs, 2))


# ---------------------------------------------------------------------------
# Service file
# ---------------------------------------------------------------------------
def _read_service_file(path) -> typing.Optional[dict]:
    try:
        with open(path, "rt", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as e:
        raise _cfg_error(f'could not read service file "{path}": {e}') \
            from None
    sections: typing.Dict[str, typing.Dict[str, str]] = {}
    current = None
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise _cfg_error(
                    f'syntax error in service file "{path}", line {lineno}')
            name = line[1:-1].strip()
            current = None if name in sections else \
                sections.setdefault(name, {})
            continue
        key, eq, val = line.partition("=")
        if not eq:
            raise _cfg_error(
                f'syntax error in service file "{path}", line {lineno}')
        if current is not None:
            current.setdefault(key.strip(), val.strip())
    return sections


def _lookup_service(name, servicefile):
    files = []
    if servicefile is not None:
        files.append(pathlib.Path(servicefile))
    else:
        env = os.environ.get("PGSERVICEFILE")
        if env:
            files.append(pathlib.Path(env))
        else:
            home = _home()
            if home is not None:
                if _WINDOWS and os.environ.get("APPDATA"):
                    files.append(pathlib.Path(os.environ["APPDATA"]) /
                                 "postgresql" / _PG_SERVICEFILE)
                else:
                    files.append(home / _PG_SERVICEFILE)
    sysconf = os.environ.get("PGSYSCONFDIR")
    if sysconf:
        files.append(pathlib.Path(sysconf) / "pg_service.conf")
    for path in files:
        sections = _read_service_file(path)
        if sections and name in sections:
            return sections[name]
    raise _cfg_error(f'definition of service "{name}" not found')


# ---------------------------------------------------------------------------
# Password file
# ---------------------------------------------------------------------------
def _split_pgpass_line(line):
    """-> [(text, is_wildcard)] * 4 + [password] or None."""
    fields = []
    cur = []
    escaped_any = False
    i, n = 0, len(line)
    while i < n and len(fields) < 4:
        ch = line[i]
        if ch == "\\" and i + 1 < n:
            cur.append(line[i + 1])
            escaped_any = True
            i += 2
            continue
        if ch == ":":
            text = "".join(cur)
            fields.append((text, text == "*" and not escaped_any))
            cur, escaped_any = [], False
        else:
            cur.append(ch)
        i += 1
    if len(fields) < 4:
        return None
    pw = []
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:
            pw.append(line[i + 1])
            i += 2
            continue
        if ch == ":":
            break
        pw.append(ch)
        i += 1
    fields.append("".join(pw))
    return fields


def _read_passfile(path: pathlib.Path):
    try:
        st = os.stat(path)
    except OSError:
        return []
    if not stat.S_ISREG(st.st_mode):
        warnings.warn(f'password file "{path}" is not a plain file',
                      UserWarning, stacklevel=4)
        return []
    if not _WINDOWS and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f'password file "{path}" has group or world access; '
            'permissions should be u=rw (0600) or less',
            UserWarning, stacklevel=4)
        return []
    try:
        with open(path, "rt", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        fields = _split_pgpass_line(line)
        if fields is not None:
            entries.append(fields)
    return entries


def _pgpass_match(entries, hosts, port, database, user):
    values = (None, str(port), database, user)
    for entry in entries:
        (h, hw), (p, pw), (d, dw), (u, uw), password = entry
        if not (hw or h in hosts):
            continue
        if any(not wild and text != want for (text, wild), want in
               zip(((p, pw), (d, dw), (u, uw)), values[1:])):
            continue
        return password or None
    return None


def _pgpass_hosts(host):
    if host.startswith("/"):
        # A Unix socket matches "localhost" (and, leniently, its directory).
        return ("localhost", host)
    return (host,)


def _addr_host_port(addr):
    if isinstance(addr, str):
        directory, _, name = addr.rpartition("/")
        try:
            port = int(name.rpartition(".")[2])
        except ValueError:
            port = DEFAULT_PORT
        return directory or "/", port
    return addr


def _passfile_path(passfile):
    if passfile is not None:
        return pathlib.Path(passfile)
    env = os.environ.get("PGPASSFILE")
    if env:
        return pathlib.Path(env)
    if _WINDOWS and os.environ.get("APPDATA"):
        return pathlib.Path(os.environ["APPDATA"]) / "postgresql" / _PGPASSFILE
    home = _home()
    return None if home is None else home / _PGPASSFILE


def _password_for_addr(params: ConnectionParameters, addr):
    """Per-host .pgpass lookup (libpq looks the password up per host)."""
    if params.passfile is None:
        return params.password
    host, port = _addr_host_port(addr)
    entries = _read_passfile(params.passfile)
    found = _pgpass_match(entries, _pgpass_hosts(host), port,
                          params.database, params.user)
    return found if found is not None else params.password


# ---------------------------------------------------------------------------
# SSL context
# ---------------------------------------------------------------------------
def _check_key_permissions(path):
    if _WINDOWS:
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _cfg_error(
            f'private key file "{path}" does not exist') from None
    except OSError as e:
        raise _cfg_error(f'could not access private key file "{path}": {e}') \
            from None
    if not stat.S_ISREG(st.st_mode):
        raise _cfg_error(f'private key file "{path}" is not a regular file')
    if st.st_uid == 0:
        bad = st.st_mode & (stat.S_IWGRP | stat.S_IXGRP | stat.S_IRWXO)
    else:
        bad = st.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    if bad:
        raise _cfg_error(
            f'private key file "{path}" has group or world access; file must '
            'have permissions u=rw (0600) or less if owned by the current '
            'user, or permissions u=rw,g=r (0640) or less if owned by root')


def _load_root_cert(ctx, mode, rootcert):
    """Load the trust anchors; return True if the chain is to be verified."""
    if rootcert == "system":
        ctx.load_default_certs(ssl_module.Purpose.SERVER_AUTH)
        return True
    detail = None
    if rootcert is not None:
        path = str(rootcert)
    else:
        default = _pg_dir_file("root.crt")
        if default is None:
            path = "~/.postgresql/root.crt"
            detail = ("Could not determine the home directory (HOME is "
                      "unset or does not point to a valid directory).")
        else:
            path = str(default)
    if detail is None and os.path.isfile(path):
        try:
            ctx.load_verify_locations(cafile=path)
        except (OSError, ssl_module.SSLError) as e:
            raise _cfg_error(
                f'could not read root certificate file "{path}": {e}') \
                from None
        return True
    if mode >= SSLMode.verify_ca:
        raise _cfg_error(
            f'root certificate file "{path}" does not exist or cannot be '
            'accessed',
            detail=detail,
            hint='Either provide the file, use the system\'s trusted roots '
                 'with sslrootcert=system, or change sslmode to disable '
                 'server certificate verification.')
    return False                       # require without a root cert


def _load_crl(ctx, opts):
    crl, crldir = opts.get("sslcrl"), opts.get("sslcrldir")
    loaded = False
    try:
        if crl:
            if not os.path.isfile(crl):
                raise _cfg_error(f'SSL CRL file "{crl}" does not exist')
            ctx.load_verify_locations(cafile=crl)
            loaded = True
        if crldir:
            if not os.path.isdir(crldir):
                raise _cfg_error(
                    f'SSL CRL directory "{crldir}" does not exist')
            ctx.load_verify_locations(capath=crldir)
            loaded = True
        if not crl and not crldir:
            default = _pg_dir_file("root.crl")
            if default is not None and default.is_file():
                ctx.load_verify_locations(cafile=str(default))
                loaded = True
    except (OSError, ssl_module.SSLError) as e:
        raise _cfg_error(f"could not load SSL certificate revocation list: "
                         f"{e}") from None
    if loaded:
        ctx.verify_flags |= ssl_module.VERIFY_CRL_CHECK_CHAIN


def _load_client_cert(ctx, opts):
    cert, key = opts.get("sslcert"), opts.get("sslkey")
    if cert is None:
        default = _pg_dir_file("postgresql.crt")
        if default is None or not default.is_file():
            return
        cert = str(default)
    elif not os.path.isfile(cert):
        raise _cfg_error(f'certificate file "{cert}" does not exist')
    if key is None:
        default = _pg_dir_file("postgresql.key")
        if default is not None and default.is_file():
            key = str(default)
    _check_key_permissions(key if key is not None else cert)
    sslpassword = opts.get("sslpassword") or ""
    try:
        ctx.load_cert_chain(cert, keyfile=key, password=lambda: sslpassword)
    except (OSError, ssl_module.SSLError) as e:
        raise _cfg_error(
            f'could not load client certificate "{cert}" / key "{key}": {e}') \
            from None


def _finish_context(ctx, opts):
    lo = opts.get("ssl_min_protocol_version") or "TLSv1.2"
    hi = opts.get("ssl_max_protocol_version")
    ctx.minimum_version = _parse_tls_version(lo)
    if hi:
        ctx.maximum_version = _parse_tls_version(hi)
        if (ctx.maximum_version != ssl_module.TLSVersion.MAXIMUM_SUPPORTED
                and ctx.minimum_version
                != ssl_module.TLSVersion.MINIMUM_SUPPORTED
                and ctx.maximum_version < ctx.minimum_version):
            raise _cfg_error(f"invalid SSL protocol version range: {lo} "
                             f"> {hi}")
    if ssl_module.HAS_ALPN:
        ctx.set_alpn_protocols(ALPN_PROTOCOLS)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment and hasattr(
            ctx, "keylog_filename"):
        ctx.keylog_filename = keylog


def _build_context(mode: SSLMode, opts) -> ssl_module.SSLContext:
    ctx = ssl_module.SSLContext(ssl_module.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    verify = False
    if mode >= SSLMode.allow:
        # As libpq (initialize_SSL): whenever a root certificate is there
        # (sslrootcert, or ~/.postgresql/root.crt), the chain is verified,
        # under allow and prefer too; a failed verification makes prefer
        # fall back to plaintext (tests/test_authmatrix.py).
        verify = _load_root_cert(ctx, mode, opts.get("sslrootcert"))
    if verify:
        ctx.verify_mode = ssl_module.CERT_REQUIRED
        ctx.check_hostname = mode == SSLMode.verify_full
        _load_crl(ctx, opts)
    else:
        ctx.verify_mode = ssl_module.CERT_NONE
    _load_client_cert(ctx, opts)
    _finish_context(ctx, opts)
    return ctx


def _resolve_ssl(opts, have_tcp):
    """-> (SSLContext or None, SSLMode)."""
    value = opts.get("sslmode")
    rootcert = opts.get("sslrootcert")
    if isinstance(value, ssl_module.SSLContext):
        if value.check_hostname:
            return value, SSLMode.verify_full
        if value.verify_mode != ssl_module.CERT_NONE:
            return value, SSLMode.verify_ca
        return value, SSLMode.require
    if value is True:
        ctx = ssl_module.create_default_context()
        if ssl_module.HAS_ALPN:
            ctx.set_alpn_protocols(ALPN_PROTOCOLS)
        return ctx, SSLMode.verify_full
    if value is False:
        return None, SSLMode.disable
    if value is None:
        if rootcert == "system":
            mode = SSLMode.verify_full
        else:
            mode = SSLMode.prefer if have_tcp else SSLMode.disable
    elif isinstance(value, (str, SSLMode)):
        mode = SSLMode.parse(value)
        if rootcert == "system" and mode != SSLMode.verify_full:
            raise _cfg_error(
                f'weak sslmode "{mode}" may not be used with '
                'sslrootcert=system (use "verify-full")')
    else:
        raise _cfg_error(
            "ssl is expected to be None, a bool, an ssl.SSLContext or an "
            f"sslmode string, got {value!r}")
    if mode == SSLMode.disable or not have_tcp:
        return None, mode
    return _build_context(mode, opts), mode


# ---------------------------------------------------------------------------
# Parameter collection
# ---------------------------------------------------------------------------
_KNOWN_KEYS = frozenset({
    "host", "port", "dbname", "database", "user", "password", "passfile",
    "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir",
    "sslpassword", "ssl_min_protocol_version", "ssl_max_protocol_version",
    "sslnegotiation", "target_session_attrs", "krbsrvname", "gsslib",
    "service", "connect_timeout", "load_balance_hosts",
    "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "require_auth",
    "channel_binding",
})

_TCP_KEYS = ("keepalives_idle", "keepalives_interval", "keepalives_count",
             "tcp_user_timeout")

_ENV_KEYS = (
    ("PGHOST", "host"), ("PGPORT", "port"), ("PGUSER", "user"),
    ("PGPASSWORD", "password"), ("PGDATABASE", "dbname"),
    ("PGPASSFILE", "passfile"), ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"), ("PGSSLCRL", "sslcrl"),
    ("PGSSLCRLDIR", "sslcrldir"), ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGSSLMINPROTOCOLVERSION", "ssl_min_protocol_version"),
    ("PGSSLMAXPROTOCOLVERSION", "ssl_max_protocol_version"),
    ("PGSSLNEGOTIATION", "sslnegotiation"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGREQUIREAUTH", "require_auth"), ("PGCHANNELBINDING", "channel_binding"),
    ("PGKRBSRVNAME", "krbsrvname"), ("PGGSSLIB", "gsslib"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGLOADBALANCEHOSTS", "load_balance_hosts"),
)


class _Opts:
    """First value set wins; sources are applied strongest first."""

    def __init__(self):
        self.values: typing.Dict[str, typing.Any] = {}
        self.rank: typing.Dict[str, int] = {}
        self.settings: typing.Dict[str, str] = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def put(self, key, value, rank):
        if value is None or (isinstance(value, str) and value == ""):
            return
        if key == "database":
            key = "dbname"
        if key in self.values:
            return
        if key == "host":
            hosts = value if isinstance(value, list) else \
                _parse_hostlist(value, unquote=False)
            if all(h == "" for h, _ in hosts):
                ports = [p for _, p in hosts if p is not None]
                if ports:
                    self.put("port", ports, rank)
                return
            if any(h == "" for h, _ in hosts):
                raise _cfg_error(f"empty host name in host list {value!r}")
            value = hosts
        elif key == "port":
            value = _parse_port(value)
        self.values[key] = value
        self.rank[key] = rank

    def put_source(self, mapping, rank, *, extras_to_settings):
        # The port goes first so that a host list from the same source
        # keeps its own embedded ports only where they are given.
        items = sorted(mapping.items(), key=lambda kv: kv[0] != "port")
        for key, val in items:
            if key in _KNOWN_KEYS:
                if key != "service":
                    self.put(key, val, rank)
            elif key in ("application_name", "options") or extras_to_settings:
                self.settings.setdefault(key, val)


def _resolve_addrs(opts: _Opts):
    hosts = opts.get("host")
    host_rank = opts.rank.get("host", _R_DEFAULT)
    if not hosts:
        hosts = [(h, None) for h in _DEFAULT_HOSTS]
    ports = opts.get("port")
    port_rank = opts.rank.get("port", _R_DEFAULT)
    result = []
    for i, (host, embedded) in enumerate(hosts):
        if ports is not None and (embedded is None or port_rank < host_rank):
            if len(ports) > 1 and len(ports) != len(hosts):
                raise _cfg_error(
                    f"could not match {len(ports)} port numbers to "
                    f"{len(hosts)} hosts")
            port = ports[i] if len(ports) > 1 else ports[0]
        elif embedded is not None:
            port = embedded
        else:
            port = DEFAULT_PORT
        result.append((host, port))
    return result


def _positive_float(name, value):
    try:
        if isinstance(value, bool):
            raise ValueError
        value = float(value)
        if not value > 0 or not math.isfinite(value):  # also rejects NaN
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(
            f"invalid {name} value: expected greater than 0 "
            f"float (got {value!r})") from None
    return value


def _validate_config(statement_cache_size, max_cached_statement_lifetime,
                     max_cacheable_statement_size, command_timeout,
                     cancel_timeout=None, paramstyle='numeric'):
    if paramstyle not in ('numeric', 'pyformat'):
        raise ValueError(
            f"paramstyle must be 'numeric' or 'pyformat', got {paramstyle!r}")
    for name, val, types in (
            ("max_cacheable_statement_size", max_cacheable_statement_size,
             (int,)),
            ("max_cached_statement_lifetime", max_cached_statement_lifetime,
             (int, float)),
            ("statement_cache_size", statement_cache_size, (int,))):
        if (isinstance(val, bool) or not isinstance(val, types)
                or val < 0 or (isinstance(val, float)
                               and not math.isfinite(val))):
            raise ValueError(
                f"{name} is expected to be greater or equal to 0, "
                f"got {val!r}")
    if command_timeout is not None:
        command_timeout = _positive_float("command_timeout", command_timeout)
    return ClientConfiguration(
        command_timeout=command_timeout,
        statement_cache_size=statement_cache_size,
        max_cached_statement_lifetime=max_cached_statement_lifetime,
        max_cacheable_statement_size=max_cacheable_statement_size,
        cancel_timeout=(5.0 if cancel_timeout is None else
                        _positive_float("cancel_timeout", cancel_timeout)),
        paramstyle=paramstyle)


def _check_server_settings(server_settings):
    if server_settings is not None and (
            not isinstance(server_settings, dict)
            or not all(isinstance(k, str) and isinstance(v, str)
                       for k, v in server_settings.items())):
        raise _cfg_error(
            "server_settings is expected to be None or a Dict[str, str]")


def _collect_kwargs(opts, *, host, port, user, password, passfile,
                    database, ssl, target_session_attrs, krbsrvname, gsslib,
                    load_balance_hosts, tcp=None):
    if host:
        opts.put("host", _host_kwarg(host), _R_KWARGS)
    if port is not None and port != [] and port != "":
        opts.put("port", port, _R_KWARGS)
    if isinstance(passfile, os.PathLike):
        passfile = os.fspath(passfile)
    for key, val in (("user", user), ("password", password),
                     ("passfile", passfile), ("dbname", database),
                     ("sslmode", ssl),
                     ("target_session_attrs", target_session_attrs),
                     ("krbsrvname", krbsrvname), ("gsslib", gsslib),
                     ("load_balance_hosts", load_balance_hosts),
                     *(tcp or {}).items()):
        opts.put(key, val, _R_KWARGS)


def _collect_dsn(opts, dsn):
    """Apply a postgres:// URI; return the service it names, if any."""
    if not isinstance(dsn, str):
        raise _cfg_error(f"dsn is expected to be a str, got {dsn!r}")
    user, password, hostspec, database, query, _ = _split_dsn(dsn)
    if hostspec:
        opts.put("host", _parse_hostlist(hostspec, unquote=True), _R_DSN)
    opts.put("user", user, _R_DSN)
    opts.put("password", password, _R_DSN)
    opts.put("dbname", database, _R_DSN)
    opts.put_source(query, _R_DSN, extras_to_settings=True)
    return query.get("service")


def _collect_env(opts):
    environ, values = os.environ, opts.values
    for env, key in _ENV_KEYS:
        if key not in values:     # a stronger source set it: skip the lookup
            opts.put(key, environ.get(env), _R_ENV)
    for env, key in (("PGAPPNAME", "application_name"),
                     ("PGOPTIONS", "options")):
        val = os.environ.get(env)
        if val:
            opts.settings.setdefault(key, val)


def _default_user():
    try:
        return getpass.getuser()
    except Exception:
        raise _cfg_error(
            "could not determine user name to connect with") from None


def _make_addrs(hosts):
    addrs = []
    for host, port in hosts:
        if host.startswith("/"):
            addrs.append(host if ".s.PGSQL." in host
                         else os.path.join(host, f".s.PGSQL.{port}"))
        else:
            addrs.append((host, port))
    return addrs


def _password_from_passfile(opts, hosts, database, user):
    """-> (password, passfile) from the first host with a match."""
    path = _passfile_path(opts.get("passfile"))
    if path is None:
        return None, None
    entries = _read_passfile(path)
    for host, port in hosts:
        found = _pgpass_match(entries, _pgpass_hosts(host), port, database,
                              user)
        if found is not None:
            return found, path
    return None, None


def _resolve_direct_tls(opts, direct_tls, sslmode):
    if direct_tls is not None:
        direct = bool(direct_tls)
    else:
        neg = opts.get("sslnegotiation", "postgres")
        if neg not in ("postgres", "direct"):
            raise _cfg_error(
                "`sslnegotiation` parameter must be one of: postgres, "
                f"direct, got {neg!r}")
        direct = neg == "direct"
    if direct and sslmode < SSLMode.require:
        raise _cfg_error(
            "direct TLS requires sslmode=require, verify-ca, or verify-full")
    return direct


def _resolve_target_attrs(opts):
    value = opts.get("target_session_attrs", SessionAttribute.any)
    try:
        return SessionAttribute(value)
    except ValueError:
        allowed = ", ".join(repr(a.value) for a in SessionAttribute)
        raise _cfg_error(
            f"target_session_attrs is expected to be one of {allowed}, "
            f"got {value!r}") from None


def _resolve_load_balance(opts):
    value = opts.get("load_balance_hosts", LoadBalanceHosts.disable)
    try:
        mode = LoadBalanceHosts(value)
    except ValueError:
        raise _cfg_error(
            f"invalid load_balance_hosts value: {value!r}",
            hint="Use 'disable' (the default) or 'random'.") from None
    if opts.get("host") is None:
        # The default host list is a search path, not a set of servers.
        return LoadBalanceHosts.disable
    return mode


def _resolve_gsslib(opts):
    gss = opts.get("gsslib") or ("sspi" if _WINDOWS else "gssapi")
    if gss not in ("gssapi", "sspi"):
        raise _cfg_error(
            f"gsslib parameter must be either 'gssapi' or 'sspi', got {gss!r}")
    return gss


def parse_connect_arguments(*, dsn, **kwargs):
    """-> (addrs, ConnectionParameters, ClientConfiguration).

    Sources, strongest first: keyword arguments, the DSN, the service file
    (service from kwargs, the DSN or PGSERVICE), the environment, defaults.
    `timeout` is accepted for symmetry with connect(), which applies it.

    No error quotes a password: the parsers quote only values that are
    not one, and when the DSN has an '@' outside its user information (a
    password with unescaped separators may have been split into other
    parameters) a ClientConfigurationError quotes no value at all.
    """
    err = None
    try:
        return _parse_connect_arguments(dsn=dsn, **kwargs)
    except _exc("ClientConfigurationError") as e:
        if not _dsn_is_suspect(dsn):
            raise
        err = _redacted_config_error(e)
    raise err   # outside the except block: the original is not chained


def _parse_connect_arguments(*, dsn, host, port, user, password, passfile,
                             database, ssl, direct_tls, server_settings,
                             target_session_attrs, service, servicefile,
                             timeout, statement_cache_size,
                             max_cached_statement_lifetime,
                             max_cacheable_statement_size, command_timeout,
                             krbsrvname=None, gsslib=None,
                             load_balance_hosts=None, tcp=None,
                             cancel_timeout=None, paramstyle='numeric'):
    config = _validate_config(statement_cache_size,
                              max_cached_statement_lifetime,
                              max_cacheable_statement_size, command_timeout,
                              cancel_timeout, paramstyle)
    _check_server_settings(server_settings)

    opts = _Opts()
    _collect_kwargs(opts, host=host, port=port, user=user,
                    password=password, passfile=passfile, database=database,
                    ssl=ssl, target_session_attrs=target_session_attrs,
                    krbsrvname=krbsrvname, gsslib=gsslib,
                    load_balance_hosts=load_balance_hosts, tcp=tcp)
    if dsn:
        dsn_service = _collect_dsn(opts, dsn)
        service = service or dsn_service
    service = service or os.environ.get("PGSERVICE") or None
    if service:
        opts.put_source(_lookup_service(service, servicefile), _R_SERVICE,
                        extras_to_settings=False)
    _collect_env(opts)

    hosts = _resolve_addrs(opts)
    addrs = _make_addrs(hosts)
    user = opts.get("user") or _default_user()
    database = opts.get("dbname") or user
    password, used_passfile = opts.get("password"), None
    if password is None:
        password, used_passfile = _password_from_passfile(
            opts, hosts, database, user)

    ctx, sslmode = _resolve_ssl(
        opts, any(not isinstance(a, str) for a in addrs))
    settings = dict(opts.settings)
    settings.update(server_settings or {})
    timeout_opt = opts.get("connect_timeout")
    params = ConnectionParameters(
        user=user, password=password, database=database, ssl=ctx,
        sslmode=sslmode,
        direct_tls=_resolve_direct_tls(opts, direct_tls, sslmode),
        server_settings=settings,
        target_session_attrs=_resolve_target_attrs(opts),
        krbsrvname=opts.get("krbsrvname"), gsslib=_resolve_gsslib(opts),
        connect_timeout=(None if timeout_opt is None
                         else _parse_connect_timeout(timeout_opt)),
        passfile=used_passfile,
        load_balance_hosts=_resolve_load_balance(opts),
        keepalives=_parse_keepalives(opts.get("keepalives")),
        require_auth=_parse_require_auth(opts.get("require_auth")),
        channel_binding=_parse_channel_binding(opts.get("channel_binding")),
        **{k: (None if opts.get(k) is None
               else _parse_nonneg_int(k, opts.get(k))) for k in _TCP_KEYS})
    return addrs, params, config


def _parse_connect_dsn_and_args(*, dsn, host, port, user, password, passfile,
                                database, ssl, service, servicefile,
                                direct_tls, server_settings,
                                target_session_attrs, krbsrvname=None,
                                gsslib=None):
    """asyncpg-compatible helper: -> (addrs, params)."""
    addrs, params, _ = parse_connect_arguments(
        dsn=dsn, host=host, port=port, user=user, password=password,
        passfile=passfile, database=database, ssl=ssl, direct_tls=direct_tls,
        server_settings=server_settings,
        target_session_attrs=target_session_attrs, service=service,
        servicefile=servicefile, timeout=None, statement_cache_size=100,
        max_cached_statement_lifetime=300,
        max_cacheable_statement_size=15360, command_timeout=None,
        krbsrvname=krbsrvname, gsslib=gsslib)
    return addrs, params


# ---------------------------------------------------------------------------
# Sockets
# ---------------------------------------------------------------------------
def _wants_tls(params, tls):
    if params.ssl is None or params.sslmode == SSLMode.disable:
        return False
    if tls is not None:
        return bool(tls)
    return params.sslmode >= SSLMode.prefer


async def _negotiate_ssl(sock, loop, sslmode, host, port):
    """SSLRequest; -> True (go TLS) or False (server said N, plaintext)."""
    where = f'PostgreSQL server at "{host}:{port}"'
    await loop.sock_sendall(sock, struct.pack("!ii", 8, SSL_REQUEST_CODE))
    answer = await loop.sock_recv(sock, 1)      # exactly one byte
    if answer == b"S" or (answer == b"N" and
                          sslmode in (SSLMode.allow, SSLMode.prefer)):
        # Nothing may follow the one-byte answer: the server waits for the
        # TLS handshake or the startup message.  Anything else is a server
        # that does not speak the protocol: a ConnectionError, as in
        # asyncpg, and no second attempt.
        try:
            pending = sock.recv(
                1, socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0))
        except (BlockingIOError, InterruptedError):
            pending = None
        if pending:
            raise _ssl_negotiation_error()(
                f"{where} rejected SSL upgrade: received unencrypted data "
                "after SSL response")
        if pending is not None:
            raise ConnectionResetError(
                f"{where}: server closed the connection during SSL "
                "negotiation")
    if answer == b"S":
        return True
    if answer == b"N":
        if sslmode in (SSLMode.allow, SSLMode.prefer):
            return False
        raise _ssl_negotiation_error()(
            f"{where} rejected SSL upgrade: server does not support SSL, "
            "but SSL was required")
    if answer == b"E":
        # The server is not authenticated yet: never show its text
        # (CVE-2024-10977).
        raise _ssl_negotiation_error()(
            f"{where}: server sent an error response during SSL exchange; "
            "check the server logs for details")
    if not answer:
        raise ConnectionResetError(
            f"{where}: server closed the connection during SSL negotiation")
    raise _ssl_negotiation_error()(
        f"{where} rejected SSL upgrade: received invalid response to SSL "
        f"negotiation: 0x{answer[0]:02x}")


async def open_socket(addr, params, *, loop, deadline, tls=None):
    """Dial `addr` and do the SSLRequest exchange if TLS is wanted.

    Returns (sock, ssl_context_or_None, server_hostname_or_None); the caller
    hands them to loop.create_connection(..., sock=sock, ssl=ctx,
    server_hostname=...) (create_unix_connection for a path).  `tls`:
    None = as params.sslmode says (allow -> plaintext first), True = TLS
    attempt, False = plaintext.  Bounded by `deadline` (loop.time()).
    """
    async with asyncio.timeout_at(deadline):
        return await _open_socket(addr, params, loop, tls)


async def _open_socket(addr, params, loop, tls):
    """open_socket() for a caller that already bounds it."""
    shuffle = params.load_balance_hosts is LoadBalanceHosts.random
    sock = await _dial(addr, loop, shuffle, params)
    try:
        if isinstance(addr, str) or not _wants_tls(params, tls):
            return sock, None, None
        host, port = addr
        if params.direct_tls:
            return sock, params.ssl, host
        if await _negotiate_ssl(sock, loop, params.sslmode, host, port):
            return sock, params.ssl, host
        return sock, None, None
    except BaseException:
        _abort_socket(sock)
        raise


# ---------------------------------------------------------------------------
# connect()
# ---------------------------------------------------------------------------
async def _connect_one(sock, ssl_context, server_hostname, addr, params,
                       config, connection_class, record_class, loop,
                       deadline):
    """Open the transport on a connected socket, run startup/auth, and
    return a connection_class instance.  The caller bounds it by
    ``deadline`` (loop.time()) with an enclosing timeout; only the TLS
    handshake, which asyncio times on its own, is given the rest of it."""

    def factory():
        proto = _pgwire.Protocol(
            loop,
            record_class=record_class,
            statement_cache_size=config.statement_cache_size,
            max_cached_statement_lifetime=float(
                config.max_cached_statement_lifetime or 0),
            max_cacheable_statement_size=config.max_cacheable_statement_size,
            command_timeout=config.command_timeout,
            cancel_timeout=config.cancel_timeout,
            name_prefix=os.urandom(6).hex(),
        )
        if config.paramstyle != 'numeric':
            _pgwire._set_paramstyle(proto, config.paramstyle)
        return proto

    kw = {}
    if ssl_context is not None:
        kw["ssl"] = ssl_context
        kw["server_hostname"] = server_hostname or None
        if deadline is not None:
            kw["ssl_handshake_timeout"] = max(deadline - loop.time(), 0.001)
    if isinstance(addr, str):
        create = loop.create_unix_connection
    else:
        create = loop.create_connection
    transport, proto = await create(factory, sock=sock, **kw)
    try:
        password = params.password
        # UTF8 unless server_settings asks for another client_encoding:
        # the protocol follows whatever the server then reports.
        settings = params.server_settings or {}
        startup_params = [("user", params.user),
                          ("database", params.database),
                          ("client_encoding",
                           settings.get("client_encoding", "utf-8"))]
        for k, v in settings.items():
            if k not in ("user", "database", "client_encoding"):
                startup_params.append((k, v))
        scram_password = (saslprep(password)
                          if password is not None else None)
        nonce = base64.b64encode(os.urandom(18)).decode("ascii")
        auth_kw = {}
        required = getattr(params, "require_auth", None)
        if required is not None:
            auth_kw.update(require_auth=required[1],
                           require_auth_methods=required[0])
        ssl_in_use, cbind = channel_binding_data(transport)
        fut = proto.startup(startup_params, params.user, password,
                            scram_password, nonce,
                            channel_binding=getattr(
                                params, "channel_binding", "prefer"),
                            ssl_in_use=ssl_in_use, cbind_data=cbind,
                            **auth_kw)
        await fut
        conn = connection_class(proto, transport, loop, addr, config, params)
        if conn._protocol is not proto:
            raise exceptions.InterfaceError(
                f"{type(conn).__qualname__}.__init__() did not call "
                f"super().__init__(): the connection is not initialised")
    except BaseException:
        transport.abort()
        raise
    return conn


class _Retry(Exception):
    def __init__(self, cause):
        super().__init__()
        self.cause = cause


def _check_connection_class(connection_class):
    if connection_class is None:
        return Connection
    if not (isinstance(connection_class, type)
            and issubclass(connection_class, Connection)):
        raise _new_error(
            _exc("InterfaceError"),
            "connection_class is expected to be a subclass of "
            f"pgwire.Connection, got {connection_class!r}")
    return connection_class


def _record_base():
    return getattr(pgwire, "Record", None)


def _check_record_class(record_class):
    base = _record_base()
    if record_class is None or record_class is base:
        return base
    if base is None or not (isinstance(record_class, type)
                            and issubclass(record_class, base)):
        raise _new_error(
            _exc("InterfaceError"),
            "record_class is expected to be a subclass of pgwire.Record, "
            f"got {record_class!r}")
    if (record_class.__new__ is not base.__new__
            or record_class.__init__ is not base.__init__):
        raise _new_error(_exc("InterfaceError"),
                         "record_class must not redefine __new__ or __init__")
    return record_class


async def _resolve_password(password):
    if callable(password):
        password = password()
        if inspect.isawaitable(password):
            password = await password
    return password


def _close_quietly(sock):
    try:
        if sock.fileno() != -1:
            _abort_socket(sock)
    except OSError:
        pass


async def _attempt(addr, params, tls, retry_when, ctx_args):
    """One dial + startup.  retry_when: None, 'tls' or 'plain'.  Bounded by
    the caller's timeout at ctx_args' deadline (_connect_addrs, or
    _connect_host for a per-host connect_timeout)."""
    connect_one, config, connection_class, record_class, loop, deadline = \
        ctx_args
    sock, ctx, hostname = await _open_socket(addr, params, loop, tls)
    try:
        return await connect_one(sock, ctx, hostname, addr, params, config,
                                 connection_class, record_class, loop,
                                 deadline)
    except BaseException as exc:
        _close_quietly(sock)
        if isinstance(exc, Exception):
            if retry_when == "tls" and ctx is not None and (
                    _is_pre_auth_rejection(exc)
                    or isinstance(exc, ssl_module.SSLError)):
                raise _Retry(exc) from exc
            if retry_when == "plain" and ctx is None and \
                    _is_pre_auth_rejection(exc):
                raise _Retry(exc) from exc
        raise


async def _connect_addr(addr, params, ctx_args):
    params = params._replace(
        password=await _resolve_password(_password_for_addr(params, addr)))
    mode = params.sslmode
    if isinstance(addr, str) or params.ssl is None or \
            mode not in (SSLMode.allow, SSLMode.prefer):
        return await _attempt(addr, params, None, None, ctx_args)
    # prefer: TLS first, plaintext if TLS was rejected; allow: the reverse.
    first_tls = mode == SSLMode.prefer
    try:
        return await _attempt(addr, params, first_tls,
                              "tls" if first_tls else "plain", ctx_args)
    except _Retry as retry:
        first = retry.cause
    try:
        return await _attempt(addr, params, not first_tls, None, ctx_args)
    except (Exception, asyncio.CancelledError) as second:
        # a cancel or timeout of the second attempt, too, names the
        # first attempt's error as its cause (asyncpg)
        if (_is_invalid_password(first) and not _is_invalid_password(second)
                and _is_auth_rejection(second)):
            raise first from None
        raise second from first


async def _is_standby(conn):
    """in_hot_standby (reported since PostgreSQL 14), else
    pg_is_in_recovery()."""
    status = getattr(conn.get_settings(), "in_hot_standby", None)
    if status is not None:
        return status == "on"
    return bool(await conn.fetchval("SELECT pg_catalog.pg_is_in_recovery()"))


async def _is_read_only(conn):
    """libpq's test: default_transaction_read_only or in_hot_standby (both
    reported since PostgreSQL 14), else SHOW transaction_read_only."""
    settings = conn.get_settings()
    default_ro = getattr(settings, "default_transaction_read_only", None)
    hot = getattr(settings, "in_hot_standby", None)
    if default_ro is None or hot is None:
        return await conn.fetchval("SHOW transaction_read_only") == "on"
    return default_ro == "on" or hot == "on"


async def _session_attrs_ok(conn, attr):
    if attr is SessionAttribute.any:
        return True
    if attr is SessionAttribute.read_write:
        return not await _is_read_only(conn)
    if attr is SessionAttribute.read_only:
        return await _is_read_only(conn)
    return await _is_standby(conn) == (attr is not SessionAttribute.primary)


def _terminate(conn):
    try:
        conn.terminate()
    except Exception:
        pass


_DISCARD_TIMEOUT = 2.0


async def _discard(conn):
    """Close a server that did not match: Terminate, bounded, no errors."""
    try:
        await conn.close(timeout=_DISCARD_TIMEOUT)
    except Exception:
        _terminate(conn)


async def _connect_host(addr, params, ctx_args):
    """One host, bounded by connect_timeout (libpq: per host) if set."""
    if not params.connect_timeout:
        return await _connect_addr(addr, params, ctx_args)
    loop, deadline = ctx_args[4], ctx_args[5]
    host_deadline = loop.time() + params.connect_timeout
    if deadline is not None and deadline <= host_deadline:
        return await _connect_addr(addr, params, ctx_args)
    ctx_args = ctx_args[:5] + (host_deadline,)
    try:
        async with asyncio.timeout_at(host_deadline):
            return await _connect_addr(addr, params, ctx_args)
    except TimeoutError:
        raise TimeoutError(
            f"timeout expired (connect_timeout={params.connect_timeout:g})"
        ) from None


async def _open_candidate(addr, params, ctx_args, failures):
    """Connect to one host.  None, with the error added to `failures`, when
    the next host is to be tried: an OSError (refused, unreachable, the
    per-host timeout) or 57P03 "cannot connect now" (libpq).  Other errors
    (authentication, unknown database, ...) propagate."""
    try:
        return await _connect_host(addr, params, ctx_args)
    except OSError as exc:
        failures.append((addr, exc))
    except Exception as exc:
        if not _is_cannot_connect_now(exc):
            raise
        failures.append((addr, exc))
    return None


async def _check_candidate(conn, attr, addr, failures):
    """True/False: does `conn` match `attr`?  None if the check itself
    failed; `conn` is then closed and the next host tried (libpq)."""
    try:
        return await _session_attrs_ok(conn, attr)
    except Exception as exc:
        _terminate(conn)
        failures.append((addr, exc))
        return None


def _addr_text(addr):
    if isinstance(addr, str):
        return f'socket "{addr}"'
    return f'server at "{addr[0]}", port {addr[1]}'


def _no_host_error(attr, mismatched, failures):
    """TargetServerAttributeNotMatched when a server answered but none
    matched; else the last host's error.  A note names each other host's
    failure, as libpq's message does."""
    if mismatched or not failures:
        err = _exc("TargetServerAttributeNotMatched")(
            "None of the hosts match the target attribute requirement "
            f"{attr!r}")
        notes = failures
    else:
        err = failures[-1][1]
        notes = failures[:-1]
    for addr, exc in notes:
        err.add_note(f"{_addr_text(addr)}: {type(exc).__name__}: {exc}")
    return err


async def _search_hosts(addrs, params, ctx_args, failures):
    """Try `addrs` in order.  -> (the chosen connection or None, whether
    some server answered but did not match `target_session_attrs`)."""
    attr = params.target_session_attrs
    fallback = None        # prefer-standby: the first server that answered
    mismatched = False
    try:
        for addr in addrs:
            conn = await _open_candidate(addr, params, ctx_args, failures)
            if conn is None:
                continue
            ok = await _check_candidate(conn, attr, addr, failures)
            if ok:
                if fallback is not None:
                    _terminate(fallback)
                return conn, mismatched
            if ok is None:
                continue
            mismatched = True
            if attr is SessionAttribute.prefer_standby and fallback is None:
                fallback = conn
            else:
                await _discard(conn)
    except BaseException:
        if fallback is not None:
            _terminate(fallback)
        raise
    return fallback, mismatched


async def _connect_addrs(addrs, params, config, connection_class,
                         record_class, *, loop, timeout):
    deadline = None if timeout is None else loop.time() + timeout
    ctx_args = (_connect_one, config, connection_class, record_class, loop,
                deadline)
    if params.load_balance_hosts is LoadBalanceHosts.random:
        addrs = _shuffled(addrs)
    failures = []
    async with asyncio.timeout_at(deadline):
        chosen, mismatched = await _search_hosts(addrs, params, ctx_args,
                                                 failures)
    if chosen is not None:
        return chosen
    err = _no_host_error(params.target_session_attrs, mismatched, failures)
    cause = failures[-1][1] if failures else None
    if err is cause:
        raise err
    raise err from cause


async def connect(dsn=None, *, host=None, port=None, user=None,
                  password=None, passfile=None, service=None,
                  servicefile=None, database=None, loop=None, timeout=60,
                  statement_cache_size=100, max_cached_statement_lifetime=300,
                  max_cacheable_statement_size=1024 * 15,
                  command_timeout=None, ssl=None, direct_tls=None,
                  connection_class=None, record_class=None,
                  server_settings=None, target_session_attrs=None,
                  krbsrvname=None, gsslib=None, load_balance_hosts=None,
                  keepalives=None, keepalives_idle=None,
                  keepalives_interval=None, keepalives_count=None,
                  tcp_user_timeout=None, require_auth=None,
                  channel_binding=None, cancel_timeout=None,
                  paramstyle='numeric'):
    """Open a connection (asyncpg.connect semantics).

    ``paramstyle``: ``'numeric'`` (the default: asyncpg's ``$1``, ``$2``)
    or ``'pyformat'`` (``%s`` with positional arguments, ``%(name)s`` with
    one mapping argument, ``%%`` for a literal ``%``; converted to ``$n``
    in C, once per cached statement).  See README "Placeholders".

    Hosts are tried in order (``load_balance_hosts='random'``: in random
    order, libpq 16); a host that refuses, times out (``connect_timeout``,
    per host) or answers 57P03 "cannot connect now" is skipped.
    ``target_session_attrs`` picks the first server that matches; ``timeout``
    bounds the whole search.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    if timeout is not None:
        if isinstance(timeout, bool):
            raise ValueError(f"invalid timeout value: {timeout!r}")
        timeout = float(timeout)
    connection_class = _check_connection_class(connection_class)
    record_class = _check_record_class(record_class)
    addrs, params, config = parse_connect_arguments(
        dsn=dsn, host=host, port=port, user=user, password=password,
        passfile=passfile, database=database, ssl=ssl, direct_tls=direct_tls,
        server_settings=server_settings,
        target_session_attrs=target_session_attrs, service=service,
        servicefile=servicefile, timeout=timeout,
        statement_cache_size=statement_cache_size,
        max_cached_statement_lifetime=max_cached_statement_lifetime,
        max_cacheable_statement_size=max_cacheable_statement_size,
        command_timeout=command_timeout, cancel_timeout=cancel_timeout,
        paramstyle=paramstyle,
        krbsrvname=krbsrvname, gsslib=gsslib,
        load_balance_hosts=load_balance_hosts,
        tcp=dict(keepalives=keepalives, keepalives_idle=keepalives_idle,
                 keepalives_interval=keepalives_interval,
                 keepalives_count=keepalives_count,
                 tcp_user_timeout=tcp_user_timeout,
                 require_auth=require_auth,
                 channel_binding=channel_binding))
    return await _connect_addrs(addrs, params, config, connection_class,
                                record_class, loop=loop, timeout=timeout)
