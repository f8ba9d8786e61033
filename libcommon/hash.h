/* SPDX-License-Identifier: MIT */
/*
 * Hash functions other Kafka clients and brokers use to place data, so
 * that klog places it the same way: Kafka's murmur2 (the Java producer's
 * default partitioner for keyed records), Java's String.hashCode (the
 * group coordinator's partition of __consumer_offsets) and the IEEE CRC-32
 * of librdkafka's "consistent" partitioner. All are pure functions of the
 * bytes given; none allocates.
 */
#ifndef KLOG_HASH_H
#define KLOG_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * MurmurHash2 as org.apache.kafka.common.utils.Utils.murmur2 computes it
 * (seed 0x9747b28c, 4-byte blocks read little-endian), returned as the
 * Java int it is there: murmur2("21") == -973932308.
 */
int32_t hash_murmur2(const void *data, size_t len);

/* Kafka's Utils.toPositive: clear the sign bit (not abs()). */
static inline int32_t
hash_to_positive(int32_t h)
{
	return (int32_t)((uint32_t)h & 0x7fffffffu);
}

/*
 * Kafka's Utils.abs: |h|, except that INT32_MIN gives 0 (where Java's
 * Math.abs would stay negative).
 */
static inline int32_t
hash_kafka_abs(int32_t h)
{
	return h == INT32_MIN ? 0 : (h < 0 ? -h : h);
}

/*
 * The partition the Java producer picks for a non-null key among
 * `npartitions` (> 0): toPositive(murmur2(key)) % npartitions.
 */
int32_t hash_murmur2_partition(const void *key, size_t len,
    int32_t npartitions);

/*
 * Java's String.hashCode() of the string whose UTF-8 bytes are s[0..len):
 * the text is taken as UTF-16 code units (characters above U+FFFF count
 * as their two surrogates). Each byte that is not part of well-formed
 * UTF-8 counts as one U+FFFD; Java's decoder agrees except that it may
 * merge a truncated multi-byte sequence into a single U+FFFD, so only
 * hash text that is valid UTF-8 where Java's exact result matters.
 */
int32_t hash_java_string(const void *s, size_t len);

/* The IEEE 802.3 CRC-32 (zlib's crc32) of data[0..len); 0 for no bytes. */
uint32_t hash_crc32(const void *data, size_t len);

#endif
