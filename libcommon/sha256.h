/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4): ctrld deploy names releases and skips unchanged
 * files by the checksums `sha256sum` prints on the remote hosts.
 */
#ifndef KLOG_SHA256_H
#define KLOG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
	uint32_t h[8];
	uint64_t total;		/* bytes hashed so far */
	uint8_t block[64];
	size_t used;		/* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
/* One call: the lowercase hex digest of p[0..n) into hex (65 bytes). */
void sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1]);
/*
 * The hex digest of a file's contents and its size. Errors name the file
 * (EXIT_NOINPUT when missing, EXIT_IOERR otherwise).
 */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1],
    uint64_t *size, struct err *e);

#endif
