/*
 * cb_opts.h — comqtt-bench's command line: parsing, validation, per-
 * scenario defaults and --help.
 */
#ifndef CB_OPTS_H
#define CB_OPTS_H

#include <stddef.h>

#include "bench/cb_types.h"

#define CB_EXIT_OK         0
#define CB_EXIT_INCOMPLETE 1
#define CB_EXIT_USAGE      2

/*
 * Parse argv into o.  0 when the run should go ahead; 1 when --help or
 * --version was printed (exit 0); -1 with a message in err (exit 2).
 */
int cb_opts_parse(
	cb_opts_t *o, int argc, char **argv, char *err, size_t errlen);

const char *cb_scenario_name(cb_scenario_t s);

/* The longest user name or password after %u is replaced, NUL included. */
#define CB_CRED_MAX 1024

/*
 * fmt with every "%u" replaced by n in decimal (nothing else is special)
 * into dst of cap bytes, NUL-terminated.  The length, or -1 when it does
 * not fit.
 */
int cb_opts_expand(char *dst, size_t cap, const char *fmt, uint64_t n);

#endif /* CB_OPTS_H */
