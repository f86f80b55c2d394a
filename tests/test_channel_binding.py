"""SCRAM-SHA-256-PLUS with tls-server-end-point (RFC 5929) and libpq's
channel_binding=disable|prefer|require (tests/README.md, "What the
connection tests pin").

A connection under ``require`` that succeeds proves the binding: the
server recomputes the certificate hash and refuses a SCRAM proof whose
``c=`` does not match.  The refusals follow libpq's wording; the
downgrade holes of pgjdbc (CVE-2025-49146: non-SASL methods under
require; CVE-2026-54291: a quiet fall back to plain SCRAM when the
certificate's signature has no hash) are tested by name.
"""
import os
import shutil
import subprocess

import pytest

import pgwire
from pgwire import _pgwire
from pgwire import connect_utils

import test_connect
from waiting import wait_until

pytestmark = pytest.mark.tls

OPENSSL = shutil.which("openssl")


def _kw(cluster, method, **extra):
    """test_connect's keyword arguments, over TLS unless told otherwise."""
    extra.setdefault("ssl", "require")
    return test_connect._kw(cluster, method, **extra)


async def _ssl_of(conn):
    try:
        return await conn.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()


@pytest.fixture
def tls_cluster(cluster):
    if not getattr(cluster, "ssl", False) or "scram" not in cluster.users:
        pytest.skip("needs the temporary TLS test server")
    return cluster


@pytest.mark.parametrize("mode", ["disable", "prefer", "require"])
async def test_scram_over_tls(tls_cluster, mode):
    conn = await pgwire.connect(**_kw(tls_cluster, "scram",
                                      channel_binding=mode))
    assert await _ssl_of(conn) is True


async def test_require_from_dsn_and_environment(tls_cluster, monkeypatch):
    user, password = tls_cluster.users["scram"]
    dsn = (f"postgresql://{user}:{password}@{tls_cluster.tcp_host}:"
           f"{tls_cluster.port}/postgres?sslmode=require"
           f"&channel_binding=require")
    assert await _ssl_of(await pgwire.connect(dsn)) is True
    monkeypatch.setenv("PGCHANNELBINDING", "require")
    with pytest.raises(pgwire.InterfaceError,
                       match="channel binding required, but SSL not in use"):
        await pgwire.connect(**_kw(tls_cluster, "scram", ssl="disable"))
    # a keyword beats the environment
    conn = await pgwire.connect(**_kw(tls_cluster, "scram", ssl="disable",
                                      channel_binding="prefer"))
    assert await _ssl_of(conn) is False


async def test_server_checks_the_binding(tls_cluster, monkeypatch):
    """A wrong certificate hash is caught by the server: the exchange
    really carries the binding."""
    real = connect_utils.channel_binding_data

    def wrong(transport):
        ssl_in_use, data = real(transport)
        assert ssl_in_use and data is not None and len(data) == 32
        return True, bytes(b ^ 0xFF for b in data)

    monkeypatch.setattr(connect_utils, "channel_binding_data", wrong)
    with pytest.raises(pgwire.PostgresError, match="channel binding"):
        await pgwire.connect(**_kw(tls_cluster, "scram",
                                   channel_binding="require"))
    # and with channel_binding=disable nothing of it is sent
    conn = await pgwire.connect(**_kw(tls_cluster, "scram",
                                      channel_binding="disable"))
    assert await _ssl_of(conn) is True


@pytest.mark.parametrize("method,ssl,message", [
    ("scram", "disable", "channel binding required, but SSL not in use"),
    ("md5", "require", "channel binding required but not supported by "
                       "server's authentication request"),
    ("md5", "disable", "channel binding required but not supported by "
                       "server's authentication request"),
    ("password", "require", "channel binding required but not supported "
                            "by server's authentication request"),
    ("trust", "require", "channel binding required, but server "
                         "authenticated client without channel binding"),
    ("trust", "disable", "channel binding required, but server "
                         "authenticated client without channel binding"),
])
async def test_require_refuses_downgrades(tls_cluster, conn, method, ssl,
                                          message):
    with pytest.raises(pgwire.InterfaceError) as info:
        await pgwire.connect(**_kw(tls_cluster, method, ssl=ssl,
                                   channel_binding="require"))
    assert str(info.value) == message
    # the refused session leaves the server (no half-open backend); the
    # backend may still be exiting when the error reaches us
    user = tls_cluster.users[method][0]

    async def gone():
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
            user) == 0
    await wait_until(gone, 10, f"{user}'s refused session gone")


@pytest.mark.parametrize("value", ["maybe", "REQUIRE", "requir"])
async def test_invalid_value(tls_cluster, value):
    with pytest.raises(pgwire.ClientConfigurationError,
                       match=f'invalid channel_binding value: "{value}"'):
        await pgwire.connect(**_kw(tls_cluster, "scram",
                                   channel_binding=value))


async def test_invalid_type(tls_cluster):
    with pytest.raises(pgwire.ClientConfigurationError,
                       match="channel_binding must be a str, got int"):
        await pgwire.connect(**_kw(tls_cluster, "scram", channel_binding=1))


# --------------------------------------------------------------------------
# The certificate's hash
# --------------------------------------------------------------------------

def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def _self_signed(tmp_path, name, keyargs, digest):
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    _openssl("genpkey", *keyargs, "-out", str(key), cwd=tmp_path)
    args = ["req", "-new", "-x509", "-key", str(key), "-subj",
            "/CN=localhost", "-days", "30", "-out", str(crt)]
    if digest:
        args.append(f"-{digest}")
    _openssl(*args, cwd=tmp_path)
    der = tmp_path / f"{name}.der"
    _openssl("x509", "-in", str(crt), "-outform", "DER", "-out", str(der),
             cwd=tmp_path)
    return key, crt, der.read_bytes()


RSA = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
EC384 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
@pytest.mark.parametrize("keyargs,digest,want", [
    (RSA, "sha256", "sha256"),
    (RSA, "sha384", "sha384"),
    (RSA, "sha512", "sha512"),
    (RSA, "sha1", "sha256"),          # SHA-1 raised to SHA-256
    (EC384, "sha384", "sha384"),
    (EC384, "sha224", "sha224"),
    (["-algorithm", "ED25519"], None, None),
    (["-algorithm", "RSA-PSS"], "sha256", None),
])
def test_cert_signature_hash(tmp_path, keyargs, digest, want):
    try:
        _, _, der = _self_signed(tmp_path, "c", keyargs, digest)
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"openssl cannot make this certificate: {exc.stderr}")
    assert _pgwire.cert_signature_hash(der) == want


def test_cert_signature_hash_malformed():
    for bad in (b"", b"\x30", b"\x30\x03\x30\x00", b"\x30\x80\x00\x00",
                b"not a certificate at all"):
        with pytest.raises(ValueError, match="malformed DER certificate"):
            _pgwire.cert_signature_hash(bad)
    with pytest.raises(TypeError):
        _pgwire.cert_signature_hash("text")


@pytest.fixture(scope="module")
def ed25519_cluster(cluster_module, tmp_path_factory):
    """A server whose certificate is signed with Ed25519: no hash for
    tls-server-end-point, yet the server still offers -PLUS."""
    if OPENSSL is None:
        pytest.skip("needs the openssl command")
    if os.environ.get(cluster_module.DSN_ENV):
        pytest.skip("needs a temporary cluster")
    pc = cluster_module.TempCluster(ssl=True)
    pc.start()
    try:
        tmp = tmp_path_factory.mktemp("ed25519")
        key, crt, _ = _self_signed(tmp, "server", ["-algorithm", "ED25519"],
                                   None)
        shutil.copyfile(crt, pc.server_cert)
        shutil.copyfile(key, pc.server_key)
        pc.reload()
        yield pc
    finally:
        pc.cleanup()


async def test_ed25519_certificate(ed25519_cluster):
    """CVE-2026-54291: under require there is no quiet fall back to plain
    SCRAM; under prefer plain SCRAM (flag "n") is used."""
    conn = await pgwire.connect(**_kw(ed25519_cluster, "scram",
                                      channel_binding="prefer"))
    assert await _ssl_of(conn) is True
    with pytest.raises(pgwire.InterfaceError,
                       match="channel binding required, but the server "
                             "certificate's signature algorithm has no hash"):
        await pgwire.connect(**_kw(ed25519_cluster, "scram",
                                   channel_binding="require"))
