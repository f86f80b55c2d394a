"""pgwire.exceptions: generated SQLSTATE tree, base classes, field mapping.

No server and no C extension needed.  Names and hierarchy are compared with
asyncpg.exceptions for every SQLSTATE asyncpg knows (those comparisons skip
only when asyncpg is not importable).
"""

import os
import pathlib
import pickle
import re
import subprocess
import sys
import textwrap

import pytest
from pure_import import import_pure

ROOT = pathlib.Path(__file__).resolve().parent.parent

exc = import_pure("pgwire.exceptions")
base = exc._base

try:
    import asyncpg.exceptions as apg_exc
except ImportError:  # pragma: no cover
    apg_exc = None

needs_asyncpg = pytest.mark.skipif(apg_exc is None,
                                   reason="asyncpg is not importable")

sys.path.insert(0, str(ROOT / "tools"))
try:
    import gen_errcodes
finally:
    sys.path.pop(0)


REGISTRY = base.PostgresMessageMeta._message_map
# pgwire's own exception classes (not in asyncpg); everything else in
# __all__ matches asyncpg name for name
PGWIRE_ONLY = {"TransactionRolledBackError", "PipelineAbortedError",
               "PoolResetFailedError"}
PGWIRE_CODES = {code: cls for code, cls in REGISTRY.items()
                if cls.__module__ == exc.__name__}
APG_CODES = (dict(apg_exc._base.PostgresMessageMeta._message_map)
             if apg_exc is not None else {})


def _chain(cls, top):
    """Class names up the MRO inside package *top*, plus builtin bases,
    leaving out pgwire's PEP 249 classes (pgwire.exceptions._dbapi: extra
    bases asyncpg has not; tests/test_dbapi.py checks them)."""
    return [k.__name__ for k in cls.__mro__
            if k.__module__ != "pgwire.exceptions._dbapi" and (
                k.__module__ == "builtins"
                or k.__module__.split(".")[0] == top)]


# ---------------------------------------------------------------------------
# Generated tree vs asyncpg
# ---------------------------------------------------------------------------

@needs_asyncpg
@pytest.mark.parametrize("sqlstate", sorted(APG_CODES))
def test_sqlstate_class_matches_asyncpg(sqlstate):
    apg_cls = APG_CODES[sqlstate]
    cls = PGWIRE_CODES.get(sqlstate)
    assert cls is not None, f"no pgwire class for {sqlstate}"
    assert cls.__name__ == apg_cls.__name__
    assert cls.sqlstate == sqlstate
    assert _chain(cls, "pgwire") == _chain(apg_cls, "asyncpg")
    assert getattr(exc, cls.__name__) is cls
    assert (cls.__name__ in exc.__all__) == (apg_cls.__name__
                                            in apg_exc.__all__)


@needs_asyncpg
def test_same_sqlstates_as_asyncpg():
    assert set(PGWIRE_CODES) == set(APG_CODES)
    assert len(PGWIRE_CODES) == 262


@needs_asyncpg
def test_all_matches_asyncpg():
    assert sorted(set(exc.__all__) - PGWIRE_ONLY) == sorted(apg_exc.__all__)
    assert len(exc.__all__) == len(set(exc.__all__)) == 276 + \
        len(PGWIRE_ONLY)
    for name in exc.__all__:
        assert hasattr(exc, name), name


@needs_asyncpg
def test_sqlstate_less_classes_match_asyncpg():
    # InvalidCachedStatementError is the only generated class without a code
    ours = {n for n in set(exc.__all__) - PGWIRE_ONLY
            if isinstance(getattr(exc, n), type)
            and issubclass(getattr(exc, n), base.PostgresMessage)
            and "sqlstate" not in vars(getattr(exc, n))}
    theirs = {n for n in apg_exc.__all__
              if isinstance(getattr(apg_exc, n), type)
              and issubclass(getattr(apg_exc, n),
                             apg_exc._base.PostgresMessage)
              and "sqlstate" not in vars(getattr(apg_exc, n))}
    assert ours == theirs
    for name in ours:
        assert (_chain(getattr(exc, name), "pgwire")
                == _chain(getattr(apg_exc, name), "asyncpg"))


def test_exports():
    assert "PostgresError" in exc.__all__
    assert "SubstringError" in exc.__all__
    assert "InterfaceError" in exc.__all__
    assert "PostgresMessage" not in exc.__all__
    assert "_error_from_fields" not in exc.__all__
    for name in base.__all__:
        assert name in exc.__all__
        assert getattr(exc, name) is getattr(base, name)
    assert len(base.__all__) == 13


def test_names_the_c_extension_imports():
    for name in ("InterfaceError", "DataError", "ProtocolError",
                 "InternalClientError", "_error_from_fields",
                 "_log_message_from_fields"):
        assert hasattr(exc, name), name
    assert callable(exc._error_from_fields)
    assert callable(exc._log_message_from_fields)


# ---------------------------------------------------------------------------
# Generated tree, structural rules (independent of asyncpg)
# ---------------------------------------------------------------------------

def test_known_names():
    expected = {
        "08001": "ClientCannotConnectError",
        "08003": "ConnectionDoesNotExistError",
        "08006": "ConnectionFailureError",
        "0A000": "FeatureNotSupportedError",
        "22000": "DataError",
        "22012": "DivisionByZeroError",
        "22P01": "PostgresFloatingPointError",
        "23000": "IntegrityConstraintViolationError",
        "23502": "NotNullViolationError",
        "23503": "ForeignKeyViolationError",
        "23505": "UniqueViolationError",
        "25P02": "InFailedSQLTransactionError",
        "26000": "InvalidSQLStatementNameError",
        "28P01": "InvalidPasswordError",
        "40000": "TransactionRollbackError",
        "40001": "SerializationError",
        "40P01": "DeadlockDetectedError",
        "42000": "SyntaxOrAccessError",
        "42601": "PostgresSyntaxError",
        "42P01": "UndefinedTableError",
        "42P05": "DuplicatePreparedStatementError",
        "57000": "OperatorInterventionError",
        "57014": "QueryCanceledError",
        "58030": "PostgresIOError",
        "HV000": "FDWError",
        "P0000": "PLPGSQLError",
        "P0001": "RaiseError",
        "P0004": "AssertError",
        "XX000": "InternalServerError",
        "01000": "PostgresWarning",
        "01P01": "DeprecatedFeature",
        "02000": "NoData",
        "72000": "SnapshotTooOldError",
    }
    for code, name in expected.items():
        assert REGISTRY[code].__name__ == name, code
        assert getattr(exc, name).sqlstate == code


def test_data_error_is_sqlstate_22000():
    assert exc.DataError.sqlstate == "22000"
    assert exc.DataError.__bases__ == (base.PostgresError,
                                       exc._dbapi.DataError)
    assert not issubclass(exc.DataError, base.InterfaceError)
    # client-side argument encoding errors are raised like this
    e = exc.DataError("invalid input for query argument $1: 'x' "
                      "(an integer is required)")
    assert str(e) == ("invalid input for query argument $1: 'x' "
                      "(an integer is required)")
    assert isinstance(e, base.PostgresError)
    assert e.detail is None and e.query is None


def test_hierarchy_follows_sqlstate_classes():
    roots = {code[:2]: cls for code, cls in PGWIRE_CODES.items()
             if code.endswith("000")}
    assert len(roots) == 42     # 41 under PostgresError + PostgresWarning
    for code, cls in PGWIRE_CODES.items():
        sqlclass = code[:2]
        if sqlclass in ("01", "02"):
            assert issubclass(cls, exc.PostgresWarning)
            assert issubclass(cls, base.PostgresLogMessage)
            assert issubclass(cls, Warning)
            assert not issubclass(cls, base.PostgresError)
            continue
        assert issubclass(cls, base.PostgresError)
        assert not issubclass(cls, base.FatalPostgresError)
        # PEP 249: the class roots of DBAPI_CLASSES add their class
        dbapi = gen_errcodes.DBAPI_CLASSES.get(sqlclass)
        top = (base.PostgresError,) + (
            (getattr(exc._dbapi, dbapi),) if dbapi else ())
        if code.endswith("000"):
            assert cls.__bases__ == top, code
        elif sqlclass in roots:
            assert cls.__bases__ == (roots[sqlclass],), code
        else:
            assert cls.__bases__ == top, code
        assert issubclass(cls, getattr(exc._dbapi, dbapi or "DatabaseError"))
    assert exc.PostgresWarning.__bases__ == (base.PostgresLogMessage, Warning)
    assert exc.NoData.__bases__ == (exc.PostgresWarning,)
    assert exc.NoAdditionalDynamicResultSetsReturned.__bases__ == (
        exc.NoData,)


def test_invalid_cached_statement_error():
    cls = exc.InvalidCachedStatementError
    assert cls.__bases__ == (exc.FeatureNotSupportedError,)
    assert "sqlstate" not in vars(cls)
    assert cls.sqlstate == "0A000"           # inherited
    assert REGISTRY["0A000"] is exc.FeatureNotSupportedError
    assert cls not in REGISTRY.values()


def test_transaction_rolled_back_error():
    """pgwire's own class for a COMMIT answered with ROLLBACK: under
    InFailedSQLTransactionError (25P02, inherited and not registered, so
    the server's 25P02 still maps to the generated class), never under
    the retryable 40xxx TransactionRollbackError."""
    import pgwire
    cls = exc.TransactionRolledBackError
    assert cls.__bases__ == (exc.InFailedSQLTransactionError,)
    assert issubclass(cls, base.PostgresError)
    assert not issubclass(cls, exc.TransactionRollbackError)
    assert "sqlstate" not in vars(cls) and cls.sqlstate == "25P02"
    assert REGISTRY["25P02"] is exc.InFailedSQLTransactionError
    assert cls not in REGISTRY.values()
    assert "TransactionRolledBackError" in exc.__all__
    assert pgwire.TransactionRolledBackError is cls
    e = cls._from_commit("COMMIT;")
    assert e.sqlstate == "25P02" and e.query == "COMMIT;"
    assert "rolled back" in str(e) and "rolled back" in e.message


def test_every_errcodes_txt_condition_has_a_class():
    text = (ROOT / "tools" / "errcodes.txt").read_text()
    codes = set()
    for line in text.splitlines():
        m = re.match(r"^([0-9A-Z]{5})\s+([EWS])\s+ERRCODE_\w+\s+\w+", line)
        if m and m[2] != "S":
            codes.add(m[1])
    assert len(codes) >= 261
    assert codes <= set(PGWIRE_CODES)
    assert "00000" not in REGISTRY


def test_generated_block_is_up_to_date():
    script = str(ROOT / "tools" / "gen_errcodes.py")
    r = subprocess.run([sys.executable, script, "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_generator_check_detects_stale_output(tmp_path):
    target = tmp_path / "__init__.py"
    src = (ROOT / "pgwire" / "exceptions" / "__init__.py").read_text()
    target.write_text(src.replace("sqlstate = '23505'",
                                  "sqlstate = '23506'"))
    assert gen_errcodes.main(["--check", "--target", str(target)]) == 1
    assert gen_errcodes.main(["--target", str(target)]) == 0
    assert target.read_text() == src
    assert gen_errcodes.main(["--check", "--target", str(target)]) == 0


def test_generator_keeps_hand_written_parts(tmp_path):
    target = tmp_path / "__init__.py"
    target.write_text("HEAD = 1\n# autogenerated: start\nstale\n"
                      "# autogenerated: end\nTAIL = 2\n")
    assert gen_errcodes.main(["--target", str(target)]) == 0
    out = target.read_text()
    assert out.startswith("HEAD = 1\n# autogenerated: start\n")
    assert out.endswith("# autogenerated: end\nTAIL = 2\n")
    assert "stale" not in out
    assert "class UniqueViolationError(IntegrityConstraintViolationError):" \
        in out


def test_generator_requires_markers(tmp_path):
    target = tmp_path / "__init__.py"
    target.write_text("nothing here\n")
    with pytest.raises(SystemExit):
        gen_errcodes.main(["--check", "--target", str(target)])


def test_generator_naming_rules():
    E = gen_errcodes.Entry
    name = gen_errcodes.class_name
    assert name(E("22012", "E", "X", "division_by_zero")) == \
        "DivisionByZeroError"
    assert name(E("0Z000", "E", "X", "diagnostics_exception")) == \
        "DiagnosticsError"
    assert name(E("40001", "E", "X", "serialization_failure")) == \
        "SerializationError"
    assert name(E("P0000", "E", "X", "plpgsql_error")) == "PLPGSQLError"
    assert name(E("HV00R", "E", "X", "fdw_table_not_found")) == \
        "FDWTableNotFoundError"
    assert name(E("2F000", "E", "X", "sql_routine_exception")) == \
        "SQLRoutineError"
    assert name(E("01007", "W", "X", "privilege_not_granted")) == \
        "PrivilegeNotGranted"
    assert name(E("39001", "E", "X", "invalid_sqlstate_returned")) == \
        "InvalidSqlstateReturnedError"


def test_generator_rejects_name_clash():
    text = ("22000    E    ERRCODE_A    data_exception\n"
            "22100    E    ERRCODE_B    foo_bar\n"
            "22101    E    ERRCODE_C    foo_bar\n")
    with pytest.raises(SystemExit, match="NAME_OVERRIDES"):
        gen_errcodes.build(text)


def test_metaclass_rejects_duplicate_sqlstate():
    with pytest.raises(TypeError, match="duplicate SQLSTATE"):
        class Dup(base.PostgresError):
            sqlstate = "23505"
    assert REGISTRY["23505"] is exc.UniqueViolationError


def test_user_subclass_without_sqlstate_is_fine():
    class MyError(exc.UniqueViolationError):
        pass
    assert REGISTRY["23505"] is exc.UniqueViolationError
    assert MyError("x").sqlstate == "23505"


# ---------------------------------------------------------------------------
# PostgresError.new(): field mapping, str(), as_dict()
# ---------------------------------------------------------------------------

ALL_FIELDS = {
    "S": "ERREUR", "V": "ERROR", "C": "23505",
    "M": 'duplicate key value violates unique constraint "t_pkey"',
    "D": "Key (id)=(1) already exists.", "H": "Do something else.",
    "P": "15", "p": "3", "q": "SELECT 1", "W": "PL/pgSQL function f()",
    "s": "public", "t": "t", "c": "id", "d": "int4", "n": "t_pkey",
    "F": "nbtinsert.c", "L": "666", "R": "_bt_check_unique",
}
ATTRS = {
    "S": "severity", "V": "severity_en", "C": "sqlstate", "M": "message",
    "D": "detail", "H": "hint", "P": "position", "p": "internal_position",
    "q": "internal_query", "W": "context", "s": "schema_name",
    "t": "table_name", "c": "column_name", "d": "data_type_name",
    "n": "constraint_name", "F": "server_source_filename",
    "L": "server_source_line", "R": "server_source_function",
}


def test_field_map():
    assert base.PostgresMessageMeta._field_map == ATTRS


def test_new_maps_every_field():
    e = base.PostgresError.new(ALL_FIELDS, query="INSERT INTO t VALUES (1)")
    assert type(e) is exc.UniqueViolationError
    for code, attr in ATTRS.items():
        assert getattr(e, attr) == ALL_FIELDS[code], attr
    assert e.query == "INSERT INTO t VALUES (1)"
    assert e.as_dict() == {ATTRS[k]: v for k, v in ALL_FIELDS.items()}
    assert "query" not in e.as_dict()
    assert e.args == (ALL_FIELDS["M"],)
    assert str(e) == (ALL_FIELDS["M"] + "\nDETAIL:  " + ALL_FIELDS["D"]
                      + "\nHINT:  " + ALL_FIELDS["H"])


def test_new_ignores_unknown_field_codes():
    e = base.PostgresError.new({"C": "42P01", "M": "no table", "Z": "zz"})
    assert type(e) is exc.UndefinedTableError
    assert not hasattr(e, "Z")
    assert e.as_dict() == {"sqlstate": "42P01", "message": "no table"}
    assert e.query is None


def test_unset_attributes_are_none_on_the_class():
    for attr in list(ATTRS.values()) + ["query"]:
        assert getattr(base.PostgresMessage, attr) is None, attr
        if attr != "sqlstate":
            assert attr not in vars(exc.UniqueViolationError)
    e = exc.UniqueViolationError("boom")
    assert e.detail is None and e.hint is None and e.query is None
    assert e.sqlstate == "23505"        # the class attribute
    assert e.as_dict() == {"sqlstate": "23505"}
    assert str(e) == "boom"


@pytest.mark.parametrize("detail,hint,expected", [
    (None, None, "msg"),
    ("det", None, "msg\nDETAIL:  det"),
    (None, "hnt", "msg\nHINT:  hnt"),
    ("det", "hnt", "msg\nDETAIL:  det\nHINT:  hnt"),
    ("", "", "msg"),
])
def test_str_format(detail, hint, expected):
    fields = {"C": "22012", "M": "msg"}
    if detail is not None:
        fields["D"] = detail
    if hint is not None:
        fields["H"] = hint
    assert str(base.PostgresError.new(fields)) == expected


def test_str_without_args():
    e = exc.DivisionByZeroError()
    assert str(e) == ""


def test_unknown_sqlstate():
    e = base.PostgresError.new({"C": "ZZ999", "M": "what", "S": "ERROR"})
    assert type(e) is base.UnknownPostgresError
    assert isinstance(e, base.FatalPostgresError)
    assert isinstance(e, base.PostgresError)
    assert e.sqlstate == "ZZ999"
    assert str(e) == "what"


def test_unknown_code_in_known_class_is_unknown_error():
    # asyncpg picks by exact code only: no fallback to the class root
    e = base.PostgresError.new({"C": "23P99", "M": "new in PG 99"})
    assert type(e) is base.UnknownPostgresError
    assert not isinstance(e, exc.IntegrityConstraintViolationError)


def test_missing_sqlstate():
    e = base.PostgresError.new({"M": "no code"})
    assert type(e) is base.UnknownPostgresError
    assert e.sqlstate is None


def test_new_on_a_subclass_still_picks_by_sqlstate():
    e = exc.DataError.new({"C": "42P01", "M": "x"})
    assert type(e) is exc.UndefinedTableError


def test_error_from_fields():
    e = exc._error_from_fields(dict(ALL_FIELDS), "SELECT")
    assert type(e) is exc.UniqueViolationError
    assert e.query == "SELECT"
    e = exc._error_from_fields({"C": "57014", "M": "canceling statement"})
    assert type(e) is exc.QueryCanceledError and e.query is None
    with pytest.raises(exc.OperatorInterventionError):
        raise e


def test_invalid_cached_statement_special_case():
    fields = {"S": "ERROR", "V": "ERROR", "C": "0A000",
              "M": "cached plan must not change result type",
              "F": "plancache.c", "L": "716",
              "R": "RevalidateCachedQuery"}
    e = base.PostgresError.new(fields, query="SELECT * FROM t")
    assert type(e) is exc.InvalidCachedStatementError
    assert isinstance(e, exc.FeatureNotSupportedError)
    assert str(e) == ("cached statement plan is invalid due to a database "
                      "schema or configuration change")
    assert e.message == "cached plan must not change result type"
    assert e.sqlstate == "0A000"
    assert e.query == "SELECT * FROM t"

    fields["R"] = "transformSelectStmt"
    e = base.PostgresError.new(fields)
    assert type(e) is exc.FeatureNotSupportedError
    assert str(e) == "cached plan must not change result type"


@pytest.mark.parametrize("code,cls_name", [
    ("26000", "InvalidSQLStatementNameError"),
    ("42P05", "DuplicatePreparedStatementError"),
])
def test_pgbouncer_hint(code, cls_name):
    e = base.PostgresError.new(
        {"C": code, "M": 'prepared statement "__pgwire_1" does not exist'})
    assert type(e).__name__ == cls_name
    assert "pgbouncer" in e.hint
    assert "statement_cache_size=0" in e.hint
    assert str(e).startswith(
        'prepared statement "__pgwire_1" does not exist\nHINT:  NOTE: ')

    e = base.PostgresError.new({"C": code, "M": "m", "H": "server hint"})
    assert e.hint.startswith("server hint\n\nNOTE: pgbouncer")
    assert "statement_cache_size=0" in e.hint


def test_no_pgbouncer_hint_elsewhere():
    e = base.PostgresError.new({"C": "42P01", "M": "m", "H": "h"})
    assert e.hint == "h"


def test_pickle_roundtrip():
    e = base.PostgresError.new(ALL_FIELDS, query="Q")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is exc.UniqueViolationError
    assert e2.as_dict() == e.as_dict()
    assert e2.query == "Q"
    assert str(e2) == str(e)


@needs_asyncpg
@pytest.mark.parametrize("fields", [
    ALL_FIELDS,
    {"C": "22012", "M": "division by zero", "S": "ERROR"},
    {"C": "ZZ999", "M": "unknown"},
    {"M": "no code at all"},
    {"C": "0A000", "M": "cached plan must not change result type",
     "R": "RevalidateCachedQuery"},
    {"C": "0A000", "M": "not supported", "D": "d", "H": "h"},
    {"C": "40P01", "M": "deadlock detected", "D": "Process 1 waits"},
    {"C": "P0001", "M": "raised", "W": "PL/pgSQL function inline_code_block"},
])
def test_new_matches_asyncpg(fields):
    ours = base.PostgresError.new(dict(fields), query="Q")
    theirs = apg_exc._base.PostgresError.new(dict(fields), query="Q")
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.as_dict() == theirs.as_dict()
    assert ours.args == theirs.args
    assert str(ours) == str(theirs)
    assert ours.query == theirs.query


# ---------------------------------------------------------------------------
# NoticeResponse -> PostgresLogMessage
# ---------------------------------------------------------------------------

def test_log_message_plain_notice():
    m = exc._log_message_from_fields(
        {"S": "NOTICE", "V": "NOTICE", "C": "00000", "M": "hello",
         "W": "PL/pgSQL function inline_code_block line 1 at RAISE"})
    assert type(m) is base.PostgresLogMessage
    assert not isinstance(m, BaseException)
    assert not isinstance(m, Warning)
    assert str(m) == "PostgresLogMessage: hello"
    assert m.message == "hello" and m.severity == "NOTICE"
    assert m.sqlstate == "00000"
    assert m.as_dict()["context"].startswith("PL/pgSQL")
    with pytest.raises(TypeError, match="immutable"):
        m.message = "changed"


def test_log_message_warning_sqlstates():
    m = exc._log_message_from_fields(
        {"S": "WARNING", "V": "WARNING", "C": "01000", "M": "careful"})
    assert type(m) is exc.PostgresWarning
    assert isinstance(m, Warning)
    assert not isinstance(m, base.PostgresError)
    assert str(m) == "PostgresWarning: careful"
    assert m.args == ("careful",)

    m = exc._log_message_from_fields(
        {"S": "WARNING", "C": "01P01", "M": "deprecated"})
    assert type(m) is exc.DeprecatedFeature
    assert isinstance(m, exc.PostgresWarning)

    m = exc._log_message_from_fields({"S": "NOTICE", "C": "02000",
                                      "M": "no data"})
    assert type(m) is exc.NoData


def test_log_message_warning_severity_without_warning_sqlstate():
    m = exc._log_message_from_fields(
        {"S": "WARNING", "V": "WARNING", "C": "00000", "M": "w"})
    assert type(m) is exc.PostgresWarning
    # the non-localized severity (V) wins over the localized one (S)
    m = exc._log_message_from_fields(
        {"S": "ATTENTION", "V": "WARNING", "C": "ZZ999", "M": "w"})
    assert type(m) is exc.PostgresWarning
    assert m.sqlstate == "ZZ999"
    m = exc._log_message_from_fields({"S": "warning", "M": "w"})
    assert type(m) is exc.PostgresWarning


def test_log_message_with_error_sqlstate():
    # e.g. CREATE TABLE IF NOT EXISTS: NOTICE 42P07 "... already exists,
    # skipping" arrives as a DuplicateTableError instance (like asyncpg)
    m = exc._log_message_from_fields(
        {"S": "NOTICE", "V": "NOTICE", "C": "42P07",
         "M": 'relation "t" already exists, skipping'})
    assert type(m) is exc.DuplicateTableError
    assert m.severity == "NOTICE"
    assert str(m) == 'relation "t" already exists, skipping'


def test_log_message_new_classmethod():
    m = base.PostgresLogMessage.new({"C": "00000", "M": "x", "S": "INFO"})
    assert type(m) is base.PostgresLogMessage
    assert m.query is None


@needs_asyncpg
@pytest.mark.parametrize("fields", [
    {"S": "NOTICE", "V": "NOTICE", "C": "00000", "M": "hello"},
    {"S": "WARNING", "V": "WARNING", "C": "01000", "M": "w"},
    {"S": "WARNING", "V": "WARNING", "C": "00000", "M": "w"},
    {"S": "WARNING", "C": "01P01", "M": "deprecated"},
    {"S": "NOTICE", "C": "42P07", "M": "exists, skipping"},
    {"S": "INFO", "C": "ZZ999", "M": "info"},
    {"S": "NOTICE", "C": "02000", "M": "no data"},
])
def test_log_message_matches_asyncpg(fields):
    ours = base.PostgresLogMessage.new(dict(fields))
    theirs = apg_exc._base.PostgresLogMessage.new(dict(fields))
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.as_dict() == theirs.as_dict()
    assert str(ours) == str(theirs)


# ---------------------------------------------------------------------------
# Client-side classes
# ---------------------------------------------------------------------------

def test_interface_error():
    e = base.InterfaceError("bad call", detail="the detail", hint="the hint")
    assert isinstance(e, Exception)
    assert not isinstance(e, base.PostgresMessage)
    assert e.detail == "the detail" and e.hint == "the hint"
    assert e.args == ("bad call",)
    assert str(e) == "bad call\nDETAIL:  the detail\nHINT:  the hint"
    assert str(base.InterfaceError("plain")) == "plain"
    with pytest.raises(TypeError):
        base.InterfaceError("x", "positional detail")


def test_interface_error_with_msg():
    try:
        raise exc.ClientConfigurationError("old", detail="d", hint="h")
    except exc.ClientConfigurationError as e:
        orig = e
        e2 = e.with_msg("new")
    assert type(e2) is exc.ClientConfigurationError
    assert e2.args == ("new",)
    assert e2.detail == "d" and e2.hint == "h"
    assert e2.__traceback__ is orig.__traceback__


def test_client_class_hierarchy():
    assert issubclass(exc.ClientConfigurationError, exc.InterfaceError)
    assert issubclass(exc.ClientConfigurationError, ValueError)
    assert issubclass(exc.UnsupportedClientFeatureError, exc.InterfaceError)
    assert issubclass(exc.UnsupportedServerFeatureError, exc.InterfaceError)
    assert issubclass(exc.InterfaceWarning, UserWarning)
    assert issubclass(exc.ProtocolError, exc.InternalClientError)
    assert issubclass(exc.TargetServerAttributeNotMatched,
                      exc.InternalClientError)
    assert issubclass(exc.OutdatedSchemaCacheError, exc.InternalClientError)
    assert not issubclass(exc.InternalClientError, exc.InterfaceError)
    assert issubclass(exc.UnknownPostgresError, exc.FatalPostgresError)
    assert issubclass(exc.FatalPostgresError, exc.PostgresError)
    assert issubclass(exc.PostgresLogMessage, exc.PostgresMessage)
    assert not issubclass(exc.PostgresLogMessage, BaseException)


@needs_asyncpg
def test_base_class_hierarchy_matches_asyncpg():
    for name in base.__all__:
        assert (_chain(getattr(base, name), "pgwire")
                == _chain(getattr(apg_exc, name), "asyncpg")), name


def test_interface_warning():
    w = exc.InterfaceWarning("careful", hint="do this")
    assert w.detail is None and w.hint == "do this"
    assert str(w) == "careful\nHINT:  do this"
    with pytest.warns(exc.InterfaceWarning):
        import warnings
        warnings.warn(w)


def test_outdated_schema_cache_error():
    e = exc.OutdatedSchemaCacheError("type changed", schema="public",
                                     data_type="mytype", position="2")
    assert e.schema_name == "public"
    assert e.data_type_name == "mytype"
    assert e.position == "2"
    assert str(e) == "type changed"


def test_pure_python_import_without_c_extension():
    # pgwire.exceptions and pgwire.types must not need the C extension
    # (the C extension imports them); import them under a bare package.
    code = textwrap.dedent(f"""
        import sys, types
        pkg = types.ModuleType("pgwire")
        pkg.__path__ = [{str(ROOT / 'pgwire')!r}]
        sys.modules["pgwire"] = pkg
        import pgwire.exceptions, pgwire.types
        ext = [m for m, mod in sys.modules.items()
               if m.startswith("pgwire")
               and getattr(mod, "__file__", "") .endswith((".so", ".pyd"))]
        assert not ext, ext
        e = pgwire.exceptions._error_from_fields({{"C": "23505", "M": "x"}})
        assert type(e).__name__ == "UniqueViolationError"
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
