/* codec_net.c -- inet and cidr <-> ipaddress objects, macaddr and
 * macaddr8 <-> str.
 *
 * inet/cidr wire format: uint8 family (2 = IPv4, 3 = IPv6), uint8 prefix
 * bits, uint8 is_cidr, uint8 address length (4 or 16), the address bytes.
 * As asyncpg: inet decodes to IPv4Address/IPv6Address when the prefix is
 * the full length, else IPv4Interface/IPv6Interface; cidr decodes to
 * IPv4Network/IPv6Network.  inet encodes addresses, interfaces, networks
 * and what ipaddress.ip_address or, failing that, ip_interface accept
 * (str, int, bytes); cidr encodes what ipaddress.ip_network accepts
 * (strict: no host bits set).
 *
 * macaddr (6 bytes) and macaddr8 (8 bytes) decode to str in PostgreSQL's
 * text output format ("08:00:2b:01:02:03"), which is what asyncpg returns
 * through the text format.  Encoding takes a str of hex digit pairs with
 * one kind of optional separator (':', '-' or '.') between groups, as
 * PostgreSQL's input functions; a 6-byte value given for macaddr8 gets
 * FF:FE inserted in the middle, as in PostgreSQL.
 */
#include "codec_internal.h"

#define PGSQL_AF_INET 2
#define PGSQL_AF_INET6 3
#define INET_HDR 4
#define CIDR_OID 650

/* ------------------------------------------------------------------ */
/* inet, cidr: decode                                                  */
/* ------------------------------------------------------------------ */

/* cls((addr, bits)) (new reference). */
static PyObject *
net_call_with_prefix(PyObject *cls, PyObject *addr, int bits)
{
    PyObject *t = Py_BuildValue("(Oi)", addr, bits);
    PyObject *res;
    if (t == NULL) {
        return NULL;
    }
    res = PyObject_CallOneArg(cls, t);
    Py_DECREF(t);
    return res;
}

static PyObject *
net_decode(const PgwCodecCtx *ctx, const PgwCodec *codec, const uint8_t *p,
           size_t n, int as_cidr)
{
    int family, bits, is_cidr, alen, maxbits, v4;
    PyObject *addr, *res;

    if (n < INET_HDR) {
        return pgw_codec_value_error(codec, "truncated header (%zu bytes)", n);
    }
    family = p[0];
    bits = p[1];
    is_cidr = p[2];
    alen = p[3];
    if (family != PGSQL_AF_INET && family != PGSQL_AF_INET6) {
        return pgw_codec_value_error(codec, "address family %d", family);
    }
    v4 = family == PGSQL_AF_INET;
    maxbits = v4 ? 32 : 128;
    if (bits > maxbits) {
        return pgw_codec_value_error(codec, "prefix length %d", bits);
    }
    if (is_cidr != as_cidr) {
        return pgw_codec_value_error(codec, "is_cidr flag %d", is_cidr);
    }
    if (alen != maxbits / 8) {
        return pgw_codec_value_error(codec, "address length %d", alen);
    }
    if (n != (size_t)(INET_HDR + alen)) {
        return pgw_codec_size_error(codec, (size_t)(INET_HDR + alen), n);
    }
    addr = PyBytes_FromStringAndSize((const char *)p + INET_HDR, alen);
    if (addr == NULL) {
        return NULL;
    }
    if (as_cidr) {
        res = net_call_with_prefix(v4 ? ctx->ipv4_network : ctx->ipv6_network,
                                   addr, bits);
    }
    else if (bits == maxbits) {
        res = PyObject_CallOneArg(v4 ? ctx->ipv4_address : ctx->ipv6_address,
                                  addr);
    }
    else {
        res = net_call_with_prefix(v4 ? ctx->ipv4_interface
                                      : ctx->ipv6_interface,
                                   addr, bits);
    }
    Py_DECREF(addr);
    return res;
}

PyObject *
pgw_inet_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    return net_decode(ctx, codec, p, n, 0);
}

PyObject *
pgw_cidr_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                const uint8_t *p, size_t n)
{
    return net_decode(ctx, codec, p, n, 1);
}

/* ------------------------------------------------------------------ */
/* inet, cidr: encode                                                  */
/* ------------------------------------------------------------------ */

/* Header and address: packed must be 4 or 16 bytes, bits the prefix. */
static int
net_put(const PgwCodec *codec, PyObject *packed, PyObject *bitsobj,
        int is_cidr, PgcWBuf *buf)
{
    long bits;
    Py_ssize_t alen;
    int maxbits;
    size_t start = buf->len;

    if (!PyBytes_Check(packed)) {
        return pgw_codec_type_error("bytes from .packed", packed);
    }
    alen = PyBytes_GET_SIZE(packed);
    if (alen != 4 && alen != 16) {
        PyErr_Format(PyExc_ValueError, "invalid %s address length %zd",
                     codec->name, alen);
        return -1;
    }
    maxbits = (int)alen * 8;
    if (bitsobj == NULL) {
        bits = maxbits;
    }
    else {
        if (!PyLong_Check(bitsobj)) {
            return pgw_codec_type_error("int prefix length", bitsobj);
        }
        bits = PyLong_AsLong(bitsobj);
        if (bits == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (bits < 0 || bits > maxbits) {
            PyErr_Format(PyExc_ValueError, "invalid %s prefix length %ld",
                         codec->name, bits);
            return -1;
        }
    }
    if (pgw_put_u8(buf, alen == 4 ? PGSQL_AF_INET : PGSQL_AF_INET6) < 0 ||
        pgw_put_u8(buf, (uint8_t)bits) < 0 ||
        pgw_put_u8(buf, (uint8_t)is_cidr) < 0 ||
        pgw_put_u8(buf, (uint8_t)alen) < 0 ||
        pgw_put_bytes(buf, PyBytes_AS_STRING(packed), (size_t)alen) < 0) {
        pgc_wbuf_truncate(buf, start);
        return -1;
    }
    return 0;
}

/* getattr(getattr(obj, a1), a2) when a2 is not NULL (new reference). */
static PyObject *
net_attr2(PyObject *obj, PyObject *a1, PyObject *a2)
{
    PyObject *v = PyObject_GetAttr(obj, a1), *w;
    if (v == NULL || a2 == NULL) {
        return v;
    }
    w = PyObject_GetAttr(v, a2);
    Py_DECREF(v);
    return w;
}

/* 1 if obj is an instance of either class, 0 if not, -1 on error. */
static int
net_isinstance2(PyObject *obj, PyObject *c1, PyObject *c2)
{
    int r = PyObject_IsInstance(obj, c1);
    return r != 0 ? r : PyObject_IsInstance(obj, c2);
}

/* Encode a network object: its network address and prefix length. */
static int
net_put_network(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *net,
                int is_cidr, PgcWBuf *buf)
{
    PyObject *packed = net_attr2(net, ctx->str_network_address,
                                 ctx->str_packed);
    PyObject *bits = NULL;
    int rc = -1;
    if (packed != NULL &&
        (bits = PyObject_GetAttr(net, ctx->str_prefixlen)) != NULL) {
        rc = net_put(codec, packed, bits, is_cidr, buf);
    }
    Py_XDECREF(packed);
    Py_XDECREF(bits);
    return rc;
}

/* An address or interface object (inet).  1 done, 0 not one, -1 error. */
static int
inet_put_object(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    PyObject *packed, *bits = NULL;
    int r = net_isinstance2(obj, ctx->ipv4_interface, ctx->ipv6_interface);
    if (r < 0) {
        return -1;
    }
    if (r == 0) {
        r = net_isinstance2(obj, ctx->ipv4_address, ctx->ipv6_address);
        if (r <= 0) {
            r = r < 0 ? r
                      : net_isinstance2(obj, ctx->ipv4_network,
                                        ctx->ipv6_network);
            if (r <= 0) {
                return r;
            }
            return net_put_network(ctx, codec, obj, 0, buf) < 0 ? -1 : 1;
        }
    }
    else {
        bits = net_attr2(obj, ctx->str_network, ctx->str_prefixlen);
        if (bits == NULL) {
            return -1;
        }
    }
    /* an interface is an address subclass: .packed is its address */
    packed = PyObject_GetAttr(obj, ctx->str_packed);
    if (packed == NULL) {
        Py_XDECREF(bits);
        return -1;
    }
    r = net_put(codec, packed, bits, 0, buf);
    Py_DECREF(packed);
    Py_XDECREF(bits);
    return r < 0 ? -1 : 1;
}

/* What ipaddress parses: str, packed bytes, int (not bool). */
static inline int
net_parsable(PyObject *obj)
{
    return PyUnicode_Check(obj) || PyBytes_Check(obj) ||
           (PyLong_Check(obj) && !PyBool_Check(obj));
}

static PGW_COLD int
net_type_error(const PgwCodec *codec, PyObject *obj)
{
    return pgw_codec_type_error(
        codec->oid == CIDR_OID
            ? "IPv4Network, IPv6Network, an address or str"
            : "IPv4Address, IPv6Address, IPv4Interface, IPv6Interface, "
              "IPv4Network, IPv6Network or str",
        obj);
}

int
pgw_inet_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    PyObject *v;
    int r = inet_put_object(ctx, codec, obj, buf);
    if (r != 0) {
        return r < 0 ? -1 : 0;
    }
    if (!net_parsable(obj)) {
        return net_type_error(codec, obj);
    }
    /* asyncpg: ip_address(obj), or ip_interface(obj) when that fails */
    v = PyObject_CallOneArg(ctx->ip_address, obj);
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {
            return -1;
        }
        PyErr_Clear();
        v = PyObject_CallOneArg(ctx->ip_interface, obj);
        if (v == NULL) {
            return -1;
        }
    }
    r = inet_put_object(ctx, codec, v, buf);
    Py_DECREF(v);
    if (r == 0) {
        return net_type_error(codec, obj);
    }
    return r < 0 ? -1 : 0;
}

int
pgw_cidr_encode(const PgwCodecCtx *ctx, const PgwCodec *codec, PyObject *obj,
                PgcWBuf *buf)
{
    PyObject *net;
    int rc, r = net_isinstance2(obj, ctx->ipv4_network, ctx->ipv6_network);
    if (r < 0) {
        return -1;
    }
    if (r) {
        return net_put_network(ctx, codec, obj, 1, buf);
    }
    r = net_isinstance2(obj, ctx->ipv4_address, ctx->ipv6_address);
    if (r < 0) {
        return -1;
    }
    if (r == 0 && !net_parsable(obj)) {
        return net_type_error(codec, obj);
    }
    net = PyObject_CallOneArg(ctx->ip_network, obj);
    if (net == NULL) {
        return -1;
    }
    rc = net_put_network(ctx, codec, net, 1, buf);
    Py_DECREF(net);
    return rc;
}

/* ------------------------------------------------------------------ */
/* macaddr, macaddr8                                                   */
/* ------------------------------------------------------------------ */

static PyObject *
mac_decode(const PgwCodec *codec, const uint8_t *p, size_t n, size_t want)
{
    static const char hex[] = "0123456789abcdef";
    char out[3 * 8];
    if (n != want) {
        return pgw_codec_size_error(codec, want, n);
    }
    for (size_t i = 0; i < n; i++) {
        out[3 * i] = hex[p[i] >> 4];
        out[3 * i + 1] = hex[p[i] & 0xf];
        out[3 * i + 2] = ':';
    }
    return PyUnicode_DecodeASCII(out, (Py_ssize_t)(3 * n - 1), NULL);
}

PyObject *
pgw_macaddr_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   const uint8_t *p, size_t n)
{
    (void)ctx;
    return mac_decode(codec, p, n, 6);
}

PyObject *
pgw_macaddr8_decode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    const uint8_t *p, size_t n)
{
    (void)ctx;
    return mac_decode(codec, p, n, 8);
}

static inline int
mac_isspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* The bytes of a MAC address in text form: groups of hex digit pairs (or
 * single digits, which PostgreSQL's macaddr input also takes) split by one
 * kind of separator, surrounding white space ignored.  The number of bytes
 * (at most 8), or -1 when malformed. */
static int
mac_parse(const char *s, size_t n, uint8_t out[8])
{
    size_t i = 0, group = 0;
    char sep = 0;
    int nb = 0, hi = -1;

    while (n > 0 && mac_isspace(s[n - 1])) {
        n--;
    }
    while (i < n && mac_isspace(s[i])) {
        i++;
    }
    for (; i <= n; i++) {
        char c = i < n ? s[i] : 0;
        int v = i < n ? pgw_hexval(c) : -1;
        if (v >= 0) {
            if (hi < 0) {
                hi = v;
            }
            else {
                if (nb == 8) {
                    return -1;
                }
                out[nb++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
            group++;
            continue;
        }
        /* a group ends: i == n, or a separator */
        if (group == 0 || (hi >= 0 && group != 1)) {
            return -1;
        }
        if (hi >= 0) { /* a one-digit group */
            if (nb == 8) {
                return -1;
            }
            out[nb++] = (uint8_t)hi;
            hi = -1;
        }
        if (i == n) {
            break;
        }
        if ((c != ':' && c != '-' && c != '.') || (sep != 0 && c != sep)) {
            return -1;
        }
        sep = c;
        group = 0;
    }
    return nb;
}

static int
mac_encode(const PgwCodec *codec, PyObject *obj, PgcWBuf *buf, int want)
{
    Py_ssize_t size;
    const char *s;
    uint8_t out[8];
    int nb;

    if (!PyUnicode_Check(obj)) {
        return pgw_codec_type_error("str", obj);
    }
    s = PyUnicode_AsUTF8AndSize(obj, &size);
    if (s == NULL) {
        return -1;
    }
    nb = mac_parse(s, (size_t)size, out);
    if (nb == 6 && want == 8) {
        memmove(out + 5, out + 3, 3);
        out[3] = 0xff;
        out[4] = 0xfe;
        nb = 8;
    }
    if (nb != want) {
        PyErr_Format(PyExc_ValueError, "invalid %s value %R", codec->name,
                     obj);
        return -1;
    }
    return pgw_put_bytes(buf, out, (size_t)nb);
}

int
pgw_macaddr_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                   PyObject *obj, PgcWBuf *buf)
{
    (void)ctx;
    return mac_encode(codec, obj, buf, 6);
}

int
pgw_macaddr8_encode(const PgwCodecCtx *ctx, const PgwCodec *codec,
                    PyObject *obj, PgcWBuf *buf)
{
    (void)ctx;
    return mac_encode(codec, obj, buf, 8);
}
