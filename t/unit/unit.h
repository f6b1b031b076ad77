/*
 * unit.h — glue for Check unit suites.
 *
 * Each t/unit/check_<module>.c defines cq_unit_suite() and links with
 * unit_main.c, which runs it in fork mode (each test in its own process, so
 * crash tests are isolated) and prints TAP on stdout for prove.
 */
#ifndef CQ_T_UNIT_H
#define CQ_T_UNIT_H

#include <check.h>

Suite *cq_unit_suite(void);

#endif
