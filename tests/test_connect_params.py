"""Unit tests for pgwire.connect_utils (no PostgreSQL server needed).

DSN / environment / service file / .pgpass precedence, sslmode -> SSLContext,
validation, SASLprep, and the SSLRequest answer handling of open_socket()
against a scripted fake server on 127.0.0.1 (it plays a hostile server that a
real PostgreSQL cannot imitate).  connect() is driven with a stand-in
``pgwire.connection`` module so no C extension is needed.
"""

import asyncio
import getpass
import os
import pathlib
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import types
import warnings

import pytest

from pgwire import connect_utils as cu
from pgwire.connect_utils import SSLMode, SessionAttribute


def E(name):
    """Exception class as connect_utils resolves it."""
    return cu._exc(name)


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("PG") or key == "SSLKEYLOGFILE":
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(getpass, "getuser", lambda: "osuser")
    return home


@pytest.fixture
def home(clean_env):
    return clean_env


def parse(dsn=None, **kw):
    args = dict(dsn=dsn, host=None, port=None, user=None, password=None,
                passfile=None, database=None, ssl=None, direct_tls=None,
                server_settings=None, target_session_attrs=None,
                service=None, servicefile=None, timeout=60,
                statement_cache_size=100, max_cached_statement_lifetime=300,
                max_cacheable_statement_size=15360, command_timeout=None)
    args.update(kw)
    return cu.parse_connect_arguments(**args)


def write(path, text, mode=0o600):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """Self-signed cert (SAN localhost, 127.0.0.1), its key, an encrypted
    copy of the key (password 'secret')."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    d = tmp_path_factory.mktemp("certs")
    try:
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                 "key.pem", "-out", "cert.pem", "-days", "2", "-subj",
                 "/CN=localhost", "-addext",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
        _openssl("pkey", "-in", "key.pem", "-aes256", "-passout",
                 "pass:secret", "-out", "enc.pem", cwd=d)
    except subprocess.CalledProcessError:
        pytest.skip("openssl could not create a test certificate")
    for name in ("key.pem", "enc.pem"):
        os.chmod(d / name, 0o600)
    return types.SimpleNamespace(dir=d, cert=d / "cert.pem",
                                 key=d / "key.pem", enc_key=d / "enc.pem")


# ---------------------------------------------------------------------------
# DSN
# ---------------------------------------------------------------------------
def test_dsn_basic():
    addrs, p, cfg = parse("postgresql://alice:s3cret@db.example:5433/app")
    assert addrs == [("db.example", 5433)]
    assert (p.user, p.password, p.database) == ("alice", "s3cret", "app")
    assert p.server_settings == {}
    assert cfg.statement_cache_size == 100


def test_dsn_postgres_scheme_and_percent_encoding():
    addrs, p, _ = parse("postgres://us%40er:p%3Aw%2Fd%40@h/my%20db")
    assert (p.user, p.password, p.database) == ("us@er", "p:w/d@", "my db")
    assert addrs == [("h", 5432)]


def test_dsn_password_with_hash_is_not_a_fragment():
    _, p, _ = parse("postgresql://u:pa#ss@h/db")
    assert p.password == "pa#ss"
    assert p.database == "db"


def test_dsn_host_list_ipv6_and_socket_dirs():
    addrs, _, _ = parse(
        "postgresql://h1:5433,[::1]:5434,[fe80::1],%2Fvar%2Frun%2Fpg/db")
    assert addrs == [("h1", 5433), ("::1", 5434), ("fe80::1", 5432),
                     "/var/run/pg/.s.PGSQL.5432"]


def test_dsn_socket_dir_with_port():
    addrs, _, _ = parse("postgresql://%2Ftmp:5999/db")
    assert addrs == ["/tmp/.s.PGSQL.5999"]


def test_dsn_query_host_and_port():
    addrs, p, _ = parse("postgresql:///db?host=/tmp&port=6000")
    assert addrs == ["/tmp/.s.PGSQL.6000"]
    assert p.sslmode == SSLMode.disable and p.ssl is None


def test_dsn_query_port_list():
    addrs, _, _ = parse("postgresql://?host=a,b&port=1,2")
    assert addrs == [("a", 1), ("b", 2)]


def test_dsn_query_port_applies_to_netloc_host_without_port():
    addrs, _, _ = parse("postgresql://h1,h2:7/db?port=6")
    assert addrs == [("h1", 6), ("h2", 7)]


def test_dsn_netloc_port_without_host():
    addrs, _, _ = parse("postgresql://:5999/db")
    assert "/tmp/.s.PGSQL.5999" in addrs
    assert ("localhost", 5999) in addrs


def test_dsn_query_params_and_server_settings():
    _, p, _ = parse(
        "postgresql://h/db?user=bob&password=pw&dbname=other"
        "&search_path=a%2Cb&application_name=my+app&sslmode=disable",
        server_settings={"search_path": "kw"})
    assert p.user == "bob" and p.password == "pw"
    assert p.database == "db"               # the path wins over ?dbname=
    assert p.server_settings == {"search_path": "kw",
                                 "application_name": "my app"}


def test_dsn_database_query_key_and_last_duplicate_wins():
    _, p, _ = parse("postgresql://h?database=d1&user=a&user=b")
    assert p.database == "d1" and p.user == "b"


def test_dsn_blank_query_value_is_unset():
    _, p, _ = parse("postgresql://h/db?user=&sslmode=disable")
    assert p.user == "osuser"


@pytest.mark.parametrize("dsn", [
    "host=localhost dbname=test",
    "mysql://h/db",
    "http://h/db",
    "postgresql:db",
    "postgresql:/db",
])
def test_dsn_invalid_scheme(dsn):
    with pytest.raises(E("ClientConfigurationError")) as ei:
        parse(dsn)
    assert "postgres" in str(ei.value)


def test_dsn_key_value_error_message():
    with pytest.raises(E("ClientConfigurationError"),
                       match='scheme is expected to be either "postgresql" '
                             'or "postgres"'):
        parse("dbname=x")


def test_dsn_query_without_equals():
    with pytest.raises(E("ClientConfigurationError")):
        parse("postgresql://h/db?sslmode")


def test_dsn_bad_ipv6():
    with pytest.raises(E("ClientConfigurationError")):
        parse("postgresql://[::1/db")


def test_dsn_bad_port():
    with pytest.raises(E("ClientConfigurationError")):
        parse("postgresql://h:notaport/db")
    with pytest.raises(E("ClientConfigurationError")):
        parse("postgresql://h:70000/db")


def test_kwargs_override_dsn():
    addrs, p, _ = parse("postgresql://u:p@h:1/d?sslmode=require",
                        host="kh", port=2, user="ku", password="kp",
                        database="kd", ssl="disable")
    assert addrs == [("kh", 2)]
    assert (p.user, p.password, p.database) == ("ku", "kp", "kd")
    assert p.sslmode == SSLMode.disable and p.ssl is None


def test_port_kwarg_overrides_embedded_ports():
    addrs, _, _ = parse("postgresql://h1:1,h2:2/d", port=9)
    assert addrs == [("h1", 9), ("h2", 9)]


def test_port_list_mismatch():
    with pytest.raises(E("ClientConfigurationError"),
                       match="could not match 3 port numbers to 2 hosts"):
        parse(host=["a", "b"], port=[1, 2, 3])


def test_host_kwarg_list_and_port_list():
    addrs, _, _ = parse(host=["a", "/sock"], port=[1, 2])
    assert addrs == [("a", 1), "/sock/.s.PGSQL.2"]


def test_host_kwarg_is_literal():
    addrs, _, _ = parse(host="h:5", port="6")
    assert addrs == [("h:5", 6)]


def test_host_kwarg_full_socket_path():
    addrs, _, _ = parse(host="/tmp/.s.PGSQL.7777")
    assert addrs == ["/tmp/.s.PGSQL.7777"]


def test_host_kwarg_bad_type():
    with pytest.raises(E("ClientConfigurationError")):
        parse(host=123)


@pytest.mark.parametrize("port", ["abc", 0, -1, 65536, True, 1.5, object()])
def test_port_kwarg_invalid(port):
    with pytest.raises(E("ClientConfigurationError")):
        parse(host="h", port=port)


# ---------------------------------------------------------------------------
# environment and defaults
# ---------------------------------------------------------------------------
def test_defaults():
    addrs, p, cfg = parse()
    expected = ([("localhost", 5432)] if sys.platform == "win32" else
                ["/run/postgresql/.s.PGSQL.5432",
                 "/var/run/postgresql/.s.PGSQL.5432",
                 "/tmp/.s.PGSQL.5432", "/private/tmp/.s.PGSQL.5432",
                 ("localhost", 5432)])
    assert addrs == expected
    assert p.user == "osuser" and p.database == "osuser"
    assert p.password is None
    assert p.sslmode == SSLMode.prefer          # localhost is TCP
    assert p.target_session_attrs is SessionAttribute.any
    assert p.direct_tls is False and p.connect_timeout is None
    assert cfg == cu.ClientConfiguration(None, 100, 300, 15360)


def test_env_vars(monkeypatch):
    monkeypatch.setenv("PGHOST", "eh1,eh2:7")
    monkeypatch.setenv("PGPORT", "6")
    monkeypatch.setenv("PGUSER", "eu")
    monkeypatch.setenv("PGPASSWORD", "ep")
    monkeypatch.setenv("PGDATABASE", "ed")
    addrs, p, _ = parse()
    assert addrs == [("eh1", 6), ("eh2", 7)]
    assert (p.user, p.password, p.database) == ("eu", "ep", "ed")


def test_env_port_list(monkeypatch):
    monkeypatch.setenv("PGHOST", "a,b")
    monkeypatch.setenv("PGPORT", "1,2")
    addrs, _, _ = parse()
    assert addrs == [("a", 1), ("b", 2)]


def test_env_bare_ipv6_host(monkeypatch):
    monkeypatch.setenv("PGHOST", "::1")
    addrs, _, _ = parse()
    assert addrs == [("::1", 5432)]


def test_dsn_beats_env(monkeypatch):
    monkeypatch.setenv("PGHOST", "eh")
    monkeypatch.setenv("PGUSER", "eu")
    monkeypatch.setenv("PGDATABASE", "ed")
    addrs, p, _ = parse("postgresql://du@dh/dd")
    assert addrs == [("dh", 5432)]
    assert (p.user, p.database) == ("du", "dd")


def test_env_pgport_used_for_dsn_host_without_port(monkeypatch):
    monkeypatch.setenv("PGPORT", "6543")
    addrs, _, _ = parse("postgresql://h1,h2:1/db")
    assert addrs == [("h1", 6543), ("h2", 1)]


def test_empty_env_value_is_unset(monkeypatch):
    monkeypatch.setenv("PGUSER", "")
    monkeypatch.setenv("PGHOST", "")
    addrs, p, _ = parse()
    assert p.user == "osuser"
    assert len(addrs) > 1


def test_appname_and_options(monkeypatch):
    monkeypatch.setenv("PGAPPNAME", "envapp")
    monkeypatch.setenv("PGOPTIONS", "-c work_mem=64MB")
    _, p, _ = parse(host="h")
    assert p.server_settings == {"application_name": "envapp",
                                 "options": "-c work_mem=64MB"}
    _, p, _ = parse("postgresql://h/db?application_name=dsnapp", host="h")
    assert p.server_settings["application_name"] == "dsnapp"
    _, p, _ = parse(host="h", server_settings={"application_name": "kw"})
    assert p.server_settings["application_name"] == "kw"


@pytest.mark.parametrize("value,expected", [
    ("10", 10.0), ("1", 2.0), ("0", None), ("-5", None)])
def test_connect_timeout_env(monkeypatch, value, expected):
    monkeypatch.setenv("PGCONNECT_TIMEOUT", value)
    _, p, _ = parse(host="h")
    assert p.connect_timeout == expected


def test_connect_timeout_dsn_and_invalid(monkeypatch):
    _, p, _ = parse("postgresql://h/db?connect_timeout=7")
    assert p.connect_timeout == 7.0
    assert p.server_settings == {}
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "soon")
    with pytest.raises(E("ClientConfigurationError")):
        parse(host="h")


def test_target_session_attrs(monkeypatch):
    _, p, _ = parse(host="h", target_session_attrs="read-only")
    assert p.target_session_attrs is SessionAttribute.read_only
    _, p, _ = parse("postgresql://h/db?target_session_attrs=primary")
    assert p.target_session_attrs is SessionAttribute.primary
    monkeypatch.setenv("PGTARGETSESSIONATTRS", "prefer-standby")
    _, p, _ = parse(host="h")
    assert p.target_session_attrs is SessionAttribute.prefer_standby
    _, p, _ = parse(host="h", target_session_attrs="standby")
    assert p.target_session_attrs is SessionAttribute.standby
    with pytest.raises(E("ClientConfigurationError"),
                       match="target_session_attrs"):
        parse(host="h", target_session_attrs="master")


def test_gss_options(monkeypatch):
    _, p, _ = parse(host="h")
    assert p.gsslib == ("sspi" if sys.platform == "win32" else "gssapi")
    assert p.krbsrvname is None
    monkeypatch.setenv("PGKRBSRVNAME", "krb")
    monkeypatch.setenv("PGGSSLIB", "sspi")
    _, p, _ = parse(host="h")
    assert (p.krbsrvname, p.gsslib) == ("krb", "sspi")
    _, p, _ = parse("postgresql://h/db?krbsrvname=x&gsslib=gssapi")
    assert (p.krbsrvname, p.gsslib) == ("x", "gssapi")
    with pytest.raises(E("ClientConfigurationError"), match="gsslib"):
        parse(host="h", gsslib="kerberos")


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["statement_cache_size",
                                  "max_cached_statement_lifetime",
                                  "max_cacheable_statement_size"])
@pytest.mark.parametrize("value", [-1, True, False, None, "10"])
def test_cache_settings_invalid(name, value):
    with pytest.raises(ValueError, match=name):
        parse(host="h", **{name: value})


def test_cache_settings_valid():
    _, _, cfg = parse(host="h", statement_cache_size=0,
                      max_cached_statement_lifetime=0.5,
                      max_cacheable_statement_size=0)
    assert cfg == cu.ClientConfiguration(None, 0, 0.5, 0)


@pytest.mark.parametrize("value", [0, -1, True, "abc", float("nan"), [1]])
def test_command_timeout_invalid(value):
    with pytest.raises(ValueError, match="command_timeout"):
        parse(host="h", command_timeout=value)


def test_command_timeout_valid():
    assert parse(host="h", command_timeout="2.5")[2].command_timeout == 2.5
    assert parse(host="h", command_timeout=3)[2].command_timeout == 3.0


@pytest.mark.parametrize("value", [0, -1, True, "abc", float("nan"),
                                   float("inf"), [1]])
def test_cancel_timeout_invalid(value):
    with pytest.raises(ValueError, match="invalid cancel_timeout value"):
        parse(host="h", cancel_timeout=value)


def test_cancel_timeout_valid():
    assert parse(host="h")[2].cancel_timeout == 5.0
    assert parse(host="h", cancel_timeout="0.25")[2].cancel_timeout == 0.25


@pytest.mark.parametrize("value", [[("a", "b")], {"a": 1}, {1: "a"},
                                   "a=b"])
def test_server_settings_invalid(value):
    with pytest.raises(E("ClientConfigurationError"),
                       match="server_settings"):
        parse(host="h", server_settings=value)


def test_client_configuration_error_is_value_error():
    assert issubclass(E("ClientConfigurationError"), ValueError)
    assert issubclass(E("ClientConfigurationError"), E("InterfaceError"))


# ---------------------------------------------------------------------------
# service file
# ---------------------------------------------------------------------------
SERVICE = """\
# comment
[svc]
host=svchost
port=6001
dbname=svcdb
user=svcuser
password=pa%ss=word
sslmode=disable
application_name=svcapp
keepalives=1

[other]
host=otherhost
"""


def test_service_from_kwargs(tmp_path):
    sf = write(tmp_path / "svc.conf", SERVICE)
    addrs, p, _ = parse(service="svc", servicefile=str(sf))
    assert addrs == [("svchost", 6001)]
    assert (p.user, p.password, p.database) == ("svcuser", "pa%ss=word",
                                                "svcdb")
    assert p.sslmode == SSLMode.disable
    assert p.server_settings == {"application_name": "svcapp"}


def test_service_from_dsn_and_precedence(tmp_path, monkeypatch):
    sf = write(tmp_path / "svc.conf", SERVICE)
    monkeypatch.setenv("PGSERVICEFILE", str(sf))
    monkeypatch.setenv("PGUSER", "envuser")
    addrs, p, _ = parse("postgresql://dsnuser@/?service=svc")
    assert addrs == [("svchost", 6001)]
    assert p.user == "dsnuser"                  # DSN beats service
    assert p.database == "svcdb"                # service beats env
    assert p.server_settings == {"application_name": "svcapp"}


def test_service_kwarg_beats_dsn_service(tmp_path):
    sf = write(tmp_path / "svc.conf", SERVICE)
    addrs, _, _ = parse("postgresql:///?service=svc", service="other",
                        servicefile=sf)
    assert addrs[0] == ("otherhost", 5432)


def test_service_kwarg_with_dsn_values(tmp_path):
    sf = write(tmp_path / "svc.conf", SERVICE)
    addrs, p, _ = parse("postgresql://du@dh/dd", service="svc",
                        servicefile=sf)
    assert addrs == [("dh", 6001)]      # DSN host, service port
    assert (p.user, p.database, p.password) == ("du", "dd", "pa%ss=word")


def test_service_from_pgservice_env(monkeypatch, home):
    write(home / ".pg_service.conf", SERVICE)
    monkeypatch.setenv("PGSERVICE", "other")
    monkeypatch.setenv("PGHOST", "envhost")
    addrs, _, _ = parse()
    assert addrs == [("otherhost", 5432)]       # service beats env


def test_service_sysconfdir_fallback(monkeypatch, tmp_path):
    write(tmp_path / "sys" / "pg_service.conf", "[sys]\nhost=syshost\n")
    monkeypatch.setenv("PGSYSCONFDIR", str(tmp_path / "sys"))
    addrs, _, _ = parse(service="sys")
    assert addrs == [("syshost", 5432)]


def test_service_not_found(tmp_path):
    sf = write(tmp_path / "svc.conf", SERVICE)
    with pytest.raises(E("ClientConfigurationError"),
                       match='service "nope" not found'):
        parse(service="nope", servicefile=sf)
    with pytest.raises(E("ClientConfigurationError")):
        parse(service="svc", servicefile=tmp_path / "missing.conf")


def test_service_syntax_error(tmp_path):
    sf = write(tmp_path / "svc.conf", "[svc]\nhost\n")
    with pytest.raises(E("ClientConfigurationError"), match="line 2"):
        parse(service="svc", servicefile=sf)


# ---------------------------------------------------------------------------
# .pgpass
# ---------------------------------------------------------------------------
def test_pgpass_basic(home):
    write(home / ".pgpass",
          "# comment\n"
          "other:5432:*:*:nope\n"
          "h:5432:db:bob:first\n"
          "h:5432:db:bob:second\n")
    _, p, _ = parse(host="h", user="bob", database="db")
    assert p.password == "first"
    assert p.passfile == home / ".pgpass"


def test_pgpass_wildcards_and_port(home):
    write(home / ".pgpass", "*:6000:*:*:six\n*:*:*:bob:any\n")
    assert parse(host="h", port=6000)[1].password == "six"
    assert parse(host="h", port=5432, user="bob")[1].password == "any"
    assert parse(host="h", port=5432, user="al")[1].password is None


def test_pgpass_escapes(home):
    write(home / ".pgpass",
          r"h\:x:*:d\\b:*:p\:a\\ss\:" + "\n"
          r"\*:*:*:*:literal-star" + "\n")
    _, p, _ = parse(host="h:x", database="d\\b")
    assert p.password == "p:a\\ss:"
    # an escaped star is not a wildcard
    assert parse(host="zz")[1].password is None
    assert parse(host="*")[1].password == "literal-star"


def test_pgpass_password_stops_at_unescaped_colon(home):
    write(home / ".pgpass", "h:*:*:*:pw:extra\n")
    assert parse(host="h")[1].password == "pw"


def test_pgpass_short_lines_and_crlf(home):
    write(home / ".pgpass", "h:5432:db\r\nh:*:*:*:good\r\n")
    assert parse(host="h")[1].password == "good"


def test_pgpass_empty_password_is_none(home):
    write(home / ".pgpass", "h:*:*:*:\n")
    assert parse(host="h")[1].password is None


def test_pgpass_unix_socket_matches_localhost(home):
    write(home / ".pgpass", "localhost:5432:*:*:sock\n")
    addrs, p, _ = parse(host="/var/run/postgresql")
    assert addrs == ["/var/run/postgresql/.s.PGSQL.5432"]
    assert p.password == "sock"


def test_pgpass_default_hosts_match_localhost(home):
    write(home / ".pgpass", "localhost:*:*:*:dflt\n")
    assert parse()[1].password == "dflt"


def test_pgpass_not_used_when_password_given(home, monkeypatch):
    write(home / ".pgpass", "*:*:*:*:file\n")
    assert parse(host="h", password="kw")[1].password == "kw"
    assert parse("postgresql://u:dsn@h/db")[1].password == "dsn"
    monkeypatch.setenv("PGPASSWORD", "env")
    _, p, _ = parse(host="h")
    assert p.password == "env" and p.passfile is None


def test_pgpass_group_readable_is_ignored_with_warning(home):
    write(home / ".pgpass", "*:*:*:*:pw\n", mode=0o644)
    with pytest.warns(UserWarning, match="has group or world access"):
        _, p, _ = parse(host="h")
    assert p.password is None


def test_pgpass_not_a_regular_file(home):
    (home / ".pgpass").mkdir()
    with pytest.warns(UserWarning, match="not a plain file"):
        assert parse(host="h")[1].password is None


def test_pgpass_missing_is_silent(home):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse(host="h")[1].password is None


def test_pgpass_locations(tmp_path, monkeypatch, home):
    write(home / ".pgpass", "*:*:*:*:home\n")
    write(tmp_path / "envpass", "*:*:*:*:env\n")
    write(tmp_path / "kwpass", "*:*:*:*:kw\n")
    write(tmp_path / "dsnpass", "*:*:*:*:dsn\n")
    assert parse(host="h")[1].password == "home"
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "envpass"))
    assert parse(host="h")[1].password == "env"
    assert parse(f"postgresql://h/?passfile={tmp_path}/dsnpass")[1] \
        .password == "dsn"
    assert parse(f"postgresql://h/?passfile={tmp_path}/dsnpass",
                 passfile=tmp_path / "kwpass")[1].password == "kw"


def test_pgpass_first_matching_host_and_per_addr_lookup(home):
    write(home / ".pgpass", "h2:*:*:*:two\nh1:*:*:*:one\n")
    addrs, p, _ = parse(host=["h1", "h2", "h3"])
    assert p.password == "one"           # first host with a match
    assert cu._password_for_addr(p, addrs[1]) == "two"
    assert cu._password_for_addr(p, addrs[2]) == "one"   # fallback


# ---------------------------------------------------------------------------
# sslmode -> SSLContext
# ---------------------------------------------------------------------------
def test_ssl_default_prefer_for_tcp():
    _, p, _ = parse(host="h")
    assert p.sslmode == SSLMode.prefer
    assert isinstance(p.ssl, ssl.SSLContext)
    assert p.ssl.verify_mode == ssl.CERT_NONE
    assert p.ssl.check_hostname is False
    assert p.ssl.minimum_version == ssl.TLSVersion.TLSv1_2


def test_ssl_unix_only_default_disable():
    _, p, _ = parse(host="/tmp")
    assert p.sslmode == SSLMode.disable and p.ssl is None


def test_ssl_unix_only_verify_full_needs_no_root_cert():
    # TLS is ignored for Unix sockets (libpq): no root.crt error.
    _, p, _ = parse(host="/tmp", ssl="verify-full")
    assert p.sslmode == SSLMode.verify_full and p.ssl is None


@pytest.mark.parametrize("value", [False, "disable", SSLMode.disable])
def test_ssl_disable(value):
    _, p, _ = parse(host="h", ssl=value)
    assert p.sslmode == SSLMode.disable and p.ssl is None


def test_ssl_true_is_verify_full_default_context():
    _, p, _ = parse(host="h", ssl=True)
    assert p.sslmode == SSLMode.verify_full
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED
    assert p.ssl.check_hostname is True


def test_ssl_context_used_as_is():
    ctx = ssl.create_default_context()
    _, p, _ = parse(host="h", ssl=ctx)
    assert p.ssl is ctx and p.sslmode == SSLMode.verify_full
    ctx2 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx2.check_hostname = False
    ctx2.verify_mode = ssl.CERT_NONE
    _, p, _ = parse(host="h", ssl=ctx2)
    assert p.ssl is ctx2 and p.sslmode == SSLMode.require


def test_ssl_allow():
    _, p, _ = parse(host="h", ssl="allow")
    assert p.sslmode == SSLMode.allow
    assert p.ssl.verify_mode == ssl.CERT_NONE


def test_ssl_require_without_root_cert():
    _, p, _ = parse(host="h", ssl="require")
    assert p.ssl.verify_mode == ssl.CERT_NONE
    assert p.ssl.check_hostname is False


def test_ssl_require_with_default_root_cert(home, certs):
    (home / ".postgresql").mkdir()
    shutil.copy(certs.cert, home / ".postgresql" / "root.crt")
    _, p, _ = parse(host="h", ssl="require")
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED   # behaves as verify-ca
    assert p.ssl.check_hostname is False


def test_ssl_require_with_explicit_missing_root_cert(tmp_path):
    _, p, _ = parse(f"postgresql://h/db?sslmode=require"
                    f"&sslrootcert={tmp_path}/nope.crt")
    assert p.ssl.verify_mode == ssl.CERT_NONE       # libpq: no verification


@pytest.mark.parametrize("mode", ["verify-ca", "verify-full"])
def test_ssl_verify_without_root_cert(home, mode):
    with pytest.raises(E("ClientConfigurationError")) as ei:
        parse(host="h", ssl=mode)
    msg = str(ei.value)
    assert str(home / ".postgresql" / "root.crt") in msg
    assert "does not exist" in msg


def test_ssl_verify_ca_and_full(certs):
    _, p, _ = parse(host="h", ssl="verify-ca",
                    dsn=f"postgresql://h/?sslrootcert={certs.cert}")
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED
    assert p.ssl.check_hostname is False
    _, p, _ = parse(f"postgresql://h/?sslmode=verify-full"
                    f"&sslrootcert={certs.cert}")
    assert p.sslmode == SSLMode.verify_full
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED
    assert p.ssl.check_hostname is True


def test_ssl_env_rootcert_and_mode(monkeypatch, certs):
    monkeypatch.setenv("PGSSLMODE", "verify-ca")
    monkeypatch.setenv("PGSSLROOTCERT", str(certs.cert))
    _, p, _ = parse(host="h")
    assert p.sslmode == SSLMode.verify_ca
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED


def test_ssl_bad_root_cert_file(tmp_path):
    bad = write(tmp_path / "bad.crt", "not a certificate\n")
    with pytest.raises(E("ClientConfigurationError"),
                       match="root certificate"):
        parse(f"postgresql://h/?sslmode=verify-ca&sslrootcert={bad}")


def test_sslrootcert_system():
    _, p, _ = parse("postgresql://h/?sslrootcert=system")
    assert p.sslmode == SSLMode.verify_full
    assert p.ssl.verify_mode == ssl.CERT_REQUIRED
    assert p.ssl.check_hostname is True
    _, p, _ = parse("postgresql://h/?sslrootcert=system&sslmode=verify-full")
    assert p.sslmode == SSLMode.verify_full
    with pytest.raises(E("ClientConfigurationError"), match="weak sslmode"):
        parse("postgresql://h/?sslrootcert=system&sslmode=require")


def test_ssl_kwarg_beats_dsn_and_env(monkeypatch):
    monkeypatch.setenv("PGSSLMODE", "require")
    _, p, _ = parse("postgresql://h/?sslmode=allow", ssl="disable")
    assert p.sslmode == SSLMode.disable
    _, p, _ = parse("postgresql://h/?sslmode=allow")
    assert p.sslmode == SSLMode.allow
    _, p, _ = parse(host="h")
    assert p.sslmode == SSLMode.require


@pytest.mark.parametrize("value", ["strict", "VERIFY_FULL", 1, 2.0,
                                   object()])
def test_ssl_invalid(value):
    with pytest.raises(E("ClientConfigurationError")):
        parse(host="h", ssl=value)


def test_ssl_protocol_versions(monkeypatch):
    _, p, _ = parse("postgresql://h/?ssl_min_protocol_version=TLSv1.3")
    assert p.ssl.minimum_version == ssl.TLSVersion.TLSv1_3
    monkeypatch.setenv("PGSSLMAXPROTOCOLVERSION", "TLSv1.2")
    _, p, _ = parse(host="h")
    assert p.ssl.maximum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(E("ClientConfigurationError"), match="range"):
        parse("postgresql://h/?ssl_min_protocol_version=TLSv1.3")
    with pytest.raises(E("ClientConfigurationError"), match="Unsupported"):
        parse("postgresql://h/?ssl_min_protocol_version=SSLv3")
    with pytest.raises(E("ClientConfigurationError"), match="No such"):
        parse("postgresql://h/?ssl_min_protocol_version=TLSv9")


def test_ssl_crl_explicit_missing(certs, tmp_path):
    with pytest.raises(E("ClientConfigurationError"), match="CRL"):
        parse(f"postgresql://h/?sslmode=verify-ca&sslrootcert={certs.cert}"
              f"&sslcrl={tmp_path}/none.crl")


def test_ssl_crl_loaded(certs, tmp_path, home):
    pytest.importorskip("cryptography")
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    key = serialization.load_pem_private_key(certs.key.read_bytes(), None)
    cert = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    now = datetime.datetime.now(datetime.timezone.utc)
    crl = (x509.CertificateRevocationListBuilder()
           .issuer_name(cert.subject).last_update(now)
           .next_update(now + datetime.timedelta(days=1))
           .sign(key, hashes.SHA256()))
    crl_path = tmp_path / "root.crl"
    crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    _, p, _ = parse(f"postgresql://h/?sslmode=verify-ca"
                    f"&sslrootcert={certs.cert}&sslcrl={crl_path}")
    assert p.ssl.verify_flags & ssl.VERIFY_CRL_CHECK_CHAIN
    # default ~/.postgresql/root.crl
    (home / ".postgresql").mkdir()
    shutil.copy(crl_path, home / ".postgresql" / "root.crl")
    _, p, _ = parse(f"postgresql://h/?sslmode=verify-ca"
                    f"&sslrootcert={certs.cert}")
    assert p.ssl.verify_flags & ssl.VERIFY_CRL_CHECK_CHAIN
    # not loaded when the chain is not verified
    _, p, _ = parse(host="h", ssl="require")
    assert not p.ssl.verify_flags & ssl.VERIFY_CRL_CHECK_CHAIN


def test_client_cert_explicit(certs):
    _, p, _ = parse(f"postgresql://h/?sslmode=require&sslcert={certs.cert}"
                    f"&sslkey={certs.key}")
    assert p.ssl is not None


def test_client_cert_explicit_missing(tmp_path, certs):
    with pytest.raises(E("ClientConfigurationError"),
                       match="certificate file"):
        parse(f"postgresql://h/?sslmode=require&sslcert={tmp_path}/no.crt"
              f"&sslkey={certs.key}")


def test_client_key_permissions(tmp_path, certs):
    key = tmp_path / "loose.key"
    shutil.copy(certs.key, key)
    os.chmod(key, 0o644)
    with pytest.raises(E("ClientConfigurationError"),
                       match="group or world access"):
        parse(f"postgresql://h/?sslmode=require&sslcert={certs.cert}"
              f"&sslkey={key}")
    if os.geteuid() == 0 and os.stat(key).st_uid == 0:
        os.chmod(key, 0o640)          # root-owned 0640 is accepted
        parse(f"postgresql://h/?sslmode=require&sslcert={certs.cert}"
              f"&sslkey={key}")


def test_client_encrypted_key(certs, monkeypatch):
    base = (f"postgresql://h/?sslmode=require&sslcert={certs.cert}"
            f"&sslkey={certs.enc_key}")
    parse(base + "&sslpassword=secret")
    # wrong or missing password: an error, never an interactive prompt
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(E("ClientConfigurationError")):
        parse(base + "&sslpassword=wrong")
    with pytest.raises(E("ClientConfigurationError")):
        parse(base)


def test_client_cert_default_location(home, certs):
    pgdir = home / ".postgresql"
    pgdir.mkdir()
    shutil.copy(certs.cert, pgdir / "postgresql.crt")
    shutil.copy(certs.key, pgdir / "postgresql.key")
    os.chmod(pgdir / "postgresql.key", 0o644)
    # picked up by default: the loose key permissions are reported
    with pytest.raises(E("ClientConfigurationError"),
                       match="group or world access"):
        parse(host="h", ssl="require")
    os.chmod(pgdir / "postgresql.key", 0o600)
    _, p, _ = parse(host="h", ssl="require")
    assert p.ssl is not None
    # PGSSLCERT pointing elsewhere replaces the default
    os.environ["PGSSLCERT"] = str(home / "missing.crt")
    try:
        with pytest.raises(E("ClientConfigurationError")):
            parse(host="h", ssl="require")
    finally:
        del os.environ["PGSSLCERT"]


def test_keylog_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    _, p, _ = parse(host="h", ssl="require")
    assert p.ssl.keylog_filename == str(tmp_path / "keys.log")


def test_direct_tls(monkeypatch):
    _, p, _ = parse(host="h", ssl="require", direct_tls=True)
    assert p.direct_tls is True and p.ssl_negotiation == "direct"
    with pytest.raises(E("ClientConfigurationError"), match="direct TLS"):
        parse(host="h", ssl="prefer", direct_tls=True)
    with pytest.raises(E("ClientConfigurationError"), match="direct TLS"):
        parse(host="h", direct_tls=True)
    _, p, _ = parse("postgresql://h/?sslmode=require&sslnegotiation=direct")
    assert p.direct_tls is True
    monkeypatch.setenv("PGSSLNEGOTIATION", "direct")
    with pytest.raises(E("ClientConfigurationError"), match="direct TLS"):
        parse(host="h")
    _, p, _ = parse(host="h", direct_tls=False)
    assert p.direct_tls is False
    monkeypatch.setenv("PGSSLNEGOTIATION", "sideways")
    with pytest.raises(E("ClientConfigurationError"), match="sslnegotiation"):
        parse(host="h")


# ---------------------------------------------------------------------------
# SASLprep
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw,prepared", [
    ("user", "user"),
    ("pass word", "pass word"),
    ("\x07ascii", "\x07ascii"),            # ASCII is returned as is (PG)
    ("I\u00adX", "IX"),                    # RFC 4013 example: soft hyphen
    ("\u00aa", "a"),                       # RFC 4013 example: NFKC
    ("\u2168", "IX"),                      # RFC 4013 example: NFKC
    ("a\u00a0b\u3000c", "a b c"),          # non-ASCII spaces -> space
    ("\ufb01x", "fix"),
    ("caf\u00e9", "caf\u00e9"),
    ("cafe\u0301", "caf\u00e9"),
    ("\u0627\u0031\u0628", "\u0627\u0031\u0628"),   # valid RTL
])
def test_saslprep(raw, prepared):
    assert cu.saslprep(raw) == prepared


@pytest.mark.parametrize("raw", [
    "a\u0085b",          # C.2.2 non-ASCII control
    "a\ue000b",          # C.3 private use
    "a\ufffeb",          # C.4 non-character
    "a\u200eb",          # C.8 directional mark
    "a\U000e0001b",      # C.9 tagging
    "a\u0221b",          # unassigned in Unicode 3.2
    "\u0627\u0031",      # RFC 4013 example: RandALCat must end the string
    "a\u0627",           # LCat and RandALCat mixed
    "\u00ad",            # empty after mapping
    "a\udc80b",          # lone surrogate
])
def test_saslprep_failure_returns_raw(raw):
    assert cu.saslprep(raw) == raw


# ---------------------------------------------------------------------------
# fake server for open_socket / cancel / connect
# ---------------------------------------------------------------------------
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


class FakeServer:
    """127.0.0.1 listener; `handler(reader, writer, n)` per connection."""

    def __init__(self, handler):
        self.handler = handler
        self.first = []          # first <= 8 bytes of each connection
        self.tasks = set()
        self.writers = []
        self.changed = asyncio.Event()

    async def settled(self, n, timeout=5.0):
        """Wait (bounded) until n connections have delivered their first
        bytes: synchronisation on the event, never on a timed sleep."""
        async def wait():
            while (len(self.first) < n or
                   any(x is None for x in self.first[:n])):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _conn(self, reader, writer):
        self.writers.append(writer)
        self.tasks.add(asyncio.current_task())
        n = len(self.first)
        self.first.append(None)
        try:
            try:
                data = await reader.readexactly(8)
            except asyncio.IncompleteReadError as e:
                data = e.partial
            self.first[n] = data
            self.changed.set()
            await self.handler(reader, writer, n, data)
        except (ConnectionError, asyncio.IncompleteReadError,
                asyncio.CancelledError):
            pass                 # swallowed: a handler task ends quietly
        finally:
            writer.close()

    async def __aexit__(self, *exc):
        self.server.close()
        for w in self.writers:
            w.close()
        pending = [t for t in self.tasks if not t.done()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.server.wait_closed()


def answer(data):
    async def handler(reader, writer, n, first):
        if first == SSL_REQUEST:
            writer.write(data)
            await writer.drain()
        await reader.read()          # hold until the client closes
    return handler


def prefer_params(**kw):
    return parse(host="127.0.0.1", **kw)[1]


def deadline(sec=5.0):
    return asyncio.get_running_loop().time() + sec


async def test_open_socket_ssl_accepted():
    async with FakeServer(answer(b"S")) as srv:
        p = prefer_params()
        sock, ctx, hostname = await cu.open_socket(
            ("127.0.0.1", srv.port), p, loop=asyncio.get_running_loop(),
            deadline=deadline())
        try:
            assert ctx is p.ssl and hostname == "127.0.0.1"
            assert sock.getblocking() is False
            assert sock.getsockopt(socket.IPPROTO_TCP,
                                   socket.TCP_NODELAY) != 0
            assert sock.getsockopt(socket.SOL_SOCKET,
                                   socket.SO_KEEPALIVE) != 0
        finally:
            sock.close()
    assert srv.first == [SSL_REQUEST]


async def test_open_socket_ssl_refused_prefer_continues_plaintext():
    async with FakeServer(answer(b"N")) as srv:
        for mode in ("prefer", "allow"):
            p = prefer_params(ssl=mode)
            sock, ctx, hostname = await cu.open_socket(
                ("127.0.0.1", srv.port), p,
                loop=asyncio.get_running_loop(), deadline=deadline(),
                tls=True)
            sock.close()
            assert ctx is None and hostname is None


@pytest.mark.parametrize("mode", ["require", "ctx"])
async def test_open_socket_ssl_refused_require_fails(mode):
    ssl_arg = mode
    if mode == "ctx":
        ssl_arg = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ssl_arg.check_hostname = False
        ssl_arg.verify_mode = ssl.CERT_NONE
    async with FakeServer(answer(b"N")) as srv:
        p = prefer_params(ssl=ssl_arg)
        with pytest.raises(cu.SSLNegotiationError,
                           match="rejected SSL upgrade: server does not "
                                 "support SSL, but SSL was "
                                 "required") as ei:
            await cu.open_socket(("127.0.0.1", srv.port), p,
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())
    assert isinstance(ei.value, E("InterfaceError"))
    assert isinstance(ei.value, ConnectionError)     # next host is tried


async def test_open_socket_error_response_text_not_shown():
    body = b"SFATAL\0C28000\0MYOU MUST RUN rm -rf /\0\0"
    msg = b"E" + struct.pack("!i", len(body) + 4) + body
    async with FakeServer(answer(msg)) as srv:
        with pytest.raises(cu.SSLNegotiationError) as ei:
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())
    text = str(ei.value)
    assert "server sent an error response during SSL exchange" in text
    assert "rm -rf" not in text and "28000" not in text


async def test_open_socket_unencrypted_data_after_ssl_response():
    injected = b"S" + b"R" + struct.pack("!ii", 8, 0) + b"Z" + \
        struct.pack("!i", 5) + b"I"
    async with FakeServer(answer(injected)) as srv:
        # a ConnectionError (asyncpg), the next host is tried; no second
        # attempt on this one
        with pytest.raises(cu.SSLNegotiationError,
                           match="rejected SSL upgrade: received unencrypted "
                                 "data after SSL response") as ei:
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())
    assert isinstance(ei.value, ConnectionError)


@pytest.mark.parametrize("byte", [b"X", b"R", b"\x00", b"G"])
async def test_open_socket_garbage_answer(byte):
    async with FakeServer(answer(byte)) as srv:
        with pytest.raises(ConnectionError,
                           match="rejected SSL upgrade: received invalid "
                                 "response to SSL negotiation"):
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())


async def test_open_socket_unencrypted_data_after_n():
    # b"N" then more: not a PostgreSQL server; refused before any startup
    async with FakeServer(answer(b"Nextra")) as srv:
        with pytest.raises(ConnectionError,
                           match="rejected SSL upgrade: received unencrypted "
                                 "data after SSL response"):
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())


async def test_open_socket_eof_after_ssl_request():
    async def handler(reader, writer, n, first):
        writer.close()
    async with FakeServer(handler) as srv:
        with pytest.raises(OSError):
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=asyncio.get_running_loop(),
                                 deadline=deadline())


async def test_open_socket_timeout():
    async def handler(reader, writer, n, first):
        await asyncio.sleep(10)
    async with FakeServer(handler) as srv:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await cu.open_socket(("127.0.0.1", srv.port), prefer_params(),
                                 loop=loop, deadline=deadline(0.2))
        assert loop.time() - t0 < 2


async def test_open_socket_plaintext_sends_nothing():
    async with FakeServer(answer(b"S")) as srv:
        for kw in ({"ssl": "disable"}, {"ssl": "allow"}):
            sock, ctx, hostname = await cu.open_socket(
                ("127.0.0.1", srv.port), prefer_params(**kw),
                loop=asyncio.get_running_loop(), deadline=deadline())
            assert ctx is None and hostname is None
            sock.close()
        sock, ctx, _ = await cu.open_socket(
            ("127.0.0.1", srv.port), prefer_params(), tls=False,
            loop=asyncio.get_running_loop(), deadline=deadline())
        assert ctx is None
        sock.close()
        await srv.settled(3)
    assert srv.first == [b"", b"", b""]


async def test_open_socket_direct_tls_skips_ssl_request():
    async with FakeServer(answer(b"N")) as srv:
        p = prefer_params(ssl="require", direct_tls=True)
        sock, ctx, hostname = await cu.open_socket(
            ("127.0.0.1", srv.port), p, loop=asyncio.get_running_loop(),
            deadline=deadline())
        assert ctx is p.ssl and hostname == "127.0.0.1"
        sock.close()
        await srv.settled(1)
    assert srv.first == [b""]


async def test_open_socket_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(OSError):
        await cu.open_socket(("127.0.0.1", port), prefer_params(),
                             loop=asyncio.get_running_loop(),
                             deadline=deadline())


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")
async def test_open_socket_unix_ignores_tls(tmp_path):
    path = str(tmp_path / ".s.PGSQL.5432")
    seen = []
    got = asyncio.Event()

    async def handler(reader, writer):
        seen.append(await reader.read(8))
        got.set()
        writer.close()
    server = await asyncio.start_unix_server(handler, path)
    try:
        p = parse(host=str(tmp_path), ssl="require")[1]
        sock, ctx, hostname = await cu.open_socket(
            path, p, loop=asyncio.get_running_loop(), deadline=deadline())
        assert sock.family == socket.AF_UNIX
        assert ctx is None and hostname is None
        sock.close()
        await asyncio.wait_for(got.wait(), 5)  # the server saw the close
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [b""]


async def test_open_socket_tls_handshake_end_to_end(certs):
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certs.cert, certs.key)
    server_ctx.set_alpn_protocols(["postgresql"])

    async def handler(reader, writer, n, first):
        writer.write(b"S")
        await writer.drain()
        await writer.start_tls(server_ctx)
        writer.write(b"hello")
        await writer.drain()
        await reader.read()

    async with FakeServer(handler) as srv:
        loop = asyncio.get_running_loop()
        p = parse(f"postgresql://127.0.0.1:{srv.port}/db?sslmode=verify-full"
                  f"&sslrootcert={certs.cert}")[1]
        sock, ctx, hostname = await cu.open_socket(
            ("127.0.0.1", srv.port), p, loop=loop, deadline=deadline())
        got = loop.create_future()

        class Proto(asyncio.Protocol):
            def data_received(self, data):
                if not got.done():
                    got.set_result(data)

        tr, _ = await loop.create_connection(
            Proto, sock=sock, ssl=ctx, server_hostname=hostname)
        try:
            assert await asyncio.wait_for(got, 5) == b"hello"
            sslobj = tr.get_extra_info("ssl_object")
            assert sslobj.selected_alpn_protocol() == "postgresql"
        finally:
            tr.close()


# ---------------------------------------------------------------------------
# CancelRequest
# ---------------------------------------------------------------------------
async def test_send_cancel_request():
    got = []

    async def handler(reader, writer, n, first):
        got.append(first + await reader.readexactly(8))
        writer.close()
    async with FakeServer(handler) as srv:
        await cu.send_cancel_request(("127.0.0.1", srv.port), 1234, -2,
                                     loop=asyncio.get_running_loop(),
                                     timeout=5)
    assert got == [struct.pack("!iiII", 16, 80877102, 1234, 0xFFFFFFFE)]


async def test_send_cancel_request_long_key():
    got = []

    async def handler(reader, writer, n, first):
        got.append(first + await reader.readexactly(32 + 4))
        writer.close()
    async with FakeServer(handler) as srv:
        await cu.send_cancel_request(("127.0.0.1", srv.port), 7, b"k" * 32,
                                     loop=asyncio.get_running_loop(),
                                     timeout=5)
    assert got == [struct.pack("!iiI", 12 + 32, 80877102, 7) + b"k" * 32]


async def test_send_cancel_request_timeout_closes_socket():
    closed = asyncio.Event()

    async def handler(reader, writer, n, first):
        try:
            await reader.read()        # client goes away (RST or EOF)
        finally:
            closed.set()
    async with FakeServer(handler) as srv:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await cu.send_cancel_request(("127.0.0.1", srv.port), 1, 2,
                                         loop=loop, timeout=0.2)
        assert loop.time() - t0 < 2
        await asyncio.wait_for(closed.wait(), 5)


async def test_send_cancel_request_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(OSError):
        await cu.send_cancel_request(("127.0.0.1", port), 1, 2,
                                     loop=asyncio.get_running_loop(),
                                     timeout=5)


# ---------------------------------------------------------------------------
# connect() with a stand-in pgwire.connection
# ---------------------------------------------------------------------------
class FakeConn:
    def __init__(self, addr, tls, settings=None, recovery=False):
        self.addr, self.tls = addr, tls
        self._settings = types.SimpleNamespace(**(settings or {}))
        self._recovery = recovery
        self.terminated = False

    def get_settings(self):
        return self._settings

    async def fetchval(self, query):
        assert "pg_is_in_recovery" in query
        return self._recovery

    def terminate(self):
        self.terminated = True


class FakeRecord(tuple):
    pass


@pytest.fixture
def fake_backend(monkeypatch):
    """Give connect_utils a scripted _connect_one and a stand-in Connection.

    ns.behaviour(call) -> FakeConn or raises; call has .addr, .tls,
    .params, .record_class, .connection_class, .deadline."""
    import pgwire

    ns = types.SimpleNamespace(calls=[], behaviour=None)

    class Connection:
        pass

    async def _connect_one(sock, ctx, server_hostname, addr, params, config,
                           connection_class, record_class, loop, deadline):
        call = types.SimpleNamespace(
            addr=addr, tls=ctx is not None, server_hostname=server_hostname,
            params=params, config=config, connection_class=connection_class,
            record_class=record_class, deadline=deadline)
        ns.calls.append(call)
        try:
            result = ns.behaviour(call)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        finally:
            sock.close()

    monkeypatch.setattr(cu, "Connection", Connection)
    monkeypatch.setattr(cu, "_connect_one", _connect_one)
    # Through the module dict: getattr(pgwire, "Record") would import the
    # C extension (pgwire.__getattr__), which these tests must not need.
    monkeypatch.setitem(vars(pgwire), "Record", FakeRecord)
    ns.Connection = Connection
    return ns


def auth_error(sqlstate="28000"):
    name = {"28000": "InvalidAuthorizationSpecificationError",
            "28P01": "InvalidPasswordError"}[sqlstate]
    return E(name)("no pg_hba.conf entry")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_connect_plain(fake_backend):
    fake_backend.behaviour = lambda c: FakeConn(c.addr, c.tls)
    async with FakeServer(answer(b"S")) as srv:
        conn = await cu.connect(host="127.0.0.1", port=srv.port,
                                ssl="disable", password="pw")
    assert conn.addr == ("127.0.0.1", srv.port) and conn.tls is False
    call = fake_backend.calls[0]
    assert call.params.password == "pw"
    assert call.connection_class is fake_backend.Connection
    assert call.record_class is FakeRecord
    assert call.server_hostname is None


async def test_connect_next_host_on_oserror(fake_backend):
    fake_backend.behaviour = lambda c: FakeConn(c.addr, c.tls)
    dead = free_port()
    async with FakeServer(answer(b"N")) as srv:
        conn = await cu.connect(host=["127.0.0.1", "127.0.0.1"],
                                port=[dead, srv.port])
    assert conn.addr == ("127.0.0.1", srv.port)


async def test_connect_all_hosts_fail_raises_last(fake_backend):
    fake_backend.behaviour = lambda c: FakeConn(c.addr, c.tls)
    with pytest.raises(OSError):
        await cu.connect(host=["127.0.0.1", "127.0.0.1"],
                         port=[free_port(), free_port()])


async def test_connect_prefer_retries_plaintext_after_auth_rejection(
        fake_backend):
    def behaviour(c):
        if c.tls:
            raise auth_error()
        return FakeConn(c.addr, c.tls)
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        conn = await cu.connect(host="127.0.0.1", port=srv.port)
        await srv.settled(2)
    assert conn.tls is False
    assert [c.tls for c in fake_backend.calls] == [True, False]
    assert srv.first == [SSL_REQUEST, b""]       # a new TCP connection


def early_error(name, auth_received=False):
    """A server error during startup, before (or after) AuthenticationOk,
    as the protocol marks it."""
    exc = E(name)("from the server")
    exc._auth_received = auth_received
    return exc


@pytest.mark.parametrize("mode,first_tls", [("prefer", True),
                                            ("allow", False)])
async def test_connect_fallback_on_any_pre_auth_error(fake_backend, mode,
                                                      first_tls):
    # libpq and asyncpg: any server error before AuthenticationOk (not only
    # a pg_hba.conf rejection) makes allow/prefer try the other transport;
    # the second attempt's error names the first one as its cause
    def behaviour(c):
        if c.tls == first_tls:
            raise early_error("InvalidCatalogNameError")
        raise early_error("TooManyConnectionsError")
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        with pytest.raises(E("TooManyConnectionsError")) as ei:
            await cu.connect(host="127.0.0.1", port=srv.port, ssl=mode)
    assert isinstance(ei.value.__cause__, E("InvalidCatalogNameError"))
    assert [c.tls for c in fake_backend.calls] == [first_tls, not first_tls]


async def test_connect_no_fallback_after_auth_or_cannot_connect_now(
        fake_backend):
    for exc in (early_error("InvalidCatalogNameError", auth_received=True),
                early_error("CannotConnectNowError")):
        fake_backend.calls.clear()

        def behaviour(c, exc=exc):
            raise exc
        fake_backend.behaviour = behaviour
        async with FakeServer(answer(b"S")) as srv:
            with pytest.raises(type(exc)):
                await cu.connect(host="127.0.0.1", port=srv.port)
        assert [c.tls for c in fake_backend.calls] == [True]


async def test_connect_prefer_no_retry_when_server_said_n(fake_backend):
    def behaviour(c):
        raise auth_error()
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"N")) as srv:
        with pytest.raises(E("InvalidAuthorizationSpecificationError")):
            await cu.connect(host="127.0.0.1", port=srv.port)
    assert [c.tls for c in fake_backend.calls] == [False]


async def test_connect_prefer_retries_after_tls_handshake_failure(
        fake_backend):
    def behaviour(c):
        if c.tls:
            raise ssl.SSLError("handshake failure")
        return FakeConn(c.addr, c.tls)
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        conn = await cu.connect(host="127.0.0.1", port=srv.port)
    assert conn.tls is False


async def test_connect_allow_retries_with_tls(fake_backend):
    def behaviour(c):
        if not c.tls:
            raise auth_error()
        return FakeConn(c.addr, c.tls)
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        conn = await cu.connect(host="127.0.0.1", port=srv.port,
                                ssl="allow")
        await srv.settled(2)
    assert conn.tls is True
    assert [c.tls for c in fake_backend.calls] == [False, True]
    assert srv.first == [b"", SSL_REQUEST]


async def test_connect_require_does_not_retry(fake_backend):
    def behaviour(c):
        raise auth_error()
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        with pytest.raises(E("InvalidAuthorizationSpecificationError")):
            await cu.connect(host="127.0.0.1", port=srv.port, ssl="require")
    assert [c.tls for c in fake_backend.calls] == [True]


async def test_connect_retry_keeps_password_error(fake_backend):
    def behaviour(c):
        raise auth_error("28P01" if c.tls else "28000")
    fake_backend.behaviour = behaviour
    async with FakeServer(answer(b"S")) as srv:
        with pytest.raises(E("InvalidPasswordError")):
            await cu.connect(host="127.0.0.1", port=srv.port)


async def test_connect_cannot_connect_now_moves_on(fake_backend):
    async with FakeServer(answer(b"N")) as s1, \
            FakeServer(answer(b"N")) as s2:
        def behaviour(c):
            if c.addr[1] == s1.port:
                raise E("CannotConnectNowError")("starting up")
            return FakeConn(c.addr, c.tls)
        fake_backend.behaviour = behaviour
        conn = await cu.connect(host=["127.0.0.1", "127.0.0.1"],
                                port=[s1.port, s2.port])
    assert conn.addr[1] == s2.port


async def test_connect_other_server_error_propagates(fake_backend):
    async with FakeServer(answer(b"N")) as s1, \
            FakeServer(answer(b"N")) as s2:
        def behaviour(c):
            raise E("InvalidCatalogNameError")("no such database")
        fake_backend.behaviour = behaviour
        with pytest.raises(E("InvalidCatalogNameError")):
            await cu.connect(host=["127.0.0.1", "127.0.0.1"],
                             port=[s1.port, s2.port])
    assert len(fake_backend.calls) == 1


async def test_connect_password_callables(fake_backend):
    fake_backend.behaviour = lambda c: FakeConn(c.addr, c.tls)
    n = []

    def sync_pw():
        n.append(1)
        return f"sync{len(n)}"

    async def async_pw():
        n.append(1)
        return f"async{len(n)}"

    async with FakeServer(answer(b"N")) as srv:
        await cu.connect(host="127.0.0.1", port=srv.port, password=sync_pw)
        await cu.connect(host="127.0.0.1", port=srv.port, password=async_pw)
    assert [c.params.password for c in fake_backend.calls] == \
        ["sync1", "async2"]


async def test_connect_timeout_overall(fake_backend):
    async def hang(c):
        await asyncio.sleep(30)
    fake_backend.behaviour = hang
    async with FakeServer(answer(b"N")) as srv:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await cu.connect(host=["127.0.0.1", "127.0.0.1"],
                             port=[srv.port, srv.port], timeout=0.3)
        assert loop.time() - t0 < 3
    assert len(fake_backend.calls) == 1
    assert fake_backend.calls[0].deadline == pytest.approx(t0 + 0.3, abs=0.1)


async def test_connect_per_host_timeout_moves_on(fake_backend):
    async with FakeServer(answer(b"N")) as s1, \
            FakeServer(answer(b"N")) as s2:
        async def behaviour(c):
            if c.addr[1] == s1.port:
                await asyncio.sleep(30)
            return FakeConn(c.addr, c.tls)
        fake_backend.behaviour = behaviour
        addrs, params, config = parse(host=["127.0.0.1", "127.0.0.1"],
                                      port=[s1.port, s2.port])
        params = params._replace(connect_timeout=0.2)
        conn = await cu._connect_addrs(
            addrs, params, config, fake_backend.Connection, FakeRecord,
            loop=asyncio.get_running_loop(), timeout=10)
    assert conn.addr[1] == s2.port


async def test_connect_class_validation(fake_backend):
    fake_backend.behaviour = lambda c: FakeConn(c.addr, c.tls)
    with pytest.raises(E("InterfaceError"), match="connection_class"):
        await cu.connect(host="h", connection_class=object)
    with pytest.raises(E("InterfaceError"), match="connection_class"):
        await cu.connect(host="h", connection_class="x")

    class MyConn(fake_backend.Connection):
        pass

    class MyRecord(FakeRecord):
        pass

    class BadNew(FakeRecord):
        def __new__(cls, *a):
            return super().__new__(cls, *a)

    class BadInit(FakeRecord):
        def __init__(self, *a):
            pass

    with pytest.raises(E("InterfaceError"), match="record_class"):
        await cu.connect(host="h", record_class=tuple)
    for bad in (BadNew, BadInit):
        with pytest.raises(E("InterfaceError"),
                           match="must not redefine __new__ or __init__"):
            await cu.connect(host="h", record_class=bad)
    async with FakeServer(answer(b"N")) as srv:
        await cu.connect(host="127.0.0.1", port=srv.port,
                         connection_class=MyConn, record_class=MyRecord)
    assert fake_backend.calls[-1].connection_class is MyConn
    assert fake_backend.calls[-1].record_class is MyRecord


async def test_connect_validation_errors_before_dialing(fake_backend):
    with pytest.raises(ValueError):
        await cu.connect(host="h", statement_cache_size=-1)
    with pytest.raises(E("ClientConfigurationError")):
        await cu.connect("host=h")
    assert fake_backend.calls == []


async def test_connect_target_session_attrs(fake_backend):
    async with FakeServer(answer(b"N")) as s1, \
            FakeServer(answer(b"N")) as s2:
        standby = {s1.port: True, s2.port: False}
        made = []

        def behaviour(c):
            conn = FakeConn(c.addr, c.tls, recovery=standby[c.addr[1]])
            made.append(conn)
            return conn
        fake_backend.behaviour = behaviour
        hosts = dict(host=["127.0.0.1", "127.0.0.1"],
                     port=[s1.port, s2.port])
        conn = await cu.connect(**hosts, target_session_attrs="primary")
        assert conn.addr[1] == s2.port
        assert made[0].terminated and not made[1].terminated

        conn = await cu.connect(**hosts, target_session_attrs="standby")
        assert conn.addr[1] == s1.port

        standby[s1.port] = False
        made.clear()
        conn = await cu.connect(**hosts,
                                target_session_attrs="prefer-standby")
        assert conn is made[0] and made[1].terminated

        with pytest.raises(E("TargetServerAttributeNotMatched"),
                           match="None of the hosts match"):
            await cu.connect(**hosts, target_session_attrs="standby")

        # in_hot_standby / default_transaction_read_only from settings
        fake_backend.behaviour = lambda c: FakeConn(
            c.addr, c.tls,
            settings={"in_hot_standby": "off",
                      "default_transaction_read_only":
                          "on" if c.addr[1] == s1.port else "off"})
        conn = await cu.connect(**hosts, target_session_attrs="read-write")
        assert conn.addr[1] == s2.port
        conn = await cu.connect(**hosts, target_session_attrs="read-only")
        assert conn.addr[1] == s1.port


# ---------------------------------------------------------------------------
# TCP liveness: keepalives*, tcp_user_timeout (libpq names; not in asyncpg)
# ---------------------------------------------------------------------------
def test_tcp_options_defaults_and_sources():
    _, params, _ = parse("postgresql://u@h/db")
    assert params.keepalives is True
    assert params.keepalives_idle is None and params.tcp_user_timeout is None
    _, params, _ = parse("postgresql://u@h/db?keepalives_idle=30&"
                         "keepalives_interval=5&keepalives_count=3&"
                         "tcp_user_timeout=9000")
    assert (params.keepalives_idle, params.keepalives_interval,
            params.keepalives_count, params.tcp_user_timeout) == \
        (30, 5, 3, 9000)
    assert "tcp_user_timeout" not in params.server_settings
    _, params, _ = parse("postgresql://u@h/db?keepalives=0",
                         tcp={"tcp_user_timeout": 100})
    assert params.keepalives is False and params.tcp_user_timeout == 100


@pytest.mark.parametrize("key,value", [
    ("keepalives_idle", "-1"), ("keepalives_count", "x"),
    ("tcp_user_timeout", "1.5"), ("keepalives", "yes"),
    ("keepalives_interval", str(2 ** 31)),
])
def test_tcp_options_invalid(key, value):
    with pytest.raises(E("ClientConfigurationError"), match=key):
        parse(f"postgresql://u@h/db?{key}={value}")


async def test_tcp_options_applied_to_socket():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        _, params, _ = parse("postgresql://u@h/db?keepalives_idle=17&"
                             "keepalives_interval=4&keepalives_count=2&"
                             "tcp_user_timeout=7000")
        loop = asyncio.get_running_loop()
        sock = await cu._dial(("127.0.0.1", srv.getsockname()[1]), loop,
                              params=params)
        try:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            assert sock.getsockopt(socket.IPPROTO_TCP,
                                   socket.TCP_KEEPIDLE) == 17
            assert sock.getsockopt(socket.IPPROTO_TCP,
                                   socket.TCP_KEEPINTVL) == 4
            assert sock.getsockopt(socket.IPPROTO_TCP,
                                   socket.TCP_KEEPCNT) == 2
            assert sock.getsockopt(socket.IPPROTO_TCP,
                                   socket.TCP_USER_TIMEOUT) == 7000
        finally:
            sock.close()
        _, params, _ = parse("postgresql://u@h/db?keepalives=0")
        sock = await cu._dial(("127.0.0.1", srv.getsockname()[1]), loop,
                              params=params)
        try:
            assert not sock.getsockopt(socket.SOL_SOCKET,
                                       socket.SO_KEEPALIVE)
        finally:
            sock.close()
    finally:
        srv.close()


# require_auth (libpq 16)
def test_require_auth_parsing():
    _, params, _ = parse("postgresql://u@h/db")
    assert params.require_auth is None
    _, params, _ = parse("postgresql://u@h/db?require_auth=md5,scram-sha-256")
    assert params.require_auth == (4 | 8, "md5,scram-sha-256")
    _, params, _ = parse("postgresql://u@h/db?require_auth=!password")
    assert params.require_auth == (63 & ~2, "!password")
    assert "require_auth" not in params.server_settings


@pytest.mark.parametrize("value,msg", [
    ("kerberos", 'invalid require_auth method: "kerberos"'),
    ("md5,!password", "cannot be mixed"),
    ("!md5,password", "cannot be mixed"),
    ("md5,md5", "specified more than once"),
])
def test_require_auth_invalid(value, msg):
    with pytest.raises(E("ClientConfigurationError"), match=msg):
        parse(f"postgresql://u@h/db?require_auth={value}")
