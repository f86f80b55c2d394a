/* fuzz.h -- what the libFuzzer targets of tests/fuzz share. */
#ifndef PGWIRE_FUZZ_H
#define PGWIRE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The client nonce of the SCRAM exchanges (the seeds carry it). */
#define FUZZ_NONCE "rOprNGfwEbeRWgbNEkqO"
/* Keeps a run fast and its memory small. */
#define FUZZ_MAX_ITER 64u
#define FUZZ_MAX_MSG (1u << 20)

/* An API contract broken: abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(c) \
    do {              \
        if (!(c)) {   \
            abort();  \
        }             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* PGWIRE_FUZZ_H */
