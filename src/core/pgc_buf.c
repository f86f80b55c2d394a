/* pgc_buf.c -- the write buffer and the read cursor helpers.
 *
 * Growth policy: the inline area first, then the heap, doubling up to
 * PGC_WBUF_LINEAR_STEP and growing linearly by that step above it.  A
 * message open in the buffer may never grow past PGC_MAX_MSG_LEN: the
 * growth that would take it there is refused with PGC_ERR_LIMIT, and
 * pgc_wbuf_end_msg checks the final length again before patching it.
 */
#include "pgc_buf.h"

#define PGC_WBUF_LINEAR_STEP ((size_t)64 * 1024 * 1024)

void
pgc_wbuf_init(PgcWBuf *b)
{
    b->data = b->small;
    b->len = 0;
    b->cap = PGC_WBUF_INLINE;
    b->msg_start = 0;
    b->in_msg = 0;
}

void
pgc_wbuf_free(PgcWBuf *b)
{
    if (b->data != b->small) {
        pgc_free(b->data);
    }
    pgc_wbuf_init(b);
}

void
pgc_wbuf_reset(PgcWBuf *b)
{
    if (b->data != b->small && b->cap > PGC_WBUF_KEEP_MAX) {
        pgc_free(b->data);
        b->data = b->small;
        b->cap = PGC_WBUF_INLINE;
    }
    b->len = 0;
    b->msg_start = 0;
    b->in_msg = 0;
}

void
pgc_wbuf_truncate(PgcWBuf *b, size_t len)
{
    if (len > b->len) {
        return;
    }
    b->len = len;
    if (b->in_msg && b->msg_start >= len) {
        b->in_msg = 0;
    }
}

/* Offset of the length field of the open message. */
static size_t
open_msg_len_pos(const PgcWBuf *b)
{
    return b->msg_start + (b->in_msg == PGC_WBUF_MSG_TYPED ? 1u : 0u);
}

static size_t
wbuf_new_cap(size_t cap, size_t need)
{
    size_t c = cap ? cap : PGC_WBUF_INLINE;

    while (c < need && c < PGC_WBUF_LINEAR_STEP) {
        c *= 2;
    }
    if (c >= need) {
        return c;
    }
    /* Linear region: the next multiple of the step (need is at most
     * PTRDIFF_MAX, so this cannot overflow). */
    return (need + PGC_WBUF_LINEAR_STEP - 1) / PGC_WBUF_LINEAR_STEP *
           PGC_WBUF_LINEAR_STEP;
}

PgcStatus
pgc_wbuf_grow(PgcWBuf *b, size_t extra)
{
    size_t need, newcap;
    uint8_t *p;

    /* No object may exceed PTRDIFF_MAX bytes. */
    if (extra > (size_t)PTRDIFF_MAX - b->len) {
        return PGC_ERR_LIMIT;
    }
    need = b->len + extra;
    if (b->in_msg && !pgc_msg_len_ok(need - open_msg_len_pos(b))) {
        return PGC_ERR_LIMIT;
    }
    if (need <= b->cap) {
        return PGC_OK;
    }
    newcap = wbuf_new_cap(b->cap, need);
    if (b->data == b->small) {
        p = pgc_malloc(newcap);
        if (p && b->len) {
            memcpy(p, b->data, b->len);
        }
    }
    else {
        p = pgc_realloc(b->data, newcap);
    }
    if (!p) {
        return PGC_ERR_NOMEM;
    }
    b->data = p;
    b->cap = newcap;
    return PGC_OK;
}

PgcStatus
pgc_wbuf_put_cstr(PgcWBuf *b, const char *s, size_t n)
{
    PgcStatus st;

    if (n && memchr(s, 0, n)) {
        return PGC_ERR_LIMIT;
    }
    if (n == SIZE_MAX) {
        return PGC_ERR_LIMIT;
    }
    st = pgc_wbuf_reserve(b, n + 1);
    if (st != PGC_OK) {
        return st;
    }
    if (n) {
        memcpy(b->data + b->len, s, n);
    }
    b->data[b->len + n] = 0;
    b->len += n + 1;
    return PGC_OK;
}

PgcStatus
pgc_wbuf_start_msg(PgcWBuf *b, uint8_t type)
{
    PgcStatus st;

    if (b->in_msg) {
        return PGC_ERR_STATE;
    }
    st = pgc_wbuf_reserve(b, 5);
    if (st != PGC_OK) {
        return st;
    }
    b->msg_start = b->len;
    if (type) {
        b->data[b->len++] = type;
        b->in_msg = PGC_WBUF_MSG_TYPED;
    }
    else {
        b->in_msg = PGC_WBUF_MSG_UNTYPED;
    }
    memset(b->data + b->len, 0, 4);
    b->len += 4;
    return PGC_OK;
}

PgcStatus
pgc_wbuf_end_msg(PgcWBuf *b)
{
    size_t pos;

    if (!b->in_msg) {
        return PGC_ERR_STATE;
    }
    pos = open_msg_len_pos(b);
    if (b->len < pos || b->len - pos < 4) {
        /* The header was cut by a truncate: drop the remains. */
        pgc_wbuf_truncate(b, b->msg_start);
        b->in_msg = 0;
        return PGC_ERR_STATE;
    }
    if (!pgc_msg_len_ok(b->len - pos)) {
        b->len = b->msg_start;
        b->in_msg = 0;
        return PGC_ERR_LIMIT;
    }
    pgc_store_u32(b->data + pos, (uint32_t)(b->len - pos));
    b->in_msg = 0;
    return PGC_OK;
}

PgcStatus
pgc_wbuf_reserve_len(PgcWBuf *b, size_t *offset)
{
    PgcStatus st = pgc_wbuf_reserve(b, 4);

    if (st != PGC_OK) {
        return st;
    }
    *offset = b->len;
    memset(b->data + b->len, 0, 4);
    b->len += 4;
    return PGC_OK;
}

PgcStatus
pgc_wbuf_patch_len(PgcWBuf *b, size_t offset)
{
    size_t n;

    if (offset > b->len || b->len - offset < 4) {
        return PGC_ERR_STATE;
    }
    n = b->len - offset - 4;
    if (!pgc_msg_len_ok(n)) {
        return PGC_ERR_LIMIT;
    }
    pgc_store_u32(b->data + offset, (uint32_t)n);
    return PGC_OK;
}

PgcStatus
pgc_cur_cstr(PgcCur *c, PgcView *out)
{
    size_t left = pgc_cur_left(c);
    const uint8_t *z;

    if (left == 0) {
        return PGC_ERR_PROTOCOL;
    }
    z = memchr(c->p, 0, left);
    if (!z) {
        return PGC_ERR_PROTOCOL;
    }
    out->p = c->p;
    out->n = (size_t)(z - c->p);
    c->p = z + 1;
    return PGC_OK;
}
