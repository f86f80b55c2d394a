"""A scripted hostile server: malformed replies a real server never sends.

Each case must end in a specific error within a bound, never a crash or a
hang; framing errors close the connection, content errors inside a
well-framed message fail only the query.
"""

import asyncio
import base64
import gc
import json
import struct

import pytest

import pgwire
from pgwire import exceptions as exc

from test_faults import REPORT, _fd_count, fault_rows  # noqa: F401


@pytest.fixture(scope="module", autouse=True)
def hostile_report(request, fault_rows):  # noqa: F811
    """Fault scenario 10 (tests/README.md): one fault-report line for the whole
    module -- every case is a malformed server injected, survived when its
    test passed (the specific error, in its bound, connection closed or
    not as it should be), plus file descriptors left open."""
    state = {}
    yield state
    gc.collect()
    items = [i for i in request.session.items
             if i.module is request.module]
    passed = sum(1 for i in items
                 if getattr(i, "rep_call", None) is not None
                 and i.rep_call.passed)
    ran = sum(1 for i in items if getattr(i, "rep_call", None) is not None)
    row = {"scenario": "10 hostile server", "injected": ran,
           "survived": passed, "hangs": 0, "max_detect_ms": None,
           "leaked_fds": max(0, _fd_count() - state.get("fds0", 0)),
           "leaked_backends": 0, "leaked_tasks": 0}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "a") as f:
        f.write(json.dumps(row) + "\n")
    fault_rows.append(row)
    assert ran > 0 and passed == ran and row["leaked_fds"] == 0, row


@pytest.fixture(autouse=True)
def _fd_baseline(hostile_report):
    """The module's fd baseline, taken after its first case (so the event
    loop's own descriptors are in it)."""
    yield
    if "fds0" not in hostile_report:
        gc.collect()
        hostile_report["fds0"] = _fd_count()


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


class _Loopback:
    """A listener on 127.0.0.1 that runs ``self.handle`` per connection;
    ``async with`` gives its port."""

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *a):
        # No wait_closed(): since 3.12 it waits for every accepted
        # connection to end, and the cases whose client connection must
        # survive close it only after this exit (3.11 returned at once).
        self.server.close()


class FakeServer(_Loopback):
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
                if isinstance(step, tuple):     # (bytes, "close")
                    writer.write(step[0])
                    await writer.drain()
                    return
                writer.write(step)
                await writer.drain()
            # keep the socket open until the client goes away
            await reader.read()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()



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
    # int4 result columns are asked for in text format
    ("int4 that is not decimal text",
     [PREPARE_INT, msg(b"2") + data_row(b"\0\0\1") +
      msg(b"C", b"SELECT 1\x00") + READY], ValueError, False),
    ("int4 text out of range",
     [PREPARE_INT, msg(b"2") + data_row(b"2147483648") +
      msg(b"C", b"SELECT 1\x00") + READY], ValueError, False),
    ("int4 text with a sign only",
     [PREPARE_INT, msg(b"2") + data_row(b"-") +
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
    # regression: a field code of 0x80 or above raised UnicodeDecodeError
    # (found by reading the binding beside the fuzz_errors target)
    ("non-ASCII field code in an error",
     [msg(b"E", b"SERROR\x00C42601\x00Mboom\x00\xffx\x00\x00") + READY],
     exc.PostgresSyntaxError, False),
])
async def test_hostile_server(name, script, err, closed):
    conn, res = await run(script)
    try:
        assert isinstance(res, err), (name, res)
        assert conn.is_closed() is closed, name
    finally:
        conn.terminate()


async def test_notice_with_non_ascii_field_code():
    """Regression: a NoticeResponse with a field code of 0x80 or above
    raised UnicodeDecodeError and closed the connection; the unknown
    field is now ignored and the query's result arrives."""
    notices = []
    script = [PREPARE_INT, msg(b"2") +
              msg(b"N", b"SNOTICE\x00C00000\x00Mhello\x00\x80y\x00\x00") +
              data_row(b"7") + msg(b"C", b"SELECT 1\x00") +
              READY]
    async with FakeServer(script) as port:
        conn = await pgwire.connect(host="127.0.0.1", port=port, user="u",
                                    database="d", ssl="disable", timeout=5)
        try:
            conn.add_log_listener(lambda c, m: notices.append(m))
            rows = await asyncio.wait_for(conn.fetch("SELECT 1"), 5)
            assert [tuple(r) for r in rows] == [(7,)]
            assert not conn.is_closed()
        finally:
            conn.terminate()
    assert [n.message for n in notices] == ["hello"]


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


# -- more framing and content cases (tests/README.md, scenario 10) --------

def int4_array(ndim, dims, elems=b"", flags=0):
    body = struct.pack("!iii", ndim, flags, 23)
    for d in dims:
        body += struct.pack("!ii", d, 1)
    return body + elems


def array_script(arr):
    return [PARSE_OK + NO_PARAMS + row_desc(("a", 1007)) + READY,
            msg(b"2") + data_row(arr) + msg(b"C", b"SELECT 1\x00") + READY]


def with_rows(*frames):
    return [PREPARE_INT, msg(b"2") + b"".join(frames) +
            msg(b"C", b"SELECT 1\x00") + READY]


MORE_QUERY_CASES = [
    ("length 0", [PREPARE_INT, b"D\x00\x00\x00\x00"], exc.ProtocolError,
     True),
    ("negative message length",
     [PREPARE_INT, b"D\xff\xff\xff\xfe" + b"x" * 8], exc.ProtocolError, True),
    ("length 0x7fffffff",
     [PREPARE_INT, b"D\x7f\xff\xff\xff" + b"x" * 64], exc.ProtocolError,
     True),
    ("DataRow with too few columns",
     with_rows(msg(b"D", struct.pack("!h", 0))), exc.ProtocolError, False),
    ("DataRow with a negative column count",
     with_rows(msg(b"D", struct.pack("!h", -1))), exc.ProtocolError, False),
    ("field length -2",
     with_rows(msg(b"D", struct.pack("!hi", 1, -2))), exc.ProtocolError,
     False),
    ("field length INT32_MIN",
     with_rows(msg(b"D", struct.pack("!hi", 1, -2**31))),
     exc.ProtocolError, False),
    ("bytes after the last field",
     with_rows(msg(b"D", struct.pack("!hi", 1, 4) + b"\0\0\0\1junk")),
     exc.ProtocolError, False),
    ("RowDescription with a huge column count",
     [PARSE_OK + NO_PARAMS + msg(b"T", struct.pack("!h", 32767) + b"a\x00")
      + READY], exc.ProtocolError, False),
    ("CopyBothResponse to a query",
     [PREPARE_INT, msg(b"2") + msg(b"W", struct.pack("!bh", 0, 0)) + READY],
     exc.ProtocolError, True),
    ("ParameterStatus without NUL",
     [PREPARE_INT, msg(b"2") + msg(b"S", b"TimeZone") +
      msg(b"C", b"SELECT 0\x00") + READY], exc.ProtocolError, True),
    ("CommandComplete without NUL",
     [PREPARE_INT, msg(b"2") + msg(b"C", b"SELECT 0") + READY],
     exc.ProtocolError, True),
    # issue 12 item 3: a client_encoding pgwire has no codec for closes
    # the connection (nothing may be sent or read in a guessed encoding)
    ("client_encoding without a Python codec",
     [PREPARE_INT, msg(b"2") + msg(b"S", b"client_encoding\x00MULE_INTERNAL"
                                   b"\x00") +
      msg(b"C", b"SELECT 0\x00") + READY], exc.InterfaceError, True),
    ("client_encoding that is not an encoding",
     [PREPARE_INT, msg(b"2") + msg(b"S", b"client_encoding\x00\xff\xfe" +
                                   b"x" * 2000 + b"\x00") +
      msg(b"C", b"SELECT 0\x00") + READY], exc.InterfaceError, True),
    # issue 12 item 8: every message type is framed against its own
    # protocol maximum (src/core/pgc_frame.c): at the max it is read, one
    # byte above it the connection has lost synchronization
    ("ParameterDescription of 65535 parameters (its maximum)",
     [PARSE_OK + msg(b"t", struct.pack("!H", 65535) +
                     struct.pack("!I", 23) * 65535) +
      row_desc(("a", 23)) + READY], exc.InterfaceError, False),
    ("ParameterDescription above 65535 parameters",
     [PARSE_OK + msg(b"t", struct.pack("!H", 0) +
                     struct.pack("!I", 23) * 65536) +
      row_desc(("a", 23)) + READY], exc.ProtocolError, True),
    ("CommandComplete above 64 bytes of tag",
     [PREPARE_INT, msg(b"2") + msg(b"C", b"SELECT " + b"1" * 58 + b"\x00") +
      READY], exc.ProtocolError, True),
    ("ReadyForQuery of 6 bytes",
     [PREPARE_INT, msg(b"2") + msg(b"C", b"SELECT 0\x00") + msg(b"Z", b"II")],
     exc.ProtocolError, True),
    ("ParseComplete with a body",
     [msg(b"1", b"x") + NO_PARAMS + row_desc(("a", 23)) + READY],
     exc.ProtocolError, True),
    ("array with ndim 1000",
     array_script(int4_array(1000, [1] * 1000)), ValueError, False),
    ("array with ndim -1", array_script(int4_array(-1, [])), ValueError,
     False),
    ("array with a negative dimension",
     array_script(int4_array(1, [-1])), ValueError, False),
    ("array dimensions overflow",
     array_script(int4_array(2, [65536, 65536]) +
                  struct.pack("!ii", 4, 7)), ValueError, False),
]


@pytest.mark.parametrize("name,script,err,closed", MORE_QUERY_CASES,
                         ids=[c[0] for c in MORE_QUERY_CASES])
async def test_hostile_server_more(name, script, err, closed):
    conn, res = await run(script)
    try:
        assert isinstance(res, err), (name, res)
        assert conn.is_closed() is closed, name
    finally:
        conn.terminate()


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def test_declared_1gib_message_is_not_preallocated():
    """A DataRow may legitimately be huge, so a declared 1 GiB is waited
    for; but 64 bytes claiming 1 GiB must not make the reader allocate it,
    and the server going away ends the wait at once."""
    before = _rss()
    conn, res = await run([PREPARE_INT,
                           (b"D\x40\x00\x00\x00" + b"x" * 64, "close")])
    try:
        assert isinstance(res, exc.ConnectionDoesNotExistError), res
        assert conn.is_closed()
        assert _rss() - before < 256 * 2**20
    finally:
        conn.terminate()


# -- the startup phase: SSL answer, authentication, startup messages ------

def _b64(raw):
    return base64.b64encode(raw)


async def read_packet(reader):
    n = struct.unpack("!i", await reader.readexactly(4))[0]
    return await reader.readexactly(n - 4)


async def read_msg(reader):
    t = await reader.readexactly(1)
    return t, await read_packet(reader)


def sasl_continue(client_nonce, nonce=None, salt=b"saltsalt", i=b"4096"):
    if nonce is None:
        nonce = client_nonce + b"srv"
    return msg(b"R", struct.pack("!i", 11) + b"r=" + nonce + b",s=" +
               _b64(salt) + b",i=" + i)


def client_nonce_of(first):
    """The client nonce from a SASLInitialResponse body."""
    mech, _, rest = first.partition(b"\x00")
    data = rest[4:]
    return data.split(b"r=", 1)[1].split(b",")[0]


class StartupServer(_Loopback):
    """Runs ``script(reader, writer)`` for each connection; the script
    plays the server's side of the startup and authentication."""

    def __init__(self, script):
        self.script = script
        self.client_gone = asyncio.Event()

    async def handle(self, reader, writer):
        try:
            await self.script(reader, writer)
            await writer.drain()
            while await asyncio.wait_for(reader.read(4096), 10):
                pass
            self.client_gone.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.client_gone.set()
        except asyncio.TimeoutError:
            pass
        finally:
            writer.close()



def plain(reply):
    """Read the StartupMessage, send ``reply``."""
    async def script(reader, writer):
        await read_packet(reader)
        writer.write(reply)
    return script


def ssl_answer(answer):
    async def script(reader, writer):
        await read_packet(reader)           # SSLRequest
        writer.write(answer)
    return script


def scram(step):
    """SCRAM exchange; ``step(client_nonce)`` gives the reply to the
    SASLInitialResponse, ``final`` the reply to the client's final."""
    async def script(reader, writer):
        await read_packet(reader)
        writer.write(msg(b"R", struct.pack("!i", 10) +
                         b"SCRAM-SHA-256\x00\x00"))
        await writer.drain()
        _, first = await read_msg(reader)
        reply, final = step(client_nonce_of(first))
        writer.write(reply)
        await writer.drain()
        if final is not None:
            await read_msg(reader)
            writer.write(final)
    return script


def scram_first(**kw):
    return scram(lambda cn: (sasl_continue(cn, **kw), None))


def scram_final(final):
    return scram(lambda cn: (sasl_continue(cn), final))


STARTUP = AUTH_OK + PARAM + KEY

STARTUP_CASES = [
    ("unknown message type during startup",
     plain(AUTH_OK + msg(b"x", b"??") + READY), "disable",
     exc.ProtocolError),
    ("invalid UTF-8 in a startup ErrorResponse",
     plain(msg(b"E", b"SFATAL\x00C28000\x00M\xff\xfe\xfd\x00\x00")),
     "disable", exc.InvalidAuthorizationSpecificationError),
    ("ParameterStatus without NUL",
     plain(AUTH_OK + msg(b"S", b"server_version") + KEY + READY), "disable",
     exc.ProtocolError),
    ("unknown client_encoding at startup",
     plain(AUTH_OK + msg(b"S", b"client_encoding\x00KLINGON\x00") + KEY +
           READY), "disable", exc.InterfaceError),
    ("BackendKeyData too short",
     plain(AUTH_OK + PARAM + msg(b"K", b"\0\0\0\1\0\0") + READY),
     "disable", exc.ProtocolError),
    ("BackendKeyData too long",
     plain(AUTH_OK + PARAM + msg(b"K", b"\0" * 20) + READY), "disable",
     exc.ProtocolError),
    # above the 4 + 256 bytes protocol 3.2 allows: framing refuses it
    ("BackendKeyData above its frame cap",
     plain(AUTH_OK + PARAM + msg(b"K", b"\0" * 300) + READY), "disable",
     exc.ProtocolError),
    ("ReadyForQuery with an unknown status",
     plain(STARTUP + msg(b"Z", b"X")), "disable", exc.ProtocolError),
    ("unknown authentication request",
     plain(msg(b"R", struct.pack("!i", 99))), "disable", exc.InterfaceError),
    ("startup message length below 4",
     plain(b"R\x00\x00\x00\x01"), "disable", exc.ProtocolError),
    # a bad answer to SSLRequest: SSLNegotiationError, an InterfaceError
    # and a ConnectionError (asyncpg raises ConnectionError)
    ("extra bytes after the SSL answer S",
     ssl_answer(b"S" + AUTH_OK + READY), "require", exc.InterfaceError),
    ("E in answer to SSLRequest",
     ssl_answer(b"E" + b"\0\0\0\x10SFATAL\0M hi\0\0"), "require",
     exc.InterfaceError),
    ("invalid SSL answer byte", ssl_answer(b"Q"), "require",
     exc.InterfaceError),
    ("SCRAM nonce not from the client",
     scram_first(nonce=b"someoneelses"), "disable", exc.InterfaceError),
    ("SCRAM iterations 0", scram_first(i=b"0"), "disable",
     exc.InterfaceError),
    ("SCRAM iterations 10**9", scram_first(i=b"1000000000"), "disable",
     exc.InterfaceError),
    ("SCRAM iterations abc", scram_first(i=b"abc"), "disable",
     exc.InterfaceError),
    ("SCRAM wrong server signature",
     scram_final(msg(b"R", struct.pack("!i", 12) + b"v=" +
                     _b64(b"\x01" * 32)) + STARTUP + READY), "disable",
     exc.InterfaceError),
    ("AuthenticationOk before SASLFinal",
     scram_final(STARTUP + READY), "disable", exc.InterfaceError),
]


# what each case's error message must say
STARTUP_MATCH = {
    "unknown message type during startup": "unexpected message type",
    "invalid UTF-8 in a startup ErrorResponse": "\ufffd",
    "ParameterStatus without NUL": "malformed ParameterStatus",
    "unknown client_encoding at startup": 'client_encoding to "KLINGON"',
    "BackendKeyData too short": "malformed BackendKeyData",
    "BackendKeyData too long": "malformed BackendKeyData",
    "BackendKeyData above its frame cap": "lost synchronization",
    "ReadyForQuery with an unknown status": "malformed ReadyForQuery",
    "unknown authentication request": "unsupported authentication method",
    "startup message length below 4": "lost synchronization",
    "extra bytes after the SSL answer S": "unencrypted data after SSL",
    "E in answer to SSLRequest": "error response during SSL exchange",
    "invalid SSL answer byte": "invalid response to SSL negotiation",
    "SCRAM nonce not from the client": "SCRAM: server nonce",
    "SCRAM iterations 0": "SCRAM: iteration count 0",
    "SCRAM iterations 10**9": "SCRAM: iteration count .* exceeds",
    "SCRAM iterations abc": "SCRAM: iteration count is not",
    "SCRAM wrong server signature": "SCRAM: server signature mismatch",
    "AuthenticationOk before SASLFinal": "SCRAM: .*AuthenticationOk before",
}


@pytest.mark.parametrize("name,script,sslmode,err", STARTUP_CASES,
                         ids=[c[0] for c in STARTUP_CASES])
async def test_hostile_startup(name, script, sslmode, err):
    """A specific error, fast, and the client closes its socket."""
    loop = asyncio.get_running_loop()
    server = StartupServer(script)
    async with server as port:
        t0 = loop.time()
        with pytest.raises(err, match=STARTUP_MATCH[name]):
            conn = await asyncio.wait_for(pgwire.connect(
                host="127.0.0.1", port=port, user="u", password="pw",
                database="d", ssl=sslmode, timeout=5), 10)
            conn.terminate()
        assert loop.time() - t0 < 5, name
        await asyncio.wait_for(server.client_gone.wait(), 5)
