// The driver is libFuzzer's (linked by -sanitize=fuzzer); this target only
// declares it for Swift, in include/FuzzDriver.h.
#include "FuzzDriver.h"
