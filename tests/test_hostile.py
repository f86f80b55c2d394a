"""A scripted hostile server: malformed replies a real server never sends.

Each case must end in a specific error within a bound, never a crash or a
hang; framing errors close the connection, content errors inside a
well-framed message fail only the query.
"""

import asyncio
import struct

import pytest

import pgwire
from pgwire import exceptions as exc


def msg(t, body=b""):
    return t + struct.pack("!i", len(body) + 4) + body


AUTH_OK = msg(b"R", struct.pack("!i", 0))
KEY = msg(b"K", struct.pack("!ii", 1234, 5678))
READY = msg(b"Z", b"I")
PARAM = msg(b"S", b"server_version\x0015.0\x00")
PARSE_OK = msg(b"1")
NO_PARAMS = msg(b"t", struct.pack("!h", 0))


def row_desc(*cols):
    body = struct.pack("!h", len(cols))
    for name, oid in cols:
        body += name.encode() + b"\x00" + struct.pack("!ihihih", 0, 0, oid,
                                                      4, -1, 1)
    return msg(b"T", body)


def data_row(*vals):
    body = struct.pack("!h", len(vals))
    for v in vals:
        body += struct.pack("!i", -1) if v is None else \
            struct.pack("!i", len(v)) + v
    return msg(b"D", body)


class FakeServer:
    """Answers the startup, then replies to each client Sync with the next
    scripted chunk of bytes (or closes when the script says so)."""

    def __init__(self, script):
        self.script = list(script)
        self.server = None

    async def handle(self, reader, writer):
        try:
            n = struct.unpack("!i", await reader.readexactly(4))[0]
            await reader.readexactly(n - 4)
            writer.write(AUTH_OK + PARAM + KEY + READY)
            await writer.drain()
            while self.script:
                t = await reader.readexactly(1)
                n = struct.unpack("!i", await reader.readexactly(4))[0]
                await reader.readexactly(n - 4)
                if t not in (b"S", b"Q"):
                    continue
                step = self.script.pop(0)
                if step is None:
                    return  # close the connection mid-query
                writer.write(step)
                await writer.drain()
            # keep the socket open until the client goes away
            await reader.read()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *a):
        self.server.close()
        await self.server.wait_closed()


async def run(script, query="SELECT 1", *args):
    async with FakeServer(script) as port:
        conn = await pgwire.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5)
        try:
            return conn, await asyncio.wait_for(conn.fetch(query, *args), 5)
        except BaseException as e:
            return conn, e


PREPARE_INT = PARSE_OK + NO_PARAMS + row_desc(("a", 23)) + READY


@pytest.mark.parametrize("name,script,err,closed", [
    ("length below 4",
     [PREPARE_INT, b"D\x00\x00\x00\x02"], exc.ProtocolError, True),
    ("oversized small message",
     [PREPARE_INT, b"Z" + struct.pack("!i", 40000) + b"I" * 10],
     exc.ProtocolError, True),
    ("unknown message type",
     [PREPARE_INT, msg(b"!", b"xx") + READY], exc.ProtocolError, True),
    ("column count mismatch",
     [PREPARE_INT, msg(b"2") + data_row(b"\0\0\0\1", b"\0\0\0\2") +
      msg(b"C", b"SELECT 1\x00") + READY], exc.ProtocolError, False),
    ("field overruns the message",
     [PREPARE_INT, msg(b"2") + msg(b"D", struct.pack("!hi", 1, 100) + b"ab")
      + msg(b"C", b"SELECT 1\x00") + READY], exc.ProtocolError, False),
    ("negative field length",
     [PREPARE_INT, msg(b"2") + msg(b"D", struct.pack("!hi", 1, -5)) +
      msg(b"C", b"SELECT 1\x00") + READY], exc.ProtocolError, False),
    ("bad int4 width",
     [PREPARE_INT, msg(b"2") + data_row(b"\0\0\1") +
      msg(b"C", b"SELECT 1\x00") + READY], ValueError, False),
    ("bad ReadyForQuery status",
     [PREPARE_INT, msg(b"2") + msg(b"C", b"SELECT 0\x00") + msg(b"Z", b"?")],
     exc.ProtocolError, True),
    ("truncated RowDescription",
     [PARSE_OK + NO_PARAMS + msg(b"T", struct.pack("!h", 3) + b"a\x00") +
      READY], exc.ProtocolError, False),
    ("server closes mid-query", [None], exc.ConnectionDoesNotExistError,
     True),
    ("invalid UTF-8 in error message",
     [msg(b"E", b"SERROR\x00C42601\x00M\xff\xfe bad\x00\x00") + READY],
     exc.PostgresSyntaxError, False),
])
async def test_hostile_server(name, script, err, closed):
    conn, res = await run(script)
    try:
        assert isinstance(res, err), (name, res)
        assert conn.is_closed() is closed, name
    finally:
        conn.terminate()


async def test_bad_array_dimensions():
    # int4[] with ndim=1 but a dimension of 2**30 elements in 20 bytes
    arr = struct.pack("!iiiii", 1, 0, 23, 2**30, 1) + struct.pack("!ii", 4, 7)
    script = [PARSE_OK + NO_PARAMS + row_desc(("a", 1007)) + READY,
              msg(b"2") + data_row(arr) + msg(b"C", b"SELECT 1\x00") + READY]
    conn, res = await run(script)
    try:
        assert isinstance(res, ValueError), res
        assert not conn.is_closed()
    finally:
        conn.terminate()
