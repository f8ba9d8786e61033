/* SPDX-License-Identifier: MIT */
/*
 * Functions klog code must not call (git's banned.h idea): each is easy to
 * misuse with untrusted lengths. Every .c file includes it after its other
 * headers, so a use fails to compile (`make lint` checks the include).
 */
#ifndef KLOG_BANNED_H
#define KLOG_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)

#endif
