/*
 * password.c — password schemes (password.h): OpenSSL digests and HMAC,
 * libxcrypt bcrypt, constant-time comparison.
 */
#include "config.h"
#include "plugins/authd/password.h"

#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char *const scheme_names[CQ_PASSWORD_SCHEME_COUNT] = {
	"plain",
	"bcrypt",
	"md5",
	"sha1",
	"sha256",
	"sha512",
	"hmac-sha1",
	"hmac-sha256",
	"hmac-sha512",
};

const char *
cq_password_scheme_name(int scheme)
{
	if (scheme < 0 || scheme >= CQ_PASSWORD_SCHEME_COUNT)
		return "?";
	return scheme_names[scheme];
}

bool
cq_password_is_slow(int scheme)
{
	return scheme == CQ_PASSWORD_BCRYPT;
}

static const EVP_MD *
scheme_md(int scheme)
{
	switch (scheme) {
	case CQ_PASSWORD_MD5:
		return EVP_md5();
	case CQ_PASSWORD_SHA1:
	case CQ_PASSWORD_HMAC_SHA1:
		return EVP_sha1();
	case CQ_PASSWORD_SHA256:
	case CQ_PASSWORD_HMAC_SHA256:
		return EVP_sha256();
	case CQ_PASSWORD_SHA512:
	case CQ_PASSWORD_HMAC_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* The raw digest of 'pass' under a digest or HMAC scheme; its length, or
 * 0 on failure. */
static unsigned
digest(int scheme, const void *pass, size_t pass_len, const char *key,
	size_t key_len, unsigned char *out)
{
	const EVP_MD *md = scheme_md(scheme);
	unsigned len = 0;

	if (md == NULL)
		return 0;
	if (scheme >= CQ_PASSWORD_HMAC_SHA1) {
		/* An empty key is still a key; HMAC() wants a non-NULL one. */
		if (HMAC(md, key != NULL ? key : "", (int)key_len, pass,
			    pass_len, out, &len) == NULL)
			return 0;
		return len;
	}
	if (EVP_Digest(pass, pass_len, out, &len, md, NULL) != 1)
		return 0;
	return len;
}

/* Hex digits, lowercase, to raw bytes; -1 if 's' is not 2*n hex digits. */
static int
unhex(const char *s, size_t len, unsigned char *out, size_t n)
{
	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

static void
tohex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Plain passwords: compare digests, so that the time taken does not
 * depend on where the two first differ, nor on their lengths. */
static bool
verify_plain(const char *stored, size_t stored_len, const void *pass,
	size_t pass_len)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned la = 0, lb = 0;

	if (EVP_Digest(stored, stored_len, a, &la, EVP_sha256(), NULL) != 1 ||
		EVP_Digest(pass, pass_len, b, &lb, EVP_sha256(), NULL) != 1)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0 && stored_len == pass_len;
}

static bool
is_bcrypt(const char *s, size_t len)
{
	return len == 60 && s[0] == '$' && s[1] == '2' &&
		(s[2] == 'a' || s[2] == 'b' || s[2] == 'y') && s[3] == '$';
}

/* crypt_r() needs NUL-terminated strings: copies on the heap (its work
 * area is 32 KiB anyway). */
static bool
verify_bcrypt(const char *stored, size_t stored_len, const void *pass,
	size_t pass_len)
{
	bool ok = false;

	if (!is_bcrypt(stored, stored_len) || memchr(pass, '\0', pass_len))
		return false;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *p = malloc(pass_len + 1), *setting = strndup(stored, stored_len);
	if (cd != NULL && p != NULL && setting != NULL) {
		memcpy(p, pass, pass_len);
		p[pass_len] = '\0';
		const char *h = crypt_r(p, setting, cd);
		ok = h != NULL && strlen(h) == stored_len &&
			CRYPTO_memcmp(h, stored, stored_len) == 0;
		OPENSSL_cleanse(p, pass_len);
	}
	free(setting);
	free(p);
	free(cd);
	return ok;
}

bool
cq_password_verify(int scheme, const char *stored, size_t stored_len,
	const void *pass, size_t pass_len, const char *key, size_t key_len)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned n;

	if (scheme == CQ_PASSWORD_PLAIN)
		return verify_plain(stored, stored_len, pass, pass_len);
	if (scheme == CQ_PASSWORD_BCRYPT)
		return verify_bcrypt(stored, stored_len, pass, pass_len);
	n = digest(scheme, pass, pass_len, key, key_len, got);
	if (n == 0 || unhex(stored, stored_len, want, n) < 0)
		return false;
	return CRYPTO_memcmp(want, got, n) == 0;
}

static int
hash_bcrypt(const void *pass, size_t pass_len, char *out, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	int rc = -1;

	if (memchr(pass, '\0', pass_len) != NULL ||
		crypt_gensalt_rn("$2b$", CQ_PASSWORD_BCRYPT_COST, NULL, 0, salt,
			sizeof(salt)) == NULL)
		return -1;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *p = malloc(pass_len + 1);
	if (cd != NULL && p != NULL) {
		memcpy(p, pass, pass_len);
		p[pass_len] = '\0';
		const char *h = crypt_r(p, salt, cd);
		if (h != NULL && h[0] == '$' && strlen(h) < size) {
			strcpy(out, h);
			rc = 0;
		}
		OPENSSL_cleanse(p, pass_len);
	}
	free(p);
	free(cd);
	return rc;
}

int
cq_password_hash(int scheme, const void *pass, size_t pass_len, const char *key,
	size_t key_len, char *out, size_t size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n;

	if (scheme == CQ_PASSWORD_PLAIN) {
		if (pass_len >= size || memchr(pass, '\0', pass_len))
			return -1;
		memcpy(out, pass, pass_len);
		out[pass_len] = '\0';
		return 0;
	}
	if (scheme == CQ_PASSWORD_BCRYPT)
		return hash_bcrypt(pass, pass_len, out, size);
	n = digest(scheme, pass, pass_len, key, key_len, d);
	if (n == 0 || 2 * (size_t)n + 1 > size)
		return -1;
	tohex(d, n, out);
	return 0;
}
