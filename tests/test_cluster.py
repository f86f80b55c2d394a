"""Tests of the test-server helper pgwire.cluster (no C extension needed)."""

import asyncio
import hashlib
import os
import pathlib
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
IS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="session")
def pg_binaries(cluster_module):
    """Tests that start clusters of their own need the server programs,
    which a PGWIRE_TEST_DSN machine may lack."""
    try:
        return cluster_module.find_bindir()
    except cluster_module.ClusterError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def tc(cluster):
    """The session cluster, when it is a TempCluster."""
    if cluster.external:
        pytest.skip("PGWIRE_TEST_DSN is set; these tests check TempCluster")
    return cluster


def wait_dead(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
            if data[data.rindex(b")") + 2:][:1] == b"Z":
                return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


# --------------------------------------------------------------------------
# The session cluster
# --------------------------------------------------------------------------

def test_psql_over_unix_socket(tc):
    assert tc.psql("SELECT current_user, current_database()") == \
        "postgres|pgwire_test"
    # inet_server_addr() is NULL on a unix-socket connection.
    assert tc.psql("SELECT inet_server_addr() IS NULL") == "t"
    assert os.path.exists(os.path.join(tc.host, f".s.PGSQL.{tc.port}"))


def test_psql_over_tcp(tc):
    assert tc.psql("SELECT host(inet_server_addr()), inet_server_port()",
                   host="tcp") == f"127.0.0.1|{tc.port}"


def test_server_settings(tc):
    got = dict(line.split("|") for line in tc.psql(
        "SELECT name, setting FROM pg_settings WHERE name IN ("
        "'fsync', 'synchronous_commit', 'full_page_writes', "
        "'max_connections', 'listen_addresses', 'unix_socket_directories', "
        "'port', 'ssl', 'server_encoding', 'lc_collate', 'server_version_num')"
    ).splitlines())
    assert got["fsync"] == "off"
    assert got["synchronous_commit"] == "off"
    assert got["full_page_writes"] == "off"
    assert got["max_connections"] == "100"
    assert got["listen_addresses"] == "127.0.0.1"
    assert got["unix_socket_directories"] == tc.host
    assert got["port"] == str(tc.port)
    assert got["ssl"] == "on"
    assert got["server_encoding"] == "UTF8"
    assert got["lc_collate"] == "C"
    assert int(got["server_version_num"]) // 10000 == tc.version


def test_layout_and_ownership(tc):
    assert os.path.isdir(tc.datadir)
    assert os.path.commonpath([tc.base_dir, tc.datadir]) == tc.base_dir
    assert tc.host == tc.base_dir
    assert os.path.isfile(tc.log_file)
    # bytes: the server logs each session's statements in that session's
    # client encoding (tests/test_encoding.py writes LATIN1 and EUC_JP)
    assert b"database system is ready to accept connections" in \
        pathlib.Path(tc.log_file).read_bytes()
    assert tc.running and tc.pid is not None
    with open(f"/proc/{tc.pid}/status") as f:
        uid = next(int(line.split()[1]) for line in f
                   if line.startswith("Uid:"))
    if IS_ROOT:
        assert uid != 0, "the server must not run as root"
        assert os.stat(tc.datadir).st_uid == uid
        assert tc.run_as is not None and tc.run_as.uid == uid
    else:
        assert uid == os.geteuid()
        assert tc.run_as is None


def test_dsn_forms(tc):
    sock = urllib.parse.quote(tc.host, safe="")
    assert tc.dsn() == f"postgresql://postgres@{sock}:{tc.port}/pgwire_test"
    assert tc.dsn("md5", host="tcp") == (
        f"postgresql://pgwire_md5:pgwire-md5-pw@127.0.0.1:{tc.port}"
        "/pgwire_test")
    # A role name works as well as a users key; password=False omits it.
    assert tc.dsn("pgwire_scram", "postgres", "tcp", password=False) == \
        f"postgresql://pgwire_scram@127.0.0.1:{tc.port}/postgres"
    assert tc.dsn("scram", host="localhost", sslmode="verify-full") == (
        f"postgresql://pgwire_scram:pgwire-scram-pw@localhost:{tc.port}"
        "/pgwire_test?sslmode=verify-full")


def test_dsn_query_values_with_spaces(tc):
    # libpq does not decode '+' in a URI query: spaces must be %20.
    dsn = tc.dsn(options="-c search_path=a_b")
    assert "options=-c%20search_path%3Da_b" in dsn
    assert tc.psql("SHOW search_path",
                   options="-c search_path=a_b") == "a_b"


def cluster_mod_clean_env():
    # no PG* variables, and no sanitizer preload (make pytest-asan)
    drop = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "PYTHONMALLOC")
    return {k: v for k, v in os.environ.items()
            if not k.startswith("PG") and k not in drop}


def test_dsn_is_usable_by_libpq(tc):
    psql = shutil.which("psql", path=tc.bindir) or shutil.which("psql")
    env = cluster_mod_clean_env()
    for dsn in (tc.dsn(), tc.dsn("scram", host="tcp"),
                tc.dsn("md5", host="unix")):
        out = subprocess.run([psql, "-XAtc", "SELECT current_user", dsn],
                             capture_output=True, text=True, env=env,
                             timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().startswith(("postgres", "pgwire_"))


def test_connect_kwargs(tc):
    assert tc.connect_kwargs() == {
        "host": tc.host, "port": tc.port, "user": "postgres",
        "password": None, "database": "pgwire_test"}
    assert tc.connect_kwargs("scram", "postgres", "tcp", ssl=False) == {
        "host": "127.0.0.1", "port": tc.port, "user": "pgwire_scram",
        "password": "pgwire-scram-pw", "database": "postgres", "ssl": False}


def test_users_dict(tc):
    assert tc.users == {
        "super": ("postgres", None),
        "trust": ("pgwire_trust", "pgwire-trust-pw"),
        "password": ("pgwire_password", "pgwire-password-pw"),
        "md5": ("pgwire_md5", "pgwire-md5-pw"),
        "scram": ("pgwire_scram", "pgwire-scram-pw"),
        "sslonly": ("pgwire_sslonly", "pgwire-sslonly-pw"),
        "nossl": ("pgwire_nossl", "pgwire-nossl-pw"),
        "cert": ("pgwire_cert", None),
        **{f"{kind}_{m}": (f"pgwire_{kind}_{m}", f"pgwire-{kind}-{m}-pw")
           for kind in ("sslonly", "nossl")
           for m in ("md5", "password", "trust")},
    }
    assert tc.dbname == "pgwire_test"


def test_password_verifiers(tc):
    rows = dict(line.split("|") for line in tc.psql(
        "SELECT rolname, coalesce(rolpassword, '') FROM pg_authid "
        "WHERE rolname LIKE 'pgwire\\_%'").splitlines())
    assert rows["pgwire_md5"] == "md5" + hashlib.md5(
        b"pgwire-md5-pwpgwire_md5").hexdigest()
    for role in ("pgwire_scram", "pgwire_password", "pgwire_trust",
                 "pgwire_sslonly", "pgwire_nossl"):
        assert rows[role].startswith("SCRAM-SHA-256$"), role
    assert rows["pgwire_cert"] == ""


def test_test_database(tc):
    assert tc.psql("SELECT pg_get_userbyid(datdba) FROM pg_database "
                   "WHERE datname = 'pgwire_test'") == "postgres"
    # Unprivileged test users may create tables in pgwire_test.
    tc.psql("CREATE TABLE pgwire_cluster_probe (x int); "
            "DROP TABLE pgwire_cluster_probe;", user="scram")


def test_hba_rules(tc):
    out = tc.psql(
        "SELECT type, array_to_string(database, ','), "
        "array_to_string(user_name, ','), coalesce(address, ''), "
        "auth_method, coalesce(error, '') FROM pg_hba_file_rules")
    rules = {tuple(line.split("|")) for line in out.splitlines()}
    assert all(rule[5] == "" for rule in rules), rules
    rules = {rule[:5] for rule in rules}
    expected = {
        ("local", "all", "postgres", "", "trust"),
        ("host", "all", "postgres", "127.0.0.1", "trust"),
        ("local", "replication", "postgres", "", "trust"),
        ("host", "replication", "postgres", "127.0.0.1", "trust"),
        ("hostssl", "all", "pgwire_sslonly", "127.0.0.1", "scram-sha-256"),
        ("hostnossl", "all", "pgwire_nossl", "127.0.0.1", "scram-sha-256"),
        ("hostssl", "all", "pgwire_cert", "127.0.0.1", "cert"),
    }
    for kind, conn_type in (("sslonly", "hostssl"), ("nossl", "hostnossl")):
        for method in ("md5", "password", "trust"):
            expected.add((conn_type, "all", f"pgwire_{kind}_{method}",
                          "127.0.0.1", method))
    for key, method in (("trust", "trust"), ("password", "password"),
                        ("md5", "md5"), ("scram", "scram-sha-256")):
        expected.add(("local", "all", f"pgwire_{key}", "", method))
        expected.add(("host", "all", f"pgwire_{key}", "127.0.0.1", method))
    assert rules == expected


@pytest.mark.parametrize("host", ["unix", "tcp"])
@pytest.mark.parametrize("key", ["password", "md5", "scram"])
def test_password_auth(tc, cluster_module, key, host):
    role = tc.users[key][0]
    assert tc.psql("SELECT current_user", user=key, host=host) == role
    with pytest.raises(cluster_module.PsqlError,
                       match="password authentication failed"):
        tc.psql("SELECT 1", user=key, host=host, password="wrong")


@pytest.mark.parametrize("host", ["unix", "tcp"])
def test_trust_auth(tc, host):
    assert tc.psql("SELECT current_user", user="trust", host=host,
                   password="anything") == "pgwire_trust"


def test_psql_errors(tc, cluster_module):
    with pytest.raises(cluster_module.PsqlError) as info:
        tc.psql("SELECT no_such_column")
    assert info.value.returncode != 0
    assert "no_such_column" in info.value.stderr
    with pytest.raises(cluster_module.PsqlError, match="no pg_hba.conf entry"):
        tc.psql("SELECT 1", user="nobody_at_all")


# --------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------

def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.tls
def test_tls_files(tc):
    for path in (tc.ssl_ca_file, tc.server_cert, tc.server_key,
                 tc.client_cert, tc.client_key, tc.wrong_ca_file):
        assert path and os.path.isfile(path), path
    for key in (tc.server_key, tc.client_key):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    if IS_ROOT:
        assert os.stat(tc.server_key).st_uid == tc.run_as.uid
    assert os.stat(tc.client_key).st_uid == os.geteuid()


@pytest.mark.tls
def test_tls_certificates(tc):
    san = openssl("x509", "-in", tc.server_cert, "-noout", "-ext",
                  "subjectAltName")
    assert san.returncode == 0, san.stderr
    assert san.stdout.split()[-1] == "DNS:localhost"
    assert "IP" not in san.stdout
    subject = openssl("x509", "-in", tc.client_cert, "-noout", "-subject")
    assert "pgwire_cert" in subject.stdout
    ok = openssl("verify", "-CAfile", tc.ssl_ca_file, tc.server_cert,
                 tc.client_cert)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = openssl("verify", "-CAfile", tc.wrong_ca_file, tc.server_cert)
    assert bad.returncode != 0


@pytest.mark.tls
@pytest.mark.parametrize("user,sslmode,ok", [
    ("sslonly", "require", True),
    ("sslonly", "disable", False),
    ("nossl", "disable", True),
    ("nossl", "require", False),
    ("scram", "require", True),
    ("scram", "disable", True),
])
def test_hostssl_hostnossl(tc, cluster_module, user, sslmode, ok):
    sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    if ok:
        expect = "t" if sslmode == "require" else "f"
        assert tc.psql(sql, user=user, host="tcp", sslmode=sslmode) == expect
    else:
        with pytest.raises(cluster_module.PsqlError,
                           match="no pg_hba.conf entry"):
            tc.psql(sql, user=user, host="tcp", sslmode=sslmode)


@pytest.mark.tls
def test_verify_modes(tc, cluster_module):
    sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    assert tc.psql(sql, user="scram", host="localhost",
                   sslmode="verify-full", sslrootcert=tc.ssl_ca_file) == "t"
    assert tc.psql(sql, user="scram", host="tcp", sslmode="verify-ca",
                   sslrootcert=tc.ssl_ca_file) == "t"
    with pytest.raises(cluster_module.PsqlError,
                       match="does not match host name"):
        tc.psql(sql, user="scram", host="tcp", sslmode="verify-full",
                sslrootcert=tc.ssl_ca_file)
    with pytest.raises(cluster_module.PsqlError,
                       match="certificate verify failed"):
        tc.psql(sql, user="scram", host="tcp", sslmode="verify-ca",
                sslrootcert=tc.wrong_ca_file)


@pytest.mark.tls
def test_client_certificate_auth(tc, cluster_module):
    assert tc.psql("SELECT current_user", user="cert", host="tcp",
                   sslmode="require", sslcert=tc.client_cert,
                   sslkey=tc.client_key) == "pgwire_cert"
    with pytest.raises(cluster_module.PsqlError):
        tc.psql("SELECT 1", user="cert", host="tcp", sslmode="require",
                sslcert=os.devnull, sslkey=os.devnull)


@pytest.mark.tls
def test_python_ssl_accepts_the_certificates(tc):
    """Python's ssl (which the driver uses) verifies the chain for
    'localhost' and presents the client certificate."""
    ctx = ssl.create_default_context(cafile=tc.ssl_ca_file)
    ctx.load_cert_chain(tc.client_cert, tc.client_key)
    with socket.create_connection(("127.0.0.1", tc.port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))   # SSLRequest
        assert raw.recv(1) == b"S"
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            cert = tls.getpeercert()
            assert ("DNS", "localhost") in cert["subjectAltName"]


# --------------------------------------------------------------------------
# Lifecycle (clusters of their own)
# --------------------------------------------------------------------------

def test_lifecycle(pg_binaries, cluster_module):
    with cluster_module.TempCluster(settings={"max_connections": 20,
                                              "work_mem": "8MB"}) as c:
        base, port, pid = c.base_dir, c.port, c.pid
        assert c.running and os.path.isdir(base)
        assert c.psql("SHOW max_connections") == "20"
        assert c.psql("SHOW work_mem") == "8MB"
        assert "sslonly" not in c.users and c.ssl_ca_file is None
        assert c.psql("SHOW ssl") == "off"

        c.psql("ALTER SYSTEM SET work_mem = '16MB'")
        c.reload()
        assert c.psql("SHOW work_mem") == "16MB"

        c.stop()
        assert not c.running and wait_dead(pid)
        assert not os.path.exists(os.path.join(base, f".s.PGSQL.{port}"))
        c.stop()                                  # idempotent
        c.start()
        assert c.port == port and c.pid != pid
        assert c.psql("SHOW work_mem") == "16MB"  # same data directory
        pid = c.pid
        c.stop(mode="immediate")
        assert wait_dead(pid)
        c.start()
        pid = c.pid
    assert not os.path.exists(base)
    assert wait_dead(pid)
    c.cleanup()                                   # idempotent


def test_standby_helpers_refuse_misuse(tc, pg_binaries, cluster_module):
    """make_standby() needs a running primary; promote() and a default
    wait_for_replay() need a standby.  (The working paths are exercised by
    tests/test_multihost.py.)"""
    assert tc.psql("SHOW wal_level") == "replica"
    assert int(tc.psql("SHOW max_wal_senders")) > 0
    with pytest.raises(cluster_module.ClusterError, match="running primary"):
        cluster_module.TempCluster().make_standby()
    with pytest.raises(cluster_module.ClusterError, match="needs a standby"):
        tc.wait_for_replay()
    with pytest.raises(cluster_module.ClusterError, match="not in standby"):
        tc.promote()
    assert not tc.in_recovery()


def test_explicit_start_cleanup(pg_binaries, cluster_module):
    c = cluster_module.TempCluster()
    assert c.base_dir is None and not c.running
    assert c.start() is c
    assert c.start() is c                         # idempotent
    base, pid = c.base_dir, c.pid
    c.cleanup()
    assert not os.path.exists(base) and wait_dead(pid)


def test_start_failure_reports_log_and_cleans_up(pg_binaries, cluster_module,
                                                 monkeypatch):
    made = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]
    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    c = cluster_module.TempCluster(settings={"shared_buffers": "bogus"})
    with pytest.raises(cluster_module.ClusterError) as info:
        c.start()
    assert "shared_buffers" in str(info.value)
    assert "tail of" in str(info.value)
    assert made and not any(os.path.exists(d) for d in made)


def test_port_collision_is_retried(pg_binaries, cluster_module, monkeypatch):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    ports = [busy.getsockname()[1]]
    real_free_port = cluster_module._free_port

    def fake_free_port():
        return ports.pop(0) if ports else real_free_port()
    monkeypatch.setattr(cluster_module, "_free_port", fake_free_port)
    try:
        with cluster_module.TempCluster() as c:
            assert c.port != busy.getsockname()[1]
            assert c.psql("SELECT 1", host="tcp") == "1"
            assert b"could not bind" in pathlib.Path(c.log_file).read_bytes()
    finally:
        busy.close()


@pytest.mark.skipif(not IS_ROOT, reason="run_as needs root")
def test_run_as_nobody(pg_binaries, cluster_module):
    with cluster_module.TempCluster(run_as="nobody") as c:
        assert c.run_as.name == "nobody"
        assert os.stat(c.datadir).st_uid == c.run_as.uid
        assert c.psql("SELECT current_user", user="scram",
                      host="tcp") == "pgwire_scram"


@pytest.mark.skipif(not IS_ROOT, reason="needs root to switch users")
def test_non_root_caller(tc):
    """Run the module's CLI as the unprivileged server user: no user
    switching happens and the cluster still works."""
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no system python3 the server user can run")
    work = tempfile.mkdtemp(prefix="pgwire-cli-")
    try:
        os.chown(work, tc.run_as.uid, tc.run_as.gid)
        script = os.path.join(work, "cluster.py")
        shutil.copy(ROOT / "pgwire" / "cluster.py", script)
        os.chmod(script, 0o644)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": work, "TMPDIR": work}
        proc = subprocess.run(
            [python, script, "--check"], capture_output=True, text=True,
            timeout=120, cwd=work, env=env, user=tc.run_as.uid,
            group=tc.run_as.gid, extra_groups=[])
        assert proc.returncode == 0, proc.stderr
        assert "PostgreSQL" in proc.stdout
        assert [n for n in os.listdir(work) if n != "cluster.py"] == []
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_atexit_removes_a_forgotten_cluster(pg_binaries, cluster_module):
    code = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('c', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(m)\n"
        "c = m.TempCluster().start()\n"
        "print(c.base_dir, c.pid, flush=True)\n"
        "sys.exit(3)\n"          # no cleanup(): atexit must do it
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "pgwire" / "cluster.py")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    base, pid = proc.stdout.split()
    assert not os.path.exists(base)
    assert wait_dead(int(pid))


def test_cli_check(pg_binaries, cluster_module):
    if cluster_module.__name__ == "pgwire.cluster":
        argv = [sys.executable, "-m", "pgwire.cluster", "--check"]
    else:   # the package itself is not importable (unbuilt extension)
        argv = [sys.executable, str(ROOT / "pgwire" / "cluster.py"),
                "--check"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("PostgreSQL ")


def test_cli_interactive_stops_on_eof(pg_binaries, cluster_module):
    argv = [sys.executable, str(ROOT / "pgwire" / "cluster.py")]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        assert any(line.startswith("export PGWIRE_TEST_DSN=")
                   for line in lines)
        base = lines[0].split(" in ", 1)[1].strip()
        assert os.path.isdir(base)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert not os.path.exists(base)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------
# Binaries, external servers, PGWIRE_TEST_DSN
# --------------------------------------------------------------------------

def test_find_bindir(tc, cluster_module, monkeypatch, tmp_path):
    monkeypatch.setenv("PGINSTALLATION", tc.bindir)
    assert cluster_module.find_bindir() == tc.bindir
    monkeypatch.setenv("PGINSTALLATION", os.path.dirname(tc.bindir))
    assert cluster_module.find_bindir() == tc.bindir
    monkeypatch.setenv("PGINSTALLATION", str(tmp_path))
    with pytest.raises(cluster_module.ClusterError, match="PGINSTALLATION"):
        cluster_module.find_bindir()
    monkeypatch.delenv("PGINSTALLATION")
    assert os.access(os.path.join(cluster_module.find_bindir(), "initdb"),
                     os.X_OK)


def test_external_cluster(tc, cluster_module):
    ext = cluster_module.ExternalCluster(tc.dsn("scram", host="tcp"))
    assert ext.external
    assert ext.users == {"super": ("pgwire_scram", "pgwire-scram-pw")}
    assert (ext.host, ext.port, ext.dbname) == ("127.0.0.1", tc.port,
                                                "pgwire_test")
    assert ext.dsn() == tc.dsn("scram", host="tcp")
    assert ext.connect_kwargs() == tc.connect_kwargs("scram", host="tcp")
    assert ext.psql("SELECT current_user") == "pgwire_scram"
    assert ext.version == tc.version
    with pytest.raises(cluster_module.UserNotAvailable,
                       match="PGWIRE_TEST_DSN"):
        ext.dsn("md5")
    with ext as same:                 # starts and stops nothing
        assert same is ext
    assert tc.psql("SELECT 1") == "1"


def test_external_cluster_dsn_forms(tc, cluster_module):
    ext = cluster_module.ExternalCluster(tc.dsn(sslmode="disable"))
    assert ext.host == tc.host and ext.params == {"sslmode": "disable"}
    assert ext.dsn().endswith("?sslmode=disable")
    assert ext.psql("SELECT ssl FROM pg_stat_ssl "
                    "WHERE pid = pg_backend_pid()") == "f"
    ext = cluster_module.ExternalCluster(
        f"host={tc.host} port={tc.port} user=postgres dbname='postgres'")
    assert ext.connect_kwargs() == {
        "host": tc.host, "port": tc.port, "user": "postgres",
        "password": None, "database": "postgres"}
    assert ext.psql("SELECT current_database()") == "postgres"


def test_get_test_cluster_honours_env(tc, cluster_module, monkeypatch):
    monkeypatch.setenv("PGWIRE_TEST_DSN", tc.dsn())
    got = cluster_module.get_test_cluster(ssl=True)
    assert got.external and got.dsn() == tc.dsn()
    got.cleanup()
    assert tc.psql("SELECT 1") == "1"


def test_auth_user_fixture(cluster, auth_user):
    if cluster.external:
        assert auth_user("super") == cluster.users["super"]
    else:
        assert auth_user("md5") == ("pgwire_md5", "pgwire-md5-pw")


def test_dsn_fixture(cluster, dsn):
    assert dsn == cluster.dsn()


# --------------------------------------------------------------------------
# conftest: event loop
# --------------------------------------------------------------------------

_loops = []


async def test_event_loop_follows_option(request):
    loop = asyncio.get_running_loop()
    _loops.append(loop)
    is_uvloop = type(loop).__module__.startswith("uvloop")
    assert is_uvloop == (request.config.getoption("--loop") == "uvloop")


async def test_event_loop_is_session_scoped():
    assert _loops and asyncio.get_running_loop() is _loops[0]


WATCHDOG_CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from pgwire.cluster import TempCluster
c = TempCluster().start()
print(c.base_dir, c.pid, flush=True)
os._exit(3)     # no cleanup(), no atexit: as a SIGKILLed test run
"""


def _pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # a zombie still answers kill(0): it is gone once its state says so
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_server_does_not_outlive_a_killed_owner():
    # regression: a test process killed mid-run (CI's hang timeout, a
    # crash) left its throwaway server and directory behind; the cluster's
    # watchdog stops and removes them when its owner dies without cleanup
    root = str(pathlib.Path(__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    proc = subprocess.run([sys.executable, "-c", WATCHDOG_CHILD, root],
                          capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 3, proc.stderr
    base, pid = proc.stdout.split()
    pid = int(pid)
    deadline = time.monotonic() + 60
    while not (_pid_gone(pid) and not os.path.exists(base)):
        assert time.monotonic() < deadline, (
            f"server {pid} or {base} still there 60 s after its owner died")
        time.sleep(0.05)
