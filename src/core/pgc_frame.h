/* pgc_frame.h -- the read buffer and message framing.
 *
 * Sans-I/O: the caller asks for free space (pgc_reader_space), lets its
 * transport write received bytes there, commits them (pgc_reader_commit),
 * then pulls complete messages (pgc_reader_next) until PGC_NEED_MORE.
 *
 * Framing follows libpq: a declared length below 4, or above the cap of its
 * message type (pgc_frame_type_cap: the protocol's own maximum for that
 * type, see the table in pgc_frame.c), is a loss of synchronisation; the
 * types without a maximum (DataRow, CopyData, FunctionCallResponse,
 * ErrorResponse, NoticeResponse) are bounded by the reader's max_msg.
 * Framing errors are sticky: once set, every call returns the same error.
 */
#ifndef PGC_FRAME_H
#define PGC_FRAME_H

#include "pgc_buf.h"

/* The cap of the types whose size the protocol does not bound and whose
 * content is small (ParameterStatus, Authentication) and of unknown types:
 * libpq's limit for every type outside VALID_LONG_MESSAGE_TYPE, so no
 * server sends more. */
#define PGC_SMALL_MSG_CAP 30000u
/* Default cap for the long types (configurable per reader). */
#define PGC_DEFAULT_MAX_MSG (1024u * 1024u * 1024u)
/* Consumed bytes are dropped only once at least this many accumulated
 * (or when the buffer must make room). */
#define PGC_COMPACT_MIN 8192u
/* Default initial capacity. */
#define PGC_READER_INIT_CAP 65536u

typedef struct {
    uint8_t type;
    PgcView body; /* excludes type byte and length */
} PgcMsg;

/* Takes ownership of a block of the reader that was pinned (see below). */
typedef void (*PgcRetireFn)(void *ctx, uint8_t *block);

typedef struct {
    uint8_t *data;
    size_t cap;
    size_t start;   /* first unconsumed byte */
    size_t end;     /* one past the last received byte */
    size_t max_msg; /* cap for the long message types */
    PgcStatus err;  /* sticky framing error, PGC_OK if none */
    /* Pinned: memory of data is still exposed to code the caller does not
     * control (a view handed out earlier).  pgc_reader_space then neither
     * moves bytes inside data nor frees it: it moves the pending bytes to a
     * fresh block, hands the old one to retire (which owns it from then on;
     * without retire it is freed) and unpins.  pgc_reader_free of a pinned
     * reader retires its block too. */
    int pinned;
    PgcRetireFn retire;
    void *retire_ctx;
    char err_msg[160];
} PgcReader;

PgcStatus pgc_reader_init(PgcReader *r, size_t initial_cap);
void pgc_reader_free(PgcReader *r);

/* Free space for the transport: at least min_free bytes (grows or compacts
 * as needed; also grows to hold the whole of a partially received message
 * whose header has been seen).  Views from earlier messages become invalid.
 * A pinned reader always moves to a fresh block (see PgcReader.pinned). */
PgcStatus pgc_reader_space(PgcReader *r, size_t min_free, uint8_t **p,
                           size_t *n);
/* n bytes were written at the pointer returned by pgc_reader_space. */
void pgc_reader_commit(PgcReader *r, size_t n);
/* Copy n bytes in (convenience for tests and the fuzzer). */
PgcStatus pgc_reader_feed(PgcReader *r, const uint8_t *p, size_t n);

/* The next complete message, or PGC_NEED_MORE, or a (sticky) error.  The
 * body view is valid until the next space/feed call. */
PgcStatus pgc_reader_next(PgcReader *r, PgcMsg *out);

/* Bytes received but not yet consumed. */
static inline size_t
pgc_reader_pending(const PgcReader *r)
{
    return r->end - r->start;
}

/* The largest length field (it counts itself, not the type byte) a backend
 * message of this type can have: the protocol's maximum for the type (see
 * pgc_frame.c), or PGC_MAX_MSG_LEN for the types without one (the reader's
 * max_msg bounds those). */
size_t pgc_frame_type_cap(uint8_t type);

/* Drop everything unconsumed (after a fatal error). */
void pgc_reader_clear(PgcReader *r);

#endif /* PGC_FRAME_H */
