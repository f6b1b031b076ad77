/*
 * assert.h — invariant checks that stay in release builds.
 *
 * cq_assert() is for invariants on cold paths: a failure logs one "alert"
 * line with file, line and expression and aborts, so the master respawns the
 * worker and runs the shm checker.  Hot paths use cq_dassert(), compiled
 * only in debug/sanitizer builds.
 */
#ifndef CQ_CORE_ASSERT_H
#define CQ_CORE_ASSERT_H

#include "core/defs.h"

_Noreturn void cq_assert_fail(
	const char *expr, const char *file, int line, const char *func);

#define cq_assert(expr)                                                        \
	((expr) ? (void)0 : cq_assert_fail(#expr, __FILE__, __LINE__, __func__))

#if defined(CQ_ASAN) || defined(CQ_DEBUG)
#define cq_dassert(expr) cq_assert(expr)
#else
#define cq_dassert(expr) ((void)0)
#endif

#define cq_unreachable()                                                       \
	cq_assert_fail("unreachable", __FILE__, __LINE__, __func__)

#endif /* CQ_CORE_ASSERT_H */
