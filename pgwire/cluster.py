"""Throwaway PostgreSQL servers for the tests, the demo and the benchmarks.

Pure Python and standard library only: this module must never import the C
extension, so the test server works before the extension is built.

    with TempCluster(ssl=True) as cluster:
        conn = await pgwire.connect(**cluster.connect_kwargs(user="scram"))
        cluster.psql("CREATE TABLE t (x int)")

A ``TempCluster`` runs ``initdb`` into a fresh temporary directory, starts
``postgres`` on a free port of 127.0.0.1 with a private unix socket directory,
creates one role per authentication method, and removes everything on
``cleanup()`` (or at interpreter exit, as a safety net).  PostgreSQL refuses
to run as root, so when the caller is root the server programs run as the
``postgres`` user (or ``nobody``) and the temporary directory belongs to it.

Streaming replication: ``standby = primary.make_standby()`` takes a base
backup of a running TempCluster and starts it as a hot standby on its own
port (same roles, passwords and certificates); ``standby.wait_for_replay()``
polls until it has replayed everything the primary committed so far,
``standby.promote()`` fails over, ``primary.stop(mode="immediate")``
simulates a crash.

``get_test_cluster()`` honours ``PGWIRE_TEST_DSN``: when it is set, it returns
an ``ExternalCluster`` with the same ``dsn()``/``connect_kwargs()``/``psql()``
interface that points at that server and starts nothing.

Command line: ``python -m pgwire.cluster`` starts a server, prints its DSN and
waits for Ctrl-C or end of stdin; ``--check`` starts, runs ``SELECT version()``
and stops.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

__all__ = [
    "ClusterError",
    "ExternalCluster",
    "PsqlError",
    "TempCluster",
    "UserNotAvailable",
    "find_bindir",
    "get_test_cluster",
]

SUPERUSER = "postgres"
TEST_DBNAME = "pgwire_test"
TCP_HOST = "127.0.0.1"
CERT_USER = "pgwire_cert"
DSN_ENV = "PGWIRE_TEST_DSN"
KEEP_ENV = "PGWIRE_CLUSTER_KEEP"

_SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
_SUN_PATH_MAX = 107          # sizeof(sockaddr_un.sun_path) - 1
_PORT_ATTEMPTS = 5
_BIND_FAILURE = re.compile(r"could not bind|Address already in use|"
                           r"could not create any TCP/IP sockets")

# (users key, role, pg_hba method, connection types, password or None); one
# pg_hba rule per connection type (host rules for 127.0.0.1/32).  _SSL_ROLES
# exist only with ssl=True (reliability.md §2.1).
_ROLES = (
    ("trust", "pgwire_trust", "trust", ("local", "host"), "pgwire-trust-pw"),
    ("password", "pgwire_password", "password", ("local", "host"),
     "pgwire-password-pw"),
    ("md5", "pgwire_md5", "md5", ("local", "host"), "pgwire-md5-pw"),
    ("scram", "pgwire_scram", "scram-sha-256", ("local", "host"),
     "pgwire-scram-pw"),
)
_SSL_ROLES = (
    ("sslonly", "pgwire_sslonly", "scram-sha-256", ("hostssl",),
     "pgwire-sslonly-pw"),
    ("nossl", "pgwire_nossl", "scram-sha-256", ("hostnossl",),
     "pgwire-nossl-pw"),
    ("cert", CERT_USER, "cert", ("hostssl",), None),
) + tuple(
    # The other methods behind hostssl / hostnossl rules, for the TLS x auth
    # matrix (tests/test_authmatrix.py, reliability.md §5 row 12):
    # sslonly_md5 = pgwire_sslonly_md5 / pgwire-sslonly-md5-pw, ...
    (f"{kind}_{method}", f"pgwire_{kind}_{method}", hba, (conn_type,),
     f"pgwire-{kind}-{method}-pw")
    for kind, conn_type in (("sslonly", "hostssl"), ("nossl", "hostnossl"))
    for method, hba in (("md5", "md5"), ("password", "password"),
                        ("trust", "trust"))
)


class ClusterError(RuntimeError):
    """The test server could not be located, started, stopped or used."""


class PsqlError(ClusterError):
    """psql exited with an error; ``returncode`` and ``stderr`` tell why."""

    def __init__(self, message: str, returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


class UserNotAvailable(ClusterError, LookupError):
    """The cluster has no such test user (e.g. with ``PGWIRE_TEST_DSN``)."""


# --------------------------------------------------------------------------
# Locating the server programs
# --------------------------------------------------------------------------

def _has_server_programs(bindir: str) -> bool:
    return all(os.access(os.path.join(bindir, prog), os.X_OK)
               for prog in _SERVER_PROGRAMS)


def _pg_config_bindir() -> str | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run([pg_config, "--bindir"], env=_clean_env(),
                             capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip() or None


def _debian_bindirs() -> list[str]:
    def major(path: str) -> float:
        name = os.path.basename(os.path.dirname(path))
        try:
            return float(name)
        except ValueError:
            return -1.0
    return sorted(glob.glob(_DEBIAN_GLOB), key=major, reverse=True)


def find_bindir() -> str:
    """Return the directory holding initdb, pg_ctl and postgres.

    Looks at ``PGINSTALLATION`` (a bin directory, or an installation prefix
    with a ``bin`` below it), then ``pg_config --bindir``, then ``PATH``, then
    Debian's ``/usr/lib/postgresql/<major>/bin`` (highest major first).
    """
    explicit = os.environ.get("PGINSTALLATION")
    if explicit:
        for cand in (explicit, os.path.join(explicit, "bin")):
            if _has_server_programs(cand):
                return os.path.abspath(cand)
        raise ClusterError(
            f"PGINSTALLATION={explicit!r} holds no initdb/pg_ctl/postgres")
    candidates = [_pg_config_bindir()]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(initdb))
    candidates += _debian_bindirs()
    for cand in candidates:
        if cand and _has_server_programs(cand):
            return os.path.abspath(cand)
    raise ClusterError(
        "no PostgreSQL server programs (initdb, pg_ctl, postgres) found; "
        "install them (Debian: apt-get install postgresql) or set "
        "PGINSTALLATION to their bin directory")


def _server_version(bindir: str) -> tuple[int, str]:
    """Return (major, full version text) of the postgres binary."""
    try:
        out = subprocess.run([os.path.join(bindir, "postgres"), "--version"],
                             env=_clean_env(),
                             capture_output=True, text=True, timeout=30,
                             check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClusterError(f"cannot run {bindir}/postgres --version: {exc}")
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    if match is None:
        raise ClusterError(f"unrecognised postgres --version output: {out!r}")
    return int(match.group(1)), out


def _find_psql(bindir: str | None) -> str:
    if bindir:
        cand = os.path.join(bindir, "psql")
        if os.access(cand, os.X_OK):
            return cand
    found = shutil.which("psql")
    if found is None:
        raise ClusterError("psql not found (Debian: apt-get install "
                           "postgresql-client)")
    return found


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

class _RunAs:
    """The unprivileged account the server programs run as (caller is root)."""

    def __init__(self, name: str) -> None:
        import pwd
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ClusterError(f"no such user {name!r} to run PostgreSQL as")
        self.name = name
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid

    def popen_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _choose_run_as(run_as: str | None) -> _RunAs | None:
    if os.geteuid() != 0:
        if run_as is not None:
            raise ClusterError("run_as needs root; the server already runs "
                               "as the calling user")
        return None
    if run_as is not None:
        return _RunAs(run_as)
    import pwd
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(name)
    raise ClusterError("running as root and neither a 'postgres' nor a "
                       "'nobody' user exists to run PostgreSQL as")


# Variables that must not reach the server binaries: a sanitizer runtime
# preloaded into the test interpreter (make pytest-asan) would be loaded
# into postgres and psql too.
_NO_INHERIT = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS",
               "LSAN_OPTIONS", "PYTHONMALLOC")


def _clean_env() -> dict:
    """The environment minus libpq's PG* variables, which would leak in,
    and minus sanitizer preloads meant for the test interpreter only."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("PG") and k not in _NO_INHERIT}


def _conf_value(value) -> str:
    """Render a postgresql.conf value."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((TCP_HOST, 0))
        return sock.getsockname()[1]


def _tail(path: str | None, lines: int = 40, offset: int = 0) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes (in containers PID 1 may not reap).
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:][:1] != b"Z"
    except (OSError, ValueError):
        return True


def _quote_host(host: str) -> str:
    if host.startswith("/") or "%" in host:
        return urllib.parse.quote(host, safe="")
    if ":" in host:
        return f"[{host}]"
    return host


def _build_dsn(host: str, port: int | None, user: str | None,
               password: str | None, database: str | None,
               params: dict) -> str:
    auth = ""
    if user:
        auth = urllib.parse.quote(user, safe="")
        if password is not None:
            auth += ":" + urllib.parse.quote(password, safe="")
        auth += "@"
    netloc = auth + _quote_host(host) + (f":{port}" if port else "")
    path = "/" + urllib.parse.quote(database, safe="") if database else ""
    # %20, not '+': libpq does not decode '+' in URI query values.
    query = ("?" + urllib.parse.urlencode(
        {k: str(v) for k, v in params.items()},
        quote_via=urllib.parse.quote)) if params else ""
    return f"postgresql://{netloc}{path}{query}"


# --------------------------------------------------------------------------
# The interface shared by TempCluster and ExternalCluster
# --------------------------------------------------------------------------

class _ClusterBase:
    external = False
    ssl = False
    host: str | None = None          # socket directory (or the DSN's host)
    port: int | None = None
    tcp_host: str = TCP_HOST
    dbname: str = TEST_DBNAME
    users: dict
    bindir: str | None = None
    ssl_ca_file = client_cert = client_key = wrong_ca_file = None

    def credentials(self, user: str | None = None) -> tuple[str, str | None]:
        """(role, password) for a ``users`` key ('md5'), a role name, or None
        (the superuser).  Raises ``UserNotAvailable`` for a test-user key the
        server lacks; an unknown role name maps to (name, None)."""
        if user is None:
            user = "super"
        if user in self.users:
            return self.users[user]
        for role, password in self.users.values():
            if role == user:
                return role, password
        if user in _KNOWN_KEYS:
            raise UserNotAvailable(
                f"test user {user!r} is not available on this server"
                + (f" (it is the {DSN_ENV} server; only 'super' exists)"
                   if self.external else ""))
        return user, None

    def _host(self, host: str) -> str:
        if host == "unix":
            return self.host
        if host == "tcp":
            return self.tcp_host
        return host

    def dsn(self, user: str | None = None, database: str | None = None,
            host: str = "unix", *, password: bool = True, **params) -> str:
        """A ``postgresql://`` URI.

        ``user`` is a ``users`` key ('md5', 'scram', ...), a role name, or None
        for the superuser; its password is included unless ``password=False``.
        ``host`` is 'unix' (the socket directory, percent-encoded), 'tcp'
        (127.0.0.1) or a literal host name such as 'localhost'.  Extra keyword
        arguments become query parameters (``sslmode='require'``).
        """
        role, secret = self.credentials(user)
        return _build_dsn(self._host(host), self.port, role,
                          secret if password else None,
                          database or self.dbname, params)

    def connect_kwargs(self, user: str | None = None,
                       database: str | None = None,
                       host: str = "unix", **extra) -> dict:
        """Keyword arguments for ``pgwire.connect(**kw)``."""
        role, secret = self.credentials(user)
        kwargs = {"host": self._host(host), "port": self.port, "user": role,
                  "password": secret, "database": database or self.dbname}
        kwargs.update(extra)
        return kwargs

    def psql(self, sql: str, user: str | None = None,
             database: str | None = None, host: str = "unix", *,
             timeout: float = 60.0, **params) -> str:
        """Run ``sql`` (one or more statements, psql meta-commands allowed)
        through psql and return its unaligned, tuples-only output.

        Raises ``PsqlError`` when psql fails (connection refused, SQL error).
        """
        role, secret = self.credentials(user)
        params.setdefault("connect_timeout", 10)
        dsn = _build_dsn(self._host(host), self.port, role, None,
                         database or self.dbname, params)
        env = _clean_env()
        if secret is not None:
            env["PGPASSWORD"] = secret
        argv = [_find_psql(self.bindir), "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"]
        try:
            proc = subprocess.run(argv, input=sql, capture_output=True,
                                  text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PsqlError(f"psql timed out after {timeout}s", -1, "")
        if proc.returncode != 0:
            raise PsqlError(
                f"psql as {role!r} failed (exit {proc.returncode}): "
                f"{proc.stderr.strip()}", proc.returncode, proc.stderr)
        return proc.stdout.rstrip("\n")

    def cleanup(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


_KNOWN_KEYS = frozenset(["super"] + [r[0] for r in _ROLES + _SSL_ROLES])


# --------------------------------------------------------------------------
# TempCluster
# --------------------------------------------------------------------------

_live: dict[int, "TempCluster"] = {}


def _cleanup_live() -> None:
    for cluster in list(_live.values()):
        if cluster._owner_pid != os.getpid():
            continue
        try:
            cluster.cleanup()
        except Exception as exc:  # noqa: BLE001 - keep going at exit
            print(f"pgwire.cluster: cleanup of {cluster.base_dir} failed: "
                  f"{exc}", file=sys.stderr)


atexit.register(_cleanup_live)

# The watchdog: a small process holding the read end of a pipe whose write
# end only the cluster's owner holds.  When the owner dies without
# cleanup() (SIGKILL, os._exit, a crash, faulthandler's exit), the pipe
# reads EOF and the watchdog stops the server (fast shutdown, then SIGKILL)
# and removes the directory, so no throwaway server outlives its test run.
# cleanup() disarms it by writing a byte first.
_WATCHDOG = r"""
import os, shutil, signal, sys, time
datadir, base, keep = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
try:
    disarmed = sys.stdin.buffer.read(1) != b""
except BaseException:
    disarmed = False
if disarmed:
    sys.exit(0)
try:
    with open(os.path.join(datadir, "postmaster.pid")) as f:
        pid = int(f.readline().strip())
except (OSError, ValueError):
    pid = None
if pid:
    for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except OSError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        else:
            continue
        break
if not keep:
    shutil.rmtree(base, ignore_errors=True)
"""


def _start_watchdog(datadir: str, base: str) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, datadir, base,
             "1" if os.environ.get(KEEP_ENV) else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            env=_clean_env())
    except OSError:
        return None     # no watchdog: cleanup() and atexit still work


def watchdog_fds() -> set[int]:
    """The pipe ends this process holds to its clusters' watchdogs (tests
    that count open descriptors leave them out)."""
    out = set()
    for cluster in list(_live.values()):
        proc = getattr(cluster, "_watchdog", None)
        if proc is not None and proc.stdin is not None and \
                not proc.stdin.closed:
            out.add(proc.stdin.fileno())
    return out


def _disarm_watchdog(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"q")
        proc.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class TempCluster(_ClusterBase):
    """A private PostgreSQL server in a temporary directory.

    Use as a context manager, or call ``start()`` and ``cleanup()``.
    ``settings`` entries override or extend the postgresql.conf defaults
    (a ``port`` setting pins the port).  ``run_as`` names the account to run
    the server as when the caller is root (default: ``postgres``, else
    ``nobody``).
    """

    def __init__(self, *, ssl: bool = False, settings: dict | None = None,
                 bindir: str | None = None, run_as: str | None = None,
                 start_timeout: int = 60, stop_timeout: int = 30) -> None:
        self.bindir = bindir or find_bindir()
        if not _has_server_programs(self.bindir):
            raise ClusterError(
                f"{self.bindir} holds no initdb/pg_ctl/postgres")
        self.version, self.version_string = _server_version(self.bindir)
        self.ssl = bool(ssl)
        self.settings = dict(settings or {})
        self.start_timeout = int(start_timeout)
        self.stop_timeout = int(stop_timeout)
        self.run_as = _choose_run_as(run_as)
        self.tcp_host = TCP_HOST
        self.dbname = TEST_DBNAME
        self.port = None
        self.base_dir = self.datadir = self.host = self.log_file = None
        self.conf_file = self.hba_file = None
        self.ssl_dir = self.ssl_ca_file = self.wrong_ca_file = None
        self.server_cert = self.server_key = None
        self.client_cert = self.client_key = None
        self.users = {"super": (SUPERUSER, None)}
        for key, role, _method, _types, password in self._roles():
            self.users[key] = (role, password)
        self._initdb_conf = ""
        self._initialized = False
        self._bootstrapped = False
        self._running = False
        self._owner_pid = os.getpid()
        self._watchdog: subprocess.Popen | None = None
        self.standby_of: TempCluster | None = None   # set by make_standby()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return (f"<TempCluster {state} port={self.port} dir={self.base_dir} "
                f"pg={self.version}>")

    def _roles(self):
        return _ROLES + (_SSL_ROLES if self.ssl else ())

    # ---- lifecycle ------------------------------------------------------

    def __enter__(self) -> "TempCluster":
        return self.start()

    def start(self) -> "TempCluster":
        """Create (first time), start and populate the server; idempotent.

        After ``stop()`` it starts again on the same port.
        """
        if self._running:
            return self
        first = not self._bootstrapped
        try:
            if not self._initialized:
                self._init()
            self._start_server(retry_ports=first and "port" not in
                               self.settings)
            if first:
                self._bootstrap()
        except BaseException:
            if first:
                self.cleanup()
            raise
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``), SIGKILL if it hangs."""
        if not self._initialized:
            return
        pid = self.pid
        if pid is None or not _pid_alive(pid):
            self._running = False
            return
        try:
            self._run_tool(["pg_ctl", "stop", "-D", self.datadir, "-m", mode,
                            "-w", "-t", str(self.stop_timeout), "-s"],
                           timeout=self.stop_timeout + 15, check=False)
        except subprocess.TimeoutExpired:
            pass
        if _pid_alive(pid):
            self._kill(pid)
        self._running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def reload(self, timeout: float = 10.0) -> None:
        """Re-read postgresql.conf and pg_hba.conf; returns once new
        sessions see the reload (``pg_conf_load_time()`` moved on)."""
        before = self.psql("SELECT pg_conf_load_time()", database="postgres")
        self._run_tool(["pg_ctl", "reload", "-D", self.datadir, "-s"],
                       timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.psql("SELECT pg_conf_load_time()", database="postgres")
            if now != before:
                return
            time.sleep(0.02)
        raise ClusterError(f"server did not reload within {timeout}s\n"
                           + self._log_excerpt())

    def cleanup(self) -> None:
        """Stop the server if running and remove the temporary directory.

        With ``PGWIRE_CLUSTER_KEEP=1`` the directory stays for post-mortems.
        """
        try:
            self.stop()
        finally:
            _live.pop(id(self), None)
            _disarm_watchdog(self._watchdog)
            self._watchdog = None
            if self.base_dir and os.path.isdir(self.base_dir):
                if os.environ.get(KEEP_ENV):
                    print(f"pgwire.cluster: kept {self.base_dir}",
                          file=sys.stderr)
                else:
                    shutil.rmtree(self.base_dir, ignore_errors=True)
            self._initialized = False
            self._bootstrapped = False

    @property
    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid, or None."""
        if not self.datadir:
            return None
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    @property
    def running(self) -> bool:
        pid = self.pid
        return self._running and pid is not None and _pid_alive(pid)

    # ---- streaming replication ------------------------------------------

    def make_standby(self, *, settings: dict | None = None) -> "TempCluster":
        """Create and start a streaming standby of this running server.

        ``pg_basebackup -R -X stream`` copies the data directory into a new
        temporary directory.  The standby has its own free port and socket
        directory, and the primary's roles, passwords, pg_hba rules and
        (with ssl=True) certificates, so ``dsn()``, ``connect_kwargs()`` and
        ``psql()`` work on it as on the primary.  ``settings`` override the
        primary's (``{"hot_standby": False}`` gives a standby that refuses
        connections with 57P03).  Clean it up like any TempCluster (it is
        also removed at exit); ``promote()`` turns it into a primary.
        """
        if not self.running:
            raise ClusterError("make_standby() needs a running primary")
        if not os.access(os.path.join(self.bindir, "pg_basebackup"),
                         os.X_OK):
            raise ClusterError(f"{self.bindir} has no pg_basebackup")
        merged = {k: v for k, v in self.settings.items() if k != "port"}
        merged.update(settings or {})
        standby = TempCluster(
            ssl=self.ssl, settings=merged, bindir=self.bindir,
            run_as=self.run_as.name if self.run_as else None,
            start_timeout=self.start_timeout, stop_timeout=self.stop_timeout)
        try:
            standby._init_standby(self)
            standby._start_server(retry_ports="port" not in merged)
        except BaseException:
            standby.cleanup()
            raise
        return standby

    def promote(self, timeout: int = 60) -> None:
        """Promote this standby (``pg_ctl promote -w``); returns once the
        server is out of recovery and accepts writes."""
        self._run_tool(["pg_ctl", "promote", "-D", self.datadir, "-w",
                        "-t", str(int(timeout)), "-s"], timeout=timeout + 15)
        self.standby_of = None

    def in_recovery(self) -> bool:
        """``pg_is_in_recovery()``: True on a standby."""
        return self.psql("SELECT pg_catalog.pg_is_in_recovery()",
                         database="postgres") == "t"

    def wal_lsn(self) -> str:
        """Flush the WAL and return the flush LSN: a standby that replayed
        up to it has seen every transaction committed before the call
        (even under ``synchronous_commit=off``, the helper's default)."""
        # A transaction that wrote nothing but its xid commits
        # asynchronously; a transactional WAL message makes the commit
        # flush, and so everything inserted before it.
        out = self.psql("SET synchronous_commit = on;\n"
                        "SELECT pg_catalog.pg_logical_emit_message("
                        "true, 'pgwire.cluster', 'flush');\n"
                        "SELECT pg_catalog.pg_current_wal_flush_lsn();",
                        database="postgres")
        return out.splitlines()[-1]

    def wait_for_replay(self, lsn: str | None = None,
                        timeout: float = 30.0) -> str:
        """Poll ``pg_last_wal_replay_lsn()`` on this standby until it
        reaches ``lsn`` (default: the primary's ``wal_lsn()`` now); raises
        ``ClusterError`` after ``timeout`` seconds.  Returns the LSN."""
        if lsn is None:
            if self.standby_of is None:
                raise ClusterError("wait_for_replay() without an lsn needs "
                                   "a standby made by make_standby()")
            lsn = self.standby_of.wal_lsn()
        query = ("SELECT pg_catalog.pg_last_wal_replay_lsn() >= "
                 f"{_sql_literal(lsn)}::pg_lsn")
        deadline = time.monotonic() + timeout
        while True:
            if self.psql(query, database="postgres") == "t":
                return lsn
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"standby on port {self.port} did not replay up to {lsn} "
                    f"within {timeout}s\n" + self._log_excerpt())
            time.sleep(0.02)

    # ---- steps ----------------------------------------------------------

    def _run_tool(self, argv: list[str], *, timeout: float,
                  check: bool = True) -> subprocess.CompletedProcess:
        """Run a server program from bindir, as the unprivileged user."""
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        kwargs = self.run_as.popen_kwargs() if self.run_as else {}
        proc = subprocess.run(argv, cwd=self.base_dir, env=_clean_env(),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, **kwargs)
        if check and proc.returncode != 0:
            raise ClusterError(
                f"{os.path.basename(argv[0])} failed (exit {proc.returncode})"
                f": {(proc.stderr or proc.stdout).strip()}\n"
                + self._log_excerpt())
        return proc

    def _log_excerpt(self, offset: int = 0) -> str:
        tail = _tail(self.log_file, offset=offset)
        if not tail:
            return f"(server log {self.log_file} is empty or missing)"
        return f"--- tail of {self.log_file} ---\n{tail}"

    def _make_base_dir(self) -> str:
        base = tempfile.mkdtemp(prefix="pgwire-")
        sock = os.path.join(base, ".s.PGSQL.65535")
        if len(os.fsencode(sock)) > _SUN_PATH_MAX:
            os.rmdir(base)       # TMPDIR too deep for a unix socket path
            base = tempfile.mkdtemp(prefix="pgwire-", dir="/tmp")
        return base

    def _make_layout(self) -> None:
        _live[id(self)] = self
        self.base_dir = self.host = self._make_base_dir()
        if self.run_as:
            os.chown(self.base_dir, self.run_as.uid, self.run_as.gid)
        self.datadir = os.path.join(self.base_dir, "data")
        self.log_file = os.path.join(self.base_dir, "postgres.log")
        self.conf_file = os.path.join(self.datadir, "postgresql.conf")
        self.hba_file = os.path.join(self.datadir, "pg_hba.conf")
        self._watchdog = _start_watchdog(self.datadir, self.base_dir)

    def _init(self) -> None:
        self._make_layout()
        self._run_tool(["initdb", "-D", self.datadir, "-U", SUPERUSER,
                        "--auth=trust", "-E", "UTF8", "--locale=C",
                        "--no-sync" if self.version >= 10 else "--nosync"],
                       timeout=300)
        with open(self.conf_file) as f:
            self._initdb_conf = f.read()
        if self.ssl:
            self._make_tls()
        with open(self.hba_file, "w") as f:
            f.write(self._hba_text())
        self._initialized = True

    def _init_standby(self, primary: "TempCluster") -> None:
        """Lay out a standby of ``primary``: base backup with
        standby.signal and primary_conninfo (-R), WAL streamed alongside
        (-X stream), over the primary's unix socket."""
        self._make_layout()
        self.standby_of = primary
        self._run_tool(["pg_basebackup", "-h", primary.host, "-p",
                        str(primary.port), "-U", SUPERUSER, "-D",
                        self.datadir, "-R", "-X", "stream", "-c", "fast",
                        "--no-sync"], timeout=300)
        self._initdb_conf = primary._initdb_conf
        if self.ssl:
            self._copy_tls(primary)
        with open(self.hba_file, "w") as f:
            f.write(self._hba_text())
        self._initialized = True
        self._bootstrapped = True       # the roles came with the backup

    def _copy_tls(self, primary: "TempCluster") -> None:
        """The primary's certificates and keys, in this cluster's own
        directory (the primary may be cleaned up first)."""
        self.ssl_dir = os.path.join(self.base_dir, "ssl")
        shutil.copytree(primary.ssl_dir, self.ssl_dir)
        for attr in ("ssl_ca_file", "wrong_ca_file", "server_cert",
                     "server_key", "client_cert", "client_key"):
            name = os.path.basename(getattr(primary, attr))
            setattr(self, attr, os.path.join(self.ssl_dir, name))
        if self.run_as:
            os.chown(self.server_key, self.run_as.uid, self.run_as.gid)

    def _hba_text(self) -> str:
        rows = [("local", "all", SUPERUSER, "", "trust"),
                ("local", "replication", SUPERUSER, "", "trust"),
                ("host", "all", SUPERUSER, "127.0.0.1/32", "trust"),
                ("host", "replication", SUPERUSER, "127.0.0.1/32", "trust")]
        for _key, role, method, types, _password in self._roles():
            for conn_type in types:
                addr = "" if conn_type == "local" else "127.0.0.1/32"
                rows.append((conn_type, "all", role, addr, method))
        lines = ["# written by pgwire.cluster",
                 "# TYPE     DATABASE     USER             ADDRESS       "
                 "METHOD"]
        lines += [f"{t:<10} {d:<12} {u:<16} {a:<13} {m}"
                  for t, d, u, a, m in rows]
        return "\n".join(lines) + "\n"

    def _conf_text(self, port: int) -> str:
        conf = {
            "listen_addresses": TCP_HOST,
            "port": port,
            "unix_socket_directories": self.base_dir,
            "fsync": False,
            "synchronous_commit": False,
            "full_page_writes": False,
            "max_connections": 100,
            "shared_buffers": "32MB",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            # make_standby() needs these (they are also PostgreSQL 10+'s
            # defaults); pg_hba.conf has the matching replication lines.
            "wal_level": "replica",
            "max_wal_senders": 10,
        }
        if self.ssl:
            conf.update(ssl=True, ssl_cert_file=self.server_cert,
                        ssl_key_file=self.server_key,
                        ssl_ca_file=self.ssl_ca_file)
        conf.update(self.settings)
        conf["port"] = port
        body = "".join(f"{name} = {_conf_value(value)}\n"
                       for name, value in conf.items())
        return (self._initdb_conf.rstrip("\n")
                + "\n\n# ---- pgwire.cluster ----\n" + body)

    def _start_server(self, retry_ports: bool) -> None:
        attempts = _PORT_ATTEMPTS if retry_ports else 1
        for attempt in range(attempts):
            if self.port is None or attempt > 0:
                self.port = int(self.settings.get("port") or _free_port())
            with open(self.conf_file, "w") as f:
                f.write(self._conf_text(self.port))
            offset = _file_size(self.log_file)
            try:
                proc = self._run_tool(
                    ["pg_ctl", "start", "-D", self.datadir, "-l",
                     self.log_file, "-w", "-t", str(self.start_timeout),
                     "-s"], timeout=self.start_timeout + 30, check=False)
            except subprocess.TimeoutExpired:
                pid = self.pid
                if pid is not None:
                    self._kill(pid)
                raise ClusterError("pg_ctl start hung\n"
                                   + self._log_excerpt(offset))
            if proc.returncode == 0:
                self._running = True
                return
            new_log = _tail(self.log_file, offset=offset)
            if attempt + 1 < attempts and _BIND_FAILURE.search(new_log):
                continue
            raise ClusterError(
                f"pg_ctl start failed (exit {proc.returncode}) on port "
                f"{self.port}: {(proc.stderr or proc.stdout).strip()}\n"
                + self._log_excerpt(offset))

    def _kill(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            raise ClusterError(f"postmaster {pid} survived SIGKILL")

    def _bootstrap(self) -> None:
        stmts = ["SET password_encryption = 'scram-sha-256';"]
        md5 = []
        for _key, role, method, _types, password in self._roles():
            stmt = f"CREATE ROLE {role} LOGIN"
            if password is not None:
                stmt += f" PASSWORD {_sql_literal(password)}"
            (md5 if method == "md5" else stmts).append(stmt + ";")
        if md5:
            stmts += ["SET password_encryption = 'md5';"] + md5
        stmts += ["RESET password_encryption;",
                  f"CREATE DATABASE {self.dbname} OWNER {SUPERUSER};",
                  f"\\connect {self.dbname}",
                  "GRANT CREATE ON SCHEMA public TO PUBLIC;"]
        self.psql("\n".join(stmts) + "\n", database="postgres")
        self._bootstrapped = True

    def _make_tls(self) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise ClusterError("ssl=True needs the openssl command "
                               "(Debian: apt-get install openssl)")
        self.ssl_dir = d = os.path.join(self.base_dir, "ssl")
        os.mkdir(d)
        os.chmod(d, 0o755)
        cnf = os.path.join(d, "openssl.cnf")
        with open(cnf, "w") as f:
            f.write(_OPENSSL_CNF)

        def path(name: str) -> str:
            return os.path.join(d, name)

        def run(*args: str) -> None:
            try:
                subprocess.run([openssl, *args], capture_output=True,
                               env=_clean_env(),
                               text=True, timeout=60, check=True, cwd=d)
            except subprocess.CalledProcessError as exc:
                raise ClusterError(f"openssl {args[0]} failed: "
                                   f"{exc.stderr.strip()}")

        def key(name: str) -> str:
            run("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", path(name))
            os.chmod(path(name), 0o600)
            return path(name)

        def ca(name: str, cn: str) -> None:
            run("req", "-new", "-x509", "-key", key(name + ".key"), "-subj",
                f"/CN={cn}", "-days", "3650", "-sha256", "-config", cnf,
                "-extensions", "v3_ca", "-out", path(name + ".crt"))

        def leaf(name: str, cn: str, ext: str) -> None:
            csr = path(name + ".csr")
            run("req", "-new", "-key", key(name + ".key"), "-subj",
                f"/CN={cn}", "-config", cnf, "-out", csr)
            run("x509", "-req", "-in", csr, "-CA", path("ca.crt"),
                "-CAkey", path("ca.key"), "-set_serial",
                str(secrets.randbits(63) + 1), "-days", "3650", "-sha256",
                "-extfile", cnf, "-extensions", ext,
                "-out", path(name + ".crt"))
            os.unlink(csr)

        ca("ca", "pgwire test CA")
        ca("wrong-ca", "pgwire wrong CA")
        leaf("server", "localhost", "v3_server")
        leaf("client", CERT_USER, "v3_client")
        for name in ("ca.crt", "wrong-ca.crt", "server.crt", "client.crt"):
            os.chmod(path(name), 0o644)
        if self.run_as:
            os.chown(path("server.key"), self.run_as.uid, self.run_as.gid)
        self.ssl_ca_file = path("ca.crt")
        self.wrong_ca_file = path("wrong-ca.crt")
        self.server_cert = path("server.crt")
        self.server_key = path("server.key")
        self.client_cert = path("client.crt")
        self.client_key = path("client.key")


# The server certificate names only DNS:localhost, so verify-full against
# host=127.0.0.1 must fail (reliability.md §2.1).
_OPENSSL_CNF = """\
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = pgwire

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


# --------------------------------------------------------------------------
# ExternalCluster (PGWIRE_TEST_DSN)
# --------------------------------------------------------------------------

def _parse_conninfo(text: str) -> dict:
    """Parse libpq's ``key=value`` form (values may be single-quoted)."""
    out = {}
    pattern = re.compile(r"\s*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))")
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = pattern.match(text, pos)
        if match is None:
            raise ClusterError(f"cannot parse connection string {text!r}")
        quoted = match.group(2)
        value = (re.sub(r"\\(.)", r"\1", quoted) if quoted is not None
                 else match.group(3))
        out[match.group(1)] = value
        pos = match.end()
    return out


def _parse_dsn(dsn: str) -> dict:
    if re.match(r"^postgres(ql)?://", dsn):
        url = urllib.parse.urlsplit(dsn)
        params = dict(urllib.parse.parse_qsl(url.query))
        netloc = url.netloc.rpartition("@")[2].split(",")[0]
        host, port = netloc, None
        match = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(\d*))?$", netloc)
        if match:
            host, port = match.group(1).strip("[]"), match.group(2)
        info = {
            "host": urllib.parse.unquote(host) or None,
            "port": port or None,
            "user": urllib.parse.unquote(url.username) if url.username
            else None,
            "password": urllib.parse.unquote(url.password)
            if url.password is not None else None,
            "dbname": urllib.parse.unquote(url.path.lstrip("/")) or None,
        }
        for key in ("host", "port", "user", "password", "dbname"):
            if key in params:
                info[key] = params.pop(key)
        if "database" in params:
            info["dbname"] = params.pop("database")
    else:
        params = _parse_conninfo(dsn)
        info = {key: params.pop(key, None)
                for key in ("host", "port", "user", "password", "dbname")}
    info["params"] = params
    return info


class ExternalCluster(_ClusterBase):
    """An existing server given by a DSN; starts and stops nothing.

    ``users`` has only 'super' (whoever the DSN names); asking for another
    test user raises ``UserNotAvailable``.  ``host`` kinds 'unix' and 'tcp'
    both mean the DSN's host.  Query parameters of the DSN (sslmode, ...)
    are kept in ``params`` and carried into ``dsn()``.
    """

    external = True

    def __init__(self, dsn: str) -> None:
        import getpass
        self.raw_dsn = dsn
        info = _parse_dsn(dsn)
        self.params = info["params"]
        self.host = self.tcp_host = info["host"] or "localhost"
        self.port = int(info["port"] or 5432)
        user = info["user"] or getpass.getuser()
        self.users = {"super": (user, info["password"])}
        self.dbname = info["dbname"] or user
        self.bindir = None
        self.ssl = False
        self.ssl_ca_file = self.client_cert = self.client_key = None
        self.wrong_ca_file = None
        self._version = None

    def __repr__(self) -> str:
        return f"<ExternalCluster {self.host}:{self.port}>"

    def _host(self, host: str) -> str:
        return self.host if host in ("unix", "tcp") else host

    def dsn(self, user=None, database=None, host="unix", *, password=True,
            **params) -> str:
        return super().dsn(user, database, host, password=password,
                           **{**self.params, **params})

    def psql(self, sql, user=None, database=None, host="unix", *,
             timeout=60.0, **params) -> str:
        return super().psql(sql, user, database, host, timeout=timeout,
                            **{**self.params, **params})

    @property
    def version(self) -> int:
        """Server major version (asked with psql once)."""
        if self._version is None:
            num = int(self.psql("SHOW server_version_num"))
            self._version = num // 10000 if num >= 100000 else num // 100
        return self._version

    def start(self) -> "ExternalCluster":
        return self

    def stop(self, mode: str = "fast") -> None:
        pass

    def cleanup(self) -> None:
        pass


def get_test_cluster(**kwargs) -> _ClusterBase:
    """A started test server: ``ExternalCluster(PGWIRE_TEST_DSN)`` when that
    variable is set, else ``TempCluster(**kwargs).start()``.  Call
    ``cleanup()`` when done (a no-op for the external server)."""
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        return ExternalCluster(dsn)
    return TempCluster(**kwargs).start()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _describe(cluster: TempCluster) -> str:
    lines = [f"PostgreSQL {cluster.version} in {cluster.base_dir}",
             f"  unix: {cluster.dsn()}",
             f"  tcp:  {cluster.dsn(host='tcp')}",
             f"  log:  {cluster.log_file}",
             "  users:"]
    for key, (role, password) in cluster.users.items():
        lines.append(f"    {key:<9} {role:<16} {password or ''}")
    if cluster.ssl:
        lines += [f"  ssl CA:      {cluster.ssl_ca_file}",
                  f"  client cert: {cluster.client_cert}",
                  f"  client key:  {cluster.client_key}",
                  f"  wrong CA:    {cluster.wrong_ca_file}"]
    lines.append(f"export {DSN_ENV}='{cluster.dsn()}'")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pgwire.cluster",
        description="Start a throwaway PostgreSQL server; stop it on Ctrl-C "
                    "or end of stdin.")
    parser.add_argument("--check", action="store_true",
                        help="start, run SELECT version() with psql, stop")
    parser.add_argument("--ssl", action="store_true",
                        help="enable TLS with generated certificates")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append",
                        default=[], help="extra postgresql.conf setting")
    args = parser.parse_args(argv)
    settings = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set needs NAME=VALUE, got {item!r}")
        settings[name.strip()] = value
    if "port" in settings:
        settings["port"] = int(settings["port"])

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_sigterm)

    try:
        cluster = TempCluster(ssl=args.ssl, settings=settings).start()
    except (ClusterError, KeyboardInterrupt) as exc:
        print(f"pgwire.cluster: {exc}", file=sys.stderr)
        return 1
    try:
        if args.check:
            print(cluster.psql("SELECT version()"))
            return 0
        print(_describe(cluster))
        print("Press Ctrl-C or end stdin (Ctrl-D) to stop.", flush=True)
        try:
            for _line in sys.stdin:
                pass
        except KeyboardInterrupt:
            pass
        return 0
    except ClusterError as exc:
        print(f"pgwire.cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    sys.exit(main())
