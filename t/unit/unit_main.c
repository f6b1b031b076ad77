/*
 * unit_main.c — main() of every unit test binary: TAP to stdout.
 */
#include "config.h"

#include <stdlib.h>

#include "t/unit/unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(cq_unit_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
