/*
 * check_listeners.c — unit tests for the workers' edges: PROXY headers
 * (proxy_proto.c), WebSocket upgrades (ws_upgrade.c), the rate limiter
 * (ratelimit.c).
 */
#include "config.h"

#include "t/unit/unit.h"

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("listeners");
	return s;
}
