/*
 * check_config_engine.c — unit tests for the configuration engine
 * (core/config_schema.h) on a made-up table, for what comqttd's own keys
 * (check_config.c) do not reach: signed and 64-bit integers, string lists,
 * a list whose items hold a map, the check of a table itself; and for the
 * small parsers the engine uses (core/units.h, core/addr.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/config_schema.h"
#include "core/defs.h"
#include "core/units.h"
#include "t/unit/unit.h"

/* The changes cq_cfg_diff() reported: how many, and the last one. */
typedef struct last_change {
	int n;
	char path[64];
	bool live;
} last_change_t;

static void
note_change(const cq_cfg_change_t *ch, void *ctx)
{
	last_change_t *lc = ctx;

	lc->n++;
	snprintf(lc->path, sizeof(lc->path), "%s", ch->path);
	lc->live = ch->live;
}

START_TEST(units_parse_and_format)
{
	uint64_t v;
	char buf[CQ_UNITS_STRLEN];

	ck_assert_int_eq(cq_size_parse("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(cq_size_parse("3K", &v), 0);
	ck_assert_uint_eq(v, 3072);
	ck_assert_int_eq(cq_size_parse("17179869183G", &v), 0);
	ck_assert_int_eq(cq_size_parse("17179869184G", &v), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(cq_size_parse("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(cq_size_parse("18446744073709551616", &v), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(cq_size_parse("", &v), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cq_size_parse("1KK", &v), -1);
	ck_assert_int_eq(cq_duration_parse("2d", &v), 0);
	ck_assert_uint_eq(v, 172800);
	ck_assert_int_eq(cq_duration_parse("2w", &v), -1);

	cq_size_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0");
	cq_size_format(1536, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1536");
	cq_size_format(3ULL << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3G");
	cq_size_format(268435455, buf, sizeof(buf));
	ck_assert_str_eq(buf, "268435455");
	cq_duration_format(5400, buf, sizeof(buf));
	ck_assert_str_eq(buf, "90m");
	cq_duration_format(4294967295U, buf, sizeof(buf));
	ck_assert_str_eq(buf, "4294967295s");
	cq_duration_format(172800, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2d");
}
END_TEST

START_TEST(address_parse_and_format)
{
	static const struct {
		const char *text, *host;
		unsigned port;
	} good[] = {
		{"0.0.0.0:1883", "0.0.0.0", 1883},
		{":1883", "", 1883},
		{"[::]:8883", "::", 8883},
		{"[0:0::1]:1", "::1", 1},
		{"localhost:65535", "localhost", 65535},
		{"mqtt.example.com:1883", "mqtt.example.com", 1883},
	};
	static const char *const bad[] = {"1883", "localhost", "::1:1883",
		"[::1]1883", "[::1:1883", "[zz]:1883", "999.0.0.1:1883",
		"1.2.3:1883", "a..b:1883", "-a:1883", "a-:1883", "host:0",
		"host:65536", "host:12a", "host:", "host:-1", "h_st:1883",
		"[]:1883"};
	cq_addr_t a;
	const char *why;
	char buf[CQ_ADDR_STRLEN];

	for (size_t i = 0; i < CQ_ARRAY_SIZE(good); i++) {
		ck_assert_msg(cq_addr_parse(good[i].text, &a, &why) == 0, "%s",
			good[i].text);
		ck_assert_str_eq(a.host, good[i].host);
		ck_assert_uint_eq(a.port, good[i].port);
		ck_assert(!a.is_path);
	}
	for (size_t i = 0; i < CQ_ARRAY_SIZE(bad); i++) {
		why = NULL;
		ck_assert_msg(
			cq_addr_parse(bad[i], &a, &why) == -1, "%s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	ck_assert_int_eq(cq_addr_parse("/run/comqtt.sock", &a, &why), 0);
	ck_assert(a.is_path);
	ck_assert_str_eq(a.host, "/run/comqtt.sock");
	char long_path[200];
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = '/';
	long_path[108] = '\0';
	ck_assert_int_eq(cq_addr_parse(long_path, &a, &why), -1);
	long_path[107] = '\0';
	ck_assert_int_eq(cq_addr_parse(long_path, &a, &why), 0);

	/* The canonical text loads back to the same address. */
	ck_assert_int_eq(cq_addr_parse("[0::0]:80", &a, &why), 0);
	cq_addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::]:80");
	ck_assert_int_eq(cq_addr_parse(":80", &a, &why), 0);
	cq_addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, ":80");
}
END_TEST

/*
 * A made-up table for the types and shapes comqttd's keys do not use:
 * signed and 64-bit integers, string lists, a list whose items hold a map.
 */
typedef struct t_inner {
	uint16_t n;
} t_inner_t;

typedef struct t_item {
	char *name;
	uint64_t size;
	t_inner_t inner;
} t_item_t;

typedef struct t_cfg {
	int8_t small;
	int64_t big;
	cq_cfg_strlist_t tags;
	cq_addr_t addr;
	t_item_t items[3];
	size_t n_items;
} t_cfg_t;

static const cq_cfg_key_t t_inner_keys[] = {
	{.name = "n",
		.type = CQ_CFG_INT,
		CQ_CFG_AT(t_inner_t, n),
		.def = "1",
		.min = 0,
		.max = 9,
		.doc = "n"},
};
static const cq_cfg_table_t t_inner_table = {
	"inner", t_inner_keys, 1, sizeof(t_inner_t), NULL};

static const cq_cfg_key_t t_item_keys[] = {
	{.name = "name",
		.type = CQ_CFG_STRING,
		CQ_CFG_AT(t_item_t, name),
		.flags = CQ_CFG_REQUIRED,
		.min = 1,
		.max = 8,
		.doc = "name"},
	{.name = "size",
		.type = CQ_CFG_SIZE,
		CQ_CFG_AT(t_item_t, size),
		.def = "1K",
		.min = 0,
		.max = INT64_MAX,
		.flags = CQ_CFG_LIVE,
		.doc = "size"},
	{.name = "inner",
		.type = CQ_CFG_MAP,
		CQ_CFG_AT(t_item_t, inner),
		.sub = &t_inner_table,
		.doc = "inner"},
};
static const cq_cfg_table_t t_item_table = {
	"item", t_item_keys, 3, sizeof(t_item_t), NULL};

static const cq_cfg_key_t t_keys[] = {
	{.name = "small",
		.type = CQ_CFG_INT,
		CQ_CFG_AT(t_cfg_t, small),
		.def = "-3",
		.min = -128,
		.max = 127,
		.flags = CQ_CFG_LIVE,
		.doc = "small"},
	{.name = "big",
		.type = CQ_CFG_INT,
		CQ_CFG_AT(t_cfg_t, big),
		.def = "-9223372036854775808",
		.min = INT64_MIN,
		.max = INT64_MAX,
		.doc = "big"},
	{.name = "tags",
		.type = CQ_CFG_STRLIST,
		CQ_CFG_AT(t_cfg_t, tags),
		.def = "[a, \"b c\"]",
		.min = 0,
		.max = 3,
		.doc = "tags"},
	{.name = "addr",
		.type = CQ_CFG_ADDRESS,
		CQ_CFG_AT(t_cfg_t, addr),
		.def = "/run/x.sock",
		.doc = "addr"},
	{.name = "items",
		.type = CQ_CFG_LIST,
		CQ_CFG_AT(t_cfg_t, items),
		.count_offset = offsetof(t_cfg_t, n_items),
		.def = "[]",
		.min = 0,
		.max = 3,
		.sub = &t_item_table,
		.flags = CQ_CFG_LIVE,
		.doc = "items"},
};
static const cq_cfg_table_t t_table = {
	"test", t_keys, 5, sizeof(t_cfg_t), NULL};

static int
t_load(const char *yaml, t_cfg_t *c, char **err)
{
	*err = NULL;
	ck_assert_int_eq(cq_cfg_defaults(&t_table, c, err), 0);
	if (cq_cfg_load_yaml(&t_table, c, "x.yml", yaml, strlen(yaml), err) ==
		0)
		return 0;
	cq_cfg_free(&t_table, c);
	return -1;
}

static void
t_expect_error(const char *yaml, const char *needle)
{
	t_cfg_t c;
	char *err;

	ck_assert_msg(t_load(yaml, &c, &err) == -1, "accepted %s", yaml);
	ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"",
		err, needle);
	free(err);
}

START_TEST(engine_signed_and_wide_integers)
{
	t_cfg_t c;
	char *err;

	ck_assert_int_eq(cq_cfg_schema_check(&t_table, &err), 0);
	ck_assert_int_eq(t_load("", &c, &err), 0);
	ck_assert_int_eq(c.small, -3);
	ck_assert(c.big == INT64_MIN);
	cq_cfg_free(&t_table, &c);
	ck_assert_int_eq(
		t_load("small: -128\nbig: 9223372036854775807\n", &c, &err), 0);
	ck_assert_int_eq(c.small, -128);
	ck_assert(c.big == INT64_MAX);
	cq_cfg_free(&t_table, &c);
	t_expect_error("small: -129\n", "expected an integer from -128 to 127");
	t_expect_error(
		"big: 9223372036854775808\n", "from -9223372036854775808");
	t_expect_error(
		"big: -9223372036854775809\n", "from -9223372036854775808");
}
END_TEST

START_TEST(engine_string_lists)
{
	t_cfg_t c;
	char *err;

	ck_assert_int_eq(t_load("", &c, &err), 0);
	ck_assert_uint_eq(c.tags.n, 2);
	ck_assert_str_eq(c.tags.items[1], "b c");
	cq_cfg_free(&t_table, &c);
	ck_assert_int_eq(t_load("tags: [x]\n", &c, &err), 0);
	ck_assert_uint_eq(c.tags.n, 1); /* replaces the default, not appends */
	ck_assert_str_eq(c.tags.items[0], "x");
	cq_cfg_free(&t_table, &c);
	ck_assert_int_eq(
		t_load("tags:\n  - ~\n  - \"\"\n  - y\n", &c, &err), 0);
	ck_assert_uint_eq(c.tags.n, 3);
	ck_assert_str_eq(c.tags.items[0], ""); /* null, as for strings */
	ck_assert_str_eq(c.tags.items[1], "");
	cq_cfg_free(&t_table, &c);
	ck_assert_int_eq(t_load("tags:\n", &c, &err), 0);
	ck_assert_uint_eq(c.tags.n, 0);
	cq_cfg_free(&t_table, &c);
	ck_assert_int_eq(t_load("tags: []\n", &c, &err), 0);
	ck_assert_uint_eq(c.tags.n, 0);
	cq_cfg_free(&t_table, &c);

	t_expect_error("tags: a\n",
		"x.yml:1:7: tags: expected a list of "
		"strings, got \"a\"");
	t_expect_error("tags: [a, [b]]\n",
		"x.yml:1:11: tags[1]: expected a "
		"string, got a list");
	t_expect_error("tags: [a, {b: c}]\n", "got a map");
	t_expect_error("tags: [a, b, c, d]\n",
		"x.yml:1:17: tags[3]: at most 3 items are allowed");
	t_expect_error("tags: [\"a\\0\"]\n", "without NULs");
}
END_TEST

START_TEST(engine_lists_of_maps_with_maps)
{
	t_cfg_t c, d;
	char *err;
	last_change_t lc = {.n = 0};

	ck_assert_int_eq(t_load("items:\n  - name: a\n    inner: {n: 7}\n"
				"  - {name: b, size: 2M}\n",
				 &c, &err),
		0);
	ck_assert_uint_eq(c.n_items, 2);
	ck_assert_uint_eq(c.items[0].inner.n, 7);
	ck_assert_uint_eq(c.items[0].size, 1024);
	ck_assert_uint_eq(c.items[1].inner.n, 1);
	ck_assert_uint_eq(c.items[1].size, 2 << 20);

	/* Print, load back, compare; then a diff inside an item. */
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	ck_assert_int_eq(cq_cfg_print(&t_table, &c, f), 0);
	fclose(f);
	ck_assert_int_eq(t_load(text, &d, &err), 0);
	ck_assert_int_eq(cq_cfg_diff(&t_table, &c, &d, note_change, &lc), 0);
	ck_assert_int_eq(lc.n, 0);
	d.items[1].inner.n = 3;
	ck_assert_int_eq(cq_cfg_diff(&t_table, &c, &d, note_change, &lc), 1);
	ck_assert_str_eq(lc.path, "items[1].inner.n");
	ck_assert(!lc.live); /* the list is live, the key is not */
	d.items[1].inner.n = 1;
	d.items[0].size = 5;
	ck_assert_int_eq(cq_cfg_diff(&t_table, &c, &d, note_change, &lc), 1);
	ck_assert_str_eq(lc.path, "items[0].size");
	ck_assert(lc.live);

	/* Inside a live list of the same length, a key that is not live
	 * keeps its old value; the live one takes the new. */
	d.items[1].inner.n = 3;
	d.small = 9;
	d.big = 9;
	cq_cfg_keep_restart_keys(&t_table, &c, &d);
	ck_assert_uint_eq(d.items[1].inner.n, 1);
	ck_assert_uint_eq(d.items[0].size, 5);
	ck_assert_int_eq(d.small, 9);
	ck_assert(d.big == INT64_MIN);
	ck_assert(c.big == 9);
	free(text);
	cq_cfg_free(&t_table, &d);
	cq_cfg_free(&t_table, &c);

	t_expect_error("items:\n  - {name: a, inner: {n: 10}}\n",
		"x.yml:2:26: items[0].inner.n: expected an integer from 0 to "
		"9");
	t_expect_error("items:\n  - {name: a, inner: {m: 1}}\n",
		"items[0].inner.m: unknown key");
	t_expect_error("items:\n  - {name: a, inner: 5}\n",
		"items[0].inner: expected a map of keys");
	t_expect_error("items:\n  - {name: a}\n  - {}\n",
		"x.yml:3:5: items[1]: the key name is required");
	t_expect_error("addr: \"[::1]\"\n", "addr: expected an address like");
}
END_TEST

START_TEST(engine_schema_check_finds_bad_rows)
{
	static const cq_cfg_key_t bad_rows[][1] = {
		{{.name = "a",
			.type = CQ_CFG_INT,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "1",
			.min = 0,
			.max = 300,
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_INT,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "1",
			.min = 0,
			.max = 3}},
		{{.name = "a",
			.type = CQ_CFG_INT,
			CQ_CFG_AT(t_cfg_t, small),
			.min = 0,
			.max = 3,
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_INT,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "9",
			.min = 0,
			.max = 3,
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_STRING,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "",
			.min = 0,
			.max = 3,
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_ENUM,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "x",
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_INT,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "2",
			.flags = CQ_CFG_POW2,
			.min = 0,
			.max = 8,
			.doc = "d"}},
		{{.name = "a",
			.type = CQ_CFG_LIST,
			CQ_CFG_AT(t_cfg_t, items),
			.count_offset = offsetof(t_cfg_t, n_items),
			.def = "[]",
			.min = 0,
			.max = 4,
			.sub = &t_item_table,
			.doc = "d"}},
	};
	static const cq_cfg_key_t twice[] = {
		{.name = "a",
			.type = CQ_CFG_BOOL,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "true",
			.doc = "d"},
		{.name = "a",
			.type = CQ_CFG_BOOL,
			CQ_CFG_AT(t_cfg_t, small),
			.def = "true",
			.doc = "d"},
	};
	char *err;

	for (size_t i = 0; i < CQ_ARRAY_SIZE(bad_rows); i++) {
		cq_cfg_table_t t = {
			"bad", bad_rows[i], 1, sizeof(t_cfg_t), NULL};
		err = NULL;
		ck_assert_msg(
			cq_cfg_schema_check(&t, &err) == -1, "row %zu", i);
		ck_assert_msg(strstr(err, "table bad") != NULL ||
				strstr(err, "default of a") != NULL,
			"%s", err);
		free(err);
	}
	cq_cfg_table_t t = {"bad", twice, 2, sizeof(t_cfg_t), NULL};
	ck_assert_int_eq(cq_cfg_schema_check(&t, &err), -1);
	ck_assert_str_eq(err, "table bad, key a: the name is used twice");
	free(err);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("config_engine");
	TCase *tc = tcase_create("config_engine");

	tcase_add_test(tc, units_parse_and_format);
	tcase_add_test(tc, address_parse_and_format);
	tcase_add_test(tc, engine_signed_and_wide_integers);
	tcase_add_test(tc, engine_string_lists);
	tcase_add_test(tc, engine_lists_of_maps_with_maps);
	tcase_add_test(tc, engine_schema_check_finds_bad_rows);
	suite_add_tcase(s, tc);
	return s;
}
