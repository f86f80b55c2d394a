"""Connecting: the SSLRequest exchange and TLS, the startup on a
connected socket (``_connect_one``), multi-host connect (target_session_attrs,
load_balance_hosts, per-host timeouts) and ``connect()``.

The parameters come from ``_params`` (pure parsing; its names are
re-exported here); the socket dial and CancelRequest from ``_dial``
(shared with ``connection``, which this module imports).  Uses the C
extension for the certificate's signature hash (channel binding) and the
protocol object.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import os
import socket
import ssl as ssl_module
import struct

import pgwire
from . import _aio
from . import _params
from . import _pgwire
from . import exceptions
from . import rows as _rows
from ._dial import (  # noqa: F401  (CANCEL_REQUEST_CODE, _dial: re-exported)
    CANCEL_REQUEST_CODE, _abort_socket, _dial, _shuffled, send_cancel_request)
from .connection import Connection
from ._typing import OtherRecordT as _OtherRecordT
from ._typing import RowT as _RowT
from typing import Any as _Any
from typing import Callable as _Callable
from typing import overload as _overload
from ._dial import Addr as _Addr

# a connection while connect() is choosing: any connection_class
_Conn = Connection[_Any]
# (connect_one, config, connection_class, record_class, loop, deadline):
# what _attempt needs besides the address (see _connect_addrs)
_CtxArgs = tuple[_Any, ...]
from ._params import (  # noqa: F401  (re-exported: tests, asyncpg shim)
    DEFAULT_PORT, ALPN_PROTOCOLS, _WINDOWS, _DEFAULT_HOSTS, _PGPASSFILE,
    _PG_SERVICEFILE, _R_KWARGS, _R_DSN, _R_SERVICE, _R_ENV, _R_DEFAULT,
    SSLMode, SessionAttribute, LoadBalanceHosts, ConnectionParameters,
    ClientConfiguration, _exc, _new_error, _cfg_error, _PROHIBITED, saslprep,
    _home, _pg_dir_file, _parse_port, _parse_hostlist, _host_kwarg, _first_of,
    _query_ok, _plain_split_ok, _lookahead_userinfo, _split_userinfo,
    _split_dsn, _dsn_is_suspect, _QUOTED, _redact_quoted,
    _redacted_config_error, _parse_tls_version, _parse_nonneg_int,
    _parse_keepalives, _AUTH_METHODS, _ALL_AUTH_METHODS, _parse_require_auth,
    _CHANNEL_BINDING, _parse_channel_binding, _parse_connect_timeout,
    _read_service_file, _lookup_service, _split_pgpass_line, _read_passfile,
    _pgpass_match, _pgpass_hosts, _addr_host_port, _passfile_path,
    _password_for_addr, _check_key_permissions, _load_root_cert, _load_crl,
    _load_client_cert, _finish_context, _build_context, _resolve_ssl,
    _KNOWN_KEYS, _TCP_KEYS, _ENV_KEYS, _Opts, _resolve_addrs, _positive_float,
    _validate_config, _check_server_settings, _collect_kwargs, _collect_dsn,
    _collect_env, _default_user, _make_addrs, _password_from_passfile,
    _resolve_direct_tls, _resolve_target_attrs, _resolve_load_balance,
    _resolve_gsslib, parse_connect_arguments, _parse_connect_arguments,
    _parse_connect_dsn_and_args,
)

__all__ = _params.__all__ + (
    "open_socket",
    "send_cancel_request",
    "connect",
)

SSL_REQUEST_CODE = 80877103


_ssl_negotiation_error_cls = None


def _ssl_negotiation_error() -> type[BaseException]:
    """InterfaceError + ConnectionError: the next host is tried."""
    global _ssl_negotiation_error_cls
    if _ssl_negotiation_error_cls is None:
        base = _exc("InterfaceError")
        _ssl_negotiation_error_cls = type(
            "SSLNegotiationError", (base, ConnectionError),
            {"__module__": __name__,
             "__doc__": "The server refused or failed the SSL negotiation."})
    return _ssl_negotiation_error_cls


def __getattr__(name: str) -> _Any:
    if name == "SSLNegotiationError":
        return _ssl_negotiation_error()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)


def _is_auth_rejection(exc: BaseException) -> bool:
    """28000 (no pg_hba.conf entry, ...) or 28P01 (wrong password)."""
    return (isinstance(exc, _exc("InvalidAuthorizationSpecificationError"))
            or _sqlstate(exc) in ("28000", "28P01"))


def _is_pre_auth_rejection(exc: BaseException) -> bool:
    """A server error before AuthenticationOk (a pg_hba.conf rejection, a
    wrong password, an unknown database the server checks early, ...) but
    "cannot connect now" (the next host is tried): sslmode allow/prefer
    then try the other transport, as libpq and asyncpg do."""
    if _is_auth_rejection(exc):
        return True
    return (isinstance(exc, _exc("PostgresError"))
            and getattr(exc, "_auth_received", None) is False
            and not _is_cannot_connect_now(exc))


def _is_invalid_password(exc: BaseException) -> bool:
    return (isinstance(exc, _exc("InvalidPasswordError"))
            or _sqlstate(exc) == "28P01")


def _is_cannot_connect_now(exc: BaseException) -> bool:
    return (isinstance(exc, _exc("CannotConnectNowError"))
            or _sqlstate(exc) == "57P03")


def channel_binding_data(transport: _Any) -> tuple[bool, bytes | None]:
    """-> (TLS in use, tls-server-end-point hash of the server certificate
    or None when its signature algorithm has no usable hash)."""
    sslobj = transport.get_extra_info("ssl_object")
    if sslobj is None:
        return False, None
    der = sslobj.getpeercert(binary_form=True)
    name = _pgwire.cert_signature_hash(der) if der else None
    return True, (hashlib.new(name, der).digest() if name else None)


# ---------------------------------------------------------------------------
# Sockets
# ---------------------------------------------------------------------------
def _wants_tls(params: ConnectionParameters, tls: bool | None) -> bool:
    if params.ssl is None or params.sslmode == SSLMode.disable:
        return False
    if tls is not None:
        return bool(tls)
    return params.sslmode >= SSLMode.prefer


async def _negotiate_ssl(sock: socket.socket, loop: _Any, sslmode: SSLMode,
                         host: str, port: int) -> bool:
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


async def open_socket(
        addr: _Addr, params: ConnectionParameters, *, loop: _Any,
        deadline: float | None, tls: bool | None = None
) -> tuple[socket.socket, ssl_module.SSLContext | None, str | None]:
    """Dial `addr` and do the SSLRequest exchange if TLS is wanted.

    Returns (sock, ssl_context_or_None, server_hostname_or_None); the caller
    hands them to loop.create_connection(..., sock=sock, ssl=ctx,
    server_hostname=...) (create_unix_connection for a path).  `tls`:
    None = as params.sslmode says (allow -> plaintext first), True = TLS
    attempt, False = plaintext.  Bounded by `deadline` (loop.time()).
    """
    async with _aio.timeout_at(loop, deadline):
        return await _open_socket(addr, params, loop, tls)


async def _open_socket(
        addr: _Addr, params: ConnectionParameters, loop: _Any,
        tls: bool | None
) -> tuple[socket.socket, ssl_module.SSLContext | None, str | None]:
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
async def _connect_one(sock: socket.socket,
                       ssl_context: ssl_module.SSLContext | None,
                       server_hostname: str | None, addr: _Addr,
                       params: ConnectionParameters,
                       config: ClientConfiguration,
                       connection_class: type[_Conn], record_class: _Any,
                       loop: _Any, deadline: float | None) -> _Conn:
    """Open the transport on a connected socket, run startup/auth, and
    return a connection_class instance.  The caller bounds it by
    ``deadline`` (loop.time()) with an enclosing timeout; only the TLS
    handshake, which asyncio times on its own, is given the rest of it."""

    def factory() -> _pgwire.Protocol:
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
            pipeline=config.pipeline,
        )
        if config.paramstyle != 'numeric':
            _pgwire._set_paramstyle(proto, config.paramstyle)
        return proto

    kw: dict[str, _Any] = {}
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
        auth_kw: dict[str, _Any] = {}
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
    def __init__(self, cause: BaseException) -> None:
        super().__init__()
        self.cause = cause


def _check_connection_class(connection_class: _Any) -> type[_Conn]:
    if connection_class is None:
        return Connection
    if not (isinstance(connection_class, type)
            and issubclass(connection_class, Connection)):
        raise _new_error(
            _exc("InterfaceError"),
            "connection_class is expected to be a subclass of "
            f"pgwire.Connection, got {connection_class!r}")
    return connection_class


def _record_base() -> _Any:
    return getattr(pgwire, "Record", None)


def _check_record_class(record_class: _Any) -> _Any:
    base: _Any = _record_base()
    if record_class is None or record_class is base:
        return base
    if base is None or not (isinstance(record_class, type)
                            and issubclass(record_class, base)):
        raise _new_error(
            _exc("InterfaceError"),
            "record_class is expected to be a subclass of pgwire.Record, "
            f"got {record_class!r}")
    if (record_class.__new__ is not base.__new__
            or record_class.__init__  # type: ignore[misc]
            is not base.__init__):
        raise _new_error(_exc("InterfaceError"),
                         "record_class must not redefine __new__ or __init__")
    return record_class


async def _resolve_password(password: _Any) -> _Any:
    if callable(password):
        password = password()
        if inspect.isawaitable(password):
            password = await password
    return password


def _close_quietly(sock: socket.socket) -> None:
    try:
        if sock.fileno() != -1:
            _abort_socket(sock)
    except OSError:
        pass


async def _attempt(addr: _Addr, params: ConnectionParameters,
                   tls: bool | None, retry_when: str | None,
                   ctx_args: _CtxArgs) -> _Conn:
    """One dial + startup.  retry_when: None, 'tls' or 'plain'.  Bounded by
    the caller's timeout at ctx_args' deadline (_connect_addrs, or
    _connect_host for a per-host connect_timeout)."""
    connect_one, config, connection_class, record_class, loop, deadline = \
        ctx_args
    sock, ctx, hostname = await _open_socket(addr, params, loop, tls)
    try:
        return await connect_one(  # type: ignore[no-any-return]
            sock, ctx, hostname, addr, params, config, connection_class,
            record_class, loop, deadline)
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


async def _connect_addr(addr: _Addr, params: ConnectionParameters,
                        ctx_args: _CtxArgs) -> _Conn:
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


async def _is_standby(conn: _Conn) -> bool:
    """in_hot_standby (reported since PostgreSQL 14), else
    pg_is_in_recovery()."""
    status = getattr(conn.get_settings(), "in_hot_standby", None)
    if status is not None:
        return bool(status == "on")
    return bool(await conn.fetchval("SELECT pg_catalog.pg_is_in_recovery()"))


async def _is_read_only(conn: _Conn) -> bool:
    """libpq's test: default_transaction_read_only or in_hot_standby (both
    reported since PostgreSQL 14), else SHOW transaction_read_only."""
    settings = conn.get_settings()
    default_ro = getattr(settings, "default_transaction_read_only", None)
    hot = getattr(settings, "in_hot_standby", None)
    if default_ro is None or hot is None:
        return bool(await conn.fetchval("SHOW transaction_read_only")
                    == "on")
    return bool(default_ro == "on" or hot == "on")


async def _session_attrs_ok(conn: _Conn, attr: SessionAttribute) -> bool:
    if attr is SessionAttribute.any:
        return True
    if attr is SessionAttribute.read_write:
        return not await _is_read_only(conn)
    if attr is SessionAttribute.read_only:
        return await _is_read_only(conn)
    return await _is_standby(conn) == (attr is not SessionAttribute.primary)


def _terminate(conn: _Conn) -> None:
    try:
        conn.terminate()
    except Exception:
        pass


_DISCARD_TIMEOUT = 2.0


async def _discard(conn: _Conn) -> None:
    """Close a server that did not match: Terminate, bounded, no errors."""
    try:
        await conn.close(timeout=_DISCARD_TIMEOUT)
    except Exception:
        _terminate(conn)


async def _connect_host(addr: _Addr, params: ConnectionParameters,
                        ctx_args: _CtxArgs) -> _Conn:
    """One host, bounded by connect_timeout (libpq: per host) if set."""
    if not params.connect_timeout:
        return await _connect_addr(addr, params, ctx_args)
    loop, deadline = ctx_args[4], ctx_args[5]
    host_deadline = loop.time() + params.connect_timeout
    if deadline is not None and deadline <= host_deadline:
        return await _connect_addr(addr, params, ctx_args)
    ctx_args = ctx_args[:5] + (host_deadline,)
    try:
        async with _aio.timeout_at(loop, host_deadline):
            return await _connect_addr(addr, params, ctx_args)
    except TimeoutError:
        raise TimeoutError(
            f"timeout expired (connect_timeout={params.connect_timeout:g})"
        ) from None


async def _open_candidate(addr: _Addr, params: ConnectionParameters,
                          ctx_args: _CtxArgs,
                          failures: list[tuple[_Any, BaseException]]
                          ) -> _Conn | None:
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


async def _check_candidate(conn: _Conn, attr: SessionAttribute,
                           addr: _Addr,
                           failures: list[tuple[_Any, BaseException]]
                           ) -> bool | None:
    """True/False: does `conn` match `attr`?  None if the check itself
    failed; `conn` is then closed and the next host tried (libpq)."""
    try:
        return await _session_attrs_ok(conn, attr)
    except Exception as exc:
        _terminate(conn)
        failures.append((addr, exc))
        return None


def _addr_text(addr: _Addr) -> str:
    if isinstance(addr, str):
        return f'socket "{addr}"'
    return f'server at "{addr[0]}", port {addr[1]}'


def _no_host_error(attr: _Any, mismatched: bool,
                   failures: list[tuple[_Any, BaseException]]
                   ) -> BaseException:
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
    return err  # type: ignore[no-any-return]


async def _search_hosts(addrs: list[_Addr], params: ConnectionParameters,
                        ctx_args: _CtxArgs,
                        failures: list[tuple[_Any, BaseException]]
                        ) -> tuple[_Conn | None, bool]:
    """Try `addrs` in order.  -> (the chosen connection or None, whether
    some server answered but did not match `target_session_attrs`)."""
    attr = params.target_session_attrs
    fallback: _Conn | None = None  # prefer-standby: the first that answered
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


async def _connect_addrs(addrs: list[_Addr], params: ConnectionParameters,
                         config: ClientConfiguration,
                         connection_class: type[_Conn], record_class: _Any,
                         *, loop: _Any, timeout: float | None) -> _Conn:
    deadline = None if timeout is None else loop.time() + timeout
    ctx_args = (_connect_one, config, connection_class, record_class, loop,
                deadline)
    if params.load_balance_hosts is LoadBalanceHosts.random:
        addrs = _shuffled(addrs)
    failures: list[tuple[_Any, BaseException]] = []
    async with _aio.timeout_at(loop, deadline):
        chosen, mismatched = await _search_hosts(addrs, params, ctx_args,
                                                 failures)
    if chosen is not None:
        return chosen
    err = _no_host_error(params.target_session_attrs, mismatched, failures)
    cause = failures[-1][1] if failures else None
    if err is cause:
        raise err
    raise err from cause


@_overload
async def connect(
        dsn: str | None = None, *, host: _Any = None,
        port: _Any = None, user: str | None = None,
        password: str | _Callable[[], _Any] | None = None,
        passfile: str | os.PathLike[str] | None = None,
        service: str | None = None, servicefile: str | None = None,
        database: str | None = None,
        loop: _Any = None,
        timeout: float | None = 60, statement_cache_size: int = 100,
        max_cached_statement_lifetime: float = 300,
        max_cacheable_statement_size: int = 1024 * 15,
        command_timeout: float | None = None, ssl: _Any = None,
        direct_tls: bool | None = None,
        connection_class: type[Connection[_Any]] | None = None,
        record_class: None = None,
        server_settings: dict[str, str] | None = None,
        target_session_attrs: str | None = None,
        krbsrvname: str | None = None, gsslib: str | None = None,
        load_balance_hosts: str | None = None,
        keepalives: bool | None = None, keepalives_idle: int | None = None,
        keepalives_interval: int | None = None,
        keepalives_count: int | None = None,
        tcp_user_timeout: int | None = None, require_auth: _Any = None,
        channel_binding: str | None = None,
        cancel_timeout: float | None = None,
        paramstyle: str = 'numeric', pipeline: bool = False,
        row_factory: None = None,
        json_decode: bool = False,
        json_loads: _Callable[[_Any], _Any] | None = None,
        json_dumps: _Callable[[_Any], _Any] | None = None
        ) -> Connection[_pgwire.Record]: ...
@_overload
async def connect(
        dsn: str | None = None, *, host: _Any = None,
        port: _Any = None, user: str | None = None,
        password: str | _Callable[[], _Any] | None = None,
        passfile: str | os.PathLike[str] | None = None,
        service: str | None = None, servicefile: str | None = None,
        database: str | None = None,
        loop: _Any = None,
        timeout: float | None = 60, statement_cache_size: int = 100,
        max_cached_statement_lifetime: float = 300,
        max_cacheable_statement_size: int = 1024 * 15,
        command_timeout: float | None = None, ssl: _Any = None,
        direct_tls: bool | None = None,
        connection_class: type[Connection[_Any]] | None = None,
        record_class: type[_OtherRecordT],
        server_settings: dict[str, str] | None = None,
        target_session_attrs: str | None = None,
        krbsrvname: str | None = None, gsslib: str | None = None,
        load_balance_hosts: str | None = None,
        keepalives: bool | None = None, keepalives_idle: int | None = None,
        keepalives_interval: int | None = None,
        keepalives_count: int | None = None,
        tcp_user_timeout: int | None = None, require_auth: _Any = None,
        channel_binding: str | None = None,
        cancel_timeout: float | None = None,
        paramstyle: str = 'numeric', pipeline: bool = False,
        row_factory: None = None,
        json_decode: bool = False,
        json_loads: _Callable[[_Any], _Any] | None = None,
        json_dumps: _Callable[[_Any], _Any] | None = None
        ) -> Connection[_OtherRecordT]: ...
@_overload
async def connect(
        dsn: str | None = None, *, host: _Any = None,
        port: _Any = None, user: str | None = None,
        password: str | _Callable[[], _Any] | None = None,
        passfile: str | os.PathLike[str] | None = None,
        service: str | None = None, servicefile: str | None = None,
        database: str | None = None,
        loop: _Any = None,
        timeout: float | None = 60, statement_cache_size: int = 100,
        max_cached_statement_lifetime: float = 300,
        max_cacheable_statement_size: int = 1024 * 15,
        command_timeout: float | None = None, ssl: _Any = None,
        direct_tls: bool | None = None,
        connection_class: type[Connection[_Any]] | None = None,
        record_class: None = None,
        server_settings: dict[str, str] | None = None,
        target_session_attrs: str | None = None,
        krbsrvname: str | None = None, gsslib: str | None = None,
        load_balance_hosts: str | None = None,
        keepalives: bool | None = None, keepalives_idle: int | None = None,
        keepalives_interval: int | None = None,
        keepalives_count: int | None = None,
        tcp_user_timeout: int | None = None, require_auth: _Any = None,
        channel_binding: str | None = None,
        cancel_timeout: float | None = None,
        paramstyle: str = 'numeric', pipeline: bool = False,
        row_factory: _rows.RowFactory[_RowT],
        json_decode: bool = False,
        json_loads: _Callable[[_Any], _Any] | None = None,
        json_dumps: _Callable[[_Any], _Any] | None = None
        ) -> Connection[_RowT]: ...
async def connect(
        dsn: str | None = None, *, host: _Any = None,
        port: _Any = None, user: str | None = None,
        password: str | _Callable[[], _Any] | None = None,
        passfile: str | os.PathLike[str] | None = None,
        service: str | None = None, servicefile: str | None = None,
        database: str | None = None,
        loop: _Any = None,
        timeout: float | None = 60, statement_cache_size: int = 100,
        max_cached_statement_lifetime: float = 300,
        max_cacheable_statement_size: int = 1024 * 15,
        command_timeout: float | None = None, ssl: _Any = None,
        direct_tls: bool | None = None,
        connection_class: type[Connection[_Any]] | None = None,
        record_class: type[_pgwire.Record] | None = None,
        server_settings: dict[str, str] | None = None,
        target_session_attrs: str | None = None,
        krbsrvname: str | None = None, gsslib: str | None = None,
        load_balance_hosts: str | None = None,
        keepalives: bool | None = None, keepalives_idle: int | None = None,
        keepalives_interval: int | None = None,
        keepalives_count: int | None = None,
        tcp_user_timeout: int | None = None, require_auth: _Any = None,
        channel_binding: str | None = None,
        cancel_timeout: float | None = None,
        paramstyle: str = 'numeric', pipeline: bool = False,
        row_factory: _rows.RowFactory[_Any] | None = None,
        json_decode: bool = False,
        json_loads: _Callable[[_Any], _Any] | None = None,
        json_dumps: _Callable[[_Any], _Any] | None = None
        ) -> Connection[_Any]:
    """Open a connection (asyncpg.connect semantics).

    ``pipeline``: ``True`` lets queries started while others run on this
    connection go out at once, each with its own Sync, instead of raising
    "another operation is in progress" (docs/pipelining.md; tasks sharing
    the connection share its transaction).

    ``paramstyle``: ``'numeric'`` (the default: asyncpg's ``$1``, ``$2``)
    or ``'pyformat'`` (``%s`` with positional arguments, ``%(name)s`` with
    one mapping argument, ``%%`` for a literal ``%``; converted to ``$n``
    in C, once per cached statement).  See docs/queries.md, "Placeholders".

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
    if row_factory is None:
        record_class = _check_record_class(record_class)
    else:
        record_class = _rows.check_shape(  # type: ignore[assignment]
            record_class, row_factory)
    json_codec = _json_option(json_decode, json_loads, json_dumps)
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
        paramstyle=paramstyle, pipeline=pipeline,
        krbsrvname=krbsrvname, gsslib=gsslib,
        load_balance_hosts=load_balance_hosts,
        tcp=dict(keepalives=keepalives, keepalives_idle=keepalives_idle,
                 keepalives_interval=keepalives_interval,
                 keepalives_count=keepalives_count,
                 tcp_user_timeout=tcp_user_timeout,
                 require_auth=require_auth,
                 channel_binding=channel_binding))
    conn = await _connect_addrs(addrs, params, config, connection_class,
                                record_class, loop=loop, timeout=timeout)
    if json_codec is not None:
        conn._set_json_codecs(*json_codec)
    return conn


def _json_option(json_decode: bool,
                 json_loads: _Callable[[_Any], _Any] | None,
                 json_dumps: _Callable[[_Any], _Any] | None
                 ) -> tuple[_Callable[[_Any], _Any],
                            _Callable[[_Any], _Any]] | None:
    """(loads, dumps) for connect(json_decode=True), else None."""
    if not isinstance(json_decode, bool):
        raise TypeError(
            f"json_decode must be True or False, got {json_decode!r}")
    for name, fn in (("json_loads", json_loads), ("json_dumps", json_dumps)):
        if fn is None:
            continue
        if not json_decode:
            raise TypeError(f"{name} is given but json_decode is False: "
                            f"pass json_decode=True to decode json")
        if not callable(fn):
            raise TypeError(f"{name} must be a callable, got {fn!r}")
    if not json_decode:
        return None
    return (json_loads or json.loads, json_dumps or json.dumps)
