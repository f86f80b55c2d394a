"""Record real server traffic as fuzz seeds (``make fuzz-record``).

Starts a throwaway server (pgwire.cluster.TempCluster), runs a
representative workload through pgwire over a recording TCP relay (asyncio,
a plain tee of both directions), and writes what the server sent as seeds:

  <out>/stream/rec-*    each connection's server-to-client stream, in the
                        fuzz_stream input layout (one header byte selecting
                        the chunking, then the bytes); a second copy with
                        the SCRAM nonce rewritten to the fuzzer's client
                        nonce, so the startup machine gets past the nonce
                        check
  <out>/errors/rec-*    every distinct ErrorResponse/NoticeResponse body
                        (fuzz_errors layout: a flags byte, then the body)
  <out>/scram/rec-*     the SASLContinue/SASLFinal payloads
                        (fuzz_scram layout: server-first NUL server-final),
                        as recorded and normalised (fuzzer nonce, i=16)
  <out>/decoders/rec-*  binary column values with a builtin codec
                        (fuzz_decoders layout: 2-byte oid, then the value),
                        at most PER_OID per oid, each one checked to decode

The workload: startup with SCRAM, md5, cleartext and trust; a failed
login; simple and extended queries; many types (arrays, ranges,
multiranges, composites, json/jsonb, numeric, date/time, network,
geometric, bit strings, text search); errors and notices (RAISE with
detail/hint/errcode, division by zero, a unique violation with detail,
not-null/check/foreign-key violations, a syntax error with a position,
an error with context and an internal query); NOTIFY; COPY in and out
(text and binary); an empty query; several result sets in one query; a
cursor; a connection terminated by the server.

Run from the checkout (needs the extension built: make so)::

    python tests/fuzz/record_traffic.py --out tests/fuzz/corpus [--raw DIR]

``--raw DIR`` also writes both directions of every connection, unframed.
Existing rec-* files in the corpus directories are replaced.
"""

import argparse
import asyncio
import hashlib
import pathlib
import re
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pgwire  # noqa: E402
from pgwire import _pgwire  # noqa: E402
from pgwire.cluster import TempCluster  # noqa: E402

FUZZ_NONCE = b"rOprNGfwEbeRWgbNEkqO"   # the client nonce of the fuzzers
STREAM_MAX = 100000                    # -max_len of fuzz_stream
DEC_MAX = 4096                         # -max_len of the decoders
PER_OID = 6
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
AUTH_SASL_CONTINUE, AUTH_SASL_FINAL = 11, 12


# ---------------------------------------------------------------------------
# The relay
# ---------------------------------------------------------------------------

class Relay:
    """127.0.0.1:<port> -> upstream; records (c2s, s2c) per connection."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.conns = []       # [{"label", "c2s": bytearray, "s2c": ...}]
        self.label = "conn"
        self.server = None
        self.port = None

    async def start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, creader, cwriter):
        rec = {"label": self.label, "c2s": bytearray(), "s2c": bytearray()}
        self.conns.append(rec)
        try:
            sreader, swriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            cwriter.close()
            return

        async def pump(reader, writer, buf):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    buf += data
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - already gone
                    pass

        await asyncio.gather(pump(creader, swriter, rec["c2s"]),
                             pump(sreader, cwriter, rec["s2c"]))


# ---------------------------------------------------------------------------
# The workload
# ---------------------------------------------------------------------------

TYPES_SQL = [
    "SELECT 1::int2, -2::int4, 9223372036854775807::int8, 1.5::float4, "
    "'-Infinity'::float8, 'NaN'::float8, true, false, NULL::int4",
    "SELECT 0::numeric, -123.4500::numeric, 'NaN'::numeric, "
    "1e-30::numeric, 123456789012345678901234567890.123456789::numeric, "
    "'Infinity'::numeric, 10000::numeric, 0.0001::numeric",
    "SELECT 'héllo wörld'::text, ''::text, 'x'::varchar(3), 'ab'::char(4), "
    "'name'::name, 'a\\b\"c'::text, E'\\\\x00ff'::bytea, ''::bytea, "
    "42::oid, 'pg_class'::regclass, 'int4'::regtype, 'x'::\"char\"",
    "SELECT '2001-02-03'::date, 'infinity'::date, '-infinity'::date, "
    "'0001-01-01 BC'::date, '04:05:06.789'::time, '04:05:06+03:30'::timetz, "
    "'2001-02-03 04:05:06.000007'::timestamp, 'infinity'::timestamp, "
    "'2001-02-03 04:05:06+02'::timestamptz, '-infinity'::timestamptz, "
    "'1 year 2 mons -3 days 04:05:06.7'::interval, '-1 us'::interval",
    "SELECT '{\"a\": [1, 2.5, null, true], \"b\": {\"c\": \"d\"}}'::json, "
    "'{\"a\": [1, 2.5, null, true], \"é\": {}}'::jsonb, '[]'::jsonb, "
    "'\"s\"'::jsonb, '$.a[*] ? (@ > 1)'::jsonpath",
    "SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, "
    "'192.168.1.5/24'::inet, '::1'::inet, '10.0.0.0/8'::cidr, "
    "'2001:db8::/32'::cidr, '08:00:2b:01:02:03'::macaddr, "
    "'08:00:2b:01:02:03:04:05'::macaddr8, '16/B374D848'::pg_lsn, "
    "'12.34'::money",
    "SELECT '(1,2)'::point, '{1,2,3}'::line, '[(1,2),(3,4)]'::lseg, "
    "'(3,4),(1,2)'::box, '[(0,0),(1,1),(2,0)]'::path, "
    "'((0,0),(1,1),(2,0))'::path, '((0,0),(1,1),(1,0))'::polygon, "
    "'<(1,2),3>'::circle",
    "SELECT B'10101'::bit(5), B''::varbit, B'1111000011'::varbit, "
    "'a fat cat:2A sat'::tsvector, 'fat & (rat | !cat)'::tsquery, "
    "'10:20:10,14,15'::txid_snapshot, '10:20:10,14,15'::pg_snapshot",
    "SELECT '[1,10)'::int4range, 'empty'::int4range, '(,5]'::int8range, "
    "'[1.5,2.5]'::numrange, '[2001-01-01,)'::daterange, "
    "'[2001-01-01 00:00,2001-01-02 00:00)'::tsrange, "
    "'(,2001-01-01 00:00+00)'::tstzrange",
    "SELECT '{[1,3), [5,7)}'::int4multirange, '{}'::int4multirange, "
    "'{[2001-01-01,2001-02-01)}'::datemultirange",
    "SELECT ARRAY[1,2,NULL,4]::int4[], '{}'::int4[], "
    "'{{1,2},{3,4}}'::int8[], ARRAY['a', NULL, 'b c', '\"q\"']::text[], "
    "'[0:1]={1.5,2.5}'::float8[], ARRAY['2001-01-01'::date], "
    "ARRAY['[1,2)'::int4range, 'empty'], ARRAY[B'101']::varbit[], "
    "ARRAY['{\"a\":1}'::jsonb], ARRAY[1.25::numeric, NULL], "
    "ARRAY[ARRAY[true, false], ARRAY[NULL, true]]",
    "SELECT ROW(1, 'a', NULL, ARRAY[1,2])::record, "
    "(1, 'x')::rec_t, ARRAY[(2, 'y')::rec_t, NULL], 'sad'::mood_t, "
    "ARRAY['ok', 'happy']::mood_t[], 5::posint_d, "
    "'{\"k\":\"v\"}'::json, ROW(ROW(1, 2), 'z')",
]

SETUP_SQL = """
DROP TABLE IF EXISTS rec_child, rec_uniq, rec_copy, rec_copyb;
DROP TYPE IF EXISTS rec_t, mood_t;
DROP DOMAIN IF EXISTS posint_d;
CREATE TYPE rec_t AS (a int, b text);
CREATE TYPE mood_t AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint_d AS int CHECK (VALUE > 0);
CREATE TABLE rec_uniq (id int PRIMARY KEY, email text UNIQUE NOT NULL,
                       qty int CONSTRAINT qty_pos CHECK (qty > 0));
CREATE TABLE rec_child (id int REFERENCES rec_uniq (id));
CREATE TABLE rec_copy (a int, b text, c numeric, d timestamptz,
                       e int[], f jsonb);
CREATE TABLE rec_copyb (a int, b text, c float8);
CREATE OR REPLACE FUNCTION rec_fail(q text) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN EXECUTE q; END $$;
GRANT ALL ON ALL TABLES IN SCHEMA public TO PUBLIC;
"""

NOTICE_SQL = r"""
DO $$
BEGIN
  RAISE NOTICE 'plain notice';
  RAISE NOTICE 'with detail: %', 42 USING DETAIL = 'the detail',
      HINT = 'the hint';
  RAISE WARNING 'a warning, ünïcödé ✓';
  RAISE INFO 'info with errcode' USING ERRCODE = '01000';
  RAISE NOTICE 'column and table' USING COLUMN = 'c1', TABLE = 't1',
      SCHEMA = 's1', CONSTRAINT = 'k1', DATATYPE = 'int4';
END $$
"""

ERROR_SQL = [
    "SELECT 1/0",
    "SELECT * FROM no_such_table",
    "SELEC 1",
    "SELECT 1 +",
    "SELECT 'abc'::int",
    "SELECT rec_fail('SELECT * FROM missing_inside')",
    "SELECT (1, 'x')::rec_t = ROW(1)",
    "DO $$ BEGIN RAISE EXCEPTION 'custom % error', 'raised' USING "
    "ERRCODE = 'P0001', DETAIL = 'd: ' || repeat('x', 300), "
    "HINT = 'try again'; END $$",
    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '22012', "
    "MESSAGE = 'own division'; END $$",
    "SELECT -5::posint_d",
    "SELECT 'x'::mood_t",
    "SELECT '[3,1]'::int4range",
    "SELECT repeat('ab', 5)::varchar(3)::bit(2)",
    "SELECT '{1,2'::int[]",
]


async def _quiet(coro):
    try:
        return await coro
    except pgwire.PostgresError:
        return None


async def workload(relay, cluster, use):
    """One connection per part; relay.label names the next connection."""

    def kw(user="scram", **extra):
        role, secret = cluster.credentials(user)
        return dict(host="127.0.0.1", port=relay.port, user=role,
                    password=secret, database=cluster.dbname, ssl=False,
                    **extra)

    async def connect(label, user="scram", **extra):
        relay.label = label
        return await pgwire.connect(**kw(user, **extra))

    # setup over the unix socket, not recorded
    cluster.psql(SETUP_SQL)

    if "login" in use:
        for user in ("trust", "password", "md5"):
            c = await connect(f"login-{user}", user)
            await c.fetchval("SELECT current_user")
            await c.close()
        relay.label = "login-badpw"
        try:
            bad = kw("scram")
            bad["password"] = "wrong"
            await pgwire.connect(**bad)
        except pgwire.PostgresError:
            pass
        relay.label = "login-nodb"
        try:
            nodb = kw("trust")
            nodb["database"] = "no_such_db"
            await pgwire.connect(**nodb)
        except pgwire.PostgresError:
            pass

    if "types" in use:
        c = await connect("types-extended")
        for q in TYPES_SQL:
            try:
                await c.fetch(q)
            except ValueError as exc:   # a value Python cannot hold
                print(f"note: {exc}".splitlines()[0], file=sys.stderr)
        await c.fetch("SELECT $1::int4 + $2, $3::text, $4::numeric[]",
                      1, 2, "arg", [1, 2])
        await c.fetch("SELECT g, g::text, g * 1.5 FROM generate_series(1, 40)"
                      " AS g")
        await c.close()
        c = await connect("types-simple")
        for q in TYPES_SQL:
            await c.execute(q)          # simple protocol: text results
        await c.close()

    if "errors" in use:
        c = await connect("errors")
        await c.execute("TRUNCATE rec_uniq CASCADE")
        for q in ERROR_SQL:
            await _quiet(c.execute(q))
            await _quiet(c.fetch(q))
        await c.execute("INSERT INTO rec_uniq VALUES (1, 'a@x', 1)")
        for q in ("INSERT INTO rec_uniq VALUES (1, 'b@x', 1)",
                  "INSERT INTO rec_uniq VALUES (2, 'a@x', 1)",
                  "INSERT INTO rec_uniq VALUES (3, NULL, 1)",
                  "INSERT INTO rec_uniq VALUES (4, 'c@x', -1)",
                  "INSERT INTO rec_child VALUES (99)"):
            await _quiet(c.execute(q))
        # the transaction status goes to E, then back
        await c.execute("BEGIN")
        await _quiet(c.execute("SELECT 1/0"))
        await _quiet(c.execute("SELECT 1"))
        await c.execute("ROLLBACK")
        await c.close()

    if "notices" in use:
        c = await connect("notices")
        c.add_log_listener(lambda *a: None)
        await c.execute(NOTICE_SQL)
        await c.execute("SET client_min_messages = debug1")
        await c.execute("CREATE TEMP TABLE rec_tmp (a serial primary key)")
        await c.execute("DROP TABLE IF EXISTS rec_nothing")
        await c.execute("SET application_name = 'rec-app'")
        await c.execute("SET TimeZone = 'Asia/Kolkata'")
        await c.fetchval("SELECT now()::text")
        await c.close()

    if "notify" in use:
        c = await connect("notify")
        got = asyncio.Event()
        await c.add_listener("rec_chan", lambda *a: got.set())
        await c.execute("NOTIFY rec_chan, 'payload one'")
        await c.execute("SELECT pg_notify('rec_chan', $1)", "ünï " * 20)
        await c.execute("NOTIFY rec_chan")
        await asyncio.wait_for(got.wait(), 5)
        await c.close()

    if "copy" in use:
        c = await connect("copy")
        await c.execute("TRUNCATE rec_copy, rec_copyb")
        rows = [(i, f"r{i}\t\\x", i * 1.5, None, [i, None], '{"i": %d}' % i)
                for i in range(20)]
        await c.execute("INSERT INTO rec_copy (a, b, c, e, f) "
                        "SELECT * FROM unnest($1::int[], $2::text[], "
                        "$3::numeric[]) AS u(a, b, c), "
                        "LATERAL (SELECT ARRAY[a, NULL]::int[], "
                        "jsonb_build_object('i', a)) AS v(e, f)",
                        [r[0] for r in rows], [r[1] for r in rows],
                        [r[2] for r in rows])
        out = []

        async def sink(data):
            out.append(bytes(data))
        await c.copy_from_table("rec_copy", output=sink)
        await c.copy_from_query("SELECT * FROM rec_copy", output=sink,
                                format="csv", header=True)
        await c.copy_from_query("SELECT a, b FROM rec_copy", output=sink,
                                format="binary")
        await c.copy_records_to_table(
            "rec_copyb", records=[(i, f"b{i}", i / 3) for i in range(30)])

        async def source():
            yield b"1\tone\t1.5\n2\t\\N\t2.5\n"
            yield b"3\tthree\t3.5\n"
        await c.copy_to_table("rec_copyb", source=source())
        # COPY in that fails on the server side
        await _quiet(c.copy_to_table("rec_copyb", source=source(),
                                     columns=["a", "c", "b"]))
        await c.close()

    if "misc" in use:
        c = await connect("misc")
        await c.execute("")                                  # EmptyQuery
        await c.execute("SELECT 1; SELECT 'two', 2; ; VALUES (3), (4)")
        await c.execute("BEGIN; SELECT 1; COMMIT")
        await c.executemany("INSERT INTO rec_copyb VALUES ($1, $2, $3)",
                            [(i, str(i), float(i)) for i in range(5)])
        st = await c.prepare("SELECT $1::int8 * 2, $2::text")
        await st.fetch(21, "p")
        await st.fetchval(-1, None)
        async with c.transaction():
            cur = await c.cursor("SELECT g FROM generate_series(1, 100) g")
            await cur.fetch(7)
            await cur.forward(10)
            await cur.fetchrow()
        await c.fetch("SELECT * FROM pg_settings LIMIT 3")
        await c.close()

    if "terminate" in use:
        victim = await connect("terminated")
        pid = await victim.fetchval("SELECT pg_backend_pid()")
        killer = await pgwire.connect(**cluster.connect_kwargs())
        await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        await killer.close()
        try:
            await victim.fetchval("SELECT 1")
        except (pgwire.PostgresError, pgwire.InterfaceError,
                ConnectionError, OSError):
            pass
        await asyncio.sleep(0.1)
        victim.terminate()


# ---------------------------------------------------------------------------
# Turning the recordings into seeds
# ---------------------------------------------------------------------------

def split_backend(data):
    """[(type, body)] of the complete messages in a server stream; a
    leading SSL/GSS answer byte is the caller's to strip."""
    msgs, i = [], 0
    while i + 5 <= len(data):
        t = data[i]
        n = struct.unpack_from("!I", data, i + 1)[0]
        if n < 4 or i + 1 + n > len(data):
            break
        msgs.append((t, bytes(data[i + 5:i + 1 + n])))
        i += 1 + n
    return msgs


def frame(t, body):
    return bytes([t]) + struct.pack("!I", len(body) + 4) + body


def client_nonce(c2s):
    m = re.search(rb"n,,n=[^,]*,r=([!-+\--~]+)", bytes(c2s))
    return m.group(1) if m else None


def strip_ssl_answer(rec):
    s2c = bytes(rec["s2c"])
    if bytes(rec["c2s"]).startswith(SSL_REQUEST) and s2c[:1] in (b"N", b"S"):
        return s2c[1:]
    return s2c


def rewrite_nonce(msgs, nonce, iterations=None):
    """The stream with the client nonce replaced by the fuzzers' nonce in
    the SASL messages (and the iteration count, if given)."""
    out = []
    for t, body in msgs:
        if t == ord("R") and len(body) >= 4:
            code = struct.unpack_from("!i", body)[0]
            if code in (AUTH_SASL_CONTINUE, AUTH_SASL_FINAL) and nonce:
                payload = body[4:].replace(nonce, FUZZ_NONCE)
                if iterations is not None:
                    payload = re.sub(rb",i=\d+", b",i=%d" % iterations,
                                     payload)
                body = body[:4] + payload
        out.append((t, body))
    return out


def sasl_payloads(msgs):
    first = final = None
    for t, body in msgs:
        if t == ord("R") and len(body) >= 4:
            code = struct.unpack_from("!i", body)[0]
            if code == AUTH_SASL_CONTINUE:
                first = body[4:]
            elif code == AUTH_SASL_FINAL:
                final = body[4:]
    return first, final


def binary_values(msgs):
    """(oid, value) of binary DataRow columns: a RowDescription answering
    a Describe is followed by Z or BindComplete before its rows; the
    column format is the codec's (pgwire asks for binary where it has a
    binary codec) and each value is checked to decode."""
    vals = []
    oids = None
    extended = False
    for idx, (t, body) in enumerate(msgs):
        if t == ord("T"):
            nxt = msgs[idx + 1][0] if idx + 1 < len(msgs) else None
            extended = nxt in (ord("Z"), ord("2"))
            n = struct.unpack_from("!H", body)[0]
            oids, p = [], 2
            for _ in range(n):
                p = body.index(b"\0", p) + 1
                oids.append(struct.unpack_from("!I", body, p + 6)[0])
                p += 18
        elif t == ord("D") and oids is not None and extended:
            n = struct.unpack_from("!H", body)[0]
            if n != len(oids):
                continue
            p = 2
            for oid in oids:
                ln = struct.unpack_from("!i", body, p)[0]
                p += 4
                if ln < 0:
                    continue
                vals.append((oid, body[p:p + ln]))
                p += ln
    good = []
    for oid, v in vals:
        if oid >= 10000 or len(v) + 2 > DEC_MAX:
            continue
        if _pgwire._codec_format(oid) != 1:
            continue
        try:
            _pgwire._codec_decode(oid, v)
        except Exception:  # noqa: BLE001 - not binary after all: skip
            continue
        good.append((oid, v))
    return good


def _h(data):
    return hashlib.sha1(data).hexdigest()[:12]


def write_seeds(conns, out, raw=None):
    out = pathlib.Path(out)
    dirs = {k: out / k for k in ("stream", "errors", "scram", "decoders")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        for f in d.glob("rec-*"):
            f.unlink()
    counts = dict.fromkeys(dirs, 0)
    sizes = dict.fromkeys(dirs, 0)

    def put(kind, name, data):
        (dirs[kind] / name).write_bytes(data)
        counts[kind] += 1
        sizes[kind] += len(data)

    seen_err, per_oid, seen_val = set(), {}, set()
    for i, rec in enumerate(conns):
        label = f"{i:02d}-{rec['label']}"
        s2c = strip_ssl_answer(rec)
        if raw:
            pathlib.Path(raw).mkdir(parents=True, exist_ok=True)
            pathlib.Path(raw, f"{label}.c2s").write_bytes(bytes(rec["c2s"]))
            pathlib.Path(raw, f"{label}.s2c").write_bytes(bytes(rec["s2c"]))
        msgs = split_backend(s2c)
        if not msgs:
            continue
        nonce = client_nonce(rec["c2s"])

        # stream: as recorded (one chunk; and 1/7/256-byte chunks into a
        # 16-byte initial buffer), and with the fuzzers' nonce
        body = s2c[:STREAM_MAX - 4]
        put("stream", f"rec-{label}", b"\x00" + body)
        put("stream", f"rec-{label}-chunked", b"\x43\x00\x06\xff" + body)
        if nonce:
            fixed = b"".join(frame(t, b) for t, b in
                             rewrite_nonce(msgs, nonce, iterations=16))
            put("stream", f"rec-{label}-nonce",
                b"\x00" + fixed[:STREAM_MAX - 1])

        # errors: each distinct E/N body, whole and in 7-byte chunks
        for t, b in msgs:
            if t not in (ord("E"), ord("N")) or b in seen_err:
                continue
            seen_err.add(b)
            flag = 0 if t == ord("E") else 1
            put("errors", f"rec-{chr(t)}-{_h(b)}", bytes([flag]) + b)
            if len(seen_err) % 4 == 0:
                put("errors", f"rec-{chr(t)}-{_h(b)}-chunked",
                    bytes([flag | 7 << 2]) + b)

        # scram: as recorded, and normalised for the fuzzer's client
        first, final = sasl_payloads(msgs)
        if first is not None:
            put("scram", f"rec-{label}", first + b"\0" + (final or b""))
            if nonce:
                nf = re.sub(rb",i=\d+", b",i=16",
                            first.replace(nonce, FUZZ_NONCE))
                put("scram", f"rec-{label}-norm",
                    nf + b"\0" + (final or b""))

        # decoders: binary values, a few per oid
        for oid, v in binary_values(msgs):
            key = (oid, v)
            if key in seen_val or per_oid.get(oid, 0) >= PER_OID:
                continue
            seen_val.add(key)
            per_oid[oid] = per_oid.get(oid, 0) + 1
            put("decoders", f"rec-{oid}-{_h(v)}", struct.pack("!H", oid) + v)
    return counts, sizes, len(per_oid)


PARTS = ("login", "types", "errors", "notices", "notify", "copy", "misc",
         "terminate")


async def record(cluster, use):
    relay = Relay(cluster.tcp_host, cluster.port)
    await relay.start()
    try:
        await workload(relay, cluster, use)
        await asyncio.sleep(0.2)   # let the relay see the last bytes
    finally:
        await relay.stop()
    return relay.conns


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "tests" / "fuzz" / "corpus"))
    p.add_argument("--raw", help="also write both directions here")
    p.add_argument("--parts", default=",".join(PARTS),
                   help="comma-separated subset of " + ",".join(PARTS))
    args = p.parse_args()
    use = set(args.parts.split(","))
    with TempCluster() as cluster:
        conns = asyncio.run(record(cluster, use))
    counts, sizes, noids = write_seeds(conns, args.out, args.raw)
    print(f"recorded {len(conns)} connections")
    for k in counts:
        print(f"  {k:9} {counts[k]:4} seeds, {sizes[k]:7} bytes")
    print(f"  decoders: {noids} oids")
    return 0


if __name__ == "__main__":
    sys.exit(main())
