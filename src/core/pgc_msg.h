/* pgc_msg.h -- PostgreSQL frontend/backend protocol 3.0 message codes.
 *
 * Pure C, no Python.  Protocol bytes never appear as char literals in
 * logic: use these names.
 */
#ifndef PGC_MSG_H
#define PGC_MSG_H

/* Backend (server -> client) message types. */
#define PGC_MSG_AUTH 'R'
#define PGC_MSG_BACKEND_KEY 'K'
#define PGC_MSG_BIND_COMPLETE '2'
#define PGC_MSG_CLOSE_COMPLETE '3'
#define PGC_MSG_COMMAND_COMPLETE 'C'
#define PGC_MSG_COPY_DATA 'd'
#define PGC_MSG_COPY_DONE 'c'
#define PGC_MSG_COPY_IN_RESPONSE 'G'
#define PGC_MSG_COPY_OUT_RESPONSE 'H'
#define PGC_MSG_COPY_BOTH_RESPONSE 'W'
#define PGC_MSG_DATA_ROW 'D'
#define PGC_MSG_EMPTY_QUERY 'I'
#define PGC_MSG_ERROR 'E'
#define PGC_MSG_FUNCTION_CALL_RESPONSE 'V'
#define PGC_MSG_NEGOTIATE_VERSION 'v'
#define PGC_MSG_NO_DATA 'n'
#define PGC_MSG_NOTICE 'N'
#define PGC_MSG_NOTIFICATION 'A'
#define PGC_MSG_PARAM_DESCRIPTION 't'
#define PGC_MSG_PARAM_STATUS 'S'
#define PGC_MSG_PARSE_COMPLETE '1'
#define PGC_MSG_PORTAL_SUSPENDED 's'
#define PGC_MSG_READY 'Z'
#define PGC_MSG_ROW_DESCRIPTION 'T'

/* Frontend (client -> server) message types. */
#define PGC_FMSG_BIND 'B'
#define PGC_FMSG_CLOSE 'C'
#define PGC_FMSG_COPY_DATA 'd'
#define PGC_FMSG_COPY_DONE 'c'
#define PGC_FMSG_COPY_FAIL 'f'
#define PGC_FMSG_DESCRIBE 'D'
#define PGC_FMSG_EXECUTE 'E'
#define PGC_FMSG_FLUSH 'H'
#define PGC_FMSG_PARSE 'P'
#define PGC_FMSG_PASSWORD 'p' /* also SASLInitialResponse/SASLResponse */
#define PGC_FMSG_QUERY 'Q'
#define PGC_FMSG_SYNC 'S'
#define PGC_FMSG_TERMINATE 'X'

/* Describe / Close targets. */
#define PGC_TARGET_STATEMENT 'S'
#define PGC_TARGET_PORTAL 'P'

/* ReadyForQuery transaction status. */
#define PGC_TX_IDLE 'I'
#define PGC_TX_INTRANS 'T'
#define PGC_TX_INERROR 'E'

/* Answers to SSLRequest. */
#define PGC_SSL_YES 'S'
#define PGC_SSL_NO 'N'

/* Authentication request codes (body of PGC_MSG_AUTH). */
#define PGC_AUTH_OK 0
#define PGC_AUTH_KERBEROS_V5 2
#define PGC_AUTH_CLEARTEXT 3
#define PGC_AUTH_MD5 5
#define PGC_AUTH_SCM_CREDS 6
#define PGC_AUTH_GSS 7
#define PGC_AUTH_GSS_CONTINUE 8
#define PGC_AUTH_SSPI 9
#define PGC_AUTH_SASL 10
#define PGC_AUTH_SASL_CONTINUE 11
#define PGC_AUTH_SASL_FINAL 12

/* Magic request codes sent in place of a protocol version. */
#define PGC_PROTOCOL_3_0 196608          /* 3 << 16 */
#define PGC_SSL_REQUEST_CODE 80877103    /* 1234 << 16 | 5679 */
#define PGC_CANCEL_REQUEST_CODE 80877102 /* 1234 << 16 | 5678 */
#define PGC_GSSENC_REQUEST_CODE 80877104 /* 1234 << 16 | 5680 */

/* Error/notice field codes. */
#define PGC_FIELD_SEVERITY 'S'
#define PGC_FIELD_SEVERITY_EN 'V'
#define PGC_FIELD_SQLSTATE 'C'
#define PGC_FIELD_MESSAGE 'M'
#define PGC_FIELD_DETAIL 'D'
#define PGC_FIELD_HINT 'H'
#define PGC_FIELD_POSITION 'P'
#define PGC_FIELD_INTERNAL_POS 'p'
#define PGC_FIELD_INTERNAL_QUERY 'q'
#define PGC_FIELD_CONTEXT 'W'
#define PGC_FIELD_SCHEMA 's'
#define PGC_FIELD_TABLE 't'
#define PGC_FIELD_COLUMN 'c'
#define PGC_FIELD_DATATYPE 'd'
#define PGC_FIELD_CONSTRAINT 'n'
#define PGC_FIELD_FILE 'F'
#define PGC_FIELD_LINE 'L'
#define PGC_FIELD_ROUTINE 'R'

/* Format codes. */
#define PGC_FORMAT_TEXT 0
#define PGC_FORMAT_BINARY 1

#endif /* PGC_MSG_H */
