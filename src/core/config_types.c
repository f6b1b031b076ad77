/*
 * config_types.c — the value types of configuration keys (config_schema.h).
 *
 * Each type knows how to parse a scalar, print a value back, describe what
 * it expects ("a size like 1M") and whether a table row of its kind is
 * well formed.  Numeric types (bool, integer, size, duration, enum, mode)
 * all travel as an int64_t between parsing and storing, and are stored into
 * a field of the width the table row gives (sizeof the member), signed when
 * the range allows negative values.
 *
 * Parsing never changes a field unless the value is valid, so a failed
 * cq_cfg_set() leaves the configuration as it was.
 */
#include "config.h"
#include "core/config_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"
#include "core/assert.h"
#include "core/units.h"

/* Outcomes of the text parsers below. */
#define PARSE_SYNTAX (-1)
#define PARSE_RANGE  (-2)

/* How much of a bad value a message quotes. */
#define QUOTE_MAX 48

static const char *const bool_true[] = {"true", "yes", "on"};
static const char *const bool_false[] = {"false", "no", "off"};

int
cq_cfg_error(char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*error_r = s;
	return -1;
}

int
cq_cfg_error_at(char **error_r, const char *file, cq_cfg_pos_t pos,
	const char *path, const char *fmt, va_list ap)
{
	const char *sep = path[0] != '\0' ? ": " : "";
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return cq_cfg_error(error_r, "out of memory");
	if (file != NULL && pos.line > 0)
		cq_cfg_error(error_r, "%s:%zu:%zu: %s%s%s", file, pos.line,
			pos.col, path, sep, msg);
	else
		cq_cfg_error(error_r, "%s%s%s", path, sep, msg);
	free(msg);
	return -1;
}

bool
cq_cfg_is_scalar(cq_cfg_type_t type)
{
	return type != CQ_CFG_MAP && type != CQ_CFG_LIST &&
		type != CQ_CFG_STRLIST;
}

static bool
is_numeric(cq_cfg_type_t type)
{
	return type == CQ_CFG_BOOL || type == CQ_CFG_INT ||
		type == CQ_CFG_SIZE || type == CQ_CFG_DURATION ||
		type == CQ_CFG_ENUM || type == CQ_CFG_MODE;
}

/*
 * Integer fields of any width.  Values reaching int_store() are within the
 * key's range, and cq_cfg_row_problem() checked that the range fits the
 * width, so the narrowing casts below never lose bits.
 */
typedef union int_bits {
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
} int_bits_t;

static int64_t
int_load(const cq_cfg_key_t *k, const void *field)
{
	bool sgn = k->min < 0;
	int_bits_t v;

	memcpy(&v, field, k->width);
	switch (k->width) {
	case 1:
		return sgn ? (int8_t)v.u8 : (int64_t)v.u8;
	case 2:
		return sgn ? (int16_t)v.u16 : (int64_t)v.u16;
	case 4:
		return sgn ? (int32_t)v.u32 : (int64_t)v.u32;
	case 8:
		return (int64_t)v.u64;
	}
	cq_unreachable();
}

static void
int_store(const cq_cfg_key_t *k, void *field, int64_t value)
{
	int_bits_t v;

	switch (k->width) {
	case 1:
		v.u8 = (uint8_t)value;
		break;
	case 2:
		v.u16 = (uint16_t)value;
		break;
	case 4:
		v.u32 = (uint32_t)value;
		break;
	case 8:
		v.u64 = (uint64_t)value;
		break;
	default:
		cq_unreachable();
	}
	memcpy(field, &v, k->width);
}

/* Decimal, optionally negative; no '+', no leading zeros (YAML 1.1 would
 * read 010 as octal 8, so refusing it avoids a silent surprise). */
static int
parse_int_text(const char *s, int64_t *v_r)
{
	bool neg = s[0] == '-';
	const char *p = s + neg;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	int rc = 0;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		return PARSE_SYNTAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (v > (limit - digit) / 10)
			rc = PARSE_RANGE;
		else
			v = v * 10 + digit;
	}
	if (*p != '\0')
		return PARSE_SYNTAX;
	if (rc == 0)
		*v_r = neg ? (int64_t)(0 - v) : (int64_t)v;
	return rc;
}

static int
parse_unit_text(cq_cfg_type_t type, const char *s, int64_t *v_r)
{
	uint64_t v;
	int rc = type == CQ_CFG_SIZE ? cq_size_parse(s, &v)
				     : cq_duration_parse(s, &v);
	if (rc < 0)
		return errno == ERANGE ? PARSE_RANGE : PARSE_SYNTAX;
	if (v > INT64_MAX)
		return PARSE_RANGE;
	*v_r = (int64_t)v;
	return 0;
}

/* Octal digits, an optional leading 0 included: "660", "0660". */
static int
parse_mode_text(const char *s, int64_t *v_r)
{
	size_t n = strspn(s, "01234567");
	if (n == 0 || s[n] != '\0')
		return PARSE_SYNTAX;
	if (n > 5)
		return PARSE_RANGE;
	*v_r = strtol(s, NULL, 8);
	return 0;
}

static int
parse_word(const char *s, const char *const *words, size_t n, bool nocase,
	int64_t *v_r)
{
	for (size_t i = 0; i < n && words[i] != NULL; i++) {
		if (nocase ? strcasecmp(s, words[i]) == 0
			   : strcmp(s, words[i]) == 0) {
			*v_r = (int64_t)i;
			return 0;
		}
	}
	return PARSE_SYNTAX;
}

static int
parse_numeric_text(const cq_cfg_key_t *k, const char *s, int64_t *v_r)
{
	switch (k->type) {
	case CQ_CFG_BOOL:
		if (parse_word(s, bool_true, 3, true, v_r) == 0) {
			*v_r = 1;
			return 0;
		}
		if (parse_word(s, bool_false, 3, true, v_r) == 0) {
			*v_r = 0;
			return 0;
		}
		return PARSE_SYNTAX;
	case CQ_CFG_INT:
		return parse_int_text(s, v_r);
	case CQ_CFG_SIZE:
	case CQ_CFG_DURATION:
		return parse_unit_text(k->type, s, v_r);
	case CQ_CFG_ENUM:
		return parse_word(s, k->names, SIZE_MAX, false, v_r);
	case CQ_CFG_MODE:
		return parse_mode_text(s, v_r);
	default:
		cq_unreachable();
	}
}

static bool
in_range(const cq_cfg_key_t *k, int64_t v)
{
	if (k->type == CQ_CFG_BOOL || k->type == CQ_CFG_ENUM)
		return true;
	if (v < k->min || v > k->max)
		return false;
	return !(k->flags & CQ_CFG_POW2) || (v > 0 && (v & (v - 1)) == 0);
}

void
cq_cfg_quote(const char *text, size_t len, char *buf, size_t size)
{
	size_t o = 0, i;

	cq_assert(size >= QUOTE_MAX * 4 + 8);
	buf[o++] = '"';
	for (i = 0; i < len && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	snprintf(buf + o, size - o, "%s\"", i < len ? "..." : "");
}

static int
fail_value(const cq_cfg_key_t *k, bool with_range, const char *text, size_t len,
	bool null, const char *detail, char **why_r)
{
	char expect[160], got[QUOTE_MAX * 4 + 8];

	cq_cfg_describe(k, with_range, expect, sizeof(expect));
	if (null)
		snprintf(got, sizeof(got), "null");
	else
		cq_cfg_quote(text, len, got, sizeof(got));
	if (detail != NULL)
		return cq_cfg_error(
			why_r, "expected %s, got %s (%s)", expect, got, detail);
	return cq_cfg_error(why_r, "expected %s, got %s", expect, got);
}

/* A value its type accepts but the key's own check (k->valid) does not. */
static int
fail_invalid(const char *invalid, const char *text, size_t len, bool null,
	char **why_r)
{
	char got[QUOTE_MAX * 4 + 8];

	if (null)
		snprintf(got, sizeof(got), "null");
	else
		cq_cfg_quote(text, len, got, sizeof(got));
	return cq_cfg_error(why_r, "expected %s, got %s", invalid, got);
}

static int
parse_string(const cq_cfg_key_t *k, void *field, const char *text, size_t len,
	bool null, char **why_r)
{
	char **sp = field, *s;
	const char *invalid;

	if (null)
		len = 0;
	if ((int64_t)len < k->min || (int64_t)len > k->max)
		return fail_value(k, true, text, len, false, NULL, why_r);
	if ((s = malloc(len + 1)) == NULL)
		return cq_cfg_error(why_r, "out of memory");
	memcpy(s, text, len);
	s[len] = '\0';
	if (k->valid != NULL && (invalid = k->valid(&s)) != NULL) {
		free(s);
		return fail_invalid(invalid, text, len, null, why_r);
	}
	free(*sp);
	*sp = s;
	return 0;
}

static int
parse_address(const cq_cfg_key_t *k, void *field, const char *text, size_t len,
	char **why_r)
{
	cq_addr_t addr;
	const char *why;

	if (cq_addr_parse(text, &addr, &why) < 0)
		return fail_value(k, false, text, len, false, why, why_r);
	memcpy(field, &addr, sizeof(addr));
	return 0;
}

int
cq_cfg_parse_scalar(const cq_cfg_key_t *k, void *obj, const char *text,
	size_t len, bool null, char **why_r)
{
	void *field = CQ_CFG_FIELD(obj, k);
	int64_t v = 0;
	int rc;

	if (memchr(text, '\0', len) != NULL)
		return fail_value(k, false, text, len, false,
			"NUL bytes are not allowed", why_r);
	if (k->type == CQ_CFG_STRING || k->type == CQ_CFG_PATH)
		return parse_string(k, field, text, len, null, why_r);
	if (null)
		return fail_value(k, false, text, len, true, NULL, why_r);
	if (k->type == CQ_CFG_ADDRESS)
		return parse_address(k, field, text, len, why_r);
	cq_assert(is_numeric(k->type));
	rc = parse_numeric_text(k, text, &v);
	if (rc == 0 && !in_range(k, v))
		rc = PARSE_RANGE;
	if (rc != 0)
		return fail_value(
			k, rc == PARSE_RANGE, text, len, false, NULL, why_r);
	if (k->valid != NULL) {
		int64_t old = int_load(k, field);
		const char *invalid;
		int_store(k, field, v);
		if ((invalid = k->valid(field)) != NULL) {
			int_store(k, field, old);
			return fail_invalid(invalid, text, len, false, why_r);
		}
	}
	int_store(k, field, v);
	return 0;
}

int
cq_cfg_strlist_add(const cq_cfg_key_t *k, void *obj, const char *text,
	size_t len, char **why_r)
{
	cq_cfg_strlist_t *l = CQ_CFG_FIELD(obj, k);
	char **items, *s;
	char got[QUOTE_MAX * 4 + 8];

	if ((int64_t)l->n >= k->max)
		return cq_cfg_error(why_r, "at most %lld items are allowed",
			(long long)k->max);
	if (len > CQ_CFG_ITEM_MAX || memchr(text, '\0', len) != NULL) {
		cq_cfg_quote(text, len, got, sizeof(got));
		return cq_cfg_error(why_r,
			"expected a string of at most %d bytes without NULs, "
			"got %s",
			CQ_CFG_ITEM_MAX, got);
	}
	items = realloc(l->items, (l->n + 1) * sizeof(*items));
	if (items == NULL)
		return cq_cfg_error(why_r, "out of memory");
	l->items = items;
	if ((s = strndup(text, len)) == NULL)
		return cq_cfg_error(why_r, "out of memory");
	items[l->n++] = s;
	return 0;
}

/*
 * Decode the UTF-8 character at s into *cp; returns its length, or 0 if
 * the bytes are not well-formed UTF-8.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};

	if (len == 0 || s[0] > 0xf4)
		return 0;
	*cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min[len] || *cp > 0x10ffff ||
		(*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* Characters YAML allows in a file unescaped (libyaml's reader check). */
static bool
yaml_printable(uint32_t cp)
{
	return (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
		(cp >= 0xa0 && cp <= 0xd7ff) ||
		(cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
}

/*
 * Anything a loaded string can hold prints back as a scalar that loads to
 * the same string: control characters (C1 included) are escaped.  A byte
 * that is not UTF-8 (only possible from cq_cfg_set()) is written as \xNN,
 * which YAML reads as the character U+00NN: readable, if not the same.
 */
void
cq_cfg_print_quoted(const char *s, FILE *out)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t len;

	fputc('"', out);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p++);
		} else if (*p < 0x80) {
			if (yaml_printable(*p))
				fputc(*p, out);
			else
				fprintf(out, "\\x%02x", *p);
			p++;
		} else if ((len = utf8_decode(p, &cp)) == 0) {
			fprintf(out, "\\x%02x", *p++);
		} else {
			if (yaml_printable(cp))
				fwrite(p, 1, len, out);
			else
				fprintf(out, "\\u%04x", (unsigned)cp);
			p += len;
		}
	}
	fputc('"', out);
}

static void
print_numeric(const cq_cfg_key_t *k, int64_t v, FILE *out)
{
	char buf[CQ_UNITS_STRLEN];

	switch (k->type) {
	case CQ_CFG_BOOL:
		fputs(v ? "true" : "false", out);
		break;
	case CQ_CFG_INT:
		fprintf(out, "%lld", (long long)v);
		break;
	case CQ_CFG_SIZE:
		cq_size_format((uint64_t)v, buf, sizeof(buf));
		fputs(buf, out);
		break;
	case CQ_CFG_DURATION:
		cq_duration_format((uint64_t)v, buf, sizeof(buf));
		fputs(buf, out);
		break;
	case CQ_CFG_ENUM:
		fputs(k->names[v], out);
		break;
	case CQ_CFG_MODE:
		fprintf(out, "0%03llo", (unsigned long long)v);
		break;
	default:
		cq_unreachable();
	}
}

void
cq_cfg_print_value(const cq_cfg_key_t *k, const void *obj, FILE *out)
{
	const void *field = (const char *)obj + k->offset;
	char buf[CQ_ADDR_STRLEN];

	switch (k->type) {
	case CQ_CFG_STRING:
	case CQ_CFG_PATH: {
		const char *s = *(char *const *)field;
		cq_cfg_print_quoted(s != NULL ? s : "", out);
		break;
	}
	case CQ_CFG_ADDRESS:
		cq_addr_format(field, buf, sizeof(buf));
		cq_cfg_print_quoted(buf, out);
		break;
	case CQ_CFG_STRLIST: {
		const cq_cfg_strlist_t *l = field;
		fputc('[', out);
		for (size_t i = 0; i < l->n; i++) {
			fputs(i > 0 ? ", " : "", out);
			cq_cfg_print_quoted(l->items[i], out);
		}
		fputc(']', out);
		break;
	}
	default:
		print_numeric(k, int_load(k, field), out);
	}
}

void
cq_cfg_free_value(const cq_cfg_key_t *k, void *obj)
{
	void *field = CQ_CFG_FIELD(obj, k);

	if (k->type == CQ_CFG_STRING || k->type == CQ_CFG_PATH) {
		char **sp = field;
		free(*sp);
		*sp = NULL;
	} else if (k->type == CQ_CFG_STRLIST) {
		cq_cfg_strlist_t *l = field;
		for (size_t i = 0; i < l->n; i++)
			free(l->items[i]);
		free(l->items);
		l->items = NULL;
		l->n = 0;
	}
}

static void
describe_range(const cq_cfg_key_t *k, char *buf, size_t len)
{
	static const char *const noun[] = {
		[CQ_CFG_INT] = "integer",
		[CQ_CFG_SIZE] = "size",
		[CQ_CFG_DURATION] = "duration",
		[CQ_CFG_MODE] = "octal file mode",
	};
	char lo[CQ_UNITS_STRLEN], hi[CQ_UNITS_STRLEN];
	const char *article = k->type == CQ_CFG_SIZE ||
			k->type == CQ_CFG_DURATION
		? "a"
		: "an";

	if (k->type == CQ_CFG_SIZE) {
		cq_size_format((uint64_t)k->min, lo, sizeof(lo));
		cq_size_format((uint64_t)k->max, hi, sizeof(hi));
	} else if (k->type == CQ_CFG_DURATION) {
		cq_duration_format((uint64_t)k->min, lo, sizeof(lo));
		cq_duration_format((uint64_t)k->max, hi, sizeof(hi));
	} else if (k->type == CQ_CFG_MODE) {
		snprintf(lo, sizeof(lo), "0%03llo", (unsigned long long)k->min);
		snprintf(hi, sizeof(hi), "0%03llo", (unsigned long long)k->max);
	} else {
		snprintf(lo, sizeof(lo), "%lld", (long long)k->min);
		snprintf(hi, sizeof(hi), "%lld", (long long)k->max);
	}
	snprintf(buf, len, "%s %s from %s to %s",
		k->flags & CQ_CFG_POW2 ? "a power-of-two" : article,
		noun[k->type], lo, hi);
}

static void
describe_enum(const cq_cfg_key_t *k, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "one of");
	for (size_t i = 0; k->names[i] != NULL && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s %s",
			i > 0 ? "," : "", k->names[i]);
}

static void
describe_length(const cq_cfg_key_t *k, const char *what, char *buf, size_t len)
{
	if (k->min > 0)
		snprintf(buf, len, "a non-empty %s of at most %lld bytes", what,
			(long long)k->max);
	else
		snprintf(buf, len, "a %s of at most %lld bytes", what,
			(long long)k->max);
}

void
cq_cfg_describe(const cq_cfg_key_t *k, bool with_range, char *buf, size_t len)
{
	static const char *const plain[] = {
		[CQ_CFG_BOOL] = "true or false",
		[CQ_CFG_INT] = "an integer",
		[CQ_CFG_SIZE] = "a size like 1M",
		[CQ_CFG_DURATION] = "a duration like 10s",
		[CQ_CFG_STRING] = "a string",
		[CQ_CFG_PATH] = "a file path",
		[CQ_CFG_ADDRESS] = "an address like 0.0.0.0:1883, [::]:1883, "
				   ":1883 or /path/to/socket",
		[CQ_CFG_MODE] = "an octal file mode like 0660",
		[CQ_CFG_STRLIST] = "a list of strings",
		[CQ_CFG_MAP] = "a map of keys",
		[CQ_CFG_LIST] = "a list of maps",
	};

	if (k->type == CQ_CFG_ENUM)
		describe_enum(k, buf, len);
	else if (!with_range || k->type == CQ_CFG_BOOL ||
		k->type == CQ_CFG_ADDRESS || k->type == CQ_CFG_MAP)
		snprintf(buf, len, "%s", plain[k->type]);
	else if (k->type == CQ_CFG_STRING || k->type == CQ_CFG_PATH)
		describe_length(k,
			k->type == CQ_CFG_PATH ? "file path" : "string", buf,
			len);
	else if (k->type == CQ_CFG_LIST || k->type == CQ_CFG_STRLIST)
		snprintf(buf, len, "%s (%lld to %lld items)", plain[k->type],
			(long long)k->min, (long long)k->max);
	else
		describe_range(k, buf, len);
}

/* Is the range representable in a field of the row's width? */
static bool
range_fits_width(const cq_cfg_key_t *k)
{
	int bits = (int)k->width * 8;

	if (k->min > k->max)
		return false;
	if (k->width == 8)
		return true;
	if (k->min < 0)
		return k->min >= -(INT64_C(1) << (bits - 1)) &&
			k->max < (INT64_C(1) << (bits - 1));
	return k->max < (INT64_C(1) << bits);
}

const char *
cq_cfg_row_problem(const cq_cfg_key_t *k)
{
	size_t n = 0;

	switch (k->type) {
	case CQ_CFG_STRING:
	case CQ_CFG_PATH:
		if (k->width != sizeof(char *) || k->min < 0 || k->max <= 0)
			return "a string needs a char * field and a length "
			       "range";
		return NULL;
	case CQ_CFG_ADDRESS:
		return k->width == sizeof(cq_addr_t)
			? NULL
			: "an address needs a cq_addr_t";
	case CQ_CFG_STRLIST:
		if (k->width != sizeof(cq_cfg_strlist_t) || k->max <= 0)
			return "a string list needs a cq_cfg_strlist_t field "
			       "and a maximum count";
		return NULL;
	case CQ_CFG_ENUM:
		while (k->names != NULL && k->names[n] != NULL)
			n++;
		if (n == 0)
			return "an enum needs names";
		break;
	case CQ_CFG_BOOL:
		break;
	default:
		if (!is_numeric(k->type))
			return "not a scalar type";
		if ((k->flags & CQ_CFG_POW2) && k->min <= 0)
			return "a power-of-two key needs a positive minimum";
		if (!range_fits_width(k))
			return "the range does not fit the field";
	}
	if (k->width != 1 && k->width != 2 && k->width != 4 && k->width != 8)
		return "an integer field must be 1, 2, 4 or 8 bytes";
	if (k->type == CQ_CFG_ENUM && (int64_t)n > (INT64_C(1) << 15))
		return "too many enum names";
	return NULL;
}
