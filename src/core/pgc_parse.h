/* pgc_parse.h -- one parser per backend message.
 *
 * Every parser takes the body of a framed message (PgcMsg.body) and returns
 * views into it; every length and count is checked against what remains of
 * the body, and a parser that does not consume the whole body reports
 * PGC_ERR_PROTOCOL ("message contents do not agree with length").
 */
#ifndef PGC_PARSE_H
#define PGC_PARSE_H

#include "pgc_buf.h"

/* The end of a message walked with a cursor (row description fields,
 * error fields, SASL mechanisms): PGC_OK when no byte is left,
 * PGC_ERR_PROTOCOL ("message contents do not agree with length")
 * otherwise. */
PgcStatus pgc_parse_end(const PgcCur *c);

/* 'R' */
typedef struct {
    int32_t code; /* PGC_AUTH_* */
    PgcView data; /* the rest: md5 salt (4 bytes), SASL payload, list */
} PgcAuthMsg;
PgcStatus pgc_parse_auth(PgcView body, PgcAuthMsg *out);

/* AuthenticationSASL mechanism list: iterate with a cursor over
 * out->data; each call yields one mechanism name; PGC_NEED_MORE marks the
 * end of the list (the terminating empty string). */
PgcStatus pgc_parse_sasl_mech_next(PgcCur *c, PgcView *mech);

/* 'K' (protocol 3.0: exactly 8 bytes) */
PgcStatus pgc_parse_backend_key(PgcView body, int32_t *pid, int32_t *secret);

/* 'S' */
PgcStatus pgc_parse_param_status(PgcView body, PgcView *name, PgcView *value);

/* 'Z' (status is one of PGC_TX_*; anything else is a protocol error) */
PgcStatus pgc_parse_ready(PgcView body, uint8_t *status);

/* 'C' */
PgcStatus pgc_parse_command_complete(PgcView body, PgcView *tag);

/* 'A' */
PgcStatus pgc_parse_notification(PgcView body, int32_t *pid, PgcView *channel,
                                 PgcView *payload);

/* 'E' and 'N': iterate fields.  Each call yields one (code, value);
 * PGC_NEED_MORE at the terminating zero byte.  The caller must see
 * PGC_NEED_MORE with no bytes left for a well-formed message. */
PgcStatus pgc_parse_error_field_next(PgcCur *c, uint8_t *code, PgcView *value);

/* 't' ParameterDescription: count, then count oids.  oids (may be NULL)
 * receives up to max oids; *count is the declared count. */
PgcStatus pgc_parse_param_desc(PgcView body, uint16_t *count, uint32_t *oids,
                               size_t max);

/* 'T' RowDescription */
typedef struct {
    PgcView name;
    uint32_t table_oid;
    int16_t column_attnum;
    uint32_t type_oid;
    int16_t type_len;
    int32_t type_mod;
    int16_t format;
} PgcField;

/* Reads the field count and positions *c at the first field. */
PgcStatus pgc_parse_row_desc_start(PgcView body, uint16_t *count, PgcCur *c);
PgcStatus pgc_parse_row_desc_field(PgcCur *c, PgcField *out);

/* 'D' DataRow: a column is (p, len) with len == -1 for NULL. */
typedef struct {
    const uint8_t *p;
    int32_t len;
} PgcCol;

/* Fills cols[0..ncols).  The declared column count must equal ncols
 * (PGC_ERR_PROTOCOL otherwise); every length is checked (>= -1, within the
 * body); the body must be consumed exactly. */
PgcStatus pgc_parse_data_row(PgcView body, uint16_t ncols, PgcCol *cols);
/* Just the declared column count. */
PgcStatus pgc_parse_data_row_count(PgcView body, uint16_t *ncols);

/* 'G' / 'H' / 'W' CopyIn/CopyOut/CopyBothResponse */
PgcStatus pgc_parse_copy_response(PgcView body, uint8_t *overall_format,
                                  uint16_t *ncols, PgcCur *formats);

/* Bodies that must be empty: '1' '2' '3' 'n' 'I' 's' 'c'. */
PgcStatus pgc_parse_empty(PgcView body);

/* 'v' NegotiateProtocolVersion */
PgcStatus pgc_parse_negotiate_version(PgcView body, int32_t *minor,
                                      int32_t *nopts);

#endif /* PGC_PARSE_H */
