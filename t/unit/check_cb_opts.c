/*
 * check_cb_opts.c — unit tests for bench/cb_opts (comqtt-bench's command
 * line): numbered credentials (%u, --users).
 */
#include "config.h"

#include <string.h>

#include "bench/cb_opts.h"
#include "t/unit/unit.h"

START_TEST(expand_replaces_every_percent_u)
{
	char buf[64];
	ck_assert_int_eq(cb_opts_expand(buf, sizeof(buf), "dev%u-%u", 42), 8);
	ck_assert_str_eq(buf, "dev42-42");
	ck_assert_int_eq(cb_opts_expand(buf, sizeof(buf), "plain", 7), 5);
	ck_assert_str_eq(buf, "plain");
	/* Only %u is special: a lone % or %d stays as written. */
	ck_assert_int_eq(cb_opts_expand(buf, sizeof(buf), "5%d%", 1), 4);
	ck_assert_str_eq(buf, "5%d%");
	ck_assert_int_eq(
		cb_opts_expand(buf, sizeof(buf), "%u", UINT64_MAX), 20);
	ck_assert_str_eq(buf, "18446744073709551615");
}
END_TEST

START_TEST(expand_reports_what_does_not_fit)
{
	char buf[6];
	ck_assert_int_eq(cb_opts_expand(buf, sizeof(buf), "ab%u", 123), 5);
	ck_assert_int_eq(cb_opts_expand(buf, sizeof(buf), "ab%u", 1234), -1);
	ck_assert_int_eq(cb_opts_expand(buf, 0, "", 1), -1);
}
END_TEST

static int
parse(cb_opts_t *o, char *err, size_t errlen, int argc, char **argv)
{
	memset(err, 0, errlen);
	return cb_opts_parse(o, argc, argv, err, errlen);
}

START_TEST(parse_numbered_credentials)
{
	cb_opts_t o;
	char err[200];
	char *ok[] = {"cb", "-u", "bench%u", "--password", "pw", "--users",
		"1000", "connrate"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 8, ok), 0);
	ck_assert_int_eq(o.numbered, 1);
	ck_assert_uint_eq(o.users, 1000);
	char *plain[] = {"cb", "-u", "bench", "connrate"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 4, plain), 0);
	ck_assert_int_eq(o.numbered, 0);
	char *pass_only[] = {"cb", "-u", "u", "--password", "p%u", "pairs"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 6, pass_only), 0);
	ck_assert_int_eq(o.numbered, 1);
}
END_TEST

START_TEST(parse_numbered_credentials_errors)
{
	cb_opts_t o;
	char err[200];
	char *no_u[] = {"cb", "-u", "bench", "--users", "10", "connrate"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 6, no_u), -1);
	ck_assert_ptr_nonnull(strstr(err, "--users needs a %u"));
	char *zero[] = {"cb", "-u", "b%u", "--users", "0", "connrate"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 6, zero), -1);
	ck_assert_ptr_nonnull(strstr(err, "--users"));
	char long_name[CB_CRED_MAX];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	memcpy(long_name + sizeof(long_name) - 10, "%u", 2);
	char *too_long[] = {"cb", "-u", long_name, "connrate"};
	ck_assert_int_eq(parse(&o, err, sizeof(err), 4, too_long), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("cb_opts");
	TCase *tc = tcase_create("credentials");
	tcase_add_test(tc, expand_replaces_every_percent_u);
	tcase_add_test(tc, expand_reports_what_does_not_fit);
	tcase_add_test(tc, parse_numbered_credentials);
	tcase_add_test(tc, parse_numbered_credentials_errors);
	suite_add_tcase(s, tc);
	return s;
}
