/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (see crc32c.h). The reflected Castagnoli polynomial 0x82F63B78;
 * slicing-by-8 tables for the portable path, the SSE4.2 crc32 instruction
 * (8 bytes per step) where the CPU has it. The choice is made once, at
 * program start, so the hot path is a single indirect call.
 *
 * The crc32 instruction takes 3 cycles but a new one can start every
 * cycle, so one serial chain uses a third of it. Long buffers are cut into
 * three equal blocks whose CRCs run as three independent chains, then
 * joined: a CRC register `c` followed by n more bytes B becomes
 * shift_n(c) ^ crc(0, B), where shift_n (appending n zero bytes) is
 * multiplication by x^(8n) modulo the polynomial, a linear map applied
 * with four 256-entry tables. There are tables for two block sizes, so
 * that buffers down to a few hundred bytes gain too; shorter ones, and
 * the tail, take the serial loop.
 */
#include <stdbool.h>
#include <string.h>

#include "crc32c.h"
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#include "banned.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc32c_table[8][256];
static bool crc32c_use_hw;

#if defined(__x86_64__)
/* Block sizes of the 3-way path (multiples of 8) and their shift tables. */
#define CRC32C_LONG 8192
#define CRC32C_SHORT 256
static uint32_t crc32c_long[4][256];
static uint32_t crc32c_short[4][256];

/*
 * Multiply a and b modulo the polynomial, in the reflected bit order of
 * the CRC register (bit 31 is x^0, bit 0 is x^31).
 */
static uint32_t
gf_mul(uint32_t a, uint32_t b)
{
	uint32_t prod = 0, m;

	for (m = 1u << 31; m != 0; m >>= 1) {
		if (a & m)
			prod ^= b;
		b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1)));	/* b *= x */
	}
	return prod;
}

/* x^(8n) modulo the polynomial: the operator that appends n zero bytes. */
static uint32_t
gf_x8n(size_t n)
{
	uint32_t r = 1u << 31, sq = 1u << 23;	/* x^0, x^8 */

	for (; n != 0; n >>= 1) {
		if (n & 1)
			r = gf_mul(r, sq);
		sq = gf_mul(sq, sq);
	}
	return r;
}

/*
 * tab[k][v] = shift_n(v << 8k), so shift_n(c) is four lookups. shift_n is
 * linear: one product per bit, the other entries are XORs of those.
 */
static void
shift_table_init(uint32_t tab[4][256], size_t n)
{
	uint32_t op = gf_x8n(n);
	unsigned k, v;

	for (k = 0; k < 4; k++) {
		tab[k][0] = 0;
		for (v = 1; v < 256; v++) {
			unsigned low = v & (0u - v);

			tab[k][v] = low == v ?
			    gf_mul(op, (uint32_t)v << (8 * k)) :
			    tab[k][low] ^ tab[k][v ^ low];
		}
	}
}

static inline uint32_t
crc32c_shift(const uint32_t tab[4][256], uint32_t c)
{
	return tab[0][c & 0xff] ^ tab[1][(c >> 8) & 0xff] ^
	    tab[2][(c >> 16) & 0xff] ^ tab[3][c >> 24];
}
#endif

__attribute__((constructor)) static void
crc32c_setup(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc32c_table[j][i] = (crc32c_table[j - 1][i] >> 8) ^
			    crc32c_table[0][crc32c_table[j - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_use_hw = __builtin_cpu_supports("sse4.2");
	if (crc32c_use_hw) {
		shift_table_init(crc32c_long, CRC32C_LONG);
		shift_table_init(crc32c_short, CRC32C_SHORT);
	}
#endif
}

uint32_t
crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;

		/* Little-endian word loads; memcpy keeps it alias-safe. */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = crc32c_table[7][lo & 0xff] ^
		    crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^
		    crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^
		    crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^
		    crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
/*
 * Run the register c over `nblocks` triples of `block` bytes: three chains
 * per triple, joined with the shift table for `block`. p is 8-aligned.
 */
__attribute__((target("sse4.2"))) static inline uint64_t
crc32c_hw_3way(uint64_t c, const uint8_t **pp, size_t nblocks, size_t block,
    const uint32_t tab[4][256])
{
	const uint8_t *p = *pp;

	while (nblocks-- > 0) {
		const uint8_t *end = p + block;
		uint64_t c1 = 0, c2 = 0, w0, w1, w2;

		do {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + block, 8);
			memcpy(&w2, p + 2 * block, 8);
			c = _mm_crc32_u64(c, w0);
			c1 = _mm_crc32_u64(c1, w1);
			c2 = _mm_crc32_u64(c2, w2);
			p += 8;
		} while (p < end);
		c = crc32c_shift(tab, (uint32_t)c) ^ c1;
		c = crc32c_shift(tab, (uint32_t)c) ^ c2;
		p += 2 * block;
	}
	*pp = p;
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	if (len >= 3 * CRC32C_LONG) {
		c = crc32c_hw_3way(c, &p, len / (3 * CRC32C_LONG),
		    CRC32C_LONG, crc32c_long);
		len %= 3 * CRC32C_LONG;
	}
	if (len >= 3 * CRC32C_SHORT) {
		c = crc32c_hw_3way(c, &p, len / (3 * CRC32C_SHORT),
		    CRC32C_SHORT, crc32c_short);
		len %= 3 * CRC32C_SHORT;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
	if (crc32c_use_hw)
		return crc32c_hw(crc, data, len);
#endif
	return crc32c_sw(crc, data, len);
}

const char *
crc32c_impl(void)
{
	return crc32c_use_hw ? "sse4.2" : "table";
}
