"""Public data types of pgwire (asyncpg.types compatible)."""

from __future__ import annotations

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
    def is_negative(self) -> bool:
        return self.year == 1

    def __repr__(self) -> str:
        return ("pgwire.types.date_negative_infinity" if self.year == 1
                else "pgwire.types.date_infinity")

    def __str__(self) -> str:
        return "-infinity" if self.year == 1 else "infinity"

    isoformat = __str__

    def __reduce__(self) -> tuple[_typing.Any, ...]:
        return (_infinity, ("date", self.year == 1))


class InfiniteDatetime(_dt.datetime):
    __slots__ = ()

    @property
    def is_negative(self) -> bool:
        return self.year == 1

    def __repr__(self) -> str:
        kind = "timestamptz" if self.tzinfo is not None else "timestamp"
        neg = "negative_" if self.year == 1 else ""
        return f"pgwire.types.{kind}_{neg}infinity"

    def __str__(self) -> str:
        return "-infinity" if self.year == 1 else "infinity"

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return str(self)

    def __reduce__(self) -> tuple[_typing.Any, ...]:
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


def _infinity(kind: str, negative: bool) -> _dt.date:
    return {
        ("date", False): date_infinity,
        ("date", True): date_negative_infinity,
        ("timestamp", False): timestamp_infinity,
        ("timestamp", True): timestamp_negative_infinity,
        ("timestamptz", False): timestamptz_infinity,
        ("timestamptz", True): timestamptz_negative_infinity,
    }[(kind, negative)]


# ---------------------------------------------------------------------------
# asyncpg.types: introspection records, server version, range, bit string and
# geometric types.
# ---------------------------------------------------------------------------
import re as _re
import types as _pytypes
import typing as _typing

__all__ += [
    "Type", "Attribute", "Range", "BitString", "Point", "Path", "Polygon",
    "Box", "Line", "LineSegment", "Circle", "ServerVersion", "BoundedArray",
]


class BoundedArray(list):  # type: ignore[type-arg]
    """An array whose lower bounds are not all 1, e.g. ``'[0:2]={1,2,3}'``.

    A ``list`` (nested lists for more dimensions) exactly as asyncpg
    decodes such an array -- the elements in order, the bounds dropped --
    that also keeps them: ``lower_bounds`` is a tuple with the lower bound
    of each dimension (``(0,)`` above).  Encoding a ``BoundedArray`` sends
    those bounds back, so a round trip keeps the subscripts; a plain list
    is sent with lower bounds 1.  Compares equal to the plain list.
    """

    __slots__ = ("lower_bounds",)

    def __init__(self, iterable: _typing.Iterable[_typing.Any] = (),
                 lower_bounds: _typing.Iterable[int] | None = None) -> None:
        super().__init__(iterable)
        self.lower_bounds = (None if lower_bounds is None
                             else tuple(int(b) for b in lower_bounds))

    def __reduce__(self) -> tuple[_typing.Any, ...]:
        return (type(self), (list(self), self.lower_bounds))

    def __repr__(self) -> str:
        return (f"BoundedArray({list.__repr__(self)}, "
                f"lower_bounds={self.lower_bounds!r})")

    def copy(self) -> BoundedArray:
        return type(self)(self, self.lower_bounds)


class Type(_typing.NamedTuple):
    """Database data type."""
    oid: int
    name: str
    kind: str
    schema: str


Type.oid.__doc__ = "OID of the type."
Type.name.__doc__ = 'Type name.  For example "int2".'
Type.kind.__doc__ = ('Type kind.  Can be "scalar", "array", "composite", '
                     '"range" or "multirange".')
Type.schema.__doc__ = "Name of the database schema that defines the type."


class Attribute(_typing.NamedTuple):
    """Database relation attribute."""
    name: str
    type: Type


Attribute.name.__doc__ = "Attribute name."
Attribute.type.__doc__ = "Attribute data type :class:`pgwire.types.Type`."


class ServerVersion(_typing.NamedTuple):
    """PostgreSQL server version tuple."""
    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: int


_VERSION_RE = _re.compile(
    r"(?P<major>\d+)"
    r"(?:\.(?P<minor>\d+))?"
    r"(?:\.(?P<micro>\d+))?"
    r"(?P<releaselevel>[a-z]+)?"
    r"(?P<serial>\d+)?")


def _parse_server_version(version_string: str) -> ServerVersion:
    """Parse the server_version ParameterStatus into a ServerVersion.

    Same result as asyncpg: before PostgreSQL 10 the version is
    major.minor.micro; from 10 on the second number is the bug-fix release
    and goes to ``micro`` ("15.18" -> (15, 0, 18, 'final', 0)), so that
    ``version[:2]`` compares major versions.  Pre-releases: "16beta1" ->
    (16, 0, 0, 'beta', 1), "17devel" -> (17, 0, 0, 'devel', 0).  Anything
    after the version ("(Debian 15.18-0+deb12u1)") is ignored.
    """
    m = _VERSION_RE.search(version_string)
    if m is None:
        raise ValueError(
            'Unable to parse Postgres version from "{}"'.format(
                version_string))
    major = int(m["major"])
    minor = int(m["minor"] or 0)
    micro = int(m["micro"] or 0)
    releaselevel = m["releaselevel"] or "final"
    serial = int(m["serial"] or 0)
    if major >= 10:
        minor, micro = 0, minor
    return ServerVersion(major, minor, micro, releaselevel, serial)


class Range:
    """Immutable representation of PostgreSQL `range` type."""

    __slots__ = ("_lower", "_upper", "_lower_inc", "_upper_inc", "_empty")

    __class_getitem__ = classmethod(_pytypes.GenericAlias)  # type: ignore[var-annotated]

    def __init__(self, lower: _typing.Any = None, upper: _typing.Any = None,
                 *, lower_inc: bool = True, upper_inc: bool = False,
                 empty: bool = False) -> None:
        self._empty = bool(empty)
        self._lower: _typing.Any
        self._upper: _typing.Any
        if empty:
            self._lower = self._upper = None
            self._lower_inc = self._upper_inc = False
        else:
            self._lower = lower
            self._upper = upper
            # an infinite bound is never inclusive
            self._lower_inc = lower is not None and bool(lower_inc)
            self._upper_inc = upper is not None and bool(upper_inc)

    @property
    def lower(self) -> _typing.Any:
        return self._lower

    @property
    def lower_inc(self) -> bool:
        return self._lower_inc

    @property
    def lower_inf(self) -> bool:
        return self._lower is None and not self._empty

    @property
    def upper(self) -> _typing.Any:
        return self._upper

    @property
    def upper_inc(self) -> bool:
        return self._upper_inc

    @property
    def upper_inf(self) -> bool:
        return self._upper is None and not self._empty

    @property
    def isempty(self) -> bool:
        return self._empty

    def _lower_within(self, other: Range) -> bool:
        # Is self's lower bound at or above other's?
        if other._lower is None:
            return True
        if self._lower is None:
            return False
        if self._lower == other._lower:
            return other._lower_inc or not self._lower_inc
        return self._lower > other._lower  # type: ignore[no-any-return]

    def _upper_within(self, other: Range) -> bool:
        # Is self's upper bound at or below other's?
        if other._upper is None:
            return True
        if self._upper is None:
            return False
        if self._upper == other._upper:
            return other._upper_inc or not self._upper_inc
        return self._upper < other._upper  # type: ignore[no-any-return]

    def issubset(self, other: Range) -> bool:
        if self._empty:
            return True
        if other._empty:
            return False
        return self._lower_within(other) and self._upper_within(other)

    def issuperset(self, other: Range) -> bool:
        return other.issubset(self)

    def __bool__(self) -> bool:
        return not self._empty

    def _key(self) -> tuple[_typing.Any, _typing.Any, bool, bool, bool]:
        return (self._lower, self._upper, self._lower_inc, self._upper_inc,
                self._empty)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if self._empty:
            desc = "empty"
        else:
            lb = "[" if self._lower_inc else "("
            if self._lower is not None:
                lb += repr(self._lower)
            ub = repr(self._upper) if self._upper is not None else ""
            ub += "]" if self._upper_inc else ")"
            desc = "{}, {}".format(lb, ub)
        return "<Range {}>".format(desc)

    __str__ = __repr__

    def __reduce__(self) -> tuple[_typing.Any, ...]:
        return (_make_range, self._key())


def _make_range(lower: _typing.Any, upper: _typing.Any, lower_inc: bool,
                upper_inc: bool, empty: bool) -> Range:
    return Range(lower, upper, lower_inc=lower_inc, upper_inc=upper_inc,
                 empty=empty)


class BitString:
    """Immutable representation of PostgreSQL `bit` and `varbit` types.

    ``BitString('1011 0')`` (spaces are ignored), or
    ``BitString.frombytes(b'\\xb0', 5)``; bit 0 is the most significant bit
    of the first byte, as on the wire.
    """

    __slots__ = ("_bytes", "_bitlength")

    def __init__(self, bitstring: str | None = None) -> None:
        if not bitstring:
            self._bytes = b""
            self._bitlength = 0
            return
        buf = bytearray()
        nbits = 0
        for i, ch in enumerate(bitstring):
            if ch == " ":
                continue
            bit = int(ch)
            if bit != 0 and bit != 1:
                raise ValueError("invalid bit value at position {}".format(i))
            if nbits % 8 == 0:
                buf.append(0)
            if bit:
                buf[-1] |= 0x80 >> (nbits % 8)
            nbits += 1
        self._bytes = bytes(buf)
        self._bitlength = nbits

    @classmethod
    def frombytes(cls, bytes_: bytes | bytearray | memoryview | None = None,
                  bitlength: int | None = None) -> BitString:
        if bitlength is None:
            if bytes_ is None:
                bytes_ = b""
                bitlength = 0
            else:
                bitlength = len(bytes_) * 8
        elif bytes_ is None:
            if bitlength < 0:
                raise ValueError("invalid bit length specified")
            bytes_ = bytes((bitlength + 7) // 8)
        else:
            nbits = len(bytes_) * 8
            if ((nbits == 0) != (bitlength == 0)
                    or bitlength < nbits - 8 or bitlength > nbits):
                raise ValueError("invalid bit length specified")
        result = cls()
        result._bytes = bytes(bytes_)
        result._bitlength = bitlength
        return result

    @property
    def bytes(self) -> bytes:
        return self._bytes

    def as_string(self) -> str:
        bits = "".join(str(self._getitem(i)) for i in range(self._bitlength))
        return " ".join(bits[i:i + 4] for i in range(0, len(bits), 4))

    def to_int(self, bitorder: str = "big", *, signed: bool = False) -> int:
        """The bits as an int (like int.from_bytes); 'big' bit order puts the
        most significant bit first, as PostgreSQL's bit -> int cast does."""
        n = self._bitlength
        x = int.from_bytes(self._bytes, "big") >> (-n % 8)
        if bitorder == "little":
            x = _reverse_bits(x, n)
        elif bitorder != "big":
            raise ValueError("bitorder must be either 'big' or 'little'")
        if signed and n > 0 and x & (1 << (n - 1)):
            x -= 1 << n
        return x

    @classmethod
    def from_int(cls, x: int, length: int, bitorder: str = "big", *,
                 signed: bool = False) -> BitString:
        """A *length*-bit BitString holding *x* (like int.to_bytes);
        negative numbers need signed=True (two's complement)."""
        if length < 0:
            raise ValueError("length argument must be non-negative")
        if length < x.bit_length():
            raise OverflowError("int too big to convert")
        if x < 0:
            if not signed:
                raise OverflowError("can't convert negative int to unsigned")
            x &= (1 << length) - 1
        if bitorder == "little":
            x = _reverse_bits(x, length)
        elif bitorder != "big":
            raise ValueError("bitorder must be either 'big' or 'little'")
        x <<= -length % 8
        return cls.frombytes(x.to_bytes((length + 7) // 8, "big"), length)

    def __repr__(self) -> str:
        return "<BitString {}>".format(self.as_string())

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitString):
            return NotImplemented
        return (self._bytes == other._bytes
                and self._bitlength == other._bitlength)

    def __hash__(self) -> int:
        return hash((self._bytes, self._bitlength))

    def _getitem(self, i: int) -> int:
        return (self._bytes[i >> 3] >> (7 - (i & 7))) & 1

    def __getitem__(self, i: _typing.SupportsIndex) -> int:
        if isinstance(i, slice):
            raise NotImplementedError("BitString does not support slices")
        i = i.__index__()
        if i < 0:
            i += self._bitlength
        if not 0 <= i < self._bitlength:
            raise IndexError("index out of range")
        return self._getitem(i)

    def __len__(self) -> int:
        return self._bitlength

    def __reduce__(self) -> tuple[_typing.Any, ...]:
        return (BitString.frombytes, (self._bytes, self._bitlength))


def _reverse_bits(x: int, n: int) -> int:
    return int(format(x, "0{}b".format(n))[::-1], 2) if n else 0


def _geo_repr(self: tuple[_typing.Any, ...]) -> str:
    return "{}.{}({})".format(type(self).__module__, type(self).__name__,
                              tuple.__repr__(self))


class Point(tuple):  # type: ignore[type-arg]
    """Immutable representation of PostgreSQL `point` type."""

    __slots__ = ()

    def __new__(cls, x: _typing.SupportsFloat, y: _typing.SupportsFloat
                ) -> Point:
        return super().__new__(cls, (float(x), float(y)))

    def __getnewargs__(self) -> tuple[_typing.Any, ...]:
        return tuple(self)

    __repr__ = _geo_repr

    @property
    def x(self) -> float:
        return self[0]  # type: ignore[no-any-return]

    @property
    def y(self) -> float:
        return self[1]  # type: ignore[no-any-return]


class Box(tuple):  # type: ignore[type-arg]
    """Immutable representation of PostgreSQL `box` type."""

    __slots__ = ()

    def __new__(cls, high: _typing.Sequence[float],
                low: _typing.Sequence[float]) -> Box:
        return super().__new__(cls, (Point(*high), Point(*low)))

    def __getnewargs__(self) -> tuple[_typing.Any, ...]:
        return tuple(self)

    __repr__ = _geo_repr

    @property
    def high(self) -> Point:
        return self[0]  # type: ignore[no-any-return]

    @property
    def low(self) -> Point:
        return self[1]  # type: ignore[no-any-return]


class Line(tuple):  # type: ignore[type-arg]
    """Immutable representation of PostgreSQL `line` type
    (``A*x + B*y + C = 0``)."""

    __slots__ = ()

    def __new__(cls, A: float, B: float, C: float) -> Line:
        return super().__new__(cls, (A, B, C))

    def __getnewargs__(self) -> tuple[_typing.Any, ...]:
        return tuple(self)

    @property
    def A(self) -> float:
        return self[0]  # type: ignore[no-any-return]

    @property
    def B(self) -> float:
        return self[1]  # type: ignore[no-any-return]

    @property
    def C(self) -> float:
        return self[2]  # type: ignore[no-any-return]


class LineSegment(tuple):  # type: ignore[type-arg]
    """Immutable representation of PostgreSQL `lseg` type."""

    __slots__ = ()

    def __new__(cls, p1: _typing.Sequence[float],
                p2: _typing.Sequence[float]) -> LineSegment:
        return super().__new__(cls, (Point(*p1), Point(*p2)))

    def __getnewargs__(self) -> tuple[_typing.Any, ...]:
        return tuple(self)

    __repr__ = _geo_repr

    @property
    def p1(self) -> Point:
        return self[0]  # type: ignore[no-any-return]

    @property
    def p2(self) -> Point:
        return self[1]  # type: ignore[no-any-return]


class Circle(tuple):  # type: ignore[type-arg]
    """Immutable representation of PostgreSQL `circle` type."""

    __slots__ = ()

    def __new__(cls, center: _typing.Any, radius: float) -> Circle:
        return super().__new__(cls, (center, radius))

    def __getnewargs__(self) -> tuple[_typing.Any, ...]:
        return tuple(self)

    @property
    def center(self) -> _typing.Any:
        return self[0]

    @property
    def radius(self) -> float:
        return self[1]  # type: ignore[no-any-return]


class Path:
    """Immutable representation of PostgreSQL `path` type."""

    __slots__ = ("_is_closed", "points")

    def __init__(self, *points: _typing.Sequence[float],
                 is_closed: bool = False) -> None:
        self.points = tuple(Point(*p) for p in points)
        self._is_closed = is_closed

    @property
    def is_closed(self) -> bool:
        return self._is_closed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Path):
            return NotImplemented
        return (self.points == other.points
                and self._is_closed == other._is_closed)

    def __hash__(self) -> int:
        return hash((self.points, self._is_closed))

    def __iter__(self) -> _typing.Iterator[Point]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> Point:
        return self.points[i]

    def __contains__(self, point: object) -> bool:
        return point in self.points

    def __repr__(self) -> str:
        pts = ", ".join(tuple.__repr__(p) for p in self.points)
        if type(self) is Path:
            return "{}.Path({}{}is_closed={!r})".format(
                type(self).__module__, pts, ", " if pts else "",
                self._is_closed)
        return "{}.{}({})".format(type(self).__module__, type(self).__name__,
                                  pts)

    def __reduce__(self) -> tuple[_typing.Any, ...]:
        if isinstance(self, Polygon):
            return (type(self), self.points)
        return (_make_path, (self.points, self._is_closed))


def _make_path(points: _typing.Sequence[_typing.Sequence[float]],
               is_closed: bool) -> Path:
    return Path(*points, is_closed=is_closed)


class Polygon(Path):
    """Immutable representation of PostgreSQL `polygon` type."""

    __slots__ = ()

    def __init__(self, *points: _typing.Sequence[float]) -> None:
        # a polygon is always closed
        super().__init__(*points, is_closed=True)
