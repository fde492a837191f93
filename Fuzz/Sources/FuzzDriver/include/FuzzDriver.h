#ifndef CHORUS_FUZZ_DRIVER_H
#define CHORUS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/// libFuzzer's driver, for executables that own `main` (SwiftPM renames a
/// Swift executable's entry point and links `main` to it, so libFuzzer's own
/// `main` is never used): parses libFuzzer's flags and runs `callback`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

/// Runs the libFuzzer driver with the process arguments and exits with its status.
static inline void ChorusFuzzRunDriver(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size)) {
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback));
}

#endif
