/*
 * fuzz: what every fuzz target in tests/fuzz/ shares.
 *
 * A target is one function, LLVMFuzzerTestOneInput(), that feeds one input
 * to one parser and checks what the parser promises about its result. It is
 * linked either with libFuzzer (-DWEFT_FUZZ=ON, tools/fuzz.sh), which calls
 * it millions of times with mutated inputs, or with driver.c, whose main()
 * runs each file of the checked-in corpus through it once under ctest
 * (label fuzz-smoke). Either way the sanitizers watch every read.
 *
 * Rules for targets:
 *   - any input, of any size and any bytes, is legal: never assume text;
 *   - a broken promise (an invariant) calls FUZZ_CHECK, which prints what
 *     broke and abort()s, so both libFuzzer and ctest see a crash;
 *   - out of memory is not a bug: a target returns quietly when it hits it;
 *   - everything allocated is freed: LeakSanitizer runs at exit.
 */
#ifndef WEFT_TESTS_FUZZ_H
#define WEFT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/** The entry point libFuzzer (or driver.c) calls once per input. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with file:line and the failed condition when an invariant breaks. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n  ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
