"""Issue 12 item 11: a password never appears in a repr, a log record or an
error message.

A marker password is pushed through every error path of connect-parameter
parsing (DSN, keyword arguments, environment, passfile, service file), the
reprs of the parameter, connection, pool and query-log objects, every log
record and warning, and authentication failures against the real server;
the text of all of them (exception chains, notes and tracebacks included)
is searched for the marker and for each half of it.
"""

import asyncio
import logging
import os
import traceback
import warnings

import pytest

import pgwire
from pgwire import connect_utils as cu

# autouse: no PG* variables, a private HOME, getpass.getuser() == "osuser"
from test_connect_params import clean_env  # noqa: F401

HEAD, TAIL = "S3cr3t", "M4rk3r"
MARK = HEAD + "-" + TAIL
# the marker with each character a DSN needs percent-encoded in its middle
SEPARATORS = ["-", "?", ":", "/", "@", "#", "&", "=", "%", "[", ",", " "]


def _leaks(text):
    return HEAD in text or TAIL in text


def _exc_texts(e):
    """Everything an exception shows: the formatted chain (messages,
    notes, causes and contexts) and the reprs of its args and attrs."""
    out = ["".join(traceback.format_exception(e))]
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out.append(repr(e))
        out.append(repr(e.args))
        out.append(repr(getattr(e, "__notes__", None)))
        out.append(repr({k: v for k, v in vars(e).items()
                         if not k.startswith("__")}))
        e = e.__cause__ or e.__context__
    return "\n".join(out)




@pytest.fixture
def records():
    """Every log record of every logger, and every warning."""
    got = []

    class Keep(logging.Handler):
        def emit(self, record):
            got.append(record.getMessage())
            if record.exc_info:
                got.append("".join(
                    traceback.format_exception(*record.exc_info)))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            yield got
        finally:
            root.removeHandler(handler)
            root.setLevel(old)
            got.extend(str(w.message) for w in warned)


def _parse(dsn=None, **kw):
    args = dict(dsn=dsn, host=None, port=None, user=None, password=None,
                passfile=None, database=None, ssl=None, direct_tls=None,
                server_settings=None, target_session_attrs=None,
                service=None, servicefile=None, timeout=60,
                statement_cache_size=100, max_cached_statement_lifetime=300,
                max_cacheable_statement_size=15360, command_timeout=None)
    args.update(kw)
    return cu.parse_connect_arguments(**args)


def _outcome(fn):
    """The text of what ``fn()`` produced: the exception, or the reprs
    of the parsed parameters."""
    try:
        addrs, params, config = fn()
    except Exception as e:
        return _exc_texts(e), None
    return repr(addrs) + repr(params) + str(params) + repr(config), params


_DSN_TAILS = [
    "host/db", "host:notaport/db", "[::1/db", "host,,h2/db", ",/db",
    "host/db?sslmode=bogus", "host/db?novalue", "host/db?=x",
    "host/db?target_session_attrs=bad", "host/db?connect_timeout=x",
    "host/db?keepalives=x", "host/db?keepalives_idle=-1",
    "host/db?require_auth=bogus", "host/db?channel_binding=bogus",
    "host/db?load_balance_hosts=bad", "host/db?gsslib=bad",
    "host/db?sslnegotiation=bad", "host/db?sslnegotiation=direct",
    "host/db?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
    "host/db?sslcert=/nonexistent/c.crt&sslkey=/nonexistent/c.key"
    "&sslmode=require",
    "host/db?ssl_min_protocol_version=TLSv9",
    "host/db?service=nosuchservice",
]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_dsn_errors_and_reprs_never_show_the_password(sep, records):
    pw = HEAD + sep + TAIL
    leaked = []
    for scheme in ("postgresql://", "mysql://", "postgresql:"):
        for tail in _DSN_TAILS:
            for userinfo in (f"user:{pw}@", f":{pw}@"):
                dsn = scheme + userinfo + tail
                text, params = _outcome(lambda: _parse(dsn))
                if _leaks(text):
                    leaked.append((dsn, text[-300:]))
                if params is not None and sep not in "@%" and \
                        params.password not in (None, pw):
                    leaked.append((dsn, "password parsed as %r" % (
                        params.password,)))
    # the password in the query string, and in a password= option
    for tail in _DSN_TAILS:
        dsn = f"postgresql://user@{tail}" + \
            ("&" if "?" in tail else "?") + "password=" + pw
        text, _ = _outcome(lambda: _parse(dsn))
        if _leaks(text):
            leaked.append((dsn, text[-300:]))
    assert not leaked, leaked[:5]
    assert not [r for r in records if _leaks(r)]


@pytest.mark.parametrize("sep", [s for s in SEPARATORS if s != "%"])
def test_unescaped_separator_in_dsn_password_is_the_password(sep):
    """An unescaped ?, :, / (or @, #...) in a DSN password is taken as
    part of the password (libpq-style look-ahead for the last @ before
    the host list), not as the start of the query, path or host list.
    (A '%' starts a percent-encoding, so it is left out.)"""
    pw = HEAD + sep + TAIL
    _, params, _ = _parse(f"postgresql://user:{pw}@host:5433/db"
                          f"?application_name=a@b")
    assert params.password == pw
    assert params.user == "user" and params.database == "db"
    assert params.server_settings["application_name"] == "a@b"


def test_valid_dsns_parse_as_before():
    """What a percent-encoded DSN means does not change; an @ in the
    query of a DSN without user information stays in the query."""
    _, p, _ = _parse("postgresql://host:5432/db?application_name=a@b")
    assert p.user == "osuser" and p.password is None
    assert p.server_settings["application_name"] == "a@b"
    addrs, p, _ = _parse("postgresql://host?application_name=x@y")
    assert addrs == [("host", 5432)] and p.password is None
    addrs, p, _ = _parse("postgresql://u:p%40w@h1:1,h2:2/d")
    assert addrs == [("h1", 1), ("h2", 2)] and p.password == "p@w"
    _, p, _ = _parse("postgresql://u@h/d?password=x")
    assert p.password == "x"


@pytest.mark.parametrize("sep", ["-", "?", ":", "/"])
def test_keyword_env_passfile_service_errors(sep, records, tmp_path,
                                             monkeypatch):
    pw = HEAD + sep + TAIL
    bad_kwargs = [dict(port="x"), dict(port=70000), dict(host=5),
                  dict(host=""), dict(ssl="bogus"),
                  dict(target_session_attrs="bad"),
                  dict(server_settings={"a": 1}),
                  dict(load_balance_hosts="bad"), dict(gsslib="bad"),
                  dict(direct_tls=True), dict(statement_cache_size=-1),
                  dict(service="nosuchservice"), dict(dsn=5)]
    texts = []
    for kw in bad_kwargs:
        kw = dict(kw)
        texts.append(_outcome(lambda: _parse(password=pw, host="h",
                                             **kw))[0])
    # the environment
    for env in ({"PGPORT": "x"}, {"PGSSLMODE": "bogus"},
                {"PGTARGETSESSIONATTRS": "bad"}, {"PGCONNECT_TIMEOUT": "x"},
                {"PGREQUIREAUTH": "bogus"}, {"PGCHANNELBINDING": "bad"},
                {}):
        with monkeypatch.context() as m:
            m.setenv("PGPASSWORD", pw)
            for k, v in env.items():
                m.setenv(k, v)
            texts.append(_outcome(lambda: _parse(host="h"))[0])
    # a passfile: found, world-readable, a directory, malformed lines
    pgpass = tmp_path / "pgpass"
    esc = pw.replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"h:5432:*:*:{esc}\nbroken:{esc}\n{esc}\n")
    for mode in (0o600, 0o644):
        os.chmod(pgpass, mode)
        texts.append(_outcome(lambda: _parse(host="h", passfile=pgpass))[0])
        texts.append(_outcome(lambda: _parse(host="h", passfile=pgpass,
                                             ssl="bogus"))[0])
    texts.append(_outcome(lambda: _parse(host="h", passfile=tmp_path))[0])
    # a service file holding the password, and a broken one
    svc = tmp_path / "pg_service.conf"
    svc.write_text(f"[s]\nhost=h\npassword={pw}\nsslmode=bogus\n")
    texts.append(_outcome(lambda: _parse(service="s", servicefile=svc))[0])
    svc.write_text(f"[s]\nhost=h\npassword {pw}\n")
    texts.append(_outcome(lambda: _parse(service="s", servicefile=svc))[0])
    svc.write_text(f"[s\npassword={pw}\n")
    texts.append(_outcome(lambda: _parse(service="s", servicefile=svc))[0])
    leaked = [t for t in texts if _leaks(t)]
    assert not leaked, leaked[:3]
    assert not [r for r in records if _leaks(r)]


def test_connection_parameters_repr_redacts_the_password():
    _, params, _ = _parse(host="h", password=MARK)
    assert params.password == MARK
    for text in (repr(params), str(params)):
        assert not _leaks(text) and "password='***'" in text
    _, params, _ = _parse(host="h")
    assert "password=None" in repr(params)
    _, params, _ = _parse(host="h", password=lambda: MARK)
    assert not _leaks(repr(params))


# ---------------------------------------------------------------------------
# against the server

async def test_objects_and_log_records_never_show_the_password(
        cluster, records):
    role, password = cluster.credentials("scram")
    kw = cluster.connect_kwargs(user=role, password=password)
    host = kw["host"]
    # a password that is right, and the objects made with it
    await _as_role_password(cluster, role, MARK)
    try:
        kw["password"] = MARK
        conn = await pgwire.connect(**kw)
        logged = []
        conn.add_query_logger(logged.append)
        try:
            await conn.fetchval("SELECT 1")
            with pytest.raises(pgwire.PostgresError):
                await conn.fetchval("SELECT 1/0")
            await asyncio.sleep(0.05)
            assert len(logged) == 2
            texts = [repr(conn), str(conn), repr(conn.get_settings()),
                     repr(conn._params)]
            for rec in logged:
                texts += [repr(rec), str(rec), repr(rec.conn_params),
                          repr(rec._asdict())]
                assert rec.conn_params.user == role
            assert not [t for t in texts if _leaks(t)], texts
        finally:
            await conn.close()
        async with pgwire.create_pool(min_size=1, max_size=1,
                                      **kw) as pool:
            async with pool.acquire() as c:
                assert not _leaks(repr(c)) and not _leaks(repr(pool))
        # wrong passwords (the marker is the wrong one here)
        for method in ("scram", "md5", "password"):
            r, _ = cluster.credentials(method)
            with pytest.raises(Exception) as ei:
                await pgwire.connect(host=host, port=kw.get("port"),
                                     user=r, password=MARK + "x",
                                     database=kw.get("database"))
            assert not _leaks(_exc_texts(ei.value)), method
        # a pool whose connections cannot be opened logs the failures
        bad = dict(kw, password=MARK + "x")
        pool = pgwire.create_pool(min_size=0, max_size=1, **bad)
        await pool
        with pytest.raises(Exception) as ei:
            await pool.fetchval("SELECT 1")
        assert not _leaks(_exc_texts(ei.value))
        await pool.close()
        # a DSN with the password
        dsn = "postgresql://{}:{}@{}:{}/{}?sslmode=bogus".format(
            role, MARK, "localhost", kw.get("port"), kw.get("database"))
        with pytest.raises(Exception) as ei:
            await pgwire.connect(dsn)
        assert not _leaks(_exc_texts(ei.value))
    finally:
        await _as_role_password(cluster, role, password)
    assert not [r for r in records if _leaks(r)], \
        [r for r in records if _leaks(r)]


async def _as_role_password(cluster, role, password):
    admin = await pgwire.connect(**cluster.connect_kwargs())
    try:
        await admin.execute("SET password_encryption = 'scram-sha-256'")
        await admin.execute("ALTER ROLE {} PASSWORD {}".format(
            pgwire.utils.quote_ident(role),
            pgwire.utils.quote_literal(password)))
    finally:
        await admin.close()


@pytest.mark.parametrize("dsn", [
    # a password that reads as a port, then a query: the plain reading is
    # well formed, so it is kept, and the errors quote nothing
    "postgresql://user:12345?sslmode={tail}@host/db",
    "postgresql://user:12345?target_session_attrs={tail}@host/db",
    # a password in the query string with an unescaped '&' or '='
    "postgresql://user@host/db?password=12345&{tail}",
    "postgresql://user@host/db?password=12345&sslmode={tail}",
    "postgresql://user@host/db?sslpassword=1&{tail}&sslmode=require",
])
def test_ambiguous_dsn_errors_quote_nothing(dsn):
    text, _ = _outcome(lambda: _parse(dsn.format(tail=TAIL)))
    assert "ClientConfigurationError" in text
    assert TAIL not in text and "12345" not in text
    assert "values are not shown" in text
