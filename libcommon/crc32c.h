/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (Castagnoli), the checksum of Kafka record batches. Uses the
 * SSE4.2 crc32 instruction when the CPU has it (checked once), a
 * slicing-by-8 table otherwise; both give identical results.
 */
#ifndef KLOG_CRC32C_H
#define KLOG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extend `crc` (0 to start) over `len` bytes; the result is the finished
 * checksum and may be passed back in to continue, like zlib's crc32().
 * crc32c(0, "123456789", 9) == 0xE3069283.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The portable table implementation, exposed so tests can compare. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

/* Whether the hardware path is in use ("sse4.2" or "table"). */
const char *crc32c_impl(void);

#endif
