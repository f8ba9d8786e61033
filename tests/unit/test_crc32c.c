/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C: published check values, hardware (serial and 3-way) vs table
 * agreement at every alignment and length, and incremental use.
 */
#include <stdint.h>
#include <string.h>

#include "crc32c.h"
#include "tinytest.h"

static void
test_crc32c__check_vectors(void)
{
	static const uint8_t zeros[32], ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint8_t inc[32];
	int i;

	for (i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(crc32c_sw(0, "123456789", 9) == 0xE3069283u);
	/* RFC 3720 (iSCSI) appendix B.4 test vectors. */
	CHECK(crc32c(0, zeros, 32) == 0x8A9136AAu);
	CHECK(crc32c(0, ones, 32) == 0x62A8AB43u);
	CHECK(crc32c(0, inc, 32) == 0x46DD794Eu);
	CHECK(crc32c(0, "", 0) == 0);
}

static void
test_crc32c__hw_matches_table(void)
{
	uint8_t data[4096 + 16];
	uint32_t x = 12345;
	size_t i, off, len;

	for (i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	for (off = 0; off < 16; off++)
		for (len = 0; len < 300; len += 7)
			CHECKF(crc32c(0, data + off, len) ==
			    crc32c_sw(0, data + off, len), "off %zu len %zu",
			    off, len);
	CHECK(crc32c(0, data, 4096) == crc32c_sw(0, data, 4096));
}

/*
 * The hardware path runs buffers of 768 bytes and more as three chains
 * joined by shift tables (blocks of 256 and 8192 bytes): compare it with
 * the table path at every length up to 10000 from odd and even offsets,
 * around each block boundary, and with a non-zero starting crc.
 */
static void
test_crc32c__3way_matches_table(void)
{
	enum { MAX = 3 * 3 * 8192 + 64 };
	static uint8_t data[MAX + 16];
	static const size_t edges[] = { 3 * 256, 3 * 8192, 2 * 3 * 8192,
		3 * 3 * 8192 };
	uint32_t x = 987654321;
	size_t i, off, len, bad = 0;
	int d;

	for (i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	for (len = 0; len <= 10000; len++) {
		off = len % 16;		/* odd and even offsets alike */
		if (crc32c(0, data + off, len) != crc32c_sw(0, data + off, len))
			bad++;
	}
	CHECKF(bad == 0, "%zu lengths differ", bad);
	for (off = 0; off < 16; off++)
		for (len = 700; len < 10000; len += 997)
			CHECKF(crc32c(0, data + off, len) ==
			    crc32c_sw(0, data + off, len), "off %zu len %zu",
			    off, len);
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		for (d = -9; d <= 9; d++)
			for (off = 0; off < 3; off++) {
				len = (size_t)((long)edges[i] + d);
				CHECKF(crc32c(0, data + off, len) ==
				    crc32c_sw(0, data + off, len),
				    "off %zu len %zu", off, len);
				CHECKF(crc32c(0x12345678u, data + off, len) ==
				    crc32c_sw(0x12345678u, data + off, len),
				    "seeded, off %zu len %zu", off, len);
			}
	CHECK(crc32c(0, data, MAX) == crc32c_sw(0, data, MAX));
	/* Split anywhere, the pieces chain to the whole. */
	for (len = 1; len < MAX; len += 4099)
		CHECK(crc32c(crc32c(0, data + 1, len), data + 1 + len,
		    MAX - len) == crc32c_sw(0, data + 1, MAX));
}

static void
test_crc32c__long_zeros(void)
{
	static uint8_t zeros[3 * 8192 * 2 + 5], ones[sizeof(zeros)];

	memset(ones, 0xff, sizeof(ones));
	CHECK(crc32c(0, zeros, sizeof(zeros)) ==
	    crc32c_sw(0, zeros, sizeof(zeros)));
	CHECK(crc32c(0, ones, sizeof(ones)) ==
	    crc32c_sw(0, ones, sizeof(ones)));
	CHECK(crc32c(0, zeros, 32) == 0x8A9136AAu);
}

static void
test_crc32c__incremental(void)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s), cut;

	for (cut = 0; cut <= n; cut++)
		CHECK(crc32c(crc32c(0, s, cut), s + cut, n - cut) ==
		    crc32c(0, s, n));
	CHECK(crc32c(0, s, n) == 0x22620404u);
}

int
main(void)
{
	TEST(test_crc32c__check_vectors);
	TEST(test_crc32c__hw_matches_table);
	TEST(test_crc32c__3way_matches_table);
	TEST(test_crc32c__long_zeros);
	TEST(test_crc32c__incremental);
	TEST_DONE();
}
