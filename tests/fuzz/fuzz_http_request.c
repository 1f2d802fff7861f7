/*
 * The HTTP request parser: whole vs split traces, slices in bounds (see
 * fuzz_http.h for the oracle and the input format).
 */
#include "fuzz_http.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_http_one(data, size, false);
}
