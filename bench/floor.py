"""The no-decode floor: the least a Python asyncio client can do per query.

BENCH.md Method 5 asks for "a minimal client that reads into a reused buffer
and only waits for ReadyForQuery" as a ceiling next to every figure.  This is
it, and it is deliberately *not* a driver:

  * it speaks the protocol itself over ``asyncio.BufferedProtocol``, reading
    into one reused ``bytearray`` (no bytes object per read);
  * it authenticates only with ``trust`` (the harness's superuser over the
    unix socket): StartupMessage, then wait for ReadyForQuery;
  * it prepares each statement once (Parse/Describe/Sync, named statement);
  * per query it writes one pre-encoded Bind/Execute/Sync buffer (parameters
    in text format, all results in binary format, like asyncpg/pgwire) and
    returns a future that ReadyForQuery ('Z') resolves with the number of
    DataRows ('D') of the response;
  * it decodes nothing.  The startup, each prepare and the first call after
    it are framed message by message (type byte + length) and their
    DataRows counted, and that count must equal CommandComplete's
    "SELECT n".  Every later call only looks at the last bytes of each read
    for CommandComplete + ReadyForQuery and takes n from the tag: O(1) work
    per read, nothing per row.  (Framing every DataRow in Python costs about
    0.25 µs a row -- 150 µs for W2's 615 rows, as much as pgwire's whole
    client CPU there -- and would make the floor no floor.)

Everything a real driver adds on top (decoding, Record objects, statement
cache lookups, argument encoding, error mapping) is what "% of floor"
measures.  Used by drivers.py as the driver named ``floor``.
"""
from __future__ import annotations

import asyncio
import collections
import os
import struct
import urllib.parse

_U32 = struct.Struct('!I').unpack_from
_I32 = struct.Struct('!i').unpack_from

_BUF_SIZE = 256 * 1024
_MIN_FREE = 64 * 1024
_TAIL = b'\0Z\0\0\0\x05'   # a tag's NUL, then ReadyForQuery's type and length
_KEEP = 64                    # > CommandComplete + ReadyForQuery


class FloorError(Exception):
    """An ErrorResponse, an unsupported auth request or a lost connection."""


def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack('!I', len(body) + 4) + body


def _cstr(s: str) -> bytes:
    return s.encode() + b'\0'


def encode_text_param(v) -> bytes | None:
    """A parameter in PostgreSQL's text format (the server infers types)."""
    if v is None:
        return None
    if v is True:
        return b't'
    if v is False:
        return b'f'
    if isinstance(v, (bytes, bytearray)):
        return b'\\x' + bytes(v).hex().encode()
    return str(v).encode()


def parse_dsn(dsn: str) -> dict:
    """host (socket directory or TCP host), port, user, database from a
    postgresql:// URI such as the harness's TempCluster DSN."""
    u = urllib.parse.urlsplit(dsn)
    if u.scheme not in ('postgres', 'postgresql'):
        raise FloorError(f'floor: only postgresql:// URIs, not {dsn!r}')
    q = dict(urllib.parse.parse_qsl(u.query))
    netloc = u.netloc.rsplit('@', 1)
    userinfo, hostport = (netloc if len(netloc) == 2 else ('', netloc[0]))
    user = urllib.parse.unquote(userinfo.split(':', 1)[0]) if userinfo else ''
    host, port = hostport, ''
    if hostport.startswith('['):
        host, _, rest = hostport[1:].partition(']')
        port = rest.lstrip(':')
    elif ':' in hostport:
        host, port = hostport.rsplit(':', 1)
    host = urllib.parse.unquote(host) or q.get('host') or '/var/run/postgresql'
    port = int(port or q.get('port') or 5432)
    user = user or q.get('user') or os.environ.get('PGUSER') or 'postgres'
    db = (urllib.parse.unquote(u.path.lstrip('/')) or q.get('dbname')
          or q.get('database') or user)
    return {'host': host, 'port': port, 'user': user, 'database': db}


class FloorProtocol(asyncio.BufferedProtocol):
    """Reads into one reused buffer; resolves one waiter per ReadyForQuery.

    Two ways to find the end of a response:

    * exact (startup, each prepare, and the first call after it): every
      message is framed (type byte + length) and DataRows are counted; at
      ReadyForQuery the count must equal CommandComplete's "SELECT n", which
      proves the cheap way below right for this statement;
    * tail (every other call; one call in flight per connection): after each
      read, look only at the last bytes: a response is complete when the
      stream ends with CommandComplete + ReadyForQuery, and the call's result
      is the n of that "SELECT n" -- the DataRows the server sent and we
      received, since the tail can only arrive after them.  All other bytes
      are dropped unseen: O(1) work per read, nothing per row.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport = None
        self.buf = bytearray(_BUF_SIZE)
        self.view = memoryview(self.buf)
        self.start = 0            # first unparsed byte
        self.end = 0              # first free byte
        self.exact_left = 1       # responses still to frame exactly (startup)
        self.skip = 0             # exact: bytes of a DataRow still to skip
        self.rows = 0             # exact: DataRows since the last 'Z'
        self.tag_rows: int | None = None   # exact: n of the last "SELECT n"
        self.error: str | None = None      # exact: ErrorResponse before 'Z'
        self.earlier_errors: list[str] = []  # failed prepares nobody awaited
        self.backend_pid: int | None = None  # from BackendKeyData
        self.waiters: collections.deque = collections.deque()
        self.lost: BaseException | None = None

    # -- asyncio.BufferedProtocol ------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.start == self.end:
            self.start = self.end = 0
        elif len(self.buf) - self.end < _MIN_FREE:
            n = self.end - self.start
            if n > len(self.buf) // 2:       # a big message, exact mode
                buf = bytearray(2 * len(self.buf))
                buf[:n] = self.buf[self.start:self.end]
                self.buf, self.view = buf, memoryview(buf)
            else:
                self.buf[:n] = self.buf[self.start:self.end]  # same size: no resize
            self.start, self.end = 0, n
        return self.view[self.end:]

    def buffer_updated(self, nbytes: int) -> None:
        end = self.end = self.end + nbytes
        if self.exact_left:
            self._frame(end)
            return
        buf = self.buf
        if not buf.endswith(_TAIL, self.start, end - 1):
            # not complete yet: keep only what a straddling tail may need
            if end - self.start > _KEEP:
                self.start = end - _KEEP
            return
        # ... 'C' len tag '\0'  'Z' 00 00 00 05 status
        c = buf.rfind(b'C\0\0\0', max(self.start, end - _KEEP), end - 7)
        if c < 0 or c + 1 + _U32(buf, c + 1)[0] != end - 6:
            self.start = end
            return self._resolve(None, 'response did not end in CommandComplete '
                                 f'+ ReadyForQuery: {bytes(buf[max(0, end - 48):end])!r}')
        self.start = end
        tag = buf[c + 5:end - 7]
        n = tag[tag.rfind(b' ') + 1:]
        self._resolve(int(n) if n.isdigit() else 0, None)

    def _frame(self, end: int) -> None:
        pos = self.start
        if self.skip:
            take = min(self.skip, end - pos)
            self.skip -= take
            pos += take
            if self.skip:
                self.start = pos
                return
        buf = self.buf
        u32 = _U32
        while end - pos >= 5:
            kind = buf[pos]
            nxt = pos + 1 + u32(buf, pos + 1)[0]
            if kind == 68:                                   # 'D' DataRow
                self.rows += 1
                if nxt > end:                                # body not all here
                    self.skip = nxt - end
                    pos = end
                    break
                pos = nxt
                continue
            if nxt > end:                                    # wait for the rest
                break
            if kind == 90:                                   # 'Z' ReadyForQuery
                rows, tag, err = self.rows, self.tag_rows, self.error
                self.rows, self.tag_rows, self.error = 0, None, None
                if err is None and tag is not None and tag != rows:
                    err = (f'{rows} DataRows but CommandComplete says {tag}')
                self.exact_left -= 1
                self._resolve(rows, err)
                if not self.exact_left:
                    pos = nxt
                    break
            elif kind == 67:                                 # 'C' CommandComplete
                n = bytes(buf[pos + 5:nxt - 1]).rsplit(b' ', 1)[-1]
                self.tag_rows = int(n) if n.isdigit() else None
            elif kind == 69:                                 # 'E' ErrorResponse
                self.error = _error_text(bytes(buf[pos + 5:nxt]))
            elif kind == 75:                                 # 'K' BackendKeyData
                self.backend_pid = _I32(buf, pos + 5)[0]
            elif kind == 82:                                 # 'R' Authentication
                code = _I32(buf, pos + 5)[0]
                if code != 0:
                    self._fail(FloorError(
                        f'floor speaks trust auth only; server asked for '
                        f'authentication method {code}'))
                    self.transport.close()
                    return
            # everything else ('1', '2', 't', 'T', 'n', 'S', 'N', 'A', ...)
            # is framed and ignored
            pos = nxt
        self.start = pos
        if not self.exact_left and pos < end:
            self.buffer_updated(0)      # the next response began in this read

    def connection_lost(self, exc) -> None:
        self.lost = exc or FloorError('connection closed')
        self._fail(self.lost)

    # -- waiters -----------------------------------------------------------
    def _resolve(self, rows: int | None, err: str | None) -> None:
        if not self.waiters:
            return
        fut = self.waiters.popleft()
        if fut.done():
            return
        if err is not None:
            if self.earlier_errors:
                err += ' (after: ' + '; '.join(self.earlier_errors) + ')'
            fut.set_exception(FloorError(err))
        else:
            fut.set_result(rows)

    def _fail(self, exc: BaseException) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_exception(exc)

    def send(self, data: bytes) -> asyncio.Future:
        """Write a message batch ending in Sync; the future gets the number
        of DataRows before its ReadyForQuery.  In tail mode only one call may
        be in flight (the benchmark's pattern)."""
        if self.waiters and not self.exact_left:
            raise FloorError('floor: one call in flight per connection')
        if self.lost is not None:
            raise FloorError(f'connection lost: {self.lost}')
        self.transport.write(data)
        fut = self.loop.create_future()
        self.waiters.append(fut)
        return fut


def _error_text(body: bytes) -> str:
    fields = {}
    for part in body.split(b'\0'):
        if part:
            fields[chr(part[0])] = part[1:].decode('utf-8', 'replace')
    return (f"{fields.get('S', 'ERROR')} {fields.get('C', '?')}: "
            f"{fields.get('M', '?')}")


class FloorConnection:
    """One connection of the floor client."""

    def __init__(self, proto: FloorProtocol) -> None:
        self.proto = proto
        self._n = 0

    @classmethod
    async def connect(cls, dsn: str) -> 'FloorConnection':
        p = parse_dsn(dsn)
        loop = asyncio.get_running_loop()
        proto = FloorProtocol(loop)
        if p['host'].startswith('/'):
            path = os.path.join(p['host'], f".s.PGSQL.{p['port']}")
            await loop.create_unix_connection(lambda: proto, path)
        else:
            await loop.create_connection(lambda: proto, p['host'], p['port'])
        body = (struct.pack('!I', 196608) + _cstr('user') + _cstr(p['user'])
                + _cstr('database') + _cstr(p['database']) + b'\0')
        startup = struct.pack('!I', len(body) + 4) + body
        await proto.send(startup)           # resolves at the first 'Z'
        return cls(proto)

    def prepare(self, query: str, args: tuple = ()) -> tuple[bytes, asyncio.Future]:
        """Send Parse/Describe/Sync for a named statement now; return the
        pre-encoded Bind/Execute/Sync for it and the prepare's future."""
        self._n += 1
        name = f'floor_{self._n}'
        self.proto.exact_left += 2      # this prepare and the first call
        fut = self.proto.send(
            _msg(b'P', _cstr(name) + _cstr(query) + struct.pack('!H', 0))
            + _msg(b'D', b'S' + _cstr(name))
            + _msg(b'S', b''))
        fut.add_done_callback(self._prepared)
        params = b''.join(
            struct.pack('!i', -1) if e is None
            else struct.pack('!I', len(e)) + e
            for e in map(encode_text_param, args))
        bind = _msg(b'B', b'\0' + _cstr(name)
                    + struct.pack('!H', 0)                  # all params text
                    + struct.pack('!H', len(args)) + params
                    + struct.pack('!HH', 1, 1))             # all results binary
        execute = _msg(b'E', b'\0' + struct.pack('!I', 0))
        return bind + execute + _msg(b'S', b''), fut

    def _prepared(self, fut: asyncio.Future) -> None:
        # Nobody awaits a prepare: keep its error for the calls that follow
        # (they fail with "prepared statement ... does not exist").
        if not fut.cancelled() and fut.exception() is not None:
            self.proto.earlier_errors.append(f'prepare: {fut.exception()}')

    async def simple(self, sql: str) -> int:
        """A simple Query; returns its DataRow count (harness use only)."""
        return await self.proto.send(_msg(b'Q', _cstr(sql)))

    async def close(self) -> None:
        t = self.proto.transport
        if t is not None and not t.is_closing():
            t.write(_msg(b'X', b''))
            t.close()
