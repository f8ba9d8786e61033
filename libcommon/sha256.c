/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (see sha256.h), straight from FIPS 180-4 section 6.2: portable
 * C, no tables beyond the round constants, big-endian words built byte by
 * byte so the host's byte order never matters. s->used < 64 between calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "banned.h"

/* sha256_file's read size: large enough that syscalls are not the cost. */
#define SHA256_READ_CHUNK (64 * 1024)

/* FIPS 180-4 4.2.2: the first 32 bits of the cube roots of the primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: one 512-bit block into the state. */
static void
sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = load_be32(p + 4 * i);
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^
		    (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^
		    (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3];
	e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
		    ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void
sha256_init(struct sha256 *s)
{
	/* FIPS 180-4 5.3.3: square roots of the first eight primes. */
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->used = 0;
}

void
sha256_update(struct sha256 *s, const void *p, size_t n)
{
	const uint8_t *in = p;

	/* p may be NULL then, and memcpy must not see a NULL even for 0. */
	if (n == 0)
		return;
	s->total += n;
	if (s->used > 0) {
		size_t take = sizeof(s->block) - s->used;

		if (take > n)
			take = n;
		memcpy(s->block + s->used, in, take);
		s->used += take;
		in += take;
		n -= take;
		if (s->used < sizeof(s->block))
			return;
		sha256_block(s->h, s->block);
		s->used = 0;
	}
	/* Whole blocks straight from the caller's buffer: no copy. */
	for (; n >= sizeof(s->block); in += 64, n -= 64)
		sha256_block(s->h, in);
	if (n > 0)
		memcpy(s->block, in, n);
	s->used = n;
}

void
sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	uint64_t bits = s->total * 8;
	int i;

	/* FIPS 180-4 5.1.1: 0x80, zeros to 56 mod 64, the bit length. */
	s->block[s->used++] = 0x80;
	if (s->used > 56) {
		memset(s->block + s->used, 0, sizeof(s->block) - s->used);
		sha256_block(s->h, s->block);
		s->used = 0;
	}
	memset(s->block + s->used, 0, 56 - s->used);
	store_be32(s->block + 56, (uint32_t)(bits >> 32));
	store_be32(s->block + 60, (uint32_t)bits);
	sha256_block(s->h, s->block);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
}

static void
to_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
}

void
sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	uint8_t d[SHA256_LEN];
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, d);
	to_hex(d, hex);
}

int
sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], uint64_t *size,
    struct err *e)
{
	uint8_t d[SHA256_LEN];
	struct sha256 s;
	uint8_t *buf;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? EXIT_NOINPUT : EXIT_IOERR,
		    "unable to open '%s'", path);
	/* 64 KiB is too much for some thread stacks: take it from the heap. */
	buf = malloc(SHA256_READ_CHUNK);
	if (buf == NULL) {
		err_set(e, EXIT_OSERR, "out of memory hashing '%s'", path);
		goto out;
	}
	sha256_init(&s);
	for (;;) {
		n = read(fd, buf, SHA256_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, EXIT_IOERR, "unable to read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(&s, buf, (size_t)n);
	}
	sha256_final(&s, d);
	to_hex(d, hex);
	if (size != NULL)
		*size = s.total;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}
