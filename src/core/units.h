/*
 * units.h — byte sizes and durations as people write them in configuration.
 *
 * A size is a decimal number of bytes with an optional binary suffix K, M or
 * G (1024, 1024^2, 1024^3): "1M" is 1048576.  A duration is a decimal number
 * of seconds with an optional suffix s, m, h or d: "10m" is 600.  Both are
 * printed back in a canonical form: the largest suffix that divides the
 * value exactly ("256M", "268435455", "10m", "4294967295s"), and "0" for
 * zero, so that printing and parsing round-trip.
 */
#ifndef CQ_CORE_UNITS_H
#define CQ_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any uint64_t in either form, with its suffix and the NUL. */
#define CQ_UNITS_STRLEN 24

/*
 * Parse a whole string ("" and trailing characters are errors).  Returns 0,
 * or -1 with errno EINVAL (not a size/duration: no digits, a sign, a space,
 * an unknown suffix) or ERANGE (the value does not fit in 64 bits).
 */
int cq_size_parse(const char *s, uint64_t *bytes_r);
int cq_duration_parse(const char *s, uint64_t *seconds_r);

/* Canonical text into buf (at least CQ_UNITS_STRLEN bytes). */
void cq_size_format(uint64_t bytes, char *buf, size_t len);
void cq_duration_format(uint64_t seconds, char *buf, size_t len);

#endif /* CQ_CORE_UNITS_H */
