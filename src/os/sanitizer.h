/* SPDX-License-Identifier: MIT */
/*
 * What differs in a build with AddressSanitizer: WS_SANITIZED is defined,
 * and memory the daemon maps itself (each peer's locked pages) is shown to
 * LeakSanitizer as a root, since it scans only the heap, stacks and globals
 * for pointers. Without sanitizers the hooks are empty.
 */
#ifndef WS_OS_SANITIZER_H
#define WS_OS_SANITIZER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define WS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WS_SANITIZED 1
#endif
#endif

#ifdef WS_SANITIZED
#include <sanitizer/lsan_interface.h>
static inline void ws_lsan_root(const void *p, size_t len) { __lsan_register_root_region(p, len); }
static inline void ws_lsan_unroot(const void *p, size_t len) { __lsan_unregister_root_region(p, len); }
#else
static inline void ws_lsan_root(const void *p, size_t len) { (void)p; (void)len; }
static inline void ws_lsan_unroot(const void *p, size_t len) { (void)p; (void)len; }
#endif

#endif
