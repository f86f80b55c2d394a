"""Multiple hosts, target_session_attrs, load_balance_hosts and failover,
against a real primary + streaming standby (pgwire.cluster.make_standby).

Where libpq has an opinion, psql (through the helper's psql()) is asked the
same question and must agree (tests/README.md).  Nothing here sleeps to
synchronise: waits poll a condition with a deadline.
"""

import asyncio
import collections
import socket
import time
import types
import urllib.parse

import pytest

import pgwire
from pgwire import _dial
from pgwire import connect_utils as cu
from pgwire import exceptions as exc
from pgwire.cluster import (
    TCP_HOST, TEST_DBNAME, ClusterError, PsqlError, TempCluster)

ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write",
         "read-only")
# Which node each target_session_attrs value reaches (None: the first
# host of the list), as libpq 15 does with these two servers.
EXPECTED = {"any": None, "primary": "primary", "read-write": "primary",
            "standby": "standby", "read-only": "standby",
            "prefer-standby": "standby"}
ORDERS = {"standby-first": ("standby", "primary"),
          "primary-first": ("primary", "standby")}
NOT_MATCHED = ("None of the hosts match the target attribute requirement "
               "<SessionAttribute.{}: '{}'>")


# --------------------------------------------------------------------------
# Servers and helpers
# --------------------------------------------------------------------------

def _make_pair(**kwargs):
    primary = TempCluster(**kwargs).start()
    try:
        standby = primary.make_standby()
    except BaseException:
        primary.cleanup()
        raise
    return types.SimpleNamespace(primary=primary, standby=standby)


def _cleanup_pair(pair):
    try:
        pair.standby.cleanup()
    finally:
        pair.primary.cleanup()


@pytest.fixture(scope="module")
def pair():
    """A primary (TLS on) and its streaming standby for the whole module;
    tests that promote or stop a node use ``fresh_pair`` instead."""
    nodes = _make_pair(ssl=True)
    try:
        yield nodes
    finally:
        _cleanup_pair(nodes)


@pytest.fixture
def fresh_pair():
    nodes = _make_pair()
    try:
        yield nodes
    finally:
        _cleanup_pair(nodes)


@pytest.fixture
def cold_standby(pair):
    """A standby with hot_standby=off: it answers 57P03."""
    node = pair.primary.make_standby(settings={"hot_standby": False})
    try:
        yield node
    finally:
        node.cleanup()


@pytest.fixture
def silent_port():
    """A listening TCP socket that never accepts nor answers (the kernel
    completes the handshake, then nothing)."""
    with socket.socket() as sock:
        sock.bind((TCP_HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def closed_port():
    with socket.socket() as sock:
        sock.bind((TCP_HOST, 0))
        return sock.getsockname()[1]


def _port(node):
    return node if isinstance(node, int) else node.port


def kw(*nodes, **extra):
    """connect() keywords for a host list of TempClusters / bare ports."""
    args = dict(host=[TCP_HOST] * len(nodes),
                port=[_port(n) for n in nodes], user="postgres",
                database=TEST_DBNAME, timeout=15)
    args.update(extra)
    return args


def multi_dsn(*nodes, **params):
    netloc = ",".join(f"{TCP_HOST}:{_port(n)}" for n in nodes)
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return f"postgresql://postgres@{netloc}/{TEST_DBNAME}?{query}"


def libpq_port(via, *nodes, **params):
    """The port libpq (psql) reaches with this host list."""
    out = via.psql("SELECT current_setting('port')",
                   host=",".join([TCP_HOST] * len(nodes)),
                   port=",".join(str(_port(n)) for n in nodes), **params)
    return int(out)


async def server_port(conn):
    return int(await conn.fetchval("SELECT current_setting('port')"))


async def reached(**connect_args):
    """Connect, return the port of the server reached, close."""
    conn = await pgwire.connect(**connect_args)
    try:
        return await server_port(conn)
    finally:
        await conn.close()


async def poll(predicate, timeout=10.0, what="condition"):
    """Bounded poll of a blocking predicate (run in a thread)."""
    deadline = time.monotonic() + timeout
    while True:
        if await asyncio.to_thread(predicate):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.02)


class OldServerConnection(pgwire.Connection):
    """Hides the ParameterStatus values that PostgreSQL < 14 does not send
    (in_hot_standby, default_transaction_read_only), so the connect code
    must ask the server (pg_is_in_recovery(), SHOW transaction_read_only)."""

    _hidden = ("in_hot_standby", "default_transaction_read_only")

    def get_settings(self):
        settings = super().get_settings()
        hidden = self._hidden

        class Pre14Settings:
            def __getattr__(self, name):
                if name in hidden:
                    raise AttributeError(name)
                return getattr(settings, name)
        return Pre14Settings()


# --------------------------------------------------------------------------
# The helper: primary + streaming standby
# --------------------------------------------------------------------------

async def test_standby_helper(pair):
    p, s = pair.primary, pair.standby
    assert s.port != p.port and s.base_dir != p.base_dir
    assert s.host != p.host                       # own socket directory
    assert s.in_recovery() and not p.in_recovery()
    assert s.users == p.users and s.standby_of is p
    assert "replication" in open(s.hba_file).read()
    # the same roles and passwords work on the standby, TCP and socket
    for host in ("tcp", "unix"):
        conn = await pgwire.connect(**s.connect_kwargs(user="scram",
                                                       host=host))
        try:
            assert await conn.fetchval("SELECT current_user") == \
                "pgwire_scram"
            assert await conn.fetchval("SELECT pg_is_in_recovery()")
        finally:
            await conn.close()
    # ... and so do its own copies of the TLS files
    conn = await pgwire.connect(s.dsn(host="tcp", sslmode="verify-ca",
                                      sslrootcert=s.ssl_ca_file))
    try:
        assert await conn.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    assert s.ssl_ca_file.startswith(s.base_dir)


async def test_standby_replays_and_wait_for_replay(pair):
    p, s = pair.primary, pair.standby
    p.psql("CREATE TABLE IF NOT EXISTS replayed (x int);"
           "INSERT INTO replayed VALUES (42)")
    lsn = await asyncio.to_thread(s.wait_for_replay)
    assert s.psql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'") == "t"
    conn = await pgwire.connect(**s.connect_kwargs())
    try:
        assert 42 in [r[0] for r in await conn.fetch(
            "SELECT x FROM replayed")]
    finally:
        await conn.close()
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="did not replay"):
        s.wait_for_replay("FFFFFFFF/0", timeout=0.2)
    assert time.monotonic() - t0 < 5
    with pytest.raises(ClusterError, match="needs a standby"):
        p.wait_for_replay()


# --------------------------------------------------------------------------
# target_session_attrs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("attr", ATTRS)
async def test_target_session_attrs(pair, attr, order):
    nodes = [getattr(pair, name) for name in ORDERS[order]]
    want = nodes[0] if EXPECTED[attr] is None else getattr(pair,
                                                           EXPECTED[attr])
    conn = await pgwire.connect(**kw(*nodes, target_session_attrs=attr))
    try:
        assert await server_port(conn) == want.port
        assert (conn.get_settings().in_hot_standby == "on") == \
            (want is pair.standby)
    finally:
        await conn.close()
    assert libpq_port(pair.primary, *nodes,
                      target_session_attrs=attr) == want.port


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("attr", ATTRS)
async def test_target_session_attrs_pre14_queries(pair, attr, order):
    """Without in_hot_standby/default_transaction_read_only (servers
    before 14) the same choice is made by asking the server."""
    nodes = [getattr(pair, name) for name in ORDERS[order]]
    want = nodes[0] if EXPECTED[attr] is None else getattr(pair,
                                                           EXPECTED[attr])
    conn = await pgwire.connect(**kw(*nodes, target_session_attrs=attr,
                                     connection_class=OldServerConnection))
    try:
        assert not hasattr(conn.get_settings(), "in_hot_standby")
        assert await server_port(conn) == want.port
    finally:
        await conn.close()


@pytest.mark.parametrize("attr,node", [("primary", "standby"),
                                       ("read-write", "standby"),
                                       ("standby", "primary"),
                                       ("read-only", "primary")])
async def test_single_host_not_matched(pair, attr, node):
    with pytest.raises(exc.TargetServerAttributeNotMatched) as info:
        await pgwire.connect(**kw(getattr(pair, node),
                                  target_session_attrs=attr))
    member = cu.SessionAttribute(attr).name
    assert str(info.value) == NOT_MATCHED.format(member, attr)
    with pytest.raises(PsqlError):
        libpq_port(pair.primary, getattr(pair, node),
                   target_session_attrs=attr)


async def test_prefer_standby_falls_back_to_first_primary(pair):
    """No standby in the list: the first server that answered (libpq's
    second pass; asyncpg picks a random one)."""
    p = pair.primary
    conn = await pgwire.connect(host=[TCP_HOST, p.host], port=p.port,
                                user="postgres", database=TEST_DBNAME,
                                target_session_attrs="prefer-standby")
    try:
        assert await conn.fetchval("SELECT inet_server_addr() IS NOT NULL")
    finally:
        await conn.close()
    assert libpq_port(p, p, target_session_attrs="prefer-standby") == p.port


async def test_target_session_attrs_from_dsn_and_env(pair, monkeypatch):
    p, s = pair.primary, pair.standby
    dsn = multi_dsn(s, p, target_session_attrs="read-write")
    assert await reached(dsn=dsn) == p.port
    monkeypatch.setenv("PGTARGETSESSIONATTRS", "read-only")
    assert await reached(**kw(p, s)) == s.port
    # a keyword argument beats the environment
    assert await reached(**kw(p, s, target_session_attrs="any")) == p.port


async def test_default_transaction_read_only(pair):
    """read-write/read-only also look at default_transaction_read_only
    (libpq 14+; asyncpg accepts such a server for read-write)."""
    p, s = pair.primary, pair.standby
    ro = {"default_transaction_read_only": "on"}
    for nodes in ((p,), (s, p)):
        for cls in (pgwire.Connection, OldServerConnection):
            with pytest.raises(exc.TargetServerAttributeNotMatched):
                await pgwire.connect(**kw(*nodes, server_settings=ro,
                                          target_session_attrs="read-write",
                                          connection_class=cls))
    for cls in (pgwire.Connection, OldServerConnection):
        assert await reached(**kw(p, s, target_session_attrs="read-only",
                                  server_settings=ro,
                                  connection_class=cls)) == p.port
    # primary/standby look at recovery only
    assert await reached(**kw(s, p, target_session_attrs="primary",
                              server_settings=ro)) == p.port
    options = "-c default_transaction_read_only=on"
    with pytest.raises(PsqlError, match="session is read-only"):
        libpq_port(p, s, p, target_session_attrs="read-write",
                   options=options)
    assert libpq_port(p, p, s, target_session_attrs="read-only",
                      options=options) == p.port


async def test_unmatched_candidates_are_closed(pair):
    p, s = pair.primary, pair.standby
    app = "pgwire-mh-candidates"
    conn = await pgwire.connect(**kw(s, s, p, target_session_attrs="primary",
                                     server_settings={"application_name":
                                                      app}))
    try:
        assert await server_port(conn) == p.port
    finally:
        await conn.close()
    query = ("SELECT count(*) FROM pg_stat_activity "
             f"WHERE application_name = '{app}'")
    await poll(lambda: s.psql(query) == "0", what="standby sessions gone")


# --------------------------------------------------------------------------
# Hosts that cannot be used: 57P03, refused, silent
# --------------------------------------------------------------------------

async def test_cannot_connect_now_moves_on(pair, cold_standby):
    p, s, cold = pair.primary, pair.standby, cold_standby
    with pytest.raises(exc.CannotConnectNowError) as info:
        await pgwire.connect(**kw(cold))
    assert info.value.sqlstate == "57P03"
    assert "not accepting connections" in str(info.value)
    assert await reached(**kw(cold, p)) == p.port
    assert await reached(**kw(cold, s, p,
                              target_session_attrs="standby")) == s.port
    assert libpq_port(p, cold, p) == p.port
    # every host 57P03: the last host's error, the others as notes
    with pytest.raises(exc.CannotConnectNowError) as info:
        await pgwire.connect(**kw(cold, cold))
    assert len(info.value.__notes__) == 1
    assert "CannotConnectNowError" in info.value.__notes__[0]


async def test_refused_host_moves_on(pair):
    p = pair.primary
    port = closed_port()
    assert await reached(**kw(port, p)) == p.port
    assert libpq_port(p, port, p) == p.port
    with pytest.raises(ConnectionRefusedError):
        await pgwire.connect(**kw(port))


async def test_silent_host_times_out_per_host(pair, silent_port):
    p = pair.primary
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    conn = await pgwire.connect(multi_dsn(silent_port, p, connect_timeout=2),
                                timeout=30)
    elapsed = loop.time() - t0
    try:
        assert await server_port(conn) == p.port
    finally:
        await conn.close()
    assert 1.9 <= elapsed < 5
    t0 = time.monotonic()
    assert libpq_port(p, silent_port, p, connect_timeout=2) == p.port
    assert time.monotonic() - t0 < 6
    # alone: the per-host timeout is the error, with its value
    with pytest.raises(TimeoutError, match="connect_timeout=2"):
        await pgwire.connect(multi_dsn(silent_port, connect_timeout=2))


async def test_silent_host_bounded_by_overall_timeout(pair, silent_port):
    """Without connect_timeout the overall timeout bounds the search (a
    silent first host uses it up, as in asyncpg and libpq)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(TimeoutError):
        await pgwire.connect(**kw(silent_port, pair.primary, timeout=0.5))
    assert loop.time() - t0 < 3


async def test_not_matched_reports_unreachable_hosts(pair):
    port = closed_port()
    with pytest.raises(exc.TargetServerAttributeNotMatched) as info:
        await pgwire.connect(**kw(pair.standby, port,
                                  target_session_attrs="read-write"))
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert any(str(port) in note and "ConnectionRefusedError" in note
               for note in info.value.__notes__)


async def test_auth_error_does_not_move_on(pair):
    """Only unreachable / 57P03 hosts are skipped: a wrong password stops
    the search (asyncpg, libpq)."""
    with pytest.raises(exc.InvalidPasswordError):
        await pgwire.connect(**kw(pair.standby, pair.primary,
                                  user="pgwire_scram", password="wrong",
                                  target_session_attrs="primary"))


# --------------------------------------------------------------------------
# load_balance_hosts
# --------------------------------------------------------------------------

def _parse(dsn=None, **kwargs):
    args = dict(dsn=dsn, host=None, port=None, user="u", password=None,
                passfile=None, database=None, ssl=None, direct_tls=None,
                server_settings=None, target_session_attrs=None,
                service=None, servicefile=None, timeout=60,
                statement_cache_size=100, max_cached_statement_lifetime=300,
                max_cacheable_statement_size=15360, command_timeout=None)
    args.update(kwargs)
    return cu.parse_connect_arguments(**args)[1]


def test_load_balance_hosts_sources(monkeypatch):
    monkeypatch.delenv("PGLOADBALANCEHOSTS", raising=False)
    LB = cu.LoadBalanceHosts
    assert _parse(host="h").load_balance_hosts is LB.disable
    assert _parse(host="h", load_balance_hosts="random"
                  ).load_balance_hosts is LB.random
    params = _parse("postgresql://a,b/db?load_balance_hosts=random")
    assert params.load_balance_hosts is LB.random
    assert "load_balance_hosts" not in params.server_settings
    monkeypatch.setenv("PGLOADBALANCEHOSTS", "random")
    assert _parse(host="h").load_balance_hosts is LB.random
    assert _parse(host="h", load_balance_hosts="disable"
                  ).load_balance_hosts is LB.disable
    # the default host list is a search path: never shuffled
    assert _parse().load_balance_hosts is LB.disable
    for bad in ("Random", "on", "1"):
        with pytest.raises(exc.ClientConfigurationError,
                           match="invalid load_balance_hosts value"):
            _parse(host="h", load_balance_hosts=bad)
    monkeypatch.setenv("PGLOADBALANCEHOSTS", "sometimes")
    with pytest.raises(exc.ClientConfigurationError,
                       match="'sometimes'"):
        _parse(host="h")


async def test_load_balance_random_reaches_every_host(pair):
    p, s = pair.primary, pair.standby
    seen = collections.Counter()
    for _ in range(30):
        seen[await reached(**kw(p, s, ssl="disable",
                                load_balance_hosts="random"))] += 1
    assert set(seen) == {p.port, s.port}, seen
    for _ in range(3):
        assert await reached(**kw(p, s, ssl="disable")) == p.port
    # the DSN form; the target still applies to the shuffled list
    dsn = multi_dsn(p, s, load_balance_hosts="random", sslmode="disable",
                    target_session_attrs="standby")
    for _ in range(5):
        assert await reached(dsn=dsn) == s.port


async def test_load_balance_random_shuffles_addresses(pair, monkeypatch):
    """One host name with several addresses: libpq 16 shuffles them too."""
    p, s = pair.primary, pair.standby
    name = "pgwire-multi.invalid"

    async def getaddrinfo(loop, host, port):
        assert host == name
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (TCP_HOST, node.port)) for node in (p, s)]

    monkeypatch.setattr(_dial, "_getaddrinfo", getaddrinfo)
    args = dict(host=name, port=p.port, user="postgres",
                database=TEST_DBNAME, ssl="disable")
    for _ in range(3):
        assert await reached(**args) == p.port
    seen = {await reached(**args, load_balance_hosts="random")
            for _ in range(30)}
    assert seen == {p.port, s.port}


async def test_cancel_goes_to_the_connected_address(pair, monkeypatch):
    """A host name with two addresses: the CancelRequest goes to the
    address the connection is on, not to the name resolved again (it
    would reach the other server and cancel nothing)."""
    p, s = pair.primary, pair.standby
    name = "pgwire-cancel.invalid"
    real = _dial._getaddrinfo

    async def getaddrinfo(loop, host, port):
        if host != name:
            return await real(loop, host, port)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (TCP_HOST, node.port)) for node in (p, s)]

    monkeypatch.setattr(_dial, "_getaddrinfo", getaddrinfo)
    args = dict(host=name, port=p.port, user="postgres",
                database=TEST_DBNAME, ssl="disable",
                load_balance_hosts="random")
    for _ in range(60):
        conn = await pgwire.connect(**args)
        if await server_port(conn) == s.port:
            break
        await conn.close()
    else:
        raise AssertionError("never reached the second address")
    try:
        with pytest.raises(asyncio.TimeoutError):
            await conn.fetchval("SELECT pg_sleep(20)", timeout=0.3)
        # the cancel reached the standby: the next query does not wait
        # for the 20 s sleep to end
        async with asyncio.timeout(5):
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


# --------------------------------------------------------------------------
# Failover
# --------------------------------------------------------------------------

async def test_failover_read_write(fresh_pair):
    p, s = fresh_pair.primary, fresh_pair.standby
    dsn = multi_dsn(s, p, target_session_attrs="read-write",
                    connect_timeout=2)
    conn = await pgwire.connect(dsn)
    assert await server_port(conn) == p.port
    await conn.execute("CREATE TABLE ha (x int); INSERT INTO ha VALUES (1)")
    await asyncio.to_thread(s.wait_for_replay)

    await asyncio.to_thread(p.stop, mode="immediate")
    # the idle connection notices the server is gone (bounded wait)
    deadline = time.monotonic() + 10
    while not conn.is_closed():
        assert time.monotonic() < deadline, "connection not closed"
        await asyncio.sleep(0.01)
    with pytest.raises(exc.InterfaceError, match="connection is closed"):
        await conn.fetchval("SELECT 1")
    # the standby answers but is read-only; the primary refuses
    with pytest.raises(exc.TargetServerAttributeNotMatched) as info:
        await pgwire.connect(dsn)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    with pytest.raises(PsqlError, match="session is read-only"):
        libpq_port(s, s, p, target_session_attrs="read-write")

    await asyncio.to_thread(s.promote)
    conn = await pgwire.connect(dsn)
    try:
        assert await server_port(conn) == s.port
        assert conn.get_settings().in_hot_standby == "off"
        await conn.execute("INSERT INTO ha VALUES (2)")
        assert [r[0] for r in await conn.fetch(
            "SELECT x FROM ha ORDER BY x")] == [1, 2]
    finally:
        await conn.close()
    assert libpq_port(s, s, p, target_session_attrs="read-write") == s.port
    assert await reached(**kw(s, p, target_session_attrs="primary")) == \
        s.port
    with pytest.raises(exc.TargetServerAttributeNotMatched):
        await pgwire.connect(**kw(p, s, target_session_attrs="standby"))


async def test_pool_failover_read_write(fresh_pair):
    """A read-write pool over standby,primary serves through a failover:
    while no primary exists its calls fail promptly; once the standby is
    promoted, the pool reaches it within a bounded time and keeps
    serving."""
    p, s = fresh_pair.primary, fresh_pair.standby
    dsn = multi_dsn(s, p, target_session_attrs="read-write",
                    connect_timeout=2)
    port_query = "SELECT current_setting('port')::int"
    async with pgwire.create_pool(dsn, min_size=2, max_size=3) as pool:
        assert {await pool.fetchval(port_query) for _ in range(5)} == \
            {p.port}
        await pool.execute("CREATE TABLE ha (x int); INSERT INTO ha "
                           "VALUES (1)")
        await asyncio.to_thread(s.wait_for_replay)

        await asyncio.to_thread(p.stop, mode="immediate")
        # no read-write server: each call fails, and fails fast
        for _ in range(3):
            t0 = time.monotonic()
            with pytest.raises((exc.TargetServerAttributeNotMatched,
                                exc.InterfaceError,
                                exc.PostgresConnectionError)):
                async with asyncio.timeout(10):
                    await pool.fetchval("SELECT 1")
            assert time.monotonic() - t0 < 5

        await asyncio.to_thread(s.promote)
        errors = []
        deadline = time.monotonic() + 15
        while True:
            try:
                async with asyncio.timeout(10):
                    port = await pool.fetchval(port_query)
                break
            except (exc.TargetServerAttributeNotMatched, exc.InterfaceError,
                    exc.PostgresConnectionError) as error:
                errors.append(error)
                assert time.monotonic() < deadline, errors
                await asyncio.sleep(0.05)
        assert port == s.port
        # from now on every call succeeds, on the promoted node
        for _ in range(10):
            assert await pool.fetchval("SELECT 1") == 1
            assert await pool.fetchval(port_query) == s.port
        await pool.execute("INSERT INTO ha VALUES (2)")
        assert await pool.fetchval("SELECT count(*) FROM ha") == 2
        assert pool.get_size() <= 3
