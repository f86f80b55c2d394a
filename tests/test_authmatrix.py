"""TLS x authentication matrix, differential against libpq 15's psql
(fault scenario 12 of tests/README.md, with the sslmode and passfile
rules of its "What the connection tests pin").

Every row is one connection string.  psql (libpq) and pgwire are both given
exactly that string, with the same HOME (so ``~/.postgresql/root.crt`` is
under control) and no PG* variables; the row passes when pgwire agrees with
libpq on success or failure, on the encryption state of the session
(``pg_stat_ssl.ssl``) when it succeeds, on the passfile permission warning,
and when it fails, pgwire raises an exception of the class that fits
libpq's error (no pg_hba entry -> InvalidAuthorizationSpecificationError,
wrong password -> InvalidPasswordError, certificate problems -> ssl errors,
...).  The expected results come from psql at test time; the handful of
rows whose libpq 15 result was checked by hand are also pinned
(``PINNED``), so that a change of libpq is noticed.

The matrix (``matrix_rows()``) is built from the lists below:

  A  TLS_CASES x HBA_KINDS x METHODS, right password given in the DSN;
  B  CREDENTIALS (passfile mode x explicit password) x METHODS x
     CRED_CONTEXTS (a few sslmode / pg_hba combinations with fallbacks);
  C  CHANNEL_BINDING x CB_TLS_CASES x HBA_KINDS x CB_METHODS.

One JSON line goes to the fault report (tests/test_faults.py ``Scenario``):
injected = rows, survived = rows where pgwire agreed, plus ``rows`` and
``mismatches``.
"""

import asyncio
import dataclasses
import os
import re
import shutil
import ssl
import time
import urllib.parse
import warnings

import pytest

import pgwire
import pgwire.sync
from pgwire import exceptions as exc

from test_faults import Scenario, fault_rows  # noqa: F401 (fixture)

pytestmark = [pytest.mark.tls, pytest.mark.faults]

SSL_SQL = "select ssl from pg_stat_ssl where pid=pg_backend_pid()"
CONCURRENCY = 4            # rows in flight (each runs psql and pgwire)
ROW_BOUND = 30.0           # seconds, per client per row

# --------------------------------------------------------------------------
# The dimensions
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Tls:
    name: str
    sslmode: str
    host: str               # "127.0.0.1" or "localhost"
    # "none": no sslrootcert, HOME has no .postgresql/root.crt;
    # "right"/"wrong": sslrootcert=<the CA>/<another CA>;
    # "home-right"/"home-wrong": ~/.postgresql/root.crt is that CA
    root: str
    # pg_hba kinds to cross with: a case that fails in the TLS layer,
    # before the server looks at pg_hba, needs only one
    kinds: tuple | None = None


L, IP = "localhost", "127.0.0.1"
TLS_FAIL = ("host",)
HOST_ONLY = ("host",)    # another way to a verified TLS session

# The §2.1 table and its neighbours.
TLS_CASES = [
    Tls("disable", "disable", IP, "none"),
    Tls("allow", "allow", IP, "none"),
    Tls("prefer", "prefer", IP, "none"),
    Tls("require", "require", IP, "none"),
    Tls("verify-ca/no-root", "verify-ca", IP, "none", TLS_FAIL),
    Tls("verify-full/no-root", "verify-full", L, "none", TLS_FAIL),
    Tls("verify-full/right/localhost", "verify-full", L, "right"),
    Tls("verify-full/right/127.0.0.1", "verify-full", IP, "right", TLS_FAIL),
    Tls("verify-ca/right/127.0.0.1", "verify-ca", IP, "right"),
    Tls("verify-ca/wrong", "verify-ca", IP, "wrong", TLS_FAIL),
    Tls("verify-full/wrong/localhost", "verify-full", L, "wrong", TLS_FAIL),
    Tls("require/wrong-rootcert", "require", IP, "wrong", TLS_FAIL),
    Tls("require/right-rootcert", "require", L, "right", HOST_ONLY),
    Tls("prefer/wrong-rootcert", "prefer", IP, "wrong"),
    Tls("allow/wrong-rootcert", "allow", IP, "wrong"),
    Tls("require/home-wrong", "require", IP, "home-wrong", TLS_FAIL),
    Tls("prefer/home-wrong", "prefer", IP, "home-wrong"),
    Tls("prefer/home-right", "prefer", IP, "home-right", HOST_ONLY),
    Tls("verify-full/home-right", "verify-full", L, "home-right", HOST_ONLY),
]
TLS_BY_NAME = {t.name: t for t in TLS_CASES}

# pg_hba rule of the role: host (any), hostssl (TLS only), hostnossl
HBA_KINDS = ["host", "hostssl", "hostnossl"]
METHODS = ["scram", "md5", "trust", "password"]

# (passfile, explicit password).  passfile: none | 0600 (right password) |
# 0644 (right password, ignored with a warning) | wrong (0600, wrong pw) |
# otherhost (0600, right password, but for host localhost while the DSN
# says 127.0.0.1: no match); explicit password in the DSN: none | right |
# wrong.
PASSFILES = ["none", "0600", "0644", "wrong", "otherhost"]
EXPLICIT = ["none", "right", "wrong"]
CREDENTIALS = [(pf, pw) for pf in PASSFILES for pw in EXPLICIT]
# Where the credentials are tried: the default sslmode on a plain host
# rule (all of CREDENTIALS), and both fallbacks (allow -> TLS retry,
# prefer -> plaintext retry; the credentials that end up used: a right
# explicit password makes the passfile irrelevant).
CRED_CONTEXTS = [("prefer", "host"), ("allow", "hostssl"),
                 ("prefer", "hostnossl")]
FALLBACK_CREDENTIALS = [c for c in CREDENTIALS
                        if c[1] != "right" and c[0] != "otherhost"]

# channel_binding (libpq 13+; §2.3), explicit in the DSN: block C.  The
# rows of A and B leave it out (the default, prefer).  [] switches C off.
CHANNEL_BINDING = ["disable", "prefer", "require"]
CB_TLS_CASES = ["disable", "allow", "prefer"]
# password is a non-SASL request like md5 as far as binding goes
CB_METHODS = ["scram", "md5", "trust"]


@dataclasses.dataclass(frozen=True)
class Row:
    tls: Tls
    kind: str
    method: str
    passfile: str = "none"
    password: str = "right"
    channel_binding: str | None = None

    @property
    def id(self):
        cb = f" cb={self.channel_binding}" if self.channel_binding else ""
        return (f"{self.tls.name} {self.kind}/{self.method} "
                f"passfile={self.passfile} pw={self.password}{cb}")

    @property
    def user_key(self):
        if self.kind == "host":
            return self.method
        prefix = "sslonly" if self.kind == "hostssl" else "nossl"
        return prefix if self.method == "scram" else f"{prefix}_{self.method}"

    @property
    def home(self):
        return {"home-right": "home-right",
                "home-wrong": "home-wrong"}.get(self.tls.root, "home-none")


def matrix_rows():
    rows = []
    for tls in TLS_CASES:                                   # A
        for kind in tls.kinds or HBA_KINDS:
            for method in METHODS:
                rows.append(Row(tls, kind, method))
    for i, (sslmode, kind) in enumerate(CRED_CONTEXTS):     # B
        for method in METHODS:
            for pf, pw in CREDENTIALS if i == 0 else FALLBACK_CREDENTIALS:
                if (pf, pw) == ("none", "right"):
                    continue                                # already in A
                rows.append(Row(TLS_BY_NAME[sslmode], kind, method, pf, pw))
    for cb in CHANNEL_BINDING:                              # C
        for name in CB_TLS_CASES:
            for kind in HBA_KINDS:
                for method in CB_METHODS:
                    rows.append(Row(TLS_BY_NAME[name], kind, method,
                                    channel_binding=cb))
    rows += [r for r in regression_rows() if r not in rows]
    return rows


def regression_rows():
    """Rows where pgwire disagreed with libpq before a fix (they are in A
    as well; listed so they stay if the dimensions change)."""
    t = TLS_BY_NAME
    return [
        # A root certificate makes libpq verify the chain under prefer and
        # allow too: prefer falls back to plaintext, allow fails.  pgwire
        # used to ignore the root certificate below sslmode=require.
        Row(t["prefer/wrong-rootcert"], "host", "scram"),
        Row(t["prefer/wrong-rootcert"], "hostssl", "md5"),
        Row(t["allow/wrong-rootcert"], "hostssl", "scram"),
        Row(t["prefer/home-wrong"], "host", "password"),
    ]


# libpq 15 results checked by hand (psql 15.18): row -> (ok, ssl or
# None, regex on psql's stderr or None).
def _pinned():
    t = TLS_BY_NAME
    pinned = {
        Row(t["require"], "host", "scram"): (True, "t", None),
        Row(t["verify-full/right/localhost"], "host", "scram"):
            (True, "t", None),
        Row(t["verify-full/right/127.0.0.1"], "host", "scram"):
            (False, None, r'server certificate for "localhost" .*does not '
                          r'match host name "127\.0\.0\.1"'),
        Row(t["verify-ca/right/127.0.0.1"], "host", "scram"):
            (True, "t", None),
        Row(t["verify-ca/wrong"], "host", "scram"):
            (False, None, "certificate verify failed"),
        Row(t["require/wrong-rootcert"], "host", "scram"):
            (False, None, "certificate verify failed"),
        Row(t["verify-full/no-root"], "host", "scram"):
            (False, None, r'root certificate file ".*/\.postgresql/root\.crt"'
                          r' does not exist'),
        Row(t["prefer"], "hostnossl", "scram"): (True, "f", None),
        Row(t["allow"], "hostssl", "md5"): (True, "t", None),
        Row(t["disable"], "hostssl", "md5"):
            (False, None, "no pg_hba.conf entry"),
        Row(t["prefer"], "host", "scram", "0644", "none"):
            (False, None, r"(?s)password file .* has group or world access; "
                          r"permissions should be u=rw \(0600\) or less.*"
                          r"no password supplied"),
        Row(t["prefer"], "host", "scram", "0600", "none"): (True, "t", None),
    }
    if "require" in CHANNEL_BINDING:                        # §2.3
        pinned.update({
            Row(t["prefer"], "host", "md5", channel_binding="require"):
                (False, None, "channel binding required but not supported "
                              "by server's authentication request"),
            Row(t["prefer"], "host", "trust", channel_binding="require"):
                (False, None, "channel binding required, but server "
                              "authenticated client without channel "
                              "binding"),
            Row(t["disable"], "host", "scram", channel_binding="require"):
                (False, None, "channel binding required, but SSL not in "
                              "use"),
            Row(t["prefer"], "host", "scram", channel_binding="require"):
                (True, "t", None),
        })
    return pinned


PINNED = _pinned()

# --------------------------------------------------------------------------
# libpq's error -> what pgwire must raise
# --------------------------------------------------------------------------

SSL_ERRORS = (ssl.SSLError, ssl.CertificateError)
# (regex on psql's stderr, accepted pgwire exception classes, regex the
# pgwire message must match or None)
CATEGORIES = [
    ("hostname", r"does not match host name",
     (ssl.SSLCertVerificationError,),
     r"(?i)(hostname|ip address) mismatch|does not match host name"),
    ("verify", r"certificate verify failed", SSL_ERRORS,
     r"certificate verify failed"),
    ("no-root", r"root certificate file .* does not exist",
     (exc.ClientConfigurationError,), r"root certificate file"),
    ("no-hba", r"no pg_hba\.conf entry",
     (exc.InvalidAuthorizationSpecificationError,), r"no pg_hba\.conf entry"),
    ("bad-password", r"password authentication failed",
     (exc.InvalidPasswordError,), r"password authentication failed"),
    ("no-password", r"no password supplied",
     (exc.InterfaceError,), r"no password"),
    # channel_binding=require (libpq 15's wording)
    ("cb-no-ssl", r"channel binding required, but SSL not in use",
     (exc.InterfaceError,), r"channel binding required, but SSL not in use"),
    ("cb-not-supported", r"channel binding required but not supported by "
     r"server's authentication request", (exc.InterfaceError,),
     r"channel binding required but not supported by server's "
     r"authentication request"),
    ("cb-unbound", r"channel binding required, but server authenticated "
     r"client without channel binding", (exc.InterfaceError,),
     r"channel binding required, but server authenticated client without "
     r"channel binding"),
]
WARN_RE = r"password file .* has group or world access"


@dataclasses.dataclass
class Outcome:
    ok: bool
    ssl: str | None = None           # "t"/"f" on success
    error: BaseException | None = None
    stderr: str = ""
    warned: bool = False

    def brief(self):
        if self.ok:
            return f"ok ssl={self.ssl}"
        if self.error is not None:
            return f"{type(self.error).__name__}: {str(self.error)[:200]}"
        return "fail: " + " | ".join(self.stderr.strip().splitlines())[:300]


def _categories(stderr):
    return [c for c in CATEGORIES if re.search(c[1], stderr)]


def compare(row, libpq, ours):
    """-> None if pgwire agrees with libpq on this row, else why not."""
    why = []
    if libpq.ok != ours.ok:
        why.append("success differs")
    elif libpq.ok and libpq.ssl != ours.ssl:
        why.append("encryption differs")
    if libpq.warned != ours.warned:
        why.append("passfile warning differs")
    if not libpq.ok and not ours.ok:
        cats = _categories(libpq.stderr)
        if cats:
            e = ours.error
            if not any(isinstance(e, cls) and
                       (pat is None or re.search(pat, str(e)))
                       for _, _, cls, pat in cats):
                why.append("error differs (libpq: "
                           + ", ".join(c[0] for c in cats) + ")")
        elif not isinstance(ours.error, (exc.PostgresError,
                                         exc.InterfaceError, OSError,
                                         ssl.SSLError)):
            why.append("unexpected exception class")
    if not why:
        return None
    return (f"{row.id}: {'; '.join(why)}: libpq {libpq.brief()} / pgwire "
            f"{ours.brief()}")


# --------------------------------------------------------------------------
# Running one row
# --------------------------------------------------------------------------

def _psql_path(cluster):
    for d in (cluster.bindir, "/usr/lib/postgresql/15/bin"):
        if d and os.access(os.path.join(d, "psql"), os.X_OK):
            return os.path.join(d, "psql")
    found = shutil.which("psql")
    if found is None:
        pytest.skip("psql (libpq) not found")
    return found


class Matrix:
    def __init__(self, cluster, base, app, face="async"):
        self.face = face
        self.cluster = cluster
        self.base = base
        self.app = app
        self.psql = _psql_path(cluster)
        self.homes = {}
        for name, ca in (("home-none", None),
                         ("home-right", cluster.ssl_ca_file),
                         ("home-wrong", cluster.wrong_ca_file)):
            home = os.path.join(base, name)
            os.makedirs(home)
            if ca:
                os.makedirs(os.path.join(home, ".postgresql"))
                shutil.copy(ca, os.path.join(home, ".postgresql",
                                             "root.crt"))
            self.homes[name] = home
        self.pfdir = os.path.join(base, "passfiles")
        os.makedirs(self.pfdir)
        self.n = 0

    def dsn(self, row):
        role, secret = self.cluster.credentials(row.user_key)
        userinfo = urllib.parse.quote(role, safe="")
        if row.password == "right":
            userinfo += ":" + urllib.parse.quote(secret, safe="")
        elif row.password == "wrong":
            userinfo += ":wrong-pw"
        params = {"sslmode": row.tls.sslmode, "connect_timeout": "10",
                  "application_name": self.app}
        if row.tls.root == "right":
            params["sslrootcert"] = self.cluster.ssl_ca_file
        elif row.tls.root == "wrong":
            params["sslrootcert"] = self.cluster.wrong_ca_file
        if row.passfile != "none":
            self.n += 1
            path = os.path.join(self.pfdir, f"pgpass-{self.n}")
            pw = "wrong-pf-pw" if row.passfile == "wrong" else secret
            host = row.tls.host
            if row.passfile == "otherhost":
                host = L if host == IP else IP
            with open(path, "w") as f:
                f.write(f"{host}:{self.cluster.port}:*:{role}:{pw}\n")
            os.chmod(path, 0o644 if row.passfile == "0644" else 0o600)
            params["passfile"] = path
        if row.channel_binding:
            params["channel_binding"] = row.channel_binding
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote,
                                       safe="/")
        return (f"postgresql://{userinfo}@{row.tls.host}:{self.cluster.port}"
                f"/{self.cluster.dbname}?{query}")

    async def run_psql(self, row, dsn):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": self.homes[row.home], "LC_ALL": "C"}
        proc = await asyncio.create_subprocess_exec(
            self.psql, "-X", "-w", "-Atc", SSL_SQL, dsn, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), ROW_BOUND)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"psql hung on {row.id}")
        err = err.decode("utf-8", "replace")
        warned = bool(re.search(WARN_RE, err))
        if proc.returncode == 0:
            return Outcome(True, out.decode().strip(), warned=warned,
                           stderr=err)
        return Outcome(False, stderr=err, warned=warned)

    async def run_pgwire(self, row, dsn):
        if self.face == "sync":
            return await asyncio.to_thread(self.run_pgwire_sync, dsn)
        try:
            conn = await asyncio.wait_for(pgwire.connect(dsn, timeout=20),
                                          ROW_BOUND)
        except asyncio.TimeoutError as e:
            return Outcome(False, error=e)
        except Exception as e:  # noqa: BLE001 - compared below
            return Outcome(False, error=e)
        try:
            used = await conn.fetchval(SSL_SQL)
        finally:
            await conn.close()
        return Outcome(True, "t" if used else "f")

    def run_pgwire_sync(self, dsn):
        """The same row on the blocking face (pgwire.sync), in a thread:
        its own loop, TLS through SSLObject over memory BIOs."""
        try:
            conn = pgwire.sync.connect(dsn, timeout=20)
        except Exception as e:  # noqa: BLE001 - compared below
            return Outcome(False, error=e)
        try:
            used = conn.fetchval(SSL_SQL)
        finally:
            conn.close()
        return Outcome(True, "t" if used else "f")


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch):
    """No libpq variables in this process (pgwire reads them too)."""
    for key in list(os.environ):
        if key.startswith("PG"):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize("face", ["async", "sync"])
async def test_tls_auth_matrix(cluster, fault_rows, clean_env,  # noqa: F811
                               tmp_path, face):
    """Scenario 12 (tests/README.md): every row of the TLS x authentication
    matrix gives pgwire the same outcome as psql (libpq), on both faces
    (``face='sync'``: pgwire.sync, whose TLS is ssl.SSLObject over memory
    BIOs driven by the blocking C loop)."""
    if cluster.external or not cluster.ssl:
        pytest.skip("needs the temporary cluster with TLS")
    rows = matrix_rows()
    assert len(set(rows)) == len(rows), "duplicate rows"
    t0 = time.monotonic()
    name = "12 TLS/auth matrix" + (" (sync)" if face == "sync" else "")
    async with Scenario(name, fault_rows, cluster.connect_kwargs()) as sc:
        m = Matrix(cluster, str(tmp_path), sc.app, face)
        sem = asyncio.Semaphore(CONCURRENCY)
        results = {}

        async def one(row, dsn):
            async with sem:
                libpq, ours = await asyncio.gather(
                    m.run_psql(row, dsn), m.run_pgwire(row, dsn))
            results[row] = (dsn, libpq, ours)

        # HOME is per process for pgwire: one group of rows per HOME.
        for home in sorted({r.home for r in rows}):
            group = [r for r in rows if r.home == home]
            clean_env.setenv("HOME", m.homes[home])
            dsns = {r: m.dsn(r) for r in group}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                await asyncio.gather(*(one(r, dsns[r]) for r in group))
            warned = " ".join(str(w.message) for w in caught
                              if re.search(WARN_RE, str(w.message)))
            for r in group:
                path = urllib.parse.parse_qs(
                    urllib.parse.urlsplit(dsns[r]).query).get("passfile")
                results[r][2].warned = bool(path) and f'"{path[0]}"' in warned

        mismatches = []
        pinned_bad = []
        for row in rows:
            dsn, libpq, ours = results[row]
            why = compare(row, libpq, ours)
            sc.record(why is None, why=why or "")
            if why:
                mismatches.append(why)
            if row in PINNED:
                ok, used, pat = PINNED[row]
                if (libpq.ok != ok or (ok and libpq.ssl != used)
                        or (pat and not re.search(pat, libpq.stderr))):
                    pinned_bad.append(f"{row.id}: reliability.md says "
                                      f"{(ok, used, pat)}, libpq gave "
                                      f"{libpq.brief()}")
        libpq_says = [results[r][1] for r in rows]
        sc.extra.update(
            rows=len(rows), mismatches=len(mismatches),
            libpq_ok_tls=sum(o.ok and o.ssl == "t" for o in libpq_says),
            libpq_ok_plain=sum(o.ok and o.ssl == "f" for o in libpq_says),
            libpq_failed=sum(not o.ok for o in libpq_says),
            seconds=round(time.monotonic() - t0, 1))
        if mismatches:
            sc.extra["mismatch_rows"] = mismatches[:20]
            print("pgwire disagrees with libpq on:", *mismatches, sep="\n  ")
        assert not pinned_bad, "\n".join(pinned_bad)
        assert set(PINNED) <= set(rows)
        # characteristic messages, on both sides
        for row, pat in (
                (Row(TLS_BY_NAME["verify-full/right/127.0.0.1"], "host",
                     "scram"), "hostname"),
                (Row(TLS_BY_NAME["disable"], "hostssl", "scram"), "no-hba"),
                (Row(TLS_BY_NAME["prefer"], "host", "md5", "none", "wrong"),
                 "bad-password")):
            _, libpq, ours = results[row]
            cat = next(c for c in CATEGORIES if c[0] == pat)
            assert re.search(cat[1], libpq.stderr), (row.id, libpq.stderr)
            if not any(m.startswith(row.id + ":") for m in mismatches):
                assert re.search(cat[3], str(ours.error)), (row.id,
                                                            ours.brief())


@pytest.mark.parametrize("sslmode", ["allow", "prefer", "require"])
def test_root_cert_verifies_below_verify_ca(cluster, clean_env, tmp_path,
                                            sslmode):
    """Regression (found by the matrix): with a root certificate present,
    allow and prefer verify the chain as libpq does (no host name check);
    without one they do not verify."""
    if cluster.external or not cluster.ssl:
        pytest.skip("needs the temporary cluster with TLS")
    from pgwire import connect_utils

    def context(**kw):
        _, params, _ = connect_utils.parse_connect_arguments(
            dsn=None, host="127.0.0.1", port=5432, user="u", password="p",
            passfile=None, database="d", ssl=sslmode, direct_tls=None,
            server_settings=None, target_session_attrs=None, service=None,
            servicefile=None, timeout=None, statement_cache_size=100,
            max_cached_statement_lifetime=300,
            max_cacheable_statement_size=15360, command_timeout=None, **kw)
        return params.ssl

    clean_env.setenv("HOME", str(tmp_path))
    ctx = context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    clean_env.setenv("PGSSLROOTCERT", cluster.wrong_ca_file)
    ctx = context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
    clean_env.delenv("PGSSLROOTCERT")
    os.makedirs(tmp_path / ".postgresql")
    shutil.copy(cluster.ssl_ca_file, tmp_path / ".postgresql" / "root.crt")
    ctx = context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname
