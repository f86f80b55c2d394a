"""The blocking face's CancelRequest: the same message and socket
handling as _dial.send_cancel_request (whose pure parts it reuses), on a
blocking socket with a deadline.  Connect itself needs no sync twin:
connect_utils and _dial run unchanged on pgwire.sync's BlockingLoop."""

from __future__ import annotations

import socket
import time

from ._dial import Addr, _abort_socket, _apply_tcp_options, _cancel_message

__all__ = ("send_cancel_request",)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the CancelRequest did not finish in time")
    return left


def _dial(addr: Addr, deadline: float) -> socket.socket:
    if isinstance(addr, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(addr)
        except BaseException:
            sock.close()
            raise
        return sock
    sock = socket.create_connection(addr, timeout=_left(deadline))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _apply_tcp_options(sock, None)
    except BaseException:
        _abort_socket(sock)
        raise
    return sock


def send_cancel_request(addr: Addr, pid: int,
                        secret: int | bytes | bytearray | memoryview, *,
                        timeout: float) -> None:
    """Send CancelRequest on a new socket and wait for the server's EOF,
    all within ``timeout`` seconds (TimeoutError); the socket is always
    closed (with an RST on failure)."""
    deadline = time.monotonic() + timeout
    msg = _cancel_message(pid, secret)
    sock = _dial(addr, deadline)
    try:
        sock.settimeout(_left(deadline))
        sock.sendall(msg)
        while True:
            sock.settimeout(_left(deadline))
            try:
                data = sock.recv(256)
            except ConnectionResetError:
                break
            if not data:
                break
    except BaseException:
        _abort_socket(sock)
        raise
    sock.close()
