"""Connect parameters, resolved without dialing: keyword arguments, the
DSN, the PG* environment, the service file, the password file, several
hosts, sslmode (the SSLContext), target_session_attrs and the other
libpq parameters -> (addrs, ConnectionParameters, ClientConfiguration).

Pure: no sockets, no asyncio, no C extension (a synchronous face can use
it as is).  pgwire.connect_utils dials with the result and re-exports
these names.
"""

from __future__ import annotations

import enum
import getpass
import math
import os
import pathlib
import re
import ssl as ssl_module
import stat
import stringprep
import sys
import typing
import unicodedata
import urllib.parse
import warnings

from . import exceptions

__all__ = (
    "SSLMode",
    "SessionAttribute",
    "LoadBalanceHosts",
    "ConnectionParameters",
    "ClientConfiguration",
    "parse_connect_arguments",
    "saslprep",
)

DEFAULT_PORT = 5432
ALPN_PROTOCOLS = ["postgresql"]

_WINDOWS = sys.platform == "win32"
if _WINDOWS:
    _DEFAULT_HOSTS: tuple[str, ...] = ("localhost",)
    _PGPASSFILE = "pgpass.conf"
else:
    _DEFAULT_HOSTS = ("/run/postgresql", "/var/run/postgresql", "/tmp",
                      "/private/tmp", "localhost")
    _PGPASSFILE = ".pgpass"
_PG_SERVICEFILE = ".pg_service.conf"

# A parsed address: a Unix socket path or (host, port); a host list
# entry: (host, port or None).
_Addr = typing.Union[str, typing.Tuple[str, int]]
_HostEntry = typing.Tuple[str, typing.Optional[int]]
_Any = typing.Any

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
    def parse(cls, value: object) -> SSLMode:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls.__members__.get(value.strip().replace("-", "_"))
            if member is not None:
                return member
        modes = ", ".join(m.name.replace("_", "-") for m in cls)
        raise _cfg_error(
            f"`sslmode` parameter must be one of: {modes}, got {value!r}")

    def __str__(self) -> str:
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
    def ssl_negotiation(self) -> str:
        return "direct" if self.direct_tls else "postgres"

    def __repr__(self) -> str:
        # never the password (nor the repr of a password callable)
        fields = ", ".join(
            "{}={}".format(name, "'***'" if name == "password" and
                           value is not None else repr(value))
            for name, value in zip(self._fields, self))
        return "ConnectionParameters({})".format(fields)

    def redacted(self) -> ConnectionParameters:
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
    # implicit pipelining (docs/pipelining.md)
    pipeline: bool = False


# ---------------------------------------------------------------------------
# Exceptions (looked up at use, see the module docstring)
# ---------------------------------------------------------------------------


def _exc(name: str) -> _Any:
    """The class `name` from pgwire.exceptions."""
    return getattr(exceptions, name)


def _new_error(cls: _Any, msg: str, *, detail: str | None = None,
               hint: str | None = None) -> _Any:
    try:
        exc = cls(msg, detail=detail, hint=hint)
    except TypeError:
        exc = cls(msg)
        exc.detail = detail
        exc.hint = hint
    return exc


def _cfg_error(msg: str, *, detail: str | None = None,
               hint: str | None = None) -> _Any:
    return _new_error(_exc("ClientConfigurationError"), msg,
                      detail=detail, hint=hint)


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


def _pg_dir_file(name: str) -> typing.Optional[pathlib.Path]:
    home = _home()
    if home is None:
        return None
    if _WINDOWS:
        appdata = os.environ.get("APPDATA")
        if appdata:
            return pathlib.Path(appdata) / "postgresql" / name
    return home / ".postgresql" / name


def _parse_port(value: object) -> typing.List[int]:
    """int, str ('5432' or '5432,5433') or a sequence -> list of ports."""
    if isinstance(value, bool):
        raise _cfg_error(f"invalid port number: {value!r}")
    if isinstance(value, int):
        items: list[typing.Any] = [value]
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


def _parse_hostlist(spec: str, *, unquote: bool) -> list[_HostEntry]:
    """'h1:5432,[::1]:5433,/tmp' -> [(host, port or None), ...]."""
    result: list[_HostEntry] = []
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


def _host_kwarg(host: object) -> list[_HostEntry]:
    if isinstance(host, str):
        return [(host, None)]
    if isinstance(host, (list, tuple)) and all(
            isinstance(h, str) and h for h in host):
        return [(h, None) for h in host]
    raise _cfg_error(
        f"host is expected to be a str or a sequence of str, got {host!r}")


def _first_of(text: str, chars: str, start: int = 0) -> int:
    """Index of the first of ``chars`` in ``text`` from ``start``, else
    len(text)."""
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else len(text)


def _query_ok(query: str) -> bool:
    """Whether a URI query string splits into key=value items."""
    for item in query.split("&"):
        if item and (not item.partition("=")[1] or item.startswith("=")):
            return False
    return True


def _plain_split_ok(rest: str, n0_end: int) -> bool:
    """Whether ``rest`` (after "//", no '@' in its host list) reads as a
    host list, a path without '@' and a well-formed query."""
    try:
        _parse_hostlist(rest[:n0_end], unquote=True)
    except Exception:
        return False
    after, _, query = rest[n0_end:].partition("?")
    return "@" not in after and _query_ok(query)


def _lookahead_userinfo(rest: str) -> tuple[str, str] | None:
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


def _split_userinfo(rest: str) -> tuple[str | None, str, bool]:
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


def _split_dsn(dsn: str) -> tuple[str | None, str | None, str, str | None,
                                  dict[str, str], bool]:
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
    user: str | None = None
    password: str | None = None
    if userinfo is not None:
        u, has_pw, pw = userinfo.partition(":")
        user = urllib.parse.unquote(u) or None
        if has_pw:
            password = urllib.parse.unquote(pw) or None
    database = urllib.parse.unquote(path) or None
    params: dict[str, str] = {}
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


def _dsn_is_suspect(dsn: object) -> bool:
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


def _redact_quoted(text: object) -> str | None:
    return None if text is None else _QUOTED.sub("'***'", str(text))


def _redacted_config_error(e: BaseException) -> _Any:
    """A copy of ClientConfigurationError ``e`` that quotes no value."""
    msg = _redact_quoted(str(e.args[0]) if e.args else "") or ""
    return _new_error(type(e), msg + (
        " (values are not shown: the DSN holds a password whose unescaped "
        "characters may have been read as other parameters; percent-encode "
        "'@', '/', '?', '#', ':', '&' and '=' in it)"),
        detail=_redact_quoted(getattr(e, "detail", None)),
        hint=_redact_quoted(getattr(e, "hint", None)))


def _parse_tls_version(value: object) -> ssl_module.TLSVersion:
    if isinstance(value, ssl_module.TLSVersion):
        return value
    name = str(value).strip()
    if name.upper().startswith("SSL"):
        raise _cfg_error(f"Unsupported TLS version: {value}")
    try:
        return ssl_module.TLSVersion[name.replace(".", "_")]
    except KeyError:
        raise _cfg_error(f"No such TLS version: {value}") from None


def _parse_nonneg_int(name: str, value: object) -> int:
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


def _parse_keepalives(value: object) -> bool:
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


def _parse_require_auth(value: object) -> tuple[int, str] | None:
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


def _parse_channel_binding(value: object) -> str:
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


def _parse_connect_timeout(value: object) -> float | None:
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
def _read_service_file(path: str | os.PathLike[str]
                       ) -> typing.Optional[dict[str, typing.Any]]:
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


def _lookup_service(name: str, servicefile: str | os.PathLike[str] | None
                    ) -> dict[str, str]:
    files: list[pathlib.Path] = []
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
            return sections[name]  # type: ignore[no-any-return]
    raise _cfg_error(f'definition of service "{name}" not found')


# ---------------------------------------------------------------------------
# Password file
# ---------------------------------------------------------------------------
def _split_pgpass_line(line: str) -> list[typing.Any] | None:
    """-> [(text, is_wildcard)] * 4 + [password] or None."""
    fields: list[typing.Any] = []
    cur: list[str] = []
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
    pw: list[str] = []
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


def _read_passfile(path: pathlib.Path) -> list[list[typing.Any]]:
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
    entries: list[list[typing.Any]] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        fields = _split_pgpass_line(line)
        if fields is not None:
            entries.append(fields)
    return entries


def _pgpass_match(entries: list[list[typing.Any]],
                  hosts: tuple[str, ...], port: int, database: str | None,
                  user: str | None) -> str | None:
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


def _pgpass_hosts(host: str) -> tuple[str, ...]:
    if host.startswith("/"):
        # A Unix socket matches "localhost" (and, leniently, its directory).
        return ("localhost", host)
    return (host,)


def _addr_host_port(addr: _Addr) -> tuple[str, int]:
    if isinstance(addr, str):
        directory, _, name = addr.rpartition("/")
        try:
            port = int(name.rpartition(".")[2])
        except ValueError:
            port = DEFAULT_PORT
        return directory or "/", port
    return addr


def _passfile_path(passfile: str | os.PathLike[str] | None
                   ) -> pathlib.Path | None:
    if passfile is not None:
        return pathlib.Path(passfile)
    env = os.environ.get("PGPASSFILE")
    if env:
        return pathlib.Path(env)
    if _WINDOWS and os.environ.get("APPDATA"):
        return pathlib.Path(os.environ["APPDATA"]) / "postgresql" / _PGPASSFILE
    home = _home()
    return None if home is None else home / _PGPASSFILE


def _password_for_addr(params: ConnectionParameters, addr: _Addr) -> _Any:
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
def _check_key_permissions(path: str) -> None:
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


def _load_root_cert(ctx: ssl_module.SSLContext, mode: SSLMode,
                    rootcert: object) -> bool:
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


def _load_crl(ctx: ssl_module.SSLContext, opts: _Opts) -> None:
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


def _load_client_cert(ctx: ssl_module.SSLContext, opts: _Opts) -> None:
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


def _finish_context(ctx: ssl_module.SSLContext, opts: _Opts) -> None:
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


def _build_context(mode: SSLMode, opts: _Opts) -> ssl_module.SSLContext:
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


def _resolve_ssl(opts: _Opts, have_tcp: bool
                 ) -> tuple[ssl_module.SSLContext | None, SSLMode]:
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

    def __init__(self) -> None:
        self.values: typing.Dict[str, typing.Any] = {}
        self.rank: typing.Dict[str, int] = {}
        self.settings: typing.Dict[str, str] = {}

    def get(self, key: str, default: _Any = None) -> _Any:
        return self.values.get(key, default)

    def put(self, key: str, value: _Any, rank: int) -> None:
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

    def put_source(self, mapping: typing.Mapping[str, str], rank: int, *,
                   extras_to_settings: bool) -> None:
        # The port goes first so that a host list from the same source
        # keeps its own embedded ports only where they are given.
        items = sorted(mapping.items(), key=lambda kv: kv[0] != "port")
        for key, val in items:
            if key in _KNOWN_KEYS:
                if key != "service":
                    self.put(key, val, rank)
            elif key in ("application_name", "options") or extras_to_settings:
                self.settings.setdefault(key, val)


def _resolve_addrs(opts: _Opts) -> list[tuple[str, int]]:
    hosts = opts.get("host")
    host_rank = opts.rank.get("host", _R_DEFAULT)
    if not hosts:
        hosts = [(h, None) for h in _DEFAULT_HOSTS]
    ports = opts.get("port")
    port_rank = opts.rank.get("port", _R_DEFAULT)
    result: list[tuple[str, int]] = []
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


def _positive_float(name: str, value: _Any) -> float:
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
    return value  # type: ignore[no-any-return]


def _validate_config(statement_cache_size: int,
                     max_cached_statement_lifetime: float,
                     max_cacheable_statement_size: int,
                     command_timeout: float | None,
                     cancel_timeout: float | None = None,
                     paramstyle: str = 'numeric',
                     pipeline: bool = False) -> ClientConfiguration:
    if not isinstance(pipeline, bool):
        raise TypeError(
            f"pipeline must be True or False, got {pipeline!r}")
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
        paramstyle=paramstyle, pipeline=pipeline)


def _check_server_settings(server_settings: object) -> None:
    if server_settings is not None and (
            not isinstance(server_settings, dict)
            or not all(isinstance(k, str) and isinstance(v, str)
                       for k, v in server_settings.items())):
        raise _cfg_error(
            "server_settings is expected to be None or a Dict[str, str]")


def _collect_kwargs(opts: _Opts, *, host: _Any, port: _Any, user: _Any,
                    password: _Any, passfile: _Any, database: _Any,
                    ssl: _Any, target_session_attrs: _Any,
                    krbsrvname: _Any, gsslib: _Any,
                    load_balance_hosts: _Any,
                    tcp: dict[str, _Any] | None = None) -> None:
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


def _collect_dsn(opts: _Opts, dsn: object) -> str | None:
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


def _collect_env(opts: _Opts) -> None:
    environ, values = os.environ, opts.values
    for env, key in _ENV_KEYS:
        if key not in values:     # a stronger source set it: skip the lookup
            opts.put(key, environ.get(env), _R_ENV)
    for env, key in (("PGAPPNAME", "application_name"),
                     ("PGOPTIONS", "options")):
        val = os.environ.get(env)
        if val:
            opts.settings.setdefault(key, val)


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        raise _cfg_error(
            "could not determine user name to connect with") from None


def _make_addrs(hosts: list[tuple[str, int]]) -> list[_Addr]:
    addrs: list[_Addr] = []
    for host, port in hosts:
        if host.startswith("/"):
            addrs.append(host if ".s.PGSQL." in host
                         else os.path.join(host, f".s.PGSQL.{port}"))
        else:
            addrs.append((host, port))
    return addrs


def _password_from_passfile(opts: _Opts, hosts: list[tuple[str, int]],
                            database: str | None, user: str | None
                            ) -> tuple[str | None, pathlib.Path | None]:
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


def _resolve_direct_tls(opts: _Opts, direct_tls: object,
                        sslmode: SSLMode) -> bool:
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


def _resolve_target_attrs(opts: _Opts) -> SessionAttribute:
    value = opts.get("target_session_attrs", SessionAttribute.any)
    try:
        return SessionAttribute(value)
    except ValueError:
        allowed = ", ".join(repr(a.value) for a in SessionAttribute)
        raise _cfg_error(
            f"target_session_attrs is expected to be one of {allowed}, "
            f"got {value!r}") from None


def _resolve_load_balance(opts: _Opts) -> LoadBalanceHosts:
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


def _resolve_gsslib(opts: _Opts) -> str:
    gss = opts.get("gsslib") or ("sspi" if _WINDOWS else "gssapi")
    if gss not in ("gssapi", "sspi"):
        raise _cfg_error(
            f"gsslib parameter must be either 'gssapi' or 'sspi', got {gss!r}")
    return gss


def parse_connect_arguments(
        *, dsn: str | None, **kwargs: _Any
) -> tuple[list[_Addr], ConnectionParameters, ClientConfiguration]:
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


def _parse_connect_arguments(
        *, dsn: _Any, host: _Any, port: _Any, user: _Any, password: _Any,
        passfile: _Any, database: _Any, ssl: _Any, direct_tls: _Any,
        server_settings: _Any, target_session_attrs: _Any, service: _Any,
        servicefile: _Any, timeout: _Any, statement_cache_size: _Any,
        max_cached_statement_lifetime: _Any,
        max_cacheable_statement_size: _Any, command_timeout: _Any,
        krbsrvname: _Any = None, gsslib: _Any = None,
        load_balance_hosts: _Any = None, tcp: _Any = None,
        cancel_timeout: _Any = None, paramstyle: _Any = 'numeric',
        pipeline: _Any = False
) -> tuple[list[_Addr], ConnectionParameters, ClientConfiguration]:
    config = _validate_config(statement_cache_size,
                              max_cached_statement_lifetime,
                              max_cacheable_statement_size, command_timeout,
                              cancel_timeout, paramstyle, pipeline)
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


def _parse_connect_dsn_and_args(
        *, dsn: _Any, host: _Any, port: _Any, user: _Any, password: _Any,
        passfile: _Any, database: _Any, ssl: _Any, service: _Any,
        servicefile: _Any, direct_tls: _Any, server_settings: _Any,
        target_session_attrs: _Any, krbsrvname: _Any = None,
        gsslib: _Any = None
) -> tuple[list[_Addr], ConnectionParameters]:
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
