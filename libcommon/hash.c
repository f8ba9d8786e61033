/* SPDX-License-Identifier: MIT */
/*
 * Placement hashes (see hash.h). murmur2 follows Kafka's Java code bit for
 * bit, including its arithmetic on signed ints: the unsigned arithmetic
 * here wraps the same way, and the result is reinterpreted as int32_t.
 */
#include <limits.h>
#include <zlib.h>

#include "hash.h"
#include "json.h"
#include "banned.h"

#define MURMUR2_SEED 0x9747b28cu
#define MURMUR2_M 0x5bd1e995u
#define MURMUR2_R 24

int32_t
hash_murmur2(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = MURMUR2_SEED ^ (uint32_t)len;
	size_t blocks = len / 4, i;
	const uint8_t *tail;

	for (i = 0; i < blocks; i++, p += 4) {
		uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		k *= MURMUR2_M;
		k ^= k >> MURMUR2_R;
		k *= MURMUR2_M;
		h *= MURMUR2_M;
		h ^= k;
	}
	tail = p;
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)tail[2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)tail[1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= tail[0];
		h *= MURMUR2_M;
		break;
	default:
		break;
	}
	h ^= h >> 13;
	h *= MURMUR2_M;
	h ^= h >> 15;
	return (int32_t)h;
}

int32_t
hash_murmur2_partition(const void *key, size_t len, int32_t npartitions)
{
	if (npartitions <= 0)
		return 0;
	return hash_to_positive(hash_murmur2(key, len)) % npartitions;
}

int32_t
hash_java_string(const void *s, size_t len)
{
	const uint8_t *p = s;
	uint32_t h = 0;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = json_utf8_decode(p + i, len - i, &cp);

		if (n == 0) {
			/* Java replaces each malformed byte with U+FFFD. */
			cp = 0xfffd;
			n = 1;
		}
		i += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = 31 * h + (0xd800 + (cp >> 10));
			h = 31 * h + (0xdc00 + (cp & 0x3ff));
		} else {
			h = 31 * h + cp;
		}
	}
	return (int32_t)h;
}

uint32_t
hash_crc32(const void *data, size_t len)
{
	const Bytef *p = data;
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths: feed huge inputs in pieces. */
	while (len > 0) {
		uInt n = len > UINT_MAX ? UINT_MAX : (uInt)len;

		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)crc;
}
