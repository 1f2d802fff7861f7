#ifndef SL_FUZZ_H
#define SL_FUZZ_H

/*
 * What the libFuzzer harnesses share. A harness states an oracle with
 * FUZZ_CHECK: a broken expectation aborts, which libFuzzer reports as a
 * crash and saves the input (a plain return would count as a pass).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: oracle failed: %s\n", \
			__FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/*
 * A copy of data[0..len) in an allocation of exactly `len` bytes, so that
 * ASan reports a read of even one byte past the end. Never NULL (len 0
 * gives a 1-byte allocation, whose first byte is out of the slice).
 */
static inline char *
fuzz_dup(const void *data, size_t len)
{
	char *p = malloc(len != 0 ? len : 1);

	FUZZ_CHECK(p != NULL);
	if (len != 0)
		memcpy(p, data, len);
	return p;
}

/* Input cursor: the harness takes its decisions from the input's bytes. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* xorshift64: split points and the like, repeatable from a seed. */
static inline uint64_t
fuzz_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A growing byte string, for traces compared between two runs. */
struct fuzz_buf {
	uint8_t *b;
	size_t n, cap;
};

static inline void
fuzz_buf_put(struct fuzz_buf *t, const void *p, size_t n)
{
	if (t->n + n > t->cap) {
		size_t cap = t->cap ? t->cap : 256;

		while (cap < t->n + n)
			cap *= 2;
		t->b = realloc(t->b, cap);
		FUZZ_CHECK(t->b != NULL);
		t->cap = cap;
	}
	if (n != 0)
		memcpy(t->b + t->n, p, n);
	t->n += n;
}

static inline void
fuzz_buf_free(struct fuzz_buf *t)
{
	free(t->b);
	*t = (struct fuzz_buf){ 0 };
}

#endif
