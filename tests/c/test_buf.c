/* test_buf.c -- the write buffer, the cursor and the outbound length
 * limits. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void
test_wbuf_basic(void)
{
    PgcWBuf b;

    pgc_wbuf_init(&b);
    CHECK(b.data == b.small);
    CHECK_EQ(b.cap, PGC_WBUF_INLINE);
    CHECK_EQ(pgc_wbuf_put_u8(&b, 0x01), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_i16(&b, -2), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_i32(&b, 0x01020304), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_i64(&b, -1), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_cstr(&b, "ab", 2), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_cstr(&b, NULL, 0), PGC_OK);
    CHECK_BYTES(b.data, b.len,
                "\x01\xff\xfe\x01\x02\x03\x04\xff\xff\xff\xff\xff\xff\xff"
                "\xff"
                "ab\0\0");
    /* A NUL inside a string is refused and nothing is written. */
    CHECK_EQ(pgc_wbuf_put_cstr(&b, "a\0b", 3), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 19);
    pgc_wbuf_truncate(&b, 3);
    CHECK_EQ(b.len, 3);
    pgc_wbuf_truncate(&b, 10); /* beyond len: ignored */
    CHECK_EQ(b.len, 3);
    pgc_wbuf_free(&b);
    CHECK(b.data == b.small);
}

static void
test_wbuf_growth(void)
{
    PgcWBuf b;
    uint8_t chunk[700];
    size_t i;

    memset(chunk, 0x5a, sizeof(chunk));
    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_wbuf_put_bytes(&b, chunk, sizeof(chunk)), PGC_OK);
    CHECK(b.data == b.small);
    CHECK_EQ(pgc_wbuf_put_bytes(&b, chunk, sizeof(chunk)), PGC_OK);
    CHECK(b.data != b.small); /* moved to the heap, contents kept */
    CHECK_EQ(b.cap, 2 * PGC_WBUF_INLINE);
    CHECK_EQ(b.len, 1400);
    for (i = 0; i < b.len && b.data[i] == 0x5a; i++) {
    }
    CHECK_EQ(i, 1400);
    CHECK_EQ(pgc_wbuf_reserve(&b, 5000), PGC_OK);
    CHECK_EQ(b.cap, 8 * PGC_WBUF_INLINE); /* doubled until it fits */
    /* reset keeps a moderate heap buffer ... */
    pgc_wbuf_reset(&b);
    CHECK_EQ(b.len, 0);
    CHECK(b.data != b.small);
    /* ... and gives back a very large one. */
    CHECK_EQ(pgc_wbuf_reserve(&b, PGC_WBUF_KEEP_MAX + 1), PGC_OK);
    CHECK(b.cap > PGC_WBUF_KEEP_MAX);
    pgc_wbuf_reset(&b);
    CHECK(b.data == b.small);
    CHECK_EQ(b.cap, PGC_WBUF_INLINE);
    CHECK_EQ(pgc_wbuf_reserve(&b, SIZE_MAX), PGC_ERR_LIMIT);
    pgc_wbuf_free(&b);
}

/* The growth policy, observed through the sizes asked of a failing
 * allocator (nothing large is allocated). */
static void
test_wbuf_growth_policy(void)
{
    const size_t mib = 1024u * 1024u;
    PgcWBuf b;
    size_t off = 0;

    talloc_install();
    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_wbuf_grow(&b, 10), PGC_OK); /* fits: nothing to do */
    CHECK_EQ(talloc_count(), 0);
    talloc_fail_after(0);
    CHECK_EQ(pgc_wbuf_reserve(&b, 5000), PGC_ERR_NOMEM);
    CHECK_EQ(talloc_last_size(), 8192); /* doubled */
    CHECK_EQ(pgc_wbuf_reserve(&b, 40 * mib), PGC_ERR_NOMEM);
    CHECK_EQ(talloc_last_size(), 64 * mib);
    CHECK_EQ(pgc_wbuf_reserve(&b, 100 * mib), PGC_ERR_NOMEM);
    CHECK_EQ(talloc_last_size(), 128 * mib); /* linear above 64 MiB */
    CHECK_EQ(pgc_wbuf_reserve(&b, 200 * mib + 1), PGC_ERR_NOMEM);
    CHECK_EQ(talloc_last_size(), 256 * mib);
    CHECK_EQ(b.data == b.small && b.len == 0, 1);
    CHECK_EQ(pgc_wbuf_put_bytes(&b, b.small, PGC_WBUF_INLINE), PGC_OK);
    CHECK_EQ(pgc_wbuf_reserve_len(&b, &off), PGC_ERR_NOMEM);
    CHECK_EQ(b.len, PGC_WBUF_INLINE);
    talloc_fail_after(-1);
    pgc_wbuf_free(&b);
    talloc_uninstall();
}

static void
test_wbuf_messages(void)
{
    PgcWBuf b;
    size_t off = 0;

    pgc_wbuf_init(&b);
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_ERR_STATE);
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_QUERY), PGC_OK);
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_QUERY), PGC_ERR_STATE);
    CHECK_EQ(pgc_wbuf_reserve_len(&b, &off), PGC_OK);
    CHECK_EQ(off, 5);
    CHECK_EQ(pgc_wbuf_put_bytes(&b, "xyz", 3), PGC_OK);
    CHECK_EQ(pgc_wbuf_patch_len(&b, off), PGC_OK);
    CHECK_EQ(pgc_wbuf_patch_len(&b, b.len - 3), PGC_ERR_STATE);
    CHECK_EQ(pgc_wbuf_patch_len(&b, b.len + 1), PGC_ERR_STATE);
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_OK);
    CHECK_BYTES(b.data, b.len, "Q\0\0\0\x0b\0\0\0\3xyz");
    /* An untyped message. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, 0), PGC_OK);
    CHECK_EQ(pgc_wbuf_put_i32(&b, 7), PGC_OK);
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_OK);
    CHECK_BYTES(b.data + 12, b.len - 12, "\0\0\0\x08\0\0\0\x07");
    /* truncate before the start of an open message closes it. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_SYNC), PGC_OK);
    pgc_wbuf_truncate(&b, 20);
    CHECK_EQ(b.in_msg, 0);
    CHECK_EQ(b.len, 20);
    /* truncate inside a message's header: end_msg refuses and drops it. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_SYNC), PGC_OK);
    pgc_wbuf_truncate(&b, 22);
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_ERR_STATE);
    CHECK_EQ(b.len, 20);
    CHECK_EQ(b.in_msg, 0);
    pgc_wbuf_free(&b);
}

/* The outbound length limit, checked at its boundaries by faking the
 * length of the buffer: end_msg and patch_len only write the 4-byte field,
 * which lies inside the real allocation. */
static void
test_wbuf_length_limit(void)
{
    PgcWBuf b;
    const size_t max = (size_t)INT32_MAX;

    CHECK(pgc_msg_len_ok(0));
    CHECK(pgc_msg_len_ok(max));
    CHECK(!pgc_msg_len_ok(max + 1));
#if SIZE_MAX > UINT32_MAX
    CHECK(!pgc_msg_len_ok(((size_t)1 << 32) + 5));
#endif
    pgc_wbuf_init(&b);
    /* Typed: the length field is at offset 1 and counts itself. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_COPY_DATA), PGC_OK);
    b.len = 1 + max;
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_OK);
    CHECK_BYTES(b.data, 5, "d\x7f\xff\xff\xff");
    b.len = 0;
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_COPY_DATA), PGC_OK);
    b.len = 1 + max + 1;
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 0); /* not a byte of it stays */
    CHECK_EQ(b.in_msg, 0);
#if SIZE_MAX > UINT32_MAX
    /* 2^32 + 5 must not wrap around to a length of 5. */
    CHECK_EQ(pgc_wbuf_put_u8(&b, 0x11), PGC_OK);
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_COPY_DATA), PGC_OK);
    b.len = 2 + ((size_t)1 << 32) + 5;
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 1);
    CHECK_EQ(b.data[0], 0x11);
    b.len = 0;
#endif
    pgc_wbuf_free(&b);
}

/* The same for untyped messages, for growth of an open message and for
 * patch_len. */
static void
test_wbuf_length_limit_more(void)
{
    PgcWBuf b;
    size_t off = 0;
    const size_t max = (size_t)INT32_MAX;

    pgc_wbuf_init(&b);
    /* Untyped: the length field is at the start. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, 0), PGC_OK);
    b.len = max;
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_OK);
    CHECK_BYTES(b.data, 4, "\x7f\xff\xff\xff");
    b.len = 0;
    CHECK_EQ(pgc_wbuf_start_msg(&b, 0), PGC_OK);
    b.len = max + 1;
    CHECK_EQ(pgc_wbuf_end_msg(&b), PGC_ERR_LIMIT);
    CHECK_EQ(b.len, 0);
    /* Growth of an open message past the limit is refused up front,
     * without allocating. */
    CHECK_EQ(pgc_wbuf_start_msg(&b, PGC_FMSG_COPY_DATA), PGC_OK);
    CHECK_EQ(pgc_wbuf_reserve(&b, max - 3), PGC_ERR_LIMIT);
    CHECK_EQ(pgc_wbuf_reserve(&b, max), PGC_ERR_LIMIT);
    CHECK(b.data == b.small);
    /* patch_len: the value it writes must fit an int32 too. */
    CHECK_EQ(pgc_wbuf_reserve_len(&b, &off), PGC_OK);
    b.len = off + 4 + max;
    CHECK_EQ(pgc_wbuf_patch_len(&b, off), PGC_OK);
    CHECK_BYTES(b.data + off, 4, "\x7f\xff\xff\xff");
    b.len = off + 4 + max + 1;
    CHECK_EQ(pgc_wbuf_patch_len(&b, off), PGC_ERR_LIMIT);
#if SIZE_MAX > UINT32_MAX
    b.len = off + 4 + ((size_t)1 << 32) + 5;
    CHECK_EQ(pgc_wbuf_patch_len(&b, off), PGC_ERR_LIMIT);
#endif
    b.len = off + 4;
    pgc_wbuf_truncate(&b, 0);
    pgc_wbuf_free(&b);
}

static void
test_cursor(void)
{
    static const uint8_t data[] = {0x80, 0x01, 0xff, 0xff, 0xff,
                                   0xfe, 'h',  'i',  0,    'x'};
    PgcCur c = pgc_cur_make(data, sizeof(data));
    int16_t i16 = 0;
    int32_t i32 = 0;
    int64_t i64 = 0;
    uint8_t u8 = 0;
    PgcView v;

    CHECK_EQ(pgc_cur_i16(&c, &i16), PGC_OK);
    CHECK_EQ(i16, -32767);
    CHECK_EQ(pgc_cur_i32(&c, &i32), PGC_OK);
    CHECK_EQ(i32, -2);
    CHECK_EQ(pgc_cur_cstr(&c, &v), PGC_OK);
    CHECK_MEM(v.p, v.n, "hi", 2);
    CHECK_EQ(pgc_cur_cstr(&c, &v), PGC_ERR_PROTOCOL); /* no NUL */
    CHECK_EQ(pgc_cur_left(&c), 1);
    CHECK_EQ(pgc_cur_i16(&c, &i16), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_cur_i32(&c, &i32), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_cur_i64(&c, &i64), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_cur_bytes(&c, 2, &v), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_cur_u8(&c, &u8), PGC_OK);
    CHECK_EQ(u8, 'x');
    CHECK_EQ(pgc_cur_u8(&c, &u8), PGC_ERR_PROTOCOL);
    CHECK_EQ(pgc_cur_cstr(&c, &v), PGC_ERR_PROTOCOL); /* empty */
    c = pgc_cur_make(data, sizeof(data));
    CHECK_EQ(pgc_cur_i64(&c, &i64), PGC_OK);
    CHECK_EQ(pgc_cur_bytes(&c, 2, &v), PGC_OK);
    CHECK_EQ(pgc_cur_left(&c), 0);
}

void
test_buf(void)
{
    PgcAllocFuncs f = {malloc, realloc, free};
    PgcAllocFuncs prev = pgc_set_alloc(f);
    void *p;

    CHECK(prev.malloc_fn == malloc);
    p = pgc_malloc(0); /* never NULL for a zero-byte request */
    CHECK(p != NULL);
    pgc_free(p);
    pgc_free(NULL);
    test_wbuf_basic();
    test_wbuf_growth();
    test_wbuf_growth_policy();
    test_wbuf_messages();
    test_wbuf_length_limit();
    test_wbuf_length_limit_more();
    test_cursor();
}
