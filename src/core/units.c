/*
 * units.c — see units.h.
 *
 * Sizes and durations share one parser and one printer, driven by a table
 * of suffixes; only the tables differ.
 */
#include "config.h"
#include "core/units.h"

#include <errno.h>
#include <stdio.h>

typedef struct unit {
	char suffix;
	uint64_t factor;
} unit_t;

/* Largest factor first: the printer picks the first that divides. */
static const unit_t size_units[] = {
	{'G', 1024ULL * 1024 * 1024},
	{'M', 1024ULL * 1024},
	{'K', 1024},
	{0, 0},
};

static const unit_t duration_units[] = {
	{'d', 86400},
	{'h', 3600},
	{'m', 60},
	{'s', 1},
	{0, 0},
};

static int
parse_scaled(const char *s, const unit_t *units, uint64_t *value_r)
{
	uint64_t v = 0;
	const char *p = s;
	int overflow = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - digit) / 10)
			overflow = 1;
		else
			v = v * 10 + digit;
	}
	if (p == s)
		goto invalid;
	if (*p != '\0') {
		const unit_t *u = units;
		while (u->suffix != 0 && u->suffix != *p)
			u++;
		if (u->suffix == 0 || p[1] != '\0')
			goto invalid;
		if (v > UINT64_MAX / u->factor)
			overflow = 1;
		else
			v *= u->factor;
	}
	if (overflow) {
		errno = ERANGE;
		return -1;
	}
	*value_r = v;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

static void
format_scaled(uint64_t v, const unit_t *units, char *buf, size_t len)
{
	if (v == 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (const unit_t *u = units; u->suffix != 0; u++) {
		if (v % u->factor == 0) {
			snprintf(buf, len, "%llu%c",
				(unsigned long long)(v / u->factor), u->suffix);
			return;
		}
	}
	/* Sizes have no suffix for bytes. */
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

int
cq_size_parse(const char *s, uint64_t *bytes_r)
{
	return parse_scaled(s, size_units, bytes_r);
}

int
cq_duration_parse(const char *s, uint64_t *seconds_r)
{
	return parse_scaled(s, duration_units, seconds_r);
}

void
cq_size_format(uint64_t bytes, char *buf, size_t len)
{
	format_scaled(bytes, size_units, buf, len);
}

void
cq_duration_format(uint64_t seconds, char *buf, size_t len)
{
	format_scaled(seconds, duration_units, buf, len);
}
