/* SPDX-License-Identifier: MIT */
/*
 * SHA-256: the FIPS 180-2 / NIST example vectors, incremental updates
 * split at every offset around the block boundaries, and sha256_file
 * against the one-shot digest, including its error codes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "tinytest.h"
#include "banned.h"

static void
digest_hex(const uint8_t d[SHA256_LEN], char hex[SHA256_HEX_LEN + 1])
{
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void
test_sha256__nist_vectors(void)
{
	static const struct {
		const char *in;
		const char *want;
	} v[] = {
		{ "",
		  "e3b0c44298fc1c149afbf4c8996fb924"
		  "27ae41e4649b934ca495991b7852b855" },
		{ "abc",
		  "ba7816bf8f01cfea414140de5dae2223"
		  "b00361a396177a9cb410ff61f20015ad" },
		/* 448 bits: the padding needs a second block. */
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039"
		  "a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b049237"
		  "0b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[SHA256_HEX_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(hex, 'x', sizeof(hex));
		sha256_hex(v[i].in, strlen(v[i].in), hex);
		CHECKF(strcmp(hex, v[i].want) == 0, "'%s': %s", v[i].in, hex);
	}
	/* No data needs no buffer. */
	sha256_hex(NULL, 0, hex);
	CHECK(strcmp(hex, v[0].want) == 0);
}

static void
test_sha256__million_a(void)
{
	static const char want[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	char hex[SHA256_HEX_LEN + 1];
	uint8_t d[SHA256_LEN], chunk[1000];
	struct sha256 s;
	char *big;
	int i;

	/* One call over the whole buffer... */
	big = malloc(1000000);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'a', 1000000);
	sha256_hex(big, 1000000, hex);
	CHECKF(strcmp(hex, want) == 0, "%s", hex);
	free(big);

	/* ...and a thousand updates of a size that is no block multiple. */
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	for (i = 0; i < 1000; i++)
		sha256_update(&s, chunk, sizeof(chunk));
	CHECK(s.total == 1000000);
	sha256_final(&s, d);
	digest_hex(d, hex);
	CHECKF(strcmp(hex, want) == 0, "%s", hex);
}

static void
test_sha256__incremental(void)
{
	char one[SHA256_HEX_LEN + 1], hex[SHA256_HEX_LEN + 1];
	uint8_t in[200], d[SHA256_LEN];
	struct sha256 s;
	size_t i, k, j;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	sha256_hex(in, sizeof(in), one);
	/* Every split around the first two block boundaries (64, 128). */
	for (k = 0; k <= 130; k++) {
		sha256_init(&s);
		sha256_update(&s, in, k);
		sha256_update(&s, in + k, sizeof(in) - k);
		sha256_final(&s, d);
		digest_hex(d, hex);
		CHECKF(strcmp(hex, one) == 0, "split at %zu: %s", k, hex);
	}
	/* Byte at a time, with empty updates mixed in. */
	sha256_init(&s);
	for (j = 0; j < sizeof(in); j++) {
		sha256_update(&s, in + j, 1);
		sha256_update(&s, in, 0);
	}
	sha256_final(&s, d);
	digest_hex(d, hex);
	CHECKF(strcmp(hex, one) == 0, "bytewise: %s", hex);
	/* Lengths 55, 56 and 64 end exactly where padding changes shape. */
	for (k = 54; k <= 65; k++) {
		sha256_init(&s);
		sha256_update(&s, in, k);
		sha256_final(&s, d);
		digest_hex(d, hex);
		sha256_hex(in, k, one);
		CHECKF(strcmp(hex, one) == 0, "length %zu", k);
	}
}

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int r;

	if (f == NULL)
		return -1;
	r = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

static void
test_sha256__file(void)
{
	char dir[] = "/tmp/klog-sha256-XXXXXX", path[64], missing[64];
	char want[SHA256_HEX_LEN + 1], hex[SHA256_HEX_LEN + 1];
	const size_t len = 200003;	/* three 64 KiB reads and a bit */
	uint64_t size = 1;
	uint8_t *data;
	struct err e;
	size_t i;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/blob", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	data = malloc(len);
	CHECK(data != NULL);
	if (data == NULL)
		return;
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	CHECK(write_file(path, data, len) == 0);
	sha256_hex(data, len, want);
	err_clear(&e);
	CHECKF(sha256_file(path, hex, &size, &e) == 0, "%s", e.msg);
	CHECKF(strcmp(hex, want) == 0, "%s", hex);
	CHECK(size == len);
	/* size is optional. */
	CHECK(sha256_file(path, hex, NULL, &e) == 0);
	free(data);

	/* An empty file hashes like the empty string. */
	CHECK(write_file(path, "", 0) == 0);
	CHECK(sha256_file(path, hex, &size, &e) == 0 && size == 0);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
	    "a495991b7852b855") == 0);

	err_clear(&e);
	CHECK(sha256_file(missing, hex, &size, &e) == -1);
	CHECKF(e.code == EXIT_NOINPUT && strstr(e.msg, missing) != NULL,
	    "%d %s", e.code, e.msg);

	/* A directory opens but cannot be read: an I/O error naming it. */
	err_clear(&e);
	CHECK(sha256_file(dir, hex, &size, &e) == -1);
	CHECKF(e.code == EXIT_IOERR && strstr(e.msg, dir) != NULL, "%d %s",
	    e.code, e.msg);

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	TEST(test_sha256__nist_vectors);
	TEST(test_sha256__million_a);
	TEST(test_sha256__incremental);
	TEST(test_sha256__file);
	TEST_DONE();
}
