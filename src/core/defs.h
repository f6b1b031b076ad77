/*
 * defs.h — small definitions every module uses: result codes and helpers.
 *
 * Functions return 0 on success, -1 on error (errno or *error_r says why)
 * and CQ_AGAIN when an operation would block or must be retried.
 */
#ifndef CQ_CORE_DEFS_H
#define CQ_CORE_DEFS_H

#define CQ_OK                       0
#define CQ_ERR                      (-1)
#define CQ_AGAIN                    (-2)

#define CQ_CACHELINE                64

#define CQ_ARRAY_SIZE(a)            (sizeof(a) / sizeof((a)[0]))
#define CQ_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define cq_likely(x)                __builtin_expect(!!(x), 1)
#define cq_unlikely(x)              __builtin_expect(!!(x), 0)
#define CQ_MIN(a, b)                ((a) < (b) ? (a) : (b))
#define CQ_MAX(a, b)                ((a) > (b) ? (a) : (b))

#endif /* CQ_CORE_DEFS_H */
