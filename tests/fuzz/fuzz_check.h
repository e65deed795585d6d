// FUZZ_CHECK: a property a fuzz target asserts about the code it drives. A failure prints
// the condition and its place and aborts, which libFuzzer reports as a crash and saves
// the input (like a sanitizer report). Used instead of assert() so it also holds in
// RelWithDebInfo builds, where NDEBUG is set.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__,    \
                         #cond);                                                           \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)
