/*
 * assert.c — the failure path of cq_assert().
 */
#include "config.h"
#include "core/assert.h"

#include <stdlib.h>

#include "core/log.h"

void
cq_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	cq_log(CQ_LOG_ALERT, 0, "assertion \"%s\" failed in %s() at %s:%d",
		expr, func, file, line);
	abort();
}
