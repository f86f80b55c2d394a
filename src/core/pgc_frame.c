/* pgc_frame.c -- the read buffer and message framing (see pgc_frame.h).
 *
 * Layout: data[0, start) consumed, data[start, end) received and not yet
 * consumed, data[end, cap) free.  Bytes move (compaction) and the buffer
 * is reallocated only inside pgc_reader_space, so the views handed out by
 * pgc_reader_next stay valid until the next space/feed call.
 */
#include <stdio.h>

#include "pgc_frame.h"
#include "pgc_msg.h"

/* An idle buffer larger than this is given back (replaced by one of
 * PGC_READER_INIT_CAP bytes) the next time space is asked for. */
#define PGC_READER_SHRINK_MIN ((size_t)4 * 1024 * 1024)
/* Type byte plus length field. */
#define PGC_HEADER_LEN 5u

PgcStatus
pgc_reader_init(PgcReader *r, size_t initial_cap)
{
    memset(r, 0, sizeof(*r));
    r->max_msg = PGC_DEFAULT_MAX_MSG;
    r->err = PGC_OK;
    if (initial_cap == 0) {
        initial_cap = PGC_READER_INIT_CAP;
    }
    r->data = pgc_malloc(initial_cap);
    if (!r->data) {
        return PGC_ERR_NOMEM;
    }
    r->cap = initial_cap;
    return PGC_OK;
}

/* Give up a block: to retire when the reader is pinned, else freed. */
static void
reader_release_block(PgcReader *r, uint8_t *block)
{
    if (r->pinned && r->retire != NULL && block != NULL) {
        r->retire(r->retire_ctx, block);
    }
    else {
        pgc_free(block);
    }
    r->pinned = 0;
}

void
pgc_reader_free(PgcReader *r)
{
    reader_release_block(r, r->data);
    r->data = NULL;
    r->cap = 0;
    r->start = 0;
    r->end = 0;
}

void
pgc_reader_clear(PgcReader *r)
{
    r->start = 0;
    r->end = 0;
}

/* ------------------------------------------------------------------ */
/* Per-type caps                                                       */
/* ------------------------------------------------------------------ */
/* The largest length field (4 + body) each backend message can have, from
 * the protocol and the server's own limits.  A longer declared length is a
 * loss of synchronisation (never a message we could parse), so the
 * connection is dropped at once instead of buffering up to max_msg bytes.
 * Text sent to the client passes through the server's encoding conversion,
 * which may grow it up to MAX_CONVERSION_GROWTH (4) times.
 *
 *  type  message                  cap (length field)     derivation
 *  ----  -----------------------  ---------------------  ------------------
 *  '1'   ParseComplete                                4  no body
 *  '2'   BindComplete                                 4  no body
 *  '3'   CloseComplete                                4  no body
 *  'n'   NoData                                       4  no body
 *  'I'   EmptyQueryResponse                           4  no body
 *  's'   PortalSuspended                              4  no body
 *  'c'   CopyDone                                     4  no body
 *  'Z'   ReadyForQuery                                5  Byte1 status
 *  'K'   BackendKeyData                             264  Int32 pid + key of
 *                                                        up to 256 bytes
 *                                                        (4 in protocol 3.0,
 *                                                        up to 256 in 3.2)
 *  'C'   CommandComplete                             68  tag, built in a
 *                                                        COMPLETION_TAG_
 *                                                        BUFSIZE (64) buffer
 *                                                        with its NUL
 *  'G'   CopyInResponse                            3335  Int8 format +
 *  'H'   CopyOutResponse                                 Int16 n + n * Int16,
 *  'W'   CopyBothResponse                                n <= 1664
 *                                                        (MaxTupleAttribute-
 *                                                        Number)
 *  't'   ParameterDescription                    262146  Int16 n + n * Int32
 *                                                        oid, n <= 65535
 *                                                        (the Bind limit)
 *  'T'   RowDescription                          450950  Int16 n + n * (name
 *                                                        + 18), n <= 1664
 *                                                        (MaxTupleAttribute-
 *                                                        Number), name <=
 *                                                        63 bytes (NAMEDATA-
 *                                                        LEN - 1) x 4
 *                                                        (conversion) + NUL
 *  'A'   NotificationResponse                    130562  Int32 pid + channel
 *                                                        (63 x 4 + NUL) +
 *                                                        payload (at most
 *                                                        32575 bytes: below
 *                                                        BLCKSZ - 192 with
 *                                                        BLCKSZ <= 32768)
 *                                                        x 4 + NUL
 *  'v'   NegotiateProtocolVersion                 10012  Int32 minor + Int32
 *                                                        n + option names
 *                                                        from our startup
 *                                                        packet, which the
 *                                                        server takes up to
 *                                                        MAX_STARTUP_PACKET_
 *                                                        LENGTH (10000)
 *  'R'   Authentication                           65543  Int32 code + one
 *                                                        token of at most
 *                                                        PG_MAX_AUTH_TOKEN_
 *                                                        LENGTH (65535)
 *  'S'   ParameterStatus                          30000  no protocol bound
 *                                                        (a GUC value):
 *                                                        libpq's limit
 *  'D'   DataRow                                max_msg  no protocol bound
 *  'd'   CopyData                               max_msg  no protocol bound
 *  'V'   FunctionCallResponse                   max_msg  no protocol bound
 *  'E'   ErrorResponse                          max_msg  no protocol bound
 *  'N'   NoticeResponse                         max_msg  no protocol bound
 *  else  (unknown)                                30000  libpq's limit
 */
#define PGC_CAP_EMPTY 4u
#define PGC_CAP_READY 5u
#define PGC_CAP_BACKEND_KEY (4u + 4u + 256u)
#define PGC_CAP_COMMAND_COMPLETE (4u + 64u)
/* MaxTupleAttributeNumber */
#define PGC_MAX_COLUMNS 1664u
#define PGC_CAP_COPY_RESPONSE (4u + 1u + 2u + 2u * PGC_MAX_COLUMNS)
/* the server's and libpq's limit on the parameters of a statement */
#define PGC_MAX_PARAMS 65535u
#define PGC_CAP_PARAM_DESCRIPTION (4u + 2u + 4u * PGC_MAX_PARAMS)
/* NAMEDATALEN - 1 bytes, times MAX_CONVERSION_GROWTH, plus the NUL */
#define PGC_MAX_NAME_WIRE (63u * 4u + 1u)
#define PGC_CAP_ROW_DESCRIPTION \
    (4u + 2u + PGC_MAX_COLUMNS * (PGC_MAX_NAME_WIRE + 18u))
/* NOTIFY payloads are shorter than BLCKSZ - NAMEDATALEN - 128 bytes
 * (NOTIFY_PAYLOAD_MAX_LENGTH), BLCKSZ at most 32768: 32575 bytes, times
 * MAX_CONVERSION_GROWTH, plus the NUL. */
#define PGC_MAX_NOTIFY_PAYLOAD_WIRE (32575u * 4u + 1u)
#define PGC_CAP_NOTIFICATION \
    (4u + 4u + PGC_MAX_NAME_WIRE + PGC_MAX_NOTIFY_PAYLOAD_WIRE)
/* MAX_STARTUP_PACKET_LENGTH */
#define PGC_CAP_NEGOTIATE_VERSION (4u + 4u + 4u + 10000u)
/* PG_MAX_AUTH_TOKEN_LENGTH */
#define PGC_CAP_AUTH (4u + 4u + 65535u)

/* The table above by type byte; 0: PGC_SMALL_MSG_CAP.  A lookup, not a
 * switch: frame_header runs once per message (once per row). */
static const uint32_t frame_caps[256] = {
    [PGC_MSG_PARSE_COMPLETE] = PGC_CAP_EMPTY,
    [PGC_MSG_BIND_COMPLETE] = PGC_CAP_EMPTY,
    [PGC_MSG_CLOSE_COMPLETE] = PGC_CAP_EMPTY,
    [PGC_MSG_NO_DATA] = PGC_CAP_EMPTY,
    [PGC_MSG_EMPTY_QUERY] = PGC_CAP_EMPTY,
    [PGC_MSG_PORTAL_SUSPENDED] = PGC_CAP_EMPTY,
    [PGC_MSG_COPY_DONE] = PGC_CAP_EMPTY,
    [PGC_MSG_READY] = PGC_CAP_READY,
    [PGC_MSG_BACKEND_KEY] = PGC_CAP_BACKEND_KEY,
    [PGC_MSG_COMMAND_COMPLETE] = PGC_CAP_COMMAND_COMPLETE,
    [PGC_MSG_COPY_IN_RESPONSE] = PGC_CAP_COPY_RESPONSE,
    [PGC_MSG_COPY_OUT_RESPONSE] = PGC_CAP_COPY_RESPONSE,
    [PGC_MSG_COPY_BOTH_RESPONSE] = PGC_CAP_COPY_RESPONSE,
    [PGC_MSG_PARAM_DESCRIPTION] = PGC_CAP_PARAM_DESCRIPTION,
    [PGC_MSG_ROW_DESCRIPTION] = PGC_CAP_ROW_DESCRIPTION,
    [PGC_MSG_NOTIFICATION] = PGC_CAP_NOTIFICATION,
    [PGC_MSG_NEGOTIATE_VERSION] = PGC_CAP_NEGOTIATE_VERSION,
    [PGC_MSG_AUTH] = PGC_CAP_AUTH,
    [PGC_MSG_DATA_ROW] = (uint32_t)PGC_MAX_MSG_LEN,
    [PGC_MSG_COPY_DATA] = (uint32_t)PGC_MAX_MSG_LEN,
    [PGC_MSG_FUNCTION_CALL_RESPONSE] = (uint32_t)PGC_MAX_MSG_LEN,
    [PGC_MSG_ERROR] = (uint32_t)PGC_MAX_MSG_LEN,
    [PGC_MSG_NOTICE] = (uint32_t)PGC_MAX_MSG_LEN,
    /* ParameterStatus and unknown types: 0 */
};

size_t
pgc_frame_type_cap(uint8_t type)
{
    uint32_t cap = frame_caps[type];
    return cap != 0 ? cap : PGC_SMALL_MSG_CAP;
}

static PgcStatus
frame_bad_length(PgcReader *r, uint8_t type, uint32_t len)
{
    r->err = PGC_ERR_PROTOCOL;
    snprintf(r->err_msg, sizeof(r->err_msg),
             "invalid length %lu in message of type 0x%02x: lost "
             "synchronization with the server",
             (unsigned long)len, (unsigned)type);
    return r->err;
}

static PgcStatus
frame_too_long(PgcReader *r, uint8_t type, uint32_t len)
{
    r->err = PGC_ERR_LIMIT;
    snprintf(r->err_msg, sizeof(r->err_msg),
             "message of type 0x%02x declares %lu bytes, above the limit "
             "of %zu bytes",
             (unsigned)type, (unsigned long)len, r->max_msg);
    return r->err;
}

/* Validate the header at r->start (at least 5 bytes present) and give the
 * total size of the message, type byte included.  Errors are sticky. */
static PgcStatus
frame_header(PgcReader *r, size_t *total)
{
    uint8_t type = r->data[r->start];
    uint32_t len = pgc_load_u32(r->data + r->start + 1);

    if (len < 4 || len > PGC_MAX_MSG_LEN) {
        return frame_bad_length(r, type, len);
    }
    uint32_t cap = frame_caps[type];
    if (len > cap && (cap != 0 || len > PGC_SMALL_MSG_CAP)) {
        return frame_bad_length(r, type, len);
    }
    if (len > r->max_msg) {
        return frame_too_long(r, type, len);
    }
    *total = (size_t)len + 1;
    return PGC_OK;
}

/* Bytes needed from r->start: what is pending plus min_free, or the whole
 * of a partially received message whose header is known. */
static PgcStatus
reader_need(PgcReader *r, size_t min_free, size_t *need)
{
    size_t pending = pgc_reader_pending(r);
    size_t total = 0;
    PgcStatus st;

    if (min_free > SIZE_MAX - pending) {
        return PGC_ERR_LIMIT;
    }
    *need = pending + min_free;
    if (pending >= PGC_HEADER_LEN) {
        st = frame_header(r, &total);
        if (st != PGC_OK) {
            return st;
        }
        if (total > *need) {
            *need = total;
        }
    }
    return PGC_OK;
}

static void
reader_compact(PgcReader *r)
{
    size_t pending = pgc_reader_pending(r);

    if (r->start == 0) {
        return;
    }
    if (pending) {
        memmove(r->data, r->data + r->start, pending);
    }
    r->start = 0;
    r->end = pending;
}

/* Replace the buffer with one of newcap bytes holding the pending bytes
 * (copies only those, unlike realloc). */
static PgcStatus
reader_realloc(PgcReader *r, size_t newcap)
{
    size_t pending = pgc_reader_pending(r);
    uint8_t *p = pgc_malloc(newcap);

    if (!p) {
        return PGC_ERR_NOMEM;
    }
    if (pending) {
        memcpy(p, r->data + r->start, pending);
    }
    reader_release_block(r, r->data);
    r->data = p;
    r->cap = newcap;
    r->start = 0;
    r->end = pending;
    return PGC_OK;
}

static PgcStatus
reader_make_room(PgcReader *r, size_t need)
{
    size_t newcap;

    if (r->data && r->cap >= need) {
        reader_compact(r);
        return PGC_OK;
    }
    if (need > (size_t)PTRDIFF_MAX) {
        return PGC_ERR_LIMIT;
    }
    newcap = r->cap <= (size_t)PTRDIFF_MAX / 2 ? r->cap * 2
                                               : (size_t)PTRDIFF_MAX;
    if (newcap < need) {
        newcap = need;
    }
    return reader_realloc(r, newcap);
}

PgcStatus
pgc_reader_space(PgcReader *r, size_t min_free, uint8_t **p, size_t *n)
{
    size_t need = 0;
    PgcStatus st;

    if (r->err != PGC_OK) {
        return r->err;
    }
    if (min_free == 0) {
        min_free = 1;
    }
    st = reader_need(r, min_free, &need);
    if (st != PGC_OK) {
        return st;
    }
    if (r->pinned && r->data) {
        /* Nothing inside the exposed block may move: a fresh one. */
        size_t newcap = r->cap > PGC_READER_SHRINK_MIN ? PGC_READER_INIT_CAP
                                                       : r->cap;
        if (newcap < need) {
            newcap = need;
        }
        if (need > (size_t)PTRDIFF_MAX) {
            return PGC_ERR_LIMIT;
        }
        st = reader_realloc(r, newcap);
        if (st != PGC_OK) {
            return st;
        }
    }
    if (r->start == r->end) {
        r->start = r->end = 0;
        if (r->cap > PGC_READER_SHRINK_MIN && need <= PGC_READER_INIT_CAP) {
            (void)reader_realloc(r, PGC_READER_INIT_CAP);
        }
    }
    if (!r->data || r->cap - r->start < need) {
        st = reader_make_room(r, need);
        if (st != PGC_OK) {
            return st;
        }
    }
    else if (r->start >= PGC_COMPACT_MIN &&
             r->start >= pgc_reader_pending(r)) {
        /* Amortised: never moves more bytes than were consumed. */
        reader_compact(r);
    }
    *p = r->data + r->end;
    *n = r->cap - r->end;
    return PGC_OK;
}

void
pgc_reader_commit(PgcReader *r, size_t n)
{
    if (r->err != PGC_OK) {
        return;
    }
    if (n > r->cap - r->end) {
        r->err = PGC_ERR_STATE;
        snprintf(r->err_msg, sizeof(r->err_msg),
                 "commit of %zu bytes exceeds the free space of the read "
                 "buffer",
                 n);
        return;
    }
    r->end += n;
}

PgcStatus
pgc_reader_feed(PgcReader *r, const uint8_t *p, size_t n)
{
    uint8_t *dst;
    size_t room;
    PgcStatus st;

    if (n == 0) {
        return r->err;
    }
    st = pgc_reader_space(r, n, &dst, &room);
    if (st != PGC_OK) {
        return st;
    }
    memcpy(dst, p, n);
    pgc_reader_commit(r, n);
    return r->err;
}

PgcStatus
pgc_reader_next(PgcReader *r, PgcMsg *out)
{
    size_t total = 0;
    PgcStatus st;

    if (r->err != PGC_OK) {
        return r->err;
    }
    if (pgc_reader_pending(r) < PGC_HEADER_LEN) {
        return PGC_NEED_MORE;
    }
    st = frame_header(r, &total);
    if (st != PGC_OK) {
        return st;
    }
    if (pgc_reader_pending(r) < total) {
        return PGC_NEED_MORE;
    }
    out->type = r->data[r->start];
    out->body.p = r->data + r->start + PGC_HEADER_LEN;
    out->body.n = total - PGC_HEADER_LEN;
    r->start += total;
    return PGC_OK;
}
