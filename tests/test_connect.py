"""Connecting to a real server: auth methods, DSNs, TLS modes, pgpass."""

import asyncio
import os
import ssl
import urllib.parse

import pytest

import pgwire
import pgwire.utils
from pgwire import exceptions as exc


def _kw(cluster, method, **extra):
    user, password = cluster.users[method]
    kw = dict(host=cluster.tcp_host, port=cluster.port, user=user,
              password=password, database="postgres", ssl="disable")
    kw.update(extra)
    return kw


async def _check(conn):
    try:
        assert await conn.fetchval("SELECT current_user") is not None
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


@pytest.mark.parametrize("method", ["trust", "password", "md5", "scram"])
async def test_auth_methods_tcp(cluster, method):
    conn = await pgwire.connect(**_kw(cluster, method))
    assert await conn.fetchval("SELECT current_user") == \
        cluster.users[method][0]
    await _check(conn)


@pytest.mark.parametrize("method", ["password", "md5", "scram"])
async def test_wrong_password(cluster, method):
    with pytest.raises(exc.InvalidPasswordError):
        await pgwire.connect(**_kw(cluster, method, password="wrong"))


@pytest.mark.parametrize("method", ["password", "md5", "scram"])
async def test_missing_password(cluster, method, tmp_path, monkeypatch):
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(exc.InterfaceError, match="no password"):
        await pgwire.connect(**_kw(cluster, method, password=None))


async def test_password_callable_and_coroutine(cluster):
    user, password = cluster.users["scram"]

    def getpw():
        return password

    async def agetpw():
        return password

    for pw in (getpw, agetpw):
        conn = await pgwire.connect(**_kw(cluster, "scram", password=pw))
        await _check(conn)


async def test_dsn_unix_socket_percent_encoded(cluster):
    host = urllib.parse.quote(cluster.host, safe="")
    dsn = f"postgresql://postgres@{host}:{cluster.port}/postgres"
    conn = await pgwire.connect(dsn)
    await _check(conn)


async def test_dsn_query_host_and_server_settings(cluster):
    dsn = (f"postgres:///postgres?host={cluster.host}&port={cluster.port}"
           f"&user=postgres&application_name=pgw_demo&search_path=pg_catalog")
    conn = await pgwire.connect(dsn)
    try:
        assert await conn.fetchval("SHOW application_name") == "pgw_demo"
        assert await conn.fetchval("SHOW search_path") == "pg_catalog"
    finally:
        await conn.close()


async def test_server_settings_kwarg(cluster):
    conn = await pgwire.connect(**cluster.connect_kwargs(),
                                server_settings={"work_mem": "7MB"})
    try:
        assert await conn.fetchval("SHOW work_mem") == "7MB"
    finally:
        await conn.close()


async def test_pgpass(cluster, tmp_path, monkeypatch):
    user, password = cluster.users["scram"]
    pf = tmp_path / "pgpass"
    pf.write_text(f"{cluster.tcp_host}:{cluster.port}:*:{user}:{password}\n")
    os.chmod(pf, 0o600)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    conn = await pgwire.connect(**_kw(cluster, "scram", password=None,
                                      passfile=str(pf)))
    await _check(conn)
    # group/world readable: ignored with a warning -> no password
    os.chmod(pf, 0o644)
    with pytest.warns(UserWarning, match="permissions"):
        with pytest.raises(exc.InterfaceError, match="no password"):
            await pgwire.connect(**_kw(cluster, "scram", password=None,
                                       passfile=str(pf)))


async def test_env_vars(cluster, monkeypatch):
    user, password = cluster.users["md5"]
    monkeypatch.setenv("PGHOST", cluster.tcp_host)
    monkeypatch.setenv("PGPORT", str(cluster.port))
    monkeypatch.setenv("PGUSER", user)
    monkeypatch.setenv("PGPASSWORD", password)
    monkeypatch.setenv("PGDATABASE", "postgres")
    monkeypatch.setenv("PGSSLMODE", "disable")
    monkeypatch.setenv("PGAPPNAME", "from_env")
    conn = await pgwire.connect()
    try:
        assert await conn.fetchval("SHOW application_name") == "from_env"
    finally:
        await conn.close()


async def test_connect_refused_and_timeout(cluster):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(OSError):
        await pgwire.connect(host="127.0.0.1", port=port, user="x",
                             ssl="disable", timeout=5)
    # a listener that never answers: the connect timeout bounds the wait
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        t0 = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.TimeoutError):
            await pgwire.connect(host="127.0.0.1", port=srv.getsockname()[1],
                                 user="x", ssl="disable", timeout=0.5)
        assert asyncio.get_running_loop().time() - t0 < 3
    finally:
        srv.close()


# ---------------------------------------------------------------- TLS ----
@pytest.mark.tls
@pytest.mark.parametrize("mode", ["require", "prefer", "allow"])
async def test_tls_modes_connect(cluster, mode):
    conn = await pgwire.connect(**_kw(cluster, "scram", ssl=mode))
    try:
        used = await conn.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        # allow tries plaintext first; the others use TLS
        assert used is (mode != "allow")
    finally:
        await conn.close()


@pytest.mark.tls
async def test_tls_verify_full(cluster):
    kw = _kw(cluster, "scram", ssl="verify-full", host="localhost")
    os.environ["PGSSLROOTCERT"] = cluster.ssl_ca_file
    try:
        conn = await pgwire.connect(**kw)
        await _check(conn)
        # the certificate names localhost only: 127.0.0.1 fails
        kw["host"] = "127.0.0.1"
        with pytest.raises(ssl.SSLCertVerificationError):
            await pgwire.connect(**kw)
        # verify-ca does not check the host name
        kw["ssl"] = "verify-ca"
        conn = await pgwire.connect(**kw)
        await _check(conn)
        # a wrong CA fails
        os.environ["PGSSLROOTCERT"] = cluster.wrong_ca_file
        with pytest.raises(ssl.SSLCertVerificationError):
            await pgwire.connect(**kw)
    finally:
        del os.environ["PGSSLROOTCERT"]


@pytest.mark.tls
async def test_tls_context_passthrough(cluster):
    ctx = ssl.create_default_context(cafile=cluster.ssl_ca_file)
    conn = await pgwire.connect(**_kw(cluster, "scram", ssl=ctx,
                                      host="localhost"))
    try:
        assert await conn.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()


@pytest.mark.tls
async def test_tls_required_by_hba(cluster):
    if "sslonly" not in cluster.users:
        pytest.skip("cluster has no ssl-only user")
    kw = _kw(cluster, "sslonly", ssl="disable")
    with pytest.raises(exc.InvalidAuthorizationSpecificationError):
        await pgwire.connect(**kw)
    kw["ssl"] = "prefer"
    conn = await pgwire.connect(**kw)
    await _check(conn)


async def test_connect_without_timeout(cluster):
    # timeout=None: no overall bound (asyncpg semantics)
    conn = await pgwire.connect(**cluster.connect_kwargs(), timeout=None)
    await _check(conn)


async def test_tcp_liveness_options_on_live_connection(cluster):
    """keepalives on by default; keepalives_idle and tcp_user_timeout from
    the DSN reach the connection's socket."""
    import socket
    conn = await pgwire.connect(
        cluster.dsn(host="tcp", keepalives_idle=11, tcp_user_timeout=4000),
        ssl=False)
    try:
        sock = conn._transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 11
        assert sock.getsockopt(socket.IPPROTO_TCP,
                               socket.TCP_USER_TIMEOUT) == 4000
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


# require_auth (libpq 16; not in asyncpg): the server's choice of method is
# checked before anything is sent for it
@pytest.mark.parametrize("method,require", [
    ("trust", "none"), ("password", "password"), ("md5", "md5"),
    ("scram", "scram-sha-256"), ("scram", "md5,scram-sha-256"),
    ("scram", "!password,!md5"), ("trust", "!scram-sha-256"),
])
async def test_require_auth_allows(cluster, method, require):
    await _check(await pgwire.connect(**_kw(cluster, method,
                                            require_auth=require)))


@pytest.mark.parametrize("method,require,why", [
    ("trust", "scram-sha-256", "server did not complete authentication"),
    ("password", "scram-sha-256,md5",
     "server requested a cleartext password"),
    ("password", "!password", "server requested a cleartext password"),
    ("md5", "scram-sha-256", "server requested a hashed password"),
    ("scram", "md5", "server requested SASL authentication"),
    ("scram", "!scram-sha-256", "server requested SASL authentication"),
])
async def test_require_auth_refuses(cluster, method, require, why):
    with pytest.raises(exc.InterfaceError) as ei:
        await pgwire.connect(**_kw(cluster, method, require_auth=require))
    assert str(ei.value) == (f'authentication method requirement '
                             f'"{require}" failed: {why}')


async def test_require_auth_from_dsn_and_env(cluster, monkeypatch):
    user, password = cluster.users["password"]
    dsn = (f"postgresql://{user}:{password}@{cluster.tcp_host}:"
           f"{cluster.port}/postgres?sslmode=disable")
    with pytest.raises(exc.InterfaceError, match="cleartext password"):
        await pgwire.connect(dsn + "&require_auth=scram-sha-256")
    monkeypatch.setenv("PGREQUIREAUTH", "md5")
    with pytest.raises(exc.InterfaceError, match='"md5" failed'):
        await pgwire.connect(dsn)
    # the keyword argument wins over the environment
    await _check(await pgwire.connect(dsn, require_auth="password"))


# --------------------------------------------------------------------------
# The SCRAM SaltedPassword cache
# --------------------------------------------------------------------------

# What the cache holds is out of Python's reach (tests/test_scram_cache.py
# checks that): these tests see its counts only.

def _stats():
    from pgwire import _pgwire
    return _pgwire._scram_cache_stats()


def _delta(before, after):
    return {k: after[k] - before[k]
            for k in ("hits", "misses", "stores", "forgotten")}


def _counts(hits=0, misses=0, stores=0, forgotten=0):
    return dict(hits=hits, misses=misses, stores=stores, forgotten=forgotten)


async def test_scram_cache_remembers_and_reuses(cluster):
    pgwire.clear_auth_cache()
    assert _stats()["len"] == 0
    kw = _kw(cluster, "scram")
    s0 = _stats()
    await _check(await pgwire.connect(**kw))
    s1 = _stats()
    assert s1["len"] == 1
    assert _delta(s0, s1) == _counts(misses=1, stores=1)
    await _check(await pgwire.connect(**kw))
    s2 = _stats()
    assert s2["len"] == 1
    assert _delta(s1, s2) == _counts(hits=1, stores=1)
    # md5 and trust remember nothing, look nothing up
    await _check(await pgwire.connect(**_kw(cluster, "md5")))
    await _check(await pgwire.connect(**_kw(cluster, "trust")))
    s3 = _stats()
    assert s3["len"] == 1 and _delta(s2, s3) == _counts()
    # a wrong password misses (another key) and is not remembered
    with pytest.raises(pgwire.InvalidPasswordError):
        await pgwire.connect(**dict(kw, password="not-the-password"))
    s4 = _stats()
    assert s4["len"] == 1 and _delta(s3, s4) == _counts(misses=1)
    pgwire.clear_auth_cache()
    assert _stats()["len"] == 0


async def test_scram_cache_entry_is_used_and_a_failed_startup_forgets_it(
        cluster):
    """A remembered SaltedPassword replaces PBKDF2 (that a wrong one makes
    a proof the server refuses: test_startup_salted_preset in
    tests/c/test_startup.c); a startup that used it and then failed (here:
    the database does not exist, reported after authentication) drops it,
    and the next connect computes it again."""
    pgwire.clear_auth_cache()
    kw = _kw(cluster, "scram")
    await _check(await pgwire.connect(**kw))
    s0 = _stats()
    with pytest.raises(pgwire.PostgresError, match="does not exist"):
        await pgwire.connect(**dict(kw, database="pgwire_no_such_db"))
    s1 = _stats()
    assert s1["len"] == 0
    assert _delta(s0, s1) == _counts(hits=1, forgotten=1)
    await _check(await pgwire.connect(**kw))
    s2 = _stats()
    assert s2["len"] == 1
    assert _delta(s1, s2) == _counts(misses=1, stores=1)


async def test_scram_cache_new_salt_after_password_change(cluster, conn):
    """Setting the password again gives the role a new salt: the cached
    entry misses, PBKDF2 runs, and a new entry is stored (the old one ages
    out of the LRU table)."""
    pgwire.clear_auth_cache()
    kw = _kw(cluster, "scram")
    await _check(await pgwire.connect(**kw))
    s0 = _stats()
    await conn.execute(
        "SET password_encryption = 'scram-sha-256'; "
        f"ALTER ROLE {kw['user']} PASSWORD "
        f"{pgwire.utils.quote_literal(kw['password'])}")
    await _check(await pgwire.connect(**kw))
    s1 = _stats()
    assert _delta(s0, s1) == _counts(misses=1, stores=1)
    assert (s0["len"], s1["len"]) == (1, 2)
