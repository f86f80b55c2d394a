/* test_util.h -- the tiny test framework of tests/c: checks, a counting
 * and failing allocator, and helpers to build backend messages. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/core/pgc_auth.h"
#include "../../src/core/pgc_build.h"
#include "../../src/core/pgc_frame.h"
#include "../../src/core/pgc_msg.h"
#include "../../src/core/pgc_parse.h"
#include "../../src/core/pgc_startup.h"
#include "pgc_dump.h"

void check_at(int ok, const char *expr, const char *file, int line);
void check_long_at(long got, long want, const char *expr, const char *file,
                   int line);
void check_mem_at(const void *got, size_t gotn, const void *want, size_t wantn,
                  const char *expr, const char *file, int line);
void check_str_at(const char *got, const char *want, const char *expr,
                  const char *file, int line);

#define CHECK(c) check_at((c) != 0, #c, __FILE__, __LINE__)
#define CHECK_EQ(got, want) \
    check_long_at((long)(got), (long)(want), #got, __FILE__, __LINE__)
#define CHECK_MEM(got, gotn, want, wantn) \
    check_mem_at((got), (gotn), (want), (wantn), #got, __FILE__, __LINE__)
#define CHECK_STR(got, want) \
    check_str_at((got), (want), #got, __FILE__, __LINE__)
/* A string literal of expected bytes (embedded NULs allowed). */
#define CHECK_BYTES(got, gotn, lit) \
    CHECK_MEM((got), (gotn), (lit), sizeof(lit) - 1)

/* The test allocator: counts allocations; after talloc_fail_after(n),
 * n more allocations succeed and every later one fails (n < 0: none
 * fails). */
void talloc_install(void);
void talloc_uninstall(void);
void talloc_fail_after(long n);
size_t talloc_count(void);
size_t talloc_last_size(void);

/* Backend messages for test streams, built with the write buffer. */
void be_begin(PgcWBuf *b, uint8_t type);
void be_end(PgcWBuf *b);
void be_str(PgcWBuf *b, const char *s);
void be_u8(PgcWBuf *b, uint8_t v);
void be_i16(PgcWBuf *b, int16_t v);
void be_i32(PgcWBuf *b, int32_t v);
void be_bytes(PgcWBuf *b, const void *p, size_t n);
/* Whole messages. */
void be_auth(PgcWBuf *b, int32_t code, const void *data, size_t n);
void be_sasl_mechs(PgcWBuf *b, const char *const *mechs, size_t n);
void be_param(PgcWBuf *b, const char *name, const char *value);
void be_ready(PgcWBuf *b, uint8_t status);
void be_error(PgcWBuf *b, uint8_t type, const char *sqlstate, const char *msg);

/* Streams shared by the tests and the corpus writer. */
void stream_session(PgcWBuf *b);
void stream_big_values(PgcWBuf *b);
void stream_scram(PgcWBuf *b, const char *server_first,
                  const char *server_final);
/* The server-final-message matching server_first for the fixed SCRAM
 * client (user "user", password "pencil", nonce TEST_NONCE). */
void scram_server_final_for(const char *server_first, char *out, size_t cap);

#define TEST_NONCE "rOprNGfwEbeRWgbNEkqO"
#define TEST_SERVER_FIRST                                   \
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

/* Test groups. */
void test_buf(void);
void test_frame(void);
void test_parse(void);
void test_build(void);
void test_auth(void);
void test_scram(void);
void test_startup(void);
void test_scram_cache(void);
void test_oom(void);
void test_conn(void);
void test_sqlscan(void);
int write_corpus(const char *dir);

#endif /* TEST_UTIL_H */
