"""Sockets to a server: the dial (a Unix socket path, or each address of a
host name in turn, TCP options set) and the CancelRequest on a socket of
its own.  Shared by connect_utils (connect) and connection (cancel); it
imports neither, so the two import each other no longer."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import typing

# a server address: a Unix socket path or (host, port)
Addr = typing.Union[str, tuple[str, int]]

CANCEL_REQUEST_CODE = 80877102

_rng = random.SystemRandom()      # not the global, which apps may seed
_T = typing.TypeVar("_T")


def _shuffled(items: typing.Sequence[_T]) -> list[_T]:
    """A shuffled copy (load_balance_hosts=random)."""
    return _rng.sample(list(items), len(items))


def _abort_socket(sock: socket.socket) -> None:
    """Close, with an RST for TCP (nothing lingers after a failure)."""
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


async def _dial_unix(path: str, loop: asyncio.AbstractEventLoop
                     ) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, path)
    except BaseException:
        sock.close()
        raise
    return sock


async def _getaddrinfo(loop: asyncio.AbstractEventLoop, host: str,
                       port: int) -> list[typing.Any]:
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _dial_tcp(host: str, port: int, loop: asyncio.AbstractEventLoop,
                    shuffle: bool = False,
                    params: typing.Any = None) -> socket.socket:
    """Connect to the first address of `host` that accepts; with `shuffle`
    (load_balance_hosts=random) the addresses are tried in random order,
    as libpq 16 does after shuffling the hosts."""
    infos = await _getaddrinfo(loop, host, port)
    if not infos:
        raise OSError(f"getaddrinfo() returned an empty list for {host!r}")
    if shuffle:
        infos = _shuffled(infos)
    errors: list[OSError] = []
    for family, type_, proto, _, sockaddr in infos:
        try:
            sock = socket.socket(family, type_, proto)
        except OSError as e:
            errors.append(e)
            continue
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _apply_tcp_options(sock, params)
            await loop.sock_connect(sock, sockaddr)
            return sock
        except OSError as e:
            sock.close()
            errors.append(e)
        except BaseException:
            _abort_socket(sock)
            raise
    if len(errors) == 1 or len({str(e) for e in errors}) == 1:
        raise errors[0]
    raise OSError("Multiple exceptions: " + ", ".join(str(e) for e in errors))


async def _dial(addr: Addr, loop: asyncio.AbstractEventLoop,
                shuffle: bool = False,
                params: typing.Any = None) -> socket.socket:
    if isinstance(addr, str):
        return await _dial_unix(addr, loop)
    return await _dial_tcp(addr[0], addr[1], loop, shuffle, params)


def _apply_tcp_options(sock: socket.socket, params: typing.Any) -> None:
    """SO_KEEPALIVE (on unless keepalives=0) and the per-socket timers."""
    if params is None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE,
                    1 if params.keepalives else 0)
    opts: tuple[tuple[str, int | None], ...] = ()
    if params.keepalives:
        opts = (("TCP_KEEPIDLE", params.keepalives_idle),
                ("TCP_KEEPINTVL", params.keepalives_interval),
                ("TCP_KEEPCNT", params.keepalives_count))
    opts += (("TCP_USER_TIMEOUT", params.tcp_user_timeout),)
    for name, value in opts:
        if value is None:
            continue
        const = getattr(socket, name, None)
        if const is None:       # not on this platform: ignored, as libpq
            continue
        sock.setsockopt(socket.IPPROTO_TCP, const, value)


def _cancel_message(pid: int, secret: int | bytes | bytearray | memoryview
                    ) -> bytes:
    if isinstance(secret, (bytes, bytearray, memoryview)):
        key = bytes(secret)
        if not 4 <= len(key) <= 256:
            raise ValueError("invalid cancel key length")
    else:
        key = struct.pack("!I", int(secret) & 0xFFFFFFFF)
    return struct.pack("!iiI", 12 + len(key), CANCEL_REQUEST_CODE,
                       int(pid) & 0xFFFFFFFF) + key


async def send_cancel_request(addr: Addr, pid: int,
                              secret: int | bytes | bytearray | memoryview,
                              *, loop: asyncio.AbstractEventLoop,
                              timeout: float | None) -> None:
    """Send CancelRequest on a new plain socket; wait for the server's EOF.

    The whole exchange is bounded by `timeout` (asyncio.TimeoutError); the
    socket is always closed (with an RST on failure).
    """
    msg = _cancel_message(pid, secret)
    sock = None
    try:
        async with asyncio.timeout(timeout):
            sock = await _dial(addr, loop)
            await loop.sock_sendall(sock, msg)
            while True:
                try:
                    data = await loop.sock_recv(sock, 256)
                except ConnectionResetError:
                    break
                if not data:
                    break
    except BaseException:
        if sock is not None:
            _abort_socket(sock)
            sock = None
        raise
    finally:
        if sock is not None:
            sock.close()
