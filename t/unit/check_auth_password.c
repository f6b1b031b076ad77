/*
 * check_auth_password.c — password schemes 0..8 (plugins/authd/password.h)
 * with known vectors: Go comqtt's crypto.go writes lowercase hex digests,
 * and its test data holds a Go bcrypt hash.
 */
#include "config.h"

#include <string.h>

#include "plugins/authd/password.h"
#include "t/unit/unit.h"

#define FOX "The quick brown fox jumps over the lazy dog"

static bool
verify(int scheme, const char *stored, const char *pass, const char *key)
{
	return cq_password_verify(scheme, stored, strlen(stored), pass,
		strlen(pass), key, key ? strlen(key) : 0);
}

/* Digests of "password" (schemes 2 to 5). */
START_TEST(digest_vectors)
{
	static const struct {
		int scheme;
		const char *hex;
	} v[] = {
		{CQ_PASSWORD_MD5, "5f4dcc3b5aa765d61d8327deb882cf99"},
		{CQ_PASSWORD_SHA1, "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"},
		{CQ_PASSWORD_SHA256,
			"5e884898da28047151d0e56f8dc6292773603d0d"
			"6aabbdd62a11ef721d1542d8"},
		{CQ_PASSWORD_SHA512,
			"b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07"
			"394c706a8bb980b1d7785e5976ec049b46df5f1326af5a2ea6d1"
			"03fd07c95385ffab0cacbc86"},
	};
	char out[CQ_PASSWORD_HASH_MAX];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert(verify(v[i].scheme, v[i].hex, "password", NULL));
		ck_assert(!verify(v[i].scheme, v[i].hex, "Password", NULL));
		ck_assert_int_eq(cq_password_hash(v[i].scheme, "password", 8,
					 NULL, 0, out, sizeof(out)),
			0);
		ck_assert_str_eq(out, v[i].hex);
	}
}
END_TEST

/* HMAC vectors (key "key", the fox), schemes 6 to 8. */
START_TEST(hmac_vectors)
{
	static const struct {
		int scheme;
		const char *hex;
	} v[] = {
		{CQ_PASSWORD_HMAC_SHA1,
			"de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"},
		{CQ_PASSWORD_HMAC_SHA256,
			"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479d"
			"bc2d1a3cd8"},
		{CQ_PASSWORD_HMAC_SHA512,
			"b42af09057bac1e2d41708e48a902e09b5ff7f12ab428a4fe86653"
			"c73dd248fb82f948a549f7b791a5b41915ee4d1ec3935357e4e231"
			"7250d0372afa2ebeeb3a"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert(verify(v[i].scheme, v[i].hex, FOX, "key"));
		ck_assert(!verify(v[i].scheme, v[i].hex, FOX, "other key"));
		ck_assert(!verify(v[i].scheme, v[i].hex, FOX "!", "key"));
	}
}
END_TEST

START_TEST(hex_forms)
{
	/* Uppercase hex is the same digest; a wrong length or a non-hex
	 * digit never matches. */
	ck_assert(verify(CQ_PASSWORD_MD5, "5F4DCC3B5AA765D61D8327DEB882CF99",
		"password", NULL));
	ck_assert(!verify(CQ_PASSWORD_MD5, "5f4dcc3b5aa765d61d8327deb882cf9",
		"password", NULL));
	ck_assert(!verify(CQ_PASSWORD_MD5, "5f4dcc3b5aa765d61d8327deb882cf99 ",
		"password", NULL));
	ck_assert(!verify(CQ_PASSWORD_MD5, "xf4dcc3b5aa765d61d8327deb882cf99",
		"password", NULL));
	ck_assert(!verify(CQ_PASSWORD_SHA1, "", "", NULL));
}
END_TEST

START_TEST(plain)
{
	ck_assert(verify(CQ_PASSWORD_PLAIN, "secret", "secret", NULL));
	ck_assert(!verify(CQ_PASSWORD_PLAIN, "secret", "secre", NULL));
	ck_assert(!verify(CQ_PASSWORD_PLAIN, "secret", "secret ", NULL));
	ck_assert(verify(CQ_PASSWORD_PLAIN, "", "", NULL));
	/* Binary passwords compare byte for byte. */
	ck_assert(cq_password_verify(
		CQ_PASSWORD_PLAIN, "a\0b", 3, "a\0b", 3, NULL, 0));
	ck_assert(!cq_password_verify(
		CQ_PASSWORD_PLAIN, "a\0b", 3, "a\0c", 3, NULL, 0));
}
END_TEST

/* Go comqtt's test data: bcrypt of "123456" at cost 12, "$2a$". */
START_TEST(bcrypt_go_vector)
{
	const char *go = "$2a$12$j8bs10UCRC5GUENPqZXLceACpN1l72wcDaN6F0j0rIbcH"
			 "IZpt0Cbq";
	ck_assert(verify(CQ_PASSWORD_BCRYPT, go, "123456", NULL));
	ck_assert(!verify(CQ_PASSWORD_BCRYPT, go, "1234567", NULL));
}
END_TEST

START_TEST(bcrypt_new_hashes)
{
	char h[CQ_PASSWORD_HASH_MAX], h2[CQ_PASSWORD_HASH_MAX];

	ck_assert_int_eq(cq_password_hash(CQ_PASSWORD_BCRYPT, "pw", 2, NULL, 0,
				 h, sizeof(h)),
		0);
	ck_assert_int_eq(strncmp(h, "$2b$10$", 7), 0);
	ck_assert_uint_eq(strlen(h), 60);
	ck_assert(verify(CQ_PASSWORD_BCRYPT, h, "pw", NULL));
	ck_assert(!verify(CQ_PASSWORD_BCRYPT, h, "pW", NULL));
	/* Salted: the same password hashes differently. */
	ck_assert_int_eq(cq_password_hash(CQ_PASSWORD_BCRYPT, "pw", 2, NULL, 0,
				 h2, sizeof(h2)),
		0);
	ck_assert_str_ne(h, h2);
	/* A NUL would cut the password: refused both ways. */
	ck_assert_int_lt(cq_password_hash(CQ_PASSWORD_BCRYPT, "p\0w", 3, NULL,
				 0, h2, sizeof(h2)),
		0);
	ck_assert(!cq_password_verify(
		CQ_PASSWORD_BCRYPT, h, strlen(h), "pw\0x", 4, NULL, 0));
	/* Other crypt(3) formats are not bcrypt: never accepted. */
	ck_assert(!verify(CQ_PASSWORD_BCRYPT, "$1$abc$xyz", "pw", NULL));
	ck_assert(!verify(CQ_PASSWORD_BCRYPT, "pw", "pw", NULL));
	ck_assert(cq_password_is_slow(CQ_PASSWORD_BCRYPT));
	ck_assert(!cq_password_is_slow(CQ_PASSWORD_SHA256));
}
END_TEST

START_TEST(unknown_scheme)
{
	char out[CQ_PASSWORD_HASH_MAX];
	ck_assert(!verify(9, "x", "x", NULL));
	ck_assert(!verify(-1, "x", "x", NULL));
	ck_assert_int_lt(
		cq_password_hash(9, "x", 1, NULL, 0, out, sizeof(out)), 0);
	ck_assert_str_eq(cq_password_scheme_name(9), "?");
	ck_assert_str_eq(cq_password_scheme_name(7), "hmac-sha256");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("auth_password");
	TCase *tc = tcase_create("password");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, digest_vectors);
	tcase_add_test(tc, hmac_vectors);
	tcase_add_test(tc, hex_forms);
	tcase_add_test(tc, plain);
	tcase_add_test(tc, bcrypt_go_vector);
	tcase_add_test(tc, bcrypt_new_hashes);
	tcase_add_test(tc, unknown_scheme);
	suite_add_tcase(s, tc);
	return s;
}
