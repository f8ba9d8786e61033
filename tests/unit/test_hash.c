/* SPDX-License-Identifier: MIT */
/*
 * Placement hashes against published vectors: Kafka's UtilsTest.testMurmur2
 * (the Java client), librdkafka's murmur2 and partitioner tests (0048),
 * Java String.hashCode values and zlib's CRC-32.
 */
#include <stdint.h>
#include <string.h>

#include "hash.h"
#include "util.h"
#include "tinytest.h"

struct vec {
	const char *in;
	int64_t want;
};

/* org.apache.kafka.common.utils.UtilsTest.testMurmur2 */
static void
test_hash__murmur2_kafka_vectors(void)
{
	static const struct vec v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
		  -58897971 },
		{ "abc", 479470107 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		CHECKF(hash_murmur2(v[i].in, strlen(v[i].in)) == v[i].want,
		    "murmur2(\"%s\") = %d, want %lld", v[i].in,
		    hash_murmur2(v[i].in, strlen(v[i].in)),
		    (long long)v[i].want);
}

/* librdkafka's rd_murmur2 unit test: every tail length, unaligned input. */
static void
test_hash__murmur2_librdkafka_vectors(void)
{
	static const char unaligned[] =
	    "PreAmbleWillBeRemoved,ThePrePartThatIs";
	static const char short_unaligned[] = "1234";
	static const struct {
		const char *in;
		uint32_t want;
	} v[] = {
		{ "kafka", 0xd067cf64u },
		{ "giberish123456789", 0x8f552b0cu },
		{ short_unaligned, 0x9fc97b14u },
		{ short_unaligned + 1, 0xe7c009cau },
		{ short_unaligned + 2, 0x873930dau },
		{ short_unaligned + 3, 0x5a4b5ca1u },
		{ unaligned, 0x78424f1cu },
		{ unaligned + 1, 0x4a62b377u },
		{ unaligned + 2, 0xe0e4e09eu },
		{ unaligned + 3, 0x62b8b43fu },
		{ "", 0x106e08d9u },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		CHECKF((uint32_t)hash_murmur2(v[i].in, strlen(v[i].in)) ==
		    v[i].want, "murmur2(\"%s\")", v[i].in);
	/* Bytes above 0x7f are unsigned, as Java's `& 0xff` makes them. */
	CHECK(hash_murmur2("\xff\xfe\xfd", 3) == 998637092);
	CHECK(hash_murmur2("\0", 1) == 375494588);
}

/* The Java producer's choice: toPositive(murmur2(key)) % n. */
static void
test_hash__murmur2_partition(void)
{
	/* librdkafka 0048-partitioner "murmur2" expectations */
	CHECK(hash_murmur2_partition("", 0, 17) == 0x106e08d9 % 17);
	CHECK(hash_murmur2_partition("23456", 5, 17) == 0x058d780f % 17);
	CHECK(hash_murmur2_partition(
	    "this is another string with more length to it perhaps", 53, 17) ==
	    0x4f7703da % 17);
	CHECK(hash_murmur2_partition("hejsan", 6, 17) == 0x5ec19395 % 17);
	/* Kafka's vectors through toPositive (a negative hash) */
	CHECK(hash_murmur2_partition("21", 2, 100) ==
	    (int32_t)((uint32_t)-973932308 & 0x7fffffff) % 100);
	CHECK(hash_murmur2_partition("foobar", 6, 3) ==
	    (int32_t)((uint32_t)-790332482 & 0x7fffffff) % 3);
	CHECK(hash_murmur2_partition("x", 1, 1) == 0);
	CHECK(hash_murmur2_partition("x", 1, 0) == 0);
}

static void
test_hash__to_positive_and_abs(void)
{
	CHECK(hash_to_positive(-1) == INT32_MAX);
	CHECK(hash_to_positive(INT32_MIN) == 0);
	CHECK(hash_to_positive(5) == 5);
	CHECK(hash_to_positive(-973932308) == 1173551340);
	CHECK(hash_kafka_abs(INT32_MIN) == 0);
	CHECK(hash_kafka_abs(-10) == 10);
	CHECK(hash_kafka_abs(10) == 10);
	CHECK(hash_kafka_abs(0) == 0);
}

static void
test_hash__java_string(void)
{
	static const struct vec v[] = {
		{ "", 0 },
		{ "a", 97 },
		{ "abc", 96354 },
		{ "hello", 99162322 },
		{ "Hello World", -862545276 },
		{ "caf\xc3\xa9", 3045921 },			/* U+00E9 */
		{ "\xf0\x9f\x98\x80", 1772899 },		/* U+1F600 */
		{ "console-consumer-12345", 158455506 },
		{ "my-group", -1906497762 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		CHECKF(hash_java_string(v[i].in, strlen(v[i].in)) == v[i].want,
		    "hashCode(\"%s\") = %d", v[i].in,
		    hash_java_string(v[i].in, strlen(v[i].in)));
	/* a malformed byte is U+FFFD */
	CHECK(hash_java_string("\xff", 1) == 0xfffd);
	CHECK(hash_java_string("a\xff", 2) == 97 * 31 + 0xfffd);
	/* __consumer_offsets partition of "my-group" with 50 partitions */
	CHECK(hash_kafka_abs(hash_java_string("my-group", 8)) % 50 == 12);
}

/* librdkafka's "consistent" partitioner constants, and zlib's check value */
static void
test_hash__crc32(void)
{
	CHECK(hash_crc32("", 0) == 0);
	CHECK(hash_crc32(NULL, 0) == 0);
	CHECK(hash_crc32("123456789", 9) == 0xcbf43926u);
	CHECK(hash_crc32("23456", 5) == 0xb1b451d7u);
	CHECK(hash_crc32("this is another string with more length to it "
	    "perhaps", 53) == 0xb0150df7u);
	CHECK(hash_crc32("hejsan", 6) == 0xd077037eu);
}

int
main(void)
{
	TEST(test_hash__murmur2_kafka_vectors);
	TEST(test_hash__murmur2_librdkafka_vectors);
	TEST(test_hash__murmur2_partition);
	TEST(test_hash__to_positive_and_abs);
	TEST(test_hash__java_string);
	TEST(test_hash__crc32);
	TEST_DONE();
}
