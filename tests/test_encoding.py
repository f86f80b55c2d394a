"""client_encoding: pgwire follows the server's client_encoding
ParameterStatus for every text it sends or reads (issue 12, item 3).

Before the fix, pgwire sent and read UTF-8 whatever the server expected:
after SET client_encoding TO 'LATIN1', the parameter 'café' was stored as
'cafÃ©' and read back as 'café' by the same connection, hiding the damage.

Each test checks what was stored from a separate connection that uses
UTF-8 (convert_to(col, 'UTF8') and length()), so a driver that encodes and
decodes the same wrong way cannot pass.  Databases created with a non-UTF8
encoding check that the default (client_encoding UTF8, converted by the
server) keeps working.
"""

import asyncio
import uuid

import pytest

import pgwire
from pgwire import exceptions as exc


# (client_encoding, a text it can represent, a text it cannot)
SESSION_ENCODINGS = [
    ("LATIN1", "café ÀÿÇ", "€"),
    ("WIN1252", "café € “quoted”", "日本"),
    ("EUC_JP", "日本語のテキスト", "café €"),
]
SESSION_IDS = [e[0] for e in SESSION_ENCODINGS]

DATABASE_ENCODINGS = {
    "LATIN1": "café ÀÿÇ",
    "WIN1252": "café € “quoted”",
    "EUC_JP": "日本語のテキスト",
    "SQL_ASCII": "café € 日本",
}


def _db_name(encoding):
    return "pgwire_enc_" + encoding.lower()


@pytest.fixture(scope="session")
def enc_databases(cluster):
    """One database per encoding in DATABASE_ENCODINGS (created once)."""
    have = set(cluster.psql(
        "SELECT datname FROM pg_database").split("\n"))
    for enc in DATABASE_ENCODINGS:
        name = _db_name(enc)
        if name not in have:
            cluster.psql(
                f"CREATE DATABASE {name} ENCODING '{enc}' "
                f"TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
    return {enc: _db_name(enc) for enc in DATABASE_ENCODINGS}


@pytest.fixture
async def table(conn):
    name = "enc_" + uuid.uuid4().hex[:12]
    await conn.execute(f"CREATE TABLE {name} (id int, t text)")
    yield name
    await conn.execute(f"DROP TABLE IF EXISTS {name}")


async def _stored(conn2, table):
    """What `table` holds, read over a UTF-8 connection."""
    rows = await conn2.fetch(
        f"SELECT id, t, length(t) AS n, convert_to(t, 'UTF8') AS raw "
        f"FROM {table} ORDER BY id")
    for r in rows:
        if r["t"] is not None:
            assert r["raw"] == r["t"].encode("utf-8")
            assert r["n"] == len(r["t"])
    return [r["t"] for r in rows]


def _names_encoding(err, encoding):
    assert encoding in str(err), (encoding, str(err))


# ---------------------------------------------------------------------------
# SET client_encoding on a UTF8 database
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_parameter_stored(conn, conn2, table, enc,
                                                    text, _bad):
    """The reproduction: a parameter is stored as the text it is."""
    await conn.execute(f"SET client_encoding TO '{enc}'")
    assert conn.get_settings().client_encoding == enc
    await conn.execute(f"INSERT INTO {table} VALUES (1, $1)", text)
    assert await _stored(conn2, table) == [text]
    assert await conn.fetchval(f"SELECT t FROM {table}") == text
    assert await conn.fetchval(f"SELECT length(t) FROM {table}") == len(text)


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_results(conn, conn2, table, enc, text,
                                           _bad):
    """Values written over UTF-8 read back right; so do text-like types,
    arrays, composites, column names and query text."""
    await conn2.execute(f"INSERT INTO {table} VALUES (1, $1)", text)
    await conn.execute(f"SET client_encoding TO '{enc}'")
    assert await conn.fetchval(f"SELECT t FROM {table}") == text
    row = await conn.fetchrow(
        "SELECT $1::varchar AS v, $1::bpchar AS b, $1::name AS n, "
        "to_json($1::text) AS j, ARRAY[$1, 'x'] AS a, "
        "ROW($1, 2) AS r, $1::unknown::text AS u",
        text)
    assert row["v"] == text
    assert row["b"] == text
    assert row["n"] == text
    assert row["j"] == '"%s"' % text
    assert row["a"] == [text, "x"]
    assert row["r"] == (text, 2)
    assert row["u"] == text
    # query text (literal) and a column name in the client encoding
    lit = text.replace("'", "''")
    rows = await conn.fetch(f'SELECT \'{lit}\'::text AS "{text}"')
    assert rows[0][text] == text
    assert list(rows[0].keys()) == [text]
    # simple-query protocol (no arguments) with non-ASCII query text
    await conn.execute(f"INSERT INTO {table} VALUES (2, '{lit}')")
    assert await _stored(conn2, table) == [text, text]


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_json_and_enum(conn, conn2, enc, text,
                                                 _bad):
    tname = "enc_mood_" + uuid.uuid4().hex[:8]
    await conn2.execute(f"CREATE TYPE {tname} AS ENUM ('{text}', 'plain')")
    try:
        await conn.execute(f"SET client_encoding TO '{enc}'")
        assert await conn.fetchval(f"SELECT '{text}'::{tname}") == text
        assert await conn.fetchval(f"SELECT $1::{tname}::text", text) == text
        assert await conn.fetchval(
            f"SELECT ARRAY[$1::{tname}, 'plain']", text) == [text, "plain"]
        j = '{"k": "%s"}' % text
        assert await conn.fetchval("SELECT $1::jsonb", j) == j
        assert await conn.fetchval("SELECT $1::json", j) == j
        assert await conn.fetchval("SELECT $1::jsonb->>'k'", j) == text
    finally:
        await conn2.execute(f"DROP TYPE {tname}")


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_composite(conn, conn2, enc, text, _bad):
    tname = "enc_comp_" + uuid.uuid4().hex[:8]
    await conn2.execute(f"CREATE TYPE {tname} AS (a text, b int)")
    tbl = "enc_ct_" + uuid.uuid4().hex[:8]
    await conn2.execute(f"CREATE TABLE {tbl} (id int, c {tname})")
    try:
        await conn.execute(f"SET client_encoding TO '{enc}'")
        await conn.execute(f"INSERT INTO {tbl} VALUES (1, $1)", (text, 7))
        await conn.execute(f"INSERT INTO {tbl} VALUES (2, $1)",
                           {"a": text, "b": 8})
        assert [r[0] for r in await conn.fetch(
            f"SELECT c FROM {tbl} ORDER BY id")] == [(text, 7), (text, 8)]
        raw = await conn2.fetch(
            f"SELECT convert_to((c).a, 'UTF8') FROM {tbl} ORDER BY id")
        assert [r[0] for r in raw] == [text.encode()] * 2
        assert await conn.fetchval(f"SELECT ARRAY[ROW($1, 1)::{tname}]",
                                   text) == [(text, 1)]
    finally:
        await conn2.execute(f"DROP TABLE {tbl}")
        await conn2.execute(f"DROP TYPE {tname}")


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_copy(conn, conn2, table, enc, text,
                                        _bad):
    """COPY: copy_records_to_table encodes text values in the client
    encoding; text-format COPY data is the client encoding's bytes both
    ways (as the server defines it); query text of the COPY too."""
    await conn.execute(f"SET client_encoding TO '{enc}'")
    pyenc = {"LATIN1": "latin-1", "WIN1252": "cp1252",
             "EUC_JP": "euc_jp"}[enc]
    await conn.copy_records_to_table(table, records=[(1, text)])
    assert await _stored(conn2, table) == [text]
    import io
    out = io.BytesIO()
    await conn.copy_from_query(
        f"SELECT t, '{text}' FROM {table} WHERE t = $1", text, output=out)
    assert out.getvalue() == f"{text}\t{text}\n".encode(pyenc)
    await conn.copy_to_table(
        table, source=io.BytesIO(f"2\t{text}\n".encode(pyenc)))
    assert await _stored(conn2, table) == [text, text]


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_errors_and_notices(conn, table, enc,
                                                      text, _bad):
    await conn.execute(f"SET client_encoding TO '{enc}'")
    await conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (t)")
    await conn.execute(f"INSERT INTO {table} VALUES (1, $1)", text)
    with pytest.raises(exc.UniqueViolationError) as ei:
        await conn.execute(f"INSERT INTO {table} VALUES (2, $1)", text)
    assert text in ei.value.detail
    lit = text.replace("'", "''")
    with pytest.raises(exc.RaiseError) as ei:
        await conn.execute(
            f"DO $$ BEGIN RAISE EXCEPTION '{lit} %', 'x' "
            f"USING HINT = '{lit}'; END $$")
    assert ei.value.message == f"{text} x"
    assert ei.value.hint == text

    got = []
    conn.add_log_listener(lambda c, m: got.append(m))
    await conn.execute(f"DO $$ BEGIN RAISE NOTICE '{lit}'; END $$")
    await asyncio.sleep(0)
    assert [m.message for m in got] == [text]
    # a ParameterStatus value in the client encoding (application_name is
    # ASCII-only on the server; session_authorization is a role name)
    role = f"enc {text} {uuid.uuid4().hex[:6]}"
    await conn.execute(f'CREATE ROLE "{role}"')
    try:
        await conn.execute(f'SET SESSION AUTHORIZATION "{role}"')
        assert conn.get_settings().session_authorization == role
        await conn.execute("RESET SESSION AUTHORIZATION")
    finally:
        await conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("enc,text,_bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_notify(conn, conn2, enc, text, _bad):
    await conn.execute(f"SET client_encoding TO '{enc}'")
    chan = f"chan_{text}"
    got = asyncio.get_running_loop().create_future()
    await conn.add_listener(
        chan, lambda c, pid, ch, payload: got.done() or
        got.set_result((ch, payload)))
    await conn2.execute("SELECT pg_notify($1, $2)", chan, text)
    assert await asyncio.wait_for(got, 10) == (chan, text)
    # and sent from the non-UTF8 connection, read over UTF-8
    got2 = asyncio.get_running_loop().create_future()
    await conn2.add_listener(
        chan, lambda c, pid, ch, payload: got2.done() or
        got2.set_result(payload))
    lit = text.replace("'", "''")
    await conn.execute(f"NOTIFY \"{chan}\", '{lit}'")
    assert await asyncio.wait_for(got2, 10) == text


@pytest.mark.parametrize("enc,_text,bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_unrepresentable_character(conn, conn2, table, enc, _text,
                                         bad):
    """A character the client encoding lacks: a clear DataError naming the
    argument and the encoding, nothing sent, the connection usable."""
    await conn.execute(f"SET client_encoding TO '{enc}'")
    with pytest.raises(exc.DataError) as ei:
        await conn.execute(f"INSERT INTO {table} VALUES (1, $1)", bad)
    assert "$1" in str(ei.value)
    _names_encoding(ei.value, enc)
    assert await conn.fetchval("SELECT 1") == 1
    with pytest.raises(exc.DataError) as ei:
        await conn.copy_records_to_table(table, records=[(1, bad)])
    _names_encoding(ei.value, enc)
    assert await conn.fetchval("SELECT 2") == 2
    # in the query text
    with pytest.raises(exc.InterfaceError) as ei:
        await conn.fetchval(f"SELECT '{bad}'")
    _names_encoding(ei.value, enc)
    with pytest.raises(exc.InterfaceError) as ei:
        await conn.execute(f"SELECT '{bad}'")
    _names_encoding(ei.value, enc)
    assert await conn.fetchval("SELECT 3") == 3
    assert await _stored(conn2, table) == []


async def test_back_to_utf8(conn, conn2, table):
    await conn.execute("SET client_encoding TO 'LATIN1'")
    await conn.execute(f"INSERT INTO {table} VALUES (1, $1)", "café")
    await conn.execute("RESET client_encoding")
    assert conn.get_settings().client_encoding == "UTF8"
    await conn.execute(f"INSERT INTO {table} VALUES (2, $1)", "日本")
    assert await _stored(conn2, table) == ["café", "日本"]
    assert await conn.fetchval(f"SELECT t FROM {table} WHERE id = 2") == "日本"


async def test_server_settings_client_encoding(cluster, conn2, table):
    """server_settings={'client_encoding': ...} at connect is followed
    (it used to be dropped silently)."""
    c = await pgwire.connect(**cluster.connect_kwargs(
        server_settings={"client_encoding": "LATIN1"}))
    try:
        assert c.get_settings().client_encoding == "LATIN1"
        await c.execute(f"INSERT INTO {table} VALUES (1, $1)", "café")
        assert await c.fetchval(f"SELECT t FROM {table}") == "café"
    finally:
        await c.close()
    # a DSN query parameter becomes a server setting too
    c = await pgwire.connect(cluster.dsn(client_encoding="WIN1252"))
    try:
        assert c.get_settings().client_encoding == "WIN1252"
        await c.execute(f"INSERT INTO {table} VALUES (2, $1)", "€")
    finally:
        await c.close()
    assert await _stored(conn2, table) == ["café", "€"]


async def test_pool_reset_restores_utf8(cluster, conn2, table):
    pool = await pgwire.create_pool(**cluster.connect_kwargs(),
                                    min_size=1, max_size=1)
    try:
        async with pool.acquire() as c:
            await c.execute("SET client_encoding TO 'LATIN1'")
        async with pool.acquire() as c:
            assert c.get_settings().client_encoding == "UTF8"
            await c.execute(f"INSERT INTO {table} VALUES (1, $1)", "日本")
    finally:
        await pool.close()
    assert await _stored(conn2, table) == ["日本"]


# ---------------------------------------------------------------------------
# SQL_ASCII as the client encoding
# ---------------------------------------------------------------------------

async def test_sql_ascii_client_encoding(conn, conn2, table):
    """client_encoding SQL_ASCII: the server converts nothing, so pgwire
    (as asyncpg) reads and writes ASCII only and refuses anything else with
    an error naming SQL_ASCII."""
    await conn2.execute(f"INSERT INTO {table} VALUES (1, 'café')")
    await conn.execute("SET client_encoding TO 'SQL_ASCII'")
    assert await conn.fetchval("SELECT $1::text", "plain") == "plain"
    with pytest.raises(exc.DataError) as ei:
        await conn.fetchval("SELECT $1::text", "café")
    _names_encoding(ei.value, "SQL_ASCII")
    with pytest.raises(ValueError) as ei:
        await conn.fetchval(f"SELECT t FROM {table}")
    _names_encoding(ei.value, "SQL_ASCII")
    assert await conn.fetchval("SELECT 'ok'") == "ok"


# ---------------------------------------------------------------------------
# Encodings pgwire cannot follow
# ---------------------------------------------------------------------------

# (client encoding, database encoding the server converts it from)
UNSUPPORTED = [("EUC_TW", None), ("MULE_INTERNAL", "LATIN1")]


@pytest.mark.parametrize("enc,dbenc", UNSUPPORTED,
                         ids=[u[0] for u in UNSUPPORTED])
async def test_unsupported_encoding_closes(cluster, enc_databases, enc,
                                           dbenc):
    db = enc_databases[dbenc] if dbenc else None
    c = await pgwire.connect(**cluster.connect_kwargs(database=db))
    try:
        with pytest.raises(exc.InterfaceError) as ei:
            await c.execute(f"SET client_encoding TO '{enc}'")
        _names_encoding(ei.value, enc)
        assert c.is_closed()
    finally:
        await c.close()


@pytest.mark.parametrize("enc,dbenc", UNSUPPORTED,
                         ids=[u[0] for u in UNSUPPORTED])
async def test_unsupported_encoding_at_connect(cluster, enc_databases, enc,
                                               dbenc):
    db = enc_databases[dbenc] if dbenc else None
    with pytest.raises(exc.InterfaceError) as ei:
        await pgwire.connect(**cluster.connect_kwargs(
            database=db, server_settings={"client_encoding": enc}))
    _names_encoding(ei.value, enc)


# ---------------------------------------------------------------------------
# Databases in other encodings (client_encoding stays UTF8)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("enc", list(DATABASE_ENCODINGS))
async def test_database_encoding(cluster, enc_databases, enc):
    text = DATABASE_ENCODINGS[enc]
    kw = cluster.connect_kwargs(database=enc_databases[enc])
    c = await pgwire.connect(**kw)
    c2 = await pgwire.connect(**kw)
    tbl = "enc_" + uuid.uuid4().hex[:12]
    try:
        assert c.get_settings().client_encoding == "UTF8"
        assert c.get_settings().server_encoding == enc
        await c.execute(f"CREATE TABLE {tbl} (id int, t text PRIMARY KEY)")
        await c.execute(f"INSERT INTO {tbl} VALUES (1, $1)", text)
        assert await c.fetchval(f"SELECT t FROM {tbl}") == text
        n = len(text.encode()) if enc == "SQL_ASCII" else len(text)
        assert await c2.fetchval(f"SELECT length(t) FROM {tbl}") == n
        await c.copy_records_to_table(tbl, records=[(2, text + "2")])
        assert await c2.fetchval(
            f"SELECT t FROM {tbl} WHERE id = 2") == text + "2"
        with pytest.raises(exc.UniqueViolationError) as ei:
            await c.execute(f"INSERT INTO {tbl} VALUES (3, $1)", text)
        assert text in ei.value.detail
        if enc != "SQL_ASCII":
            # the server cannot store it: its error, connection usable
            with pytest.raises(exc.PostgresError):
                await c.execute(f"INSERT INTO {tbl} VALUES (4, $1)",
                                "\U0001F600")
            assert await c.fetchval("SELECT 1") == 1
        # a session setting on top of the database encoding
        await c.execute("SET client_encoding TO 'WIN1252'"
                        if enc == "WIN1252" else "SELECT 1")
        assert await c.fetchval(f"SELECT t FROM {tbl} WHERE id = 1") == text
    finally:
        await c.execute(f"DROP TABLE IF EXISTS {tbl}")
        await c.close()
        await c2.close()


async def test_latin1_database_latin1_client(cluster, enc_databases):
    kw = cluster.connect_kwargs(database=enc_databases["LATIN1"])
    c = await pgwire.connect(**kw)
    try:
        await c.execute("SET client_encoding TO 'LATIN1'")
        assert await c.fetchval("SELECT $1::text || 'é'", "ÿ") == "ÿé"
        assert await c.fetchval(
            "SELECT convert_to($1::text, 'UTF8')", "ÿ") == "ÿ".encode()
    finally:
        await c.close()


@pytest.mark.parametrize("enc,text,bad", SESSION_ENCODINGS, ids=SESSION_IDS)
async def test_set_client_encoding_hstore(conn, enc, text, bad):
    """hstore's binary codec (keys and values are client-encoding text),
    and its text form without a codec."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'hstore'")
    await conn.execute(f"SET client_encoding TO '{enc}'")
    assert await conn.fetchval(
        "SELECT hstore($1, $1)::text", text) == f'"{text}"=>"{text}"'
    await conn.set_builtin_type_codec("hstore", schema=schema,
                                      codec_name="pg_contrib.hstore")
    assert await conn.fetchval(
        "SELECT (akeys($1::hstore))[1]", {text: None}) == text
    with pytest.raises(exc.DataError) as ei:
        await conn.fetchval("SELECT $1::hstore", {bad: "v"})
    _names_encoding(ei.value, enc)
    assert await conn.fetchval("SELECT hstore('k', 'v')") == {"k": "v"}
    # hstore_send gives lengths before converting: refused, never misread
    with pytest.raises(ValueError) as ei:
        await conn.fetchval("SELECT hstore($1, 'v')", text)
    _names_encoding(ei.value, enc)
    assert await conn.fetchval("SELECT 1") == 1


async def _hstore_conn(cluster, database):
    c = await pgwire.connect(**cluster.connect_kwargs(database=database))
    await c.execute("CREATE EXTENSION IF NOT EXISTS hstore")
    schema = await c.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'hstore'")
    await c.set_builtin_type_codec("hstore", schema=schema,
                                   codec_name="pg_contrib.hstore")
    return c


async def test_hstore_latin1_database(cluster, enc_databases):
    """A LATIN1 database: binary hstore reads right when the client
    encoding is the database's, and is refused (not misread, as on main)
    while the server converts to UTF8."""
    c = await _hstore_conn(cluster, enc_databases["LATIN1"])
    try:
        with pytest.raises(ValueError, match="client_encoding"):
            await c.fetchval("SELECT hstore('café', 'ÿ')")
        assert await c.fetchval("SELECT hstore('k', 'v')") == {"k": "v"}
        assert await c.fetchval(
            "SELECT hstore('café', 'ÿ')::text") == '"café"=>"ÿ"'
        await c.execute("SET client_encoding TO 'LATIN1'")
        assert await c.fetchval(
            "SELECT hstore('café', 'ÿ')") == {"café": "ÿ"}
        assert await c.fetchval("SELECT $1::hstore", {"é": None}) == \
            {"é": None}
    finally:
        await c.close()
