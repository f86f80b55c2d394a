# Temporary stub: replaced by the generated exception tree (tools/gen_errcodes.py).
class PostgresMessage:
    pass

class PostgresError(PostgresMessage, Exception):
    sqlstate = None

    @classmethod
    def new(cls, fields, query=None):
        e = PostgresError(fields.get("M", ""))
        for k, v in fields.items():
            setattr(e, {"C": "sqlstate", "M": "message"}.get(k, "f_" + k), v)
        e.query = query
        return e

class InterfaceError(Exception):
    pass

class ProtocolError(InterfaceError):
    pass

class InternalClientError(Exception):
    pass

class DataError(PostgresError):
    sqlstate = "22000"

def _error_from_fields(fields, query=None):
    return PostgresError.new(fields, query)
