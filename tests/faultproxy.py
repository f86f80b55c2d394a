"""A PostgreSQL-aware fault-injection TCP proxy for the reliability tests.

The proxy listens on a free port of 127.0.0.1 and forwards each accepted
connection to one upstream (host, port), framing the traffic in both
directions: the client's first packet is untyped (StartupMessage,
CancelRequest), everything after it is a 1-byte type plus an int32 length.
An SSLRequest or GSSENCRequest is answered ``N`` by the proxy itself, so
TLS is always off through it (connect with ``ssl='disable'``).

Modes (per connection, per direction, or for every connection):

``pass``         forward unchanged
``freeze``       stop forwarding in both directions, keep both sockets open
``rst``          close both sockets with SO_LINGER 0 (an RST each way)
``delay``        sleep ``arg`` milliseconds before each message
``fragment``     write each message in pieces of ``arg`` bytes (default 1;
                 a (lo, hi) tuple picks a random size per piece)
``truncate``     write the first half of the message, then close both ends
``corrupt``      write the message mangled by ``arg`` (a callable on the
                 whole framed message; default: a length field of 3)
``inject``       write ``arg`` (bytes) before the message

``truncate``, ``corrupt`` and ``inject`` act on one message, then the
direction goes back to ``pass``.

Triggers fire on "the Nth message of type X in direction D" (optionally
only messages whose body contains ``match``), ``before`` or ``after`` that
message is forwarded, and set a mode on that connection; ``fired`` is an
asyncio.Event the test can wait on (with a bound).

``ThreadedFaultProxy`` runs a FaultProxy on an event loop of its own, in a
background thread, for the blocking face's tests (pgwire.sync): the same
methods, each run in the proxy's thread and returning when done.
"""

import asyncio
import dataclasses
import random
import socket
import struct
import threading

C2S = "c2s"        # client -> server
S2C = "s2c"        # server -> client
DIRECTIONS = (C2S, S2C)

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
_STARTUP = b""     # the "type" of the untyped first client packet

_ONE_SHOT = ("truncate", "corrupt", "inject")
_MODES = ("pass", "freeze", "rst", "delay", "fragment") + _ONE_SHOT
_READ_SIZE = 65536


def _bad_length(frame):
    return frame[:1] + struct.pack("!i", 3) + frame[5:]


@dataclasses.dataclass
class Trigger:
    direction: str
    msg_type: bytes          # b"Q", b"C", ...; b"" = the startup packet
    nth: int = 1
    mode: str = "rst"
    arg: object = None
    when: str = "before"     # act before or after forwarding the message
    match: bytes | None = None
    both: bool = True        # a delay/fragment mode for both directions
    fired: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    seen: int = 0

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"bad direction {self.direction!r}")
        if self.mode not in _MODES and self.mode != "stall":
            raise ValueError(f"bad mode {self.mode!r}")
        if self.when not in ("before", "after"):
            raise ValueError(f"bad when {self.when!r}")

    def hit(self, direction, msg_type, body):
        if self.fired.is_set() or direction != self.direction or \
                msg_type != self.msg_type:
            return False
        if self.match is not None and self.match not in body:
            return False
        self.seen += 1
        return self.seen == self.nth


class _Link:
    """One proxied client connection: two pumps and their modes."""

    def __init__(self, proxy, creader, cwriter):
        self.proxy = proxy
        self.creader, self.cwriter = creader, cwriter
        self.sreader = self.swriter = None
        self.modes = {d: ("pass", None) for d in DIRECTIONS}
        self.unfrozen = asyncio.Event()
        self.unfrozen.set()
        self.closed = asyncio.Event()
        self.triggers = [dataclasses.replace(t, fired=t.fired, seen=0)
                         for t in proxy.triggers]
        self.bytes = {d: 0 for d in DIRECTIONS}
        self.tasks = []
        for d in DIRECTIONS:
            mode, arg = proxy.default_modes[d]
            self.set_mode(mode, arg, d)

    # -- modes ----------------------------------------------------------
    def set_mode(self, mode, arg=None, direction=None):
        if mode not in _MODES:
            raise ValueError(f"bad mode {mode!r}")
        if mode == "freeze":
            self.unfrozen.clear()
            return
        if mode == "pass" and direction is None:
            self.unfrozen.set()
        if mode == "rst":
            self.reset()
            return
        for d in ([direction] if direction else DIRECTIONS):
            self.modes[d] = (mode, arg)

    def reset(self):
        for w in (self.cwriter, self.swriter):
            if w is None:
                continue
            sock = w.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                except OSError:
                    pass
            w.transport.abort()
        self.unfrozen.set()
        self.closed.set()

    def close(self):
        for w in (self.cwriter, self.swriter):
            if w is not None:
                w.close()
        self.unfrozen.set()
        self.closed.set()

    # -- pumps ----------------------------------------------------------
    async def run(self):
        try:
            first = await self._read_startup()
            if first is None:
                return
            host, port = self.proxy.upstream
            self.sreader, self.swriter = await asyncio.open_connection(
                host, port)
            pumps = [asyncio.ensure_future(self._pump(
                        C2S, self.creader, self.swriter, first)),
                     asyncio.ensure_future(self._pump(
                        S2C, self.sreader, self.cwriter, None))]
            self.tasks = pumps
            done, pending = await asyncio.wait(
                pumps, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for t in done:
                t.exception()       # retrieved: pump errors are expected
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if not self.closed.is_set():
                self.close()
            self.proxy._links.discard(self)

    async def _read_startup(self):
        """The client's untyped packets, answering SSL/GSSENC requests
        with 'N'; returns the first packet to forward (or None)."""
        for _ in range(3):
            head = await self.creader.readexactly(4)
            n = struct.unpack("!i", head)[0]
            if not 8 <= n <= 10000:
                return None
            body = await self.creader.readexactly(n - 4)
            code = struct.unpack("!i", body[:4])[0]
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                self.cwriter.write(b"N")
                await self.cwriter.drain()
                continue
            return head + body
        return None

    async def _pump(self, d, reader, writer, first):
        buf = bytearray()
        if first is not None:
            if not await self._handle(d, _STARTUP, first[4:], first, writer):
                return
        while True:
            data = await reader.read(_READ_SIZE)
            if not data:
                try:
                    writer.write_eof() if writer.can_write_eof() else None
                except (OSError, RuntimeError):
                    pass  # the other side is closed already (uvloop raises)
                return
            buf += data
            pos = 0
            while len(buf) - pos >= 5:
                n = struct.unpack_from("!i", buf, pos + 1)[0]
                if n < 4:
                    n = len(buf) - pos - 1     # garbage: pass it all on
                if len(buf) - pos < n + 1:
                    break
                frame = bytes(buf[pos:pos + n + 1])
                pos += n + 1
                if not await self._handle(d, frame[:1], frame[5:], frame,
                                          writer):
                    return
            del buf[:pos]

    async def _handle(self, d, msg_type, body, frame, writer):
        """Apply triggers and the direction's mode to one message; False
        ends the pump."""
        after = []
        for t in self.triggers:
            if t.hit(d, msg_type, body):
                if t.when == "before":
                    self._fire(t, d)
                else:
                    after.append(t)
        if not self.unfrozen.is_set():
            await self.unfrozen.wait()
        if self.closed.is_set():
            return False
        if not await self._forward(d, frame, writer):
            return False
        for t in after:
            self._fire(t, d)
        if after and self.closed.is_set():
            return False
        return True

    def _fire(self, t, d):
        if t.mode == "stall":
            self.modes[d] = ("stall", t.arg)
        elif t.mode in _ONE_SHOT or not t.both:
            self.set_mode(t.mode, t.arg, d)
        else:
            self.set_mode(t.mode, t.arg)
        t.fired.set()
        self.proxy.fired.append((t.direction, t.msg_type, t.mode, t.when))

    async def _forward(self, d, frame, writer):
        mode, arg = self.modes[d]
        self.bytes[d] += len(frame)
        if mode == "stall":                 # a one-shot pause
            self.modes[d] = ("pass", None)
            await asyncio.sleep(arg / 1000.0)
        elif mode == "delay":
            await asyncio.sleep(arg / 1000.0)
        elif mode == "fragment":
            await self._write_pieces(writer, frame, arg or 1)
            return True
        elif mode == "truncate":
            writer.write(frame[:max(1, len(frame) // 2)])
            await writer.drain()
            self.close()
            return False
        elif mode == "corrupt":
            self.modes[d] = ("pass", None)
            frame = (arg or _bad_length)(frame)
        elif mode == "inject":
            self.modes[d] = ("pass", None)
            writer.write(arg)
        writer.write(frame)
        await writer.drain()
        return True

    @staticmethod
    async def _write_pieces(writer, frame, size):
        pos = 0
        while pos < len(frame):
            n = random.randint(*size) if isinstance(size, tuple) else size
            writer.write(frame[pos:pos + n])
            pos += n
            await writer.drain()


class FaultProxy:
    """``async with FaultProxy((host, port)) as proxy: proxy.port ...``"""

    def __init__(self, upstream):
        self.upstream = upstream
        self.server = None
        self.port = None
        self.triggers = []
        self.default_modes = {d: ("pass", None) for d in DIRECTIONS}
        self.fired = []
        self._links = set()
        self._tasks = set()
        self.accepted = 0

    async def start(self):
        self.server = await asyncio.start_server(self._accept, "127.0.0.1",
                                                 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    def _accept(self, reader, writer):
        self.accepted += 1
        link = _Link(self, reader, writer)
        self._links.add(link)
        task = asyncio.ensure_future(link.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def links(self):
        return list(self._links)

    def add_trigger(self, direction, msg_type, nth=1, mode="rst", arg=None,
                    *, when="before", match=None, both=True):
        """Fire ``mode`` on every future connection at the nth message of
        ``msg_type`` (b"" = the startup packet) going ``direction``."""
        t = Trigger(direction, msg_type, nth, mode, arg, when, match, both)
        self.triggers.append(t)
        for link in self._links:
            link.triggers.append(dataclasses.replace(t, fired=t.fired,
                                                     seen=0))
        return t

    def clear_triggers(self):
        self.triggers.clear()
        for link in self._links:
            link.triggers.clear()

    def set_mode(self, mode, arg=None, direction=None, *, new=True):
        """Set a mode on every live connection (and, with ``new``, on the
        connections accepted from now on)."""
        if new and mode not in ("rst",) + _ONE_SHOT:
            for d in ([direction] if direction else DIRECTIONS):
                self.default_modes[d] = (mode, arg)
            if mode == "freeze":
                self.default_modes = {d: ("freeze", None)
                                      for d in DIRECTIONS}
        for link in list(self._links):
            link.set_mode(mode, arg, direction)

    def freeze(self):
        self.set_mode("freeze")

    def thaw(self):
        self.set_mode("pass")

    def reset_all(self):
        self.set_mode("rst", new=False)

    async def close(self):
        if self.server is not None:
            self.server.close()
        for link in list(self._links):
            link.reset()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self.server is not None:
            await asyncio.wait_for(self.server.wait_closed(), 5)
            self.server = None


class ThreadedFaultProxy:
    """A FaultProxy on its own event loop in a background thread, for
    blocking clients: ``with ThreadedFaultProxy((host, port)) as px:
    pgwire.sync.connect(port=px.port, ...)``.  Each method runs in the
    proxy's thread and returns when it is done there (at most ``bound``
    seconds); ``wait_fired(trigger, timeout)`` waits for a trigger."""

    def __init__(self, upstream, *, bound=10.0):
        self._bound = bound
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        name="faultproxy", daemon=True)
        self._thread.start()
        try:
            self.proxy = self.call(FaultProxy, upstream)
            self._run(self.proxy.start())
        except BaseException:
            self._stop_loop()
            raise
        self.port = self.proxy.port

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            self._bound)

    def call(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in the proxy's thread; its result."""
        async def run():
            return fn(*args, **kwargs)
        return self._run(run())

    def add_trigger(self, *args, **kwargs):
        return self.call(self.proxy.add_trigger, *args, **kwargs)

    def clear_triggers(self):
        self.call(self.proxy.clear_triggers)

    def set_mode(self, *args, **kwargs):
        self.call(self.proxy.set_mode, *args, **kwargs)

    def freeze(self):
        self.call(self.proxy.freeze)

    def thaw(self):
        self.call(self.proxy.thaw)

    def reset_all(self):
        self.call(self.proxy.reset_all)

    def wait_fired(self, trigger, timeout=5.0):
        """Wait until ``trigger`` fired (asyncio.TimeoutError past
        ``timeout``)."""
        async def wait():
            await asyncio.wait_for(trigger.fired.wait(), timeout)
        self._run(wait())

    def is_fired(self, trigger):
        return self.call(trigger.fired.is_set)

    @property
    def links(self):
        return self.call(lambda: self.proxy.links)

    @property
    def accepted(self):
        return self.call(lambda: self.proxy.accepted)

    @property
    def fired(self):
        return self.call(lambda: list(self.proxy.fired))

    def _stop_loop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(self._bound)
        if not self._thread.is_alive():
            self.loop.close()

    def close(self):
        try:
            self._run(self.proxy.close())
        finally:
            self._stop_loop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
