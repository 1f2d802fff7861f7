#ifndef SL_TEST_H
#define SL_TEST_H

/*
 * A minimal harness: CHECK records a failure and carries on, so one run
 * shows every broken expectation. main() returns sl_test_result().
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned int sl_test_checks, sl_test_failures;

#define CHECK(cond) do { \
	sl_test_checks++; \
	if (!(cond)) { \
		sl_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	sl_test_checks++; \
	if (_a != _b) { \
		sl_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, #a, _a, #b, _b); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *_a = (a), *_b = (b); \
	sl_test_checks++; \
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) { \
		sl_test_failures++; \
		fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", \
			__FILE__, __LINE__, _a ? _a : "(null)", _b ? _b : "(null)"); \
	} \
} while (0)

/* xorshift64: repeatable test data from a seed (never 0). */
static inline uint64_t
sl_test_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static inline int
sl_test_result(const char *name)
{
	printf("%s: %u checks, %u failed\n", name, sl_test_checks, sl_test_failures);
	return sl_test_failures ? 1 : 0;
}

/*
 * Copy `len` bytes so they end exactly at a PROT_NONE page: any read past
 * the end faults (the picohttpparser trick). Returns the copy.
 */
static inline void *
sl_test_guarded(const void *data, size_t len)
{
	static char *region;
	long pg = sysconf(_SC_PAGESIZE);

	if (region == NULL) {
		region = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED)
			return NULL;
		mprotect(region + pg, pg, PROT_NONE);
	}
	if (len > (size_t)pg)
		return NULL;
	memcpy(region + pg - len, data, len);
	return region + pg - len;
}

#endif
