/* pgc_buf.h -- status codes, the write buffer and the bounds-checked read
 * cursor of the pgwire protocol core.
 *
 * Pure C11, no Python.  Everything the core allocates goes through the
 * hooks of pgc_alloc.h.
 */
#ifndef PGC_BUF_H
#define PGC_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pgc_alloc.h"

/* ------------------------------------------------------------------ */
/* Status: three-way.  0 = ok, 1 = need more input (not an error),    */
/* negative = error.                                                   */
/* ------------------------------------------------------------------ */
typedef enum {
    PGC_OK = 0,
    PGC_NEED_MORE = 1,
    PGC_ERR_PROTOCOL = -1, /* malformed input from the server */
    PGC_ERR_NOMEM = -2,
    PGC_ERR_LIMIT = -3,    /* a length or count above a limit */
    PGC_ERR_CALLBACK = -4, /* a callback failed (binding: exception set) */
    PGC_ERR_AUTH = -5,     /* authentication failed or unsupported */
    PGC_ERR_STATE = -6,    /* API misuse (e.g. end_msg without start) */
} PgcStatus;

/* The largest message either side may send: the length field is a
 * signed int32 that counts itself. */
#define PGC_MAX_MSG_LEN ((size_t)INT32_MAX)

/* Whether n fits the length field of a message (n counts the field itself,
 * not the type byte).  Used by pgc_wbuf_end_msg and pgc_wbuf_patch_len. */
static inline int
pgc_msg_len_ok(size_t n)
{
    return n <= PGC_MAX_MSG_LEN;
}

/* ------------------------------------------------------------------ */
/* Write buffer: growable, with an inline small area; start_msg /      */
/* end_msg back-patch the length.                                      */
/* ------------------------------------------------------------------ */
#define PGC_WBUF_INLINE 1024
/* pgc_wbuf_reset releases a heap buffer larger than this. */
#define PGC_WBUF_KEEP_MAX (1024u * 1024u)
/* Values of PgcWBuf.in_msg. */
#define PGC_WBUF_MSG_TYPED 1
#define PGC_WBUF_MSG_UNTYPED 2

/* The struct points into itself (data == small): never copy or move an
 * initialised PgcWBuf. */
typedef struct {
    uint8_t *data;    /* points at small[] or heap memory */
    size_t len;       /* bytes written */
    size_t cap;       /* capacity of data */
    size_t msg_start; /* offset of the type byte of the open message (of
                       * its length field for an untyped one) */
    int in_msg;       /* 0: none open; PGC_WBUF_MSG_TYPED or _UNTYPED */
    uint8_t small[PGC_WBUF_INLINE];
} PgcWBuf;

void pgc_wbuf_init(PgcWBuf *b);
void pgc_wbuf_free(PgcWBuf *b);
/* Drop the contents, keep the allocation (up to a cap: a huge buffer is
 * released back to the inline area). */
void pgc_wbuf_reset(PgcWBuf *b);
/* Truncate to len bytes (len <= b->len); closes any open message if
 * its start lies beyond len. */
void pgc_wbuf_truncate(PgcWBuf *b, size_t len);
/* Slow path of pgc_wbuf_reserve. */
PgcStatus pgc_wbuf_grow(PgcWBuf *b, size_t extra);

static inline PgcStatus
pgc_wbuf_reserve(PgcWBuf *b, size_t extra)
{
    if (b->cap - b->len >= extra) {
        return PGC_OK;
    }
    return pgc_wbuf_grow(b, extra);
}

static inline PgcStatus
pgc_wbuf_put_bytes(PgcWBuf *b, const void *p, size_t n)
{
    PgcStatus st = pgc_wbuf_reserve(b, n);
    if (st != PGC_OK) {
        return st;
    }
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return PGC_OK;
}

static inline PgcStatus
pgc_wbuf_put_u8(PgcWBuf *b, uint8_t v)
{
    PgcStatus st = pgc_wbuf_reserve(b, 1);
    if (st != PGC_OK) {
        return st;
    }
    b->data[b->len++] = v;
    return PGC_OK;
}

/* Big-endian stores into raw memory (no bounds check: caller reserved). */
static inline void
pgc_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
pgc_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
pgc_store_u64(uint8_t *p, uint64_t v)
{
    pgc_store_u32(p, (uint32_t)(v >> 32));
    pgc_store_u32(p + 4, (uint32_t)v);
}

static inline uint16_t
pgc_load_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | (uint16_t)p[1]);
}

static inline uint32_t
pgc_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t
pgc_load_u64(const uint8_t *p)
{
    return (uint64_t)pgc_load_u32(p) << 32 | (uint64_t)pgc_load_u32(p + 4);
}

static inline PgcStatus
pgc_wbuf_put_i16(PgcWBuf *b, int16_t v)
{
    PgcStatus st = pgc_wbuf_reserve(b, 2);
    if (st != PGC_OK) {
        return st;
    }
    pgc_store_u16(b->data + b->len, (uint16_t)v);
    b->len += 2;
    return PGC_OK;
}

static inline PgcStatus
pgc_wbuf_put_i32(PgcWBuf *b, int32_t v)
{
    PgcStatus st = pgc_wbuf_reserve(b, 4);
    if (st != PGC_OK) {
        return st;
    }
    pgc_store_u32(b->data + b->len, (uint32_t)v);
    b->len += 4;
    return PGC_OK;
}

static inline PgcStatus
pgc_wbuf_put_i64(PgcWBuf *b, int64_t v)
{
    PgcStatus st = pgc_wbuf_reserve(b, 8);
    if (st != PGC_OK) {
        return st;
    }
    pgc_store_u64(b->data + b->len, (uint64_t)v);
    b->len += 8;
    return PGC_OK;
}

/* A NUL-terminated string: n bytes of s plus a NUL.  Refuses (PGC_ERR_LIMIT)
 * when s contains a NUL byte within n, which would desynchronise the
 * server's parser. */
PgcStatus pgc_wbuf_put_cstr(PgcWBuf *b, const char *s, size_t n);

/* Open a message of the given type: writes the type byte and reserves the
 * 4-byte length.  type 0 opens an untyped message (startup, SSLRequest,
 * CancelRequest). */
PgcStatus pgc_wbuf_start_msg(PgcWBuf *b, uint8_t type);
/* Close the open message, back-patching its length.  PGC_ERR_LIMIT (and the
 * message is removed from the buffer) when it exceeds PGC_MAX_MSG_LEN. */
PgcStatus pgc_wbuf_end_msg(PgcWBuf *b);

/* A 4-byte length slot inside a message (Bind parameters, COPY fields):
 * reserve returns its offset; patch writes len(b) - (offset + 4) into it.
 * PGC_ERR_LIMIT above INT32_MAX. */
PgcStatus pgc_wbuf_reserve_len(PgcWBuf *b, size_t *offset);
PgcStatus pgc_wbuf_patch_len(PgcWBuf *b, size_t offset);

/* ------------------------------------------------------------------ */
/* Views and the read cursor.                                          */
/* ------------------------------------------------------------------ */

/* A borrowed view into the read buffer, valid until the next feed or
 * compaction of the reader it came from. */
typedef struct {
    const uint8_t *p;
    size_t n;
} PgcView;

/* A bounds-checked cursor over a message body. Every read returns
 * PGC_ERR_PROTOCOL when too few bytes remain. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} PgcCur;

static inline PgcCur
pgc_cur_make(const uint8_t *p, size_t n)
{
    PgcCur c = {p, p + n};
    return c;
}

static inline size_t
pgc_cur_left(const PgcCur *c)
{
    return (size_t)(c->end - c->p);
}

static inline PgcStatus
pgc_cur_u8(PgcCur *c, uint8_t *out)
{
    if (c->end - c->p < 1) {
        return PGC_ERR_PROTOCOL;
    }
    *out = *c->p++;
    return PGC_OK;
}

static inline PgcStatus
pgc_cur_i16(PgcCur *c, int16_t *out)
{
    if (c->end - c->p < 2) {
        return PGC_ERR_PROTOCOL;
    }
    *out = (int16_t)pgc_load_u16(c->p);
    c->p += 2;
    return PGC_OK;
}

static inline PgcStatus
pgc_cur_i32(PgcCur *c, int32_t *out)
{
    if (c->end - c->p < 4) {
        return PGC_ERR_PROTOCOL;
    }
    *out = (int32_t)pgc_load_u32(c->p);
    c->p += 4;
    return PGC_OK;
}

static inline PgcStatus
pgc_cur_u32(PgcCur *c, uint32_t *out)
{
    if (c->end - c->p < 4) {
        return PGC_ERR_PROTOCOL;
    }
    *out = pgc_load_u32(c->p);
    c->p += 4;
    return PGC_OK;
}

static inline PgcStatus
pgc_cur_i64(PgcCur *c, int64_t *out)
{
    if (c->end - c->p < 8) {
        return PGC_ERR_PROTOCOL;
    }
    *out = (int64_t)pgc_load_u64(c->p);
    c->p += 8;
    return PGC_OK;
}

static inline PgcStatus
pgc_cur_bytes(PgcCur *c, size_t n, PgcView *out)
{
    if ((size_t)(c->end - c->p) < n) {
        return PGC_ERR_PROTOCOL;
    }
    out->p = c->p;
    out->n = n;
    c->p += n;
    return PGC_OK;
}

/* A NUL-terminated string; the view excludes the NUL. */
PgcStatus pgc_cur_cstr(PgcCur *c, PgcView *out);

#endif /* PGC_BUF_H */
