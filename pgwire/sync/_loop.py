"""The Python half of the blocking face's loop.

pgwire._pgwire.BlockingLoop (src/ext/blocking.c) is the loop: futures,
timers, the ready queue, the socket transport and run_until_complete().
This subclass adds what the cold path's coroutines ask of a loop besides
(connect_utils and _dial run unchanged on it): getaddrinfo, sock_connect,
sock_sendall, sock_recv, create_connection / create_unix_connection (TLS
through ssl.SSLObject over two MemoryBIOs), run_in_executor (runs the
function at once: the caller is blocking anyway), create_task, and the
timeout context manager pgwire._aio uses in place of asyncio.timeout().
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl as ssl_module
import typing

from .. import _pgwire

__all__ = ("Loop", "Task")

_CancelledError = asyncio.CancelledError


def _resolve(fut: _pgwire.BlockingFuture, value: object = None) -> None:
    if not fut.done():
        fut.set_result(value)


class Loop(_pgwire.BlockingLoop):
    """One per blocking connection (and its cancel dials)."""

    # -- waiting on sockets -------------------------------------------
    async def _wait_fd(self, fd: int, write: bool) -> None:
        fut = self.create_future()
        add, remove = ((self.add_writer, self.remove_writer) if write
                       else (self.add_reader, self.remove_reader))
        add(fd, _resolve, fut)
        try:
            await fut
        finally:
            remove(fd)

    async def getaddrinfo(self, host: str | None, port: int | str | None,
                          *, family: int = 0, type: int = 0, proto: int = 0,
                          flags: int = 0) -> list[typing.Any]:
        return socket.getaddrinfo(host, port, family, type, proto, flags)

    async def sock_connect(self, sock: socket.socket,
                           address: typing.Any) -> None:
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass
        await self._wait_fd(sock.fileno(), True)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, f"Connect call failed {address!r}: "
                               f"{errno.errorcode.get(err, err)}")

    async def sock_sendall(self, sock: socket.socket,
                           data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                n = sock.send(view)
            except (BlockingIOError, InterruptedError):
                await self._wait_fd(sock.fileno(), True)
                continue
            view = view[n:]

    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        while True:
            try:
                return sock.recv(n)
            except (BlockingIOError, InterruptedError):
                await self._wait_fd(sock.fileno(), False)

    # -- transports -----------------------------------------------------
    async def _tls_handshake(
            self, sock: socket.socket, ctx: ssl_module.SSLContext,
            server_hostname: str | None
    ) -> tuple[ssl_module.SSLObject, ssl_module.MemoryBIO,
               ssl_module.MemoryBIO]:
        incoming, outgoing = ssl_module.MemoryBIO(), ssl_module.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_side=False,
                           server_hostname=server_hostname)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl_module.SSLWantReadError:
                pass
            data = outgoing.read()
            if data:
                await self.sock_sendall(sock, data)
            chunk = await self.sock_recv(sock, 65536)
            if not chunk:
                raise ConnectionResetError(
                    "the server closed the connection during the TLS "
                    "handshake")
            incoming.write(chunk)
        data = outgoing.read()
        if data:
            await self.sock_sendall(sock, data)
        return obj, incoming, outgoing

    async def create_connection(
            self, protocol_factory: typing.Callable[[], _pgwire.Protocol],
            host: str | None = None, port: int | None = None, *,
            sock: socket.socket, ssl: ssl_module.SSLContext | None = None,
            server_hostname: str | None = None,
            ssl_handshake_timeout: float | None = None, **_: typing.Any
    ) -> tuple[typing.Any, _pgwire.Protocol]:
        """asyncio's signature, on an already connected ``sock`` (the only
        form the cold path uses).  The handshake is bounded by the
        caller's timeout."""
        if host is not None or port is not None:
            raise ValueError("create_connection(host, port): a BlockingLoop "
                             "only takes sock=")
        sock.setblocking(False)
        extra = {"socket": sock, "sockname": sock.getsockname(),
                 "peername": _peername(sock)}
        tls: tuple[typing.Any, typing.Any, typing.Any] = (None, None, None)
        if ssl is not None:
            tls = await self._tls_handshake(sock, ssl, server_hostname)
            extra.update(ssl_object=tls[0], sslcontext=ssl,
                         peercert=tls[0].getpeercert(),
                         cipher=tls[0].cipher(),
                         compression=tls[0].compression())
        proto = protocol_factory()
        transport = self._make_transport(sock, proto, *tls, extra=extra)
        return transport, proto

    create_unix_connection = create_connection

    # -- the rest of the loop surface ----------------------------------
    def run_in_executor(self, executor: object,
                        func: typing.Callable[..., typing.Any],
                        *args: typing.Any) -> _pgwire.BlockingFuture:
        """Runs ``func(*args)`` now (the caller blocks anyway); returns a
        done future."""
        fut = self.create_future()
        try:
            fut.set_result(func(*args))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:
            fut.set_exception(e)
        return fut

    def create_task(self, coro: typing.Coroutine[typing.Any, typing.Any,
                                                 typing.Any], *,
                    name: str | None = None,
                    context: object = None) -> Task:
        return Task(self, coro)

    def _pgwire_timeout_at(self, when: float | None) -> _Timeout:
        return _Timeout(self, when)


def _peername(sock: socket.socket) -> typing.Any:
    try:
        return sock.getpeername()
    except OSError:
        return None


class _Timeout:
    """asyncio.timeout_at() for a BlockingLoop: at ``when`` the awaitable
    being run is cancelled; leaving the block turns that CancelledError
    into TimeoutError."""

    __slots__ = ("_loop", "_when", "_handle", "_fired")

    def __init__(self, loop: Loop, when: float | None) -> None:
        self._loop = loop
        self._when = when
        self._handle: typing.Any = None
        self._fired = False

    async def __aenter__(self) -> _Timeout:
        if self._when is not None:
            self._handle = self._loop.call_at(self._when, self._fire)
        return self

    def _fire(self) -> None:
        self._fired = True
        self._loop._cancel_current()

    def expired(self) -> bool:
        return self._fired

    async def __aexit__(self, et: type[BaseException] | None,
                        e: BaseException | None,
                        tb: typing.Any) -> typing.Literal[False]:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._fired:
            self._loop._cancel_current(False)  # if not delivered yet
            if et is not None and issubclass(et, _CancelledError):
                raise TimeoutError from e
        return False


class Task(_pgwire.BlockingFuture):
    """loop.create_task(): drives a coroutine on a BlockingLoop (the
    coroutine listeners and query loggers of a blocking connection)."""

    # class defaults: a Task whose __dict__ was cleared (the cyclic GC's
    # tp_clear) still answers
    _coro: typing.Any = None
    _waiting: _pgwire.BlockingFuture | None = None
    _must_cancel = False

    def __new__(cls, loop: _pgwire.BlockingLoop,
                coro: typing.Coroutine[typing.Any, typing.Any, typing.Any]
                ) -> Task:
        return super().__new__(cls, loop)  # type: ignore[return-value]

    def __init__(self, loop: _pgwire.BlockingLoop,
                 coro: typing.Coroutine[typing.Any, typing.Any, typing.Any]
                 ) -> None:
        self._coro = coro
        self._waiting = None
        self._must_cancel = False
        loop.call_soon(self._step, None)

    def cancel(self, msg: typing.Any = None) -> bool:
        if self.done():
            return False
        self._must_cancel = True
        waiting = self._waiting
        if waiting is not None:
            waiting.cancel()
        return True

    def _step(self, exc: BaseException | None = None) -> None:
        if self.done() or self._coro is None:
            return
        if self._must_cancel:
            self._must_cancel = False
            exc = _CancelledError()
        try:
            r = (self._coro.send(None) if exc is None
                 else self._coro.throw(exc))
        except StopIteration as e:
            super().set_result(e.value)
        except _CancelledError:
            super().cancel()
        except (KeyboardInterrupt, SystemExit) as e:
            super().set_exception(e)
            raise
        except BaseException as e:
            super().set_exception(e)
        else:
            self._wait(r)

    def _wait(self, r: object) -> None:
        loop = self.get_loop()
        if r is None:
            loop.call_soon(self._step, None)
        elif isinstance(r, _pgwire.BlockingFuture):
            r._asyncio_future_blocking = False
            self._waiting = r
            r.add_done_callback(self._wakeup)
        else:
            loop.call_soon(self._step, RuntimeError(
                f"a task of a BlockingLoop awaited {r!r}"))

    def _wakeup(self, fut: _pgwire.BlockingFuture) -> None:
        self._waiting = None
        try:
            fut.result()
        except BaseException as e:
            self._step(e)
        else:
            self._step(None)
