"""Public data types of pgwire (asyncpg.types compatible)."""

import datetime as _dt

__all__ = [
    "date_infinity", "date_negative_infinity",
    "timestamp_infinity", "timestamp_negative_infinity",
    "timestamptz_infinity", "timestamptz_negative_infinity",
    "InfiniteDate", "InfiniteDatetime",
]


# ---------------------------------------------------------------------------
# Infinity.  PostgreSQL's 'infinity' and '-infinity' dates and timestamps are
# decoded to these singletons, never to date.max/date.min: they are instances
# of date/datetime subclasses that compare like date.max/date.min (so sorting
# works) but are distinguishable (`value is pgwire.types.date_infinity`, or
# `isinstance(value, InfiniteDate)`) and encode back to infinity.  A plain
# date.max is sent as 9999-12-31.
# ---------------------------------------------------------------------------
class InfiniteDate(_dt.date):
    __slots__ = ()

    @property
    def is_negative(self):
        return self.year == 1

    def __repr__(self):
        return ("pgwire.types.date_negative_infinity" if self.year == 1
                else "pgwire.types.date_infinity")

    def __str__(self):
        return "-infinity" if self.year == 1 else "infinity"

    isoformat = __str__

    def __reduce__(self):
        return (_infinity, ("date", self.year == 1))


class InfiniteDatetime(_dt.datetime):
    __slots__ = ()

    @property
    def is_negative(self):
        return self.year == 1

    def __repr__(self):
        kind = "timestamptz" if self.tzinfo is not None else "timestamp"
        neg = "negative_" if self.year == 1 else ""
        return f"pgwire.types.{kind}_{neg}infinity"

    def __str__(self):
        return "-infinity" if self.year == 1 else "infinity"

    def isoformat(self, sep="T", timespec="auto"):
        return str(self)

    def __reduce__(self):
        kind = "timestamptz" if self.tzinfo is not None else "timestamp"
        return (_infinity, (kind, self.year == 1))


date_infinity = InfiniteDate(9999, 12, 31)
date_negative_infinity = InfiniteDate(1, 1, 1)
timestamp_infinity = InfiniteDatetime(9999, 12, 31, 23, 59, 59, 999999)
timestamp_negative_infinity = InfiniteDatetime(1, 1, 1)
timestamptz_infinity = InfiniteDatetime(9999, 12, 31, 23, 59, 59, 999999,
                                        tzinfo=_dt.timezone.utc)
timestamptz_negative_infinity = InfiniteDatetime(1, 1, 1,
                                                 tzinfo=_dt.timezone.utc)


def _infinity(kind, negative):
    return {
        ("date", False): date_infinity,
        ("date", True): date_negative_infinity,
        ("timestamp", False): timestamp_infinity,
        ("timestamp", True): timestamp_negative_infinity,
        ("timestamptz", False): timestamptz_infinity,
        ("timestamptz", True): timestamptz_negative_infinity,
    }[(kind, negative)]
