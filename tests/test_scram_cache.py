"""The SCRAM SaltedPassword cache keeps its secrets out of Python's reach and
out of process memory once cleared (issue 12, item 10).

The values looked for are computed from the role's SCRAM verifier in
pg_authid (salt and iteration count) and a marker password the role is
given for the test:

  SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
  ClientKey      = HMAC(SaltedPassword, "Client Key")

Either one lets anyone log in as the role to that server.  The old cache
key, sha256(password), is looked for too: it allowed offline guessing at
SHA-256 speed.
"""
import asyncio
import base64
import gc
import hashlib
import hmac
import os
import pathlib
import subprocess
import sys
import threading

import pytest

import pgwire
from pgwire import _pgwire

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = "pgwire-marker-pw-7f3c9a51e2d84b06"


def _kw(cluster, **extra):
    user, _ = cluster.users["scram"]
    kw = dict(host=cluster.tcp_host, port=cluster.port, user=user,
              password=MARKER, database="postgres", ssl="disable")
    kw.update(extra)
    return kw


class Secrets:
    """What a SCRAM client derives from the marker password for the role's
    current verifier."""

    def __init__(self, rolpassword, password):
        mech, rest = rolpassword.split("$", 1)
        assert mech == "SCRAM-SHA-256"
        iter_salt, keys = rest.split("$")
        iterations, salt = iter_salt.split(":")
        stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
        self.iterations = int(iterations)
        self.salt = base64.b64decode(salt)
        self.salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                          self.salt, self.iterations)
        self.client_key = hmac.digest(self.salted, b"Client Key", "sha256")
        # the derivation is right: it gives the server's verifier
        assert hmac.digest(self.salted, b"Server Key", "sha256") == server_key
        assert hashlib.sha256(self.client_key).digest() == stored_key
        self.old_key = hashlib.sha256(password.encode()).digest()

    def needles(self):
        return {"SaltedPassword": self.salted, "ClientKey": self.client_key,
                "sha256(password)": self.old_key}


@pytest.fixture
async def marker_role(cluster, conn):
    """The scram role with the marker password for the test (restored
    after); yields its Secrets."""
    if "scram" not in getattr(cluster, "users", {}):
        pytest.skip("needs the test cluster's scram role")
    user, password = cluster.users["scram"]
    await conn.execute("SET password_encryption = 'scram-sha-256'")
    await conn.execute(f"ALTER ROLE {user} PASSWORD "
                       f"{pgwire.utils.quote_literal(MARKER)}")
    try:
        rolpassword = await conn.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", user)
        yield Secrets(rolpassword, MARKER)
    finally:
        await conn.execute(f"ALTER ROLE {user} PASSWORD "
                           f"{pgwire.utils.quote_literal(password)}")
        pgwire.clear_auth_cache()


def _reachable_buffers():
    """Every str, bytes and bytearray reachable from the objects the cyclic
    GC tracks (module state included, through module traverse)."""
    seen = set()
    out = []
    for o in gc.get_objects():
        for r in [o] + gc.get_referents(o):
            if id(r) in seen:
                continue
            seen.add(id(r))
            if isinstance(r, (bytes, bytearray)):
                out.append(bytes(r))
            elif isinstance(r, str):
                out.append(r.encode("utf-8", "surrogatepass"))
            elif isinstance(r, (dict, list, tuple, set, frozenset)):
                for x in (r.items() if isinstance(r, dict) else r):
                    for y in (x if isinstance(x, tuple) else (x,)):
                        if isinstance(y, (bytes, bytearray)) and \
                                id(y) not in seen:
                            seen.add(id(y))
                            out.append(bytes(y))
    return out


async def test_scram_cache_secrets_not_reachable_from_python(cluster,
                                                             marker_role):
    """While the cache holds the marker password's SaltedPassword, and
    after clear_auth_cache(), no object Python can reach holds it, its
    ClientKey, or sha256(password); the cache's accessors give counts
    only.  On main, _pgwire._scram_cache() returned the dict
    sha256(password) -> SaltedPassword + iterations + salt, also reachable
    through the module's GC traverse."""
    mine = marker_role.needles()

    def found():
        gc.collect()
        hits = set()
        for buf in _reachable_buffers():
            if any(buf is v for v in mine.values()):
                continue  # the test's own
            hits.update(what for what, needle in mine.items()
                        if needle in buf)
        return sorted(hits)

    pgwire.clear_auth_cache()
    await (await pgwire.connect(**_kw(cluster))).close()
    assert _pgwire._scram_cache_len() == 1
    assert found() == []
    assert not hasattr(_pgwire, "_scram_cache")
    for name in dir(_pgwire):
        if ("scram" in name or "auth" in name) and \
                name != "clear_auth_cache":
            res = getattr(_pgwire, name)()
            values = res.values() if isinstance(res, dict) else [res]
            assert all(type(v) is int for v in values), (name, res)
    pgwire.clear_auth_cache()
    assert _pgwire._scram_cache_len() == 0
    assert found() == []


_CHILD = r"""
import ast, asyncio, gc, sys
import pgwire
from pgwire import _pgwire

async def main():
    kw = ast.literal_eval(sys.argv[1])
    conn = await pgwire.connect(**kw)
    await conn.close()

asyncio.run(main())
gc.collect()
print("connected", _pgwire._scram_cache_len(), flush=True)
sys.stdin.readline()
pgwire.clear_auth_cache()
gc.collect()
print("cleared", _pgwire._scram_cache_len(), flush=True)
sys.stdin.readline()
"""


def _scan(pid, needles):
    """Count each needle in the readable mappings of process pid."""
    counts = dict.fromkeys(needles, 0)
    size = {len(n) for n in needles.values()}
    assert len(size) == 1
    keep = size.pop() - 1  # a match across two reads starts in these
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read().splitlines()
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if "r" not in fields[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            pos, tail = lo, b""
            while pos < hi:
                try:
                    chunk = os.pread(fd, min(1 << 20, hi - pos), pos)
                except OSError:
                    break
                if not chunk:
                    break
                # tail is shorter than a needle: no match is counted twice
                buf = tail + chunk
                for what, needle in needles.items():
                    counts[what] += buf.count(needle)
                tail = chunk[-keep:]
                pos += len(chunk)
    finally:
        os.close(fd)
    return counts


# Under the ASan build (make pytest-asan preloads libasan) the child's
# address space is terabytes of sparse shadow and allocator mappings: the
# scan would run for hours.  The plain-build runs (asyncio and uvloop)
# cover it; tests/skip-allowlist.txt lists this skip.
_UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.skipif(_UNDER_ASAN, reason="the ASan build's address space is "
                    "too large to scan; the plain builds run this test")
async def test_scram_cache_memory_scan_after_clear(cluster, marker_role):
    """A child process connects with the marker password, then calls
    clear_auth_cache(); this process reads the child's memory
    (/proc/<pid>/mem) at both points.  The child never computes the
    SaltedPassword itself, so every copy found is pgwire's.

    After the connect exactly one copy is expected (the cache entry: this
    proves the scan finds what is there); after clear_auth_cache() none
    of the SaltedPassword, the ClientKey or sha256(password).  On main the
    SaltedPassword lived in a bytes object freed without being wiped, and
    was still found after the clear."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs /proc/<pid>/mem")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep +
               os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, repr(_kw(cluster))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    try:
        needles = marker_role.needles()
        assert child.stdout.readline().split() == ["connected", "1"]
        before = _scan(child.pid, needles)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().split() == ["cleared", "0"]
        after = _scan(child.pid, needles)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # one copy (the entry) while cached; nothing at all after the clear
    assert (before, after) == (
        {"SaltedPassword": 1, "ClientKey": 0, "sha256(password)": 0},
        dict.fromkeys(needles, 0))


async def test_scram_cache_key_covers_the_salt(cluster, conn, marker_role):
    """A new verifier for the same password (another salt) misses; the
    entry of the old salt is left to age out, the new one is stored.  (The
    iteration count is in the key too: tests/c/test_scram_cache.c; PG15
    cannot change it.)"""
    pgwire.clear_auth_cache()
    s0 = _pgwire._scram_cache_stats()
    await (await pgwire.connect(**_kw(cluster))).close()
    await (await pgwire.connect(**_kw(cluster))).close()
    s1 = _pgwire._scram_cache_stats()
    assert (s1["misses"] - s0["misses"], s1["hits"] - s0["hits"],
            s1["len"]) == (1, 1, 1)
    user, _ = cluster.users["scram"]
    await conn.execute(f"ALTER ROLE {user} PASSWORD "
                       f"{pgwire.utils.quote_literal(MARKER)}")
    await (await pgwire.connect(**_kw(cluster))).close()
    s2 = _pgwire._scram_cache_stats()
    assert (s2["misses"] - s1["misses"], s2["hits"] - s1["hits"],
            s2["len"]) == (1, 0, 2)


async def test_scram_cache_threads(cluster, marker_role):
    """Connections from several threads (each its own event loop) share the
    table under the GIL: every connect succeeds, and the entry is used."""
    pgwire.clear_auth_cache()
    await (await pgwire.connect(**_kw(cluster))).close()
    s0 = _pgwire._scram_cache_stats()
    errors = []

    def worker():
        async def go():
            for _ in range(5):
                c = await pgwire.connect(**_kw(cluster))
                assert await c.fetchval("SELECT 1") == 1
                await c.close()
        try:
            asyncio.run(go())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s1 = _pgwire._scram_cache_stats()
    assert (s1["hits"] - s0["hits"], s1["misses"] - s0["misses"]) == (20, 0)
