/*
 * check_edges.c — unit tests for what the listeners' edges share in
 * src/core: the HTTP request parser (http.c), networks (netmask.c), the
 * listener edge keys (conf_listener.c) and TLS contexts (tls.c, with
 * certificates made here by OpenSSL).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/conf.h"
#include "core/defs.h"
#include "core/http.h"
#include "core/netmask.h"
#include "core/tls.h"
#include "t/unit/unit.h"

/* ---- HTTP --------------------------------------------------------- */

static int
parse(const char *s, cq_http_req_t *req, int *status)
{
	const char *why = NULL;
	*status = 0;
	return cq_http_parse(s, strlen(s), 8192, req, status, &why);
}

START_TEST(http_upgrade_request)
{
	const char *s = "GET /mqtt?x=1 HTTP/1.1\r\n"
			"Host: example\r\n"
			"Upgrade:  websocket \r\n"
			"Connection: keep-alive, Upgrade\r\n"
			"Sec-WebSocket-Protocol: mqttv3.1, mqtt\r\n"
			"\r\n\x82\x80";
	cq_http_req_t req;
	int status;
	ck_assert_int_eq(parse(s, &req, &status), 0);
	ck_assert(cq_http_eq(req.method, "GET"));
	ck_assert(cq_http_eq(req.path, "/mqtt"));
	ck_assert(cq_http_eq(req.target, "/mqtt?x=1"));
	ck_assert_uint_eq(req.minor, 1);
	ck_assert_uint_eq(req.nfields, 4);
	ck_assert_uint_eq(req.head_len, strlen(s) - 2);
	const cq_http_field_t *f = cq_http_field(&req, "upgrade");
	ck_assert_ptr_nonnull(f);
	ck_assert(cq_http_eq(f->value, "websocket"));
	f = cq_http_field(&req, "CONNECTION");
	ck_assert(cq_http_has_token(f->value, "upgrade"));
	ck_assert(!cq_http_has_token(f->value, "close"));
	f = cq_http_field(&req, "sec-websocket-protocol");
	ck_assert(cq_http_has_token(f->value, "mqtt"));
	ck_assert(cq_http_has_token(f->value, "MQTTv3.1"));
	ck_assert_ptr_null(cq_http_field(&req, "Sec-WebSocket-Key"));
}
END_TEST

START_TEST(http_incomplete_then_complete)
{
	const char *full = "GET / HTTP/1.0\r\nA: b\r\n\r\n";
	cq_http_req_t req;
	int status;
	const char *why;
	for (size_t n = 0; n < strlen(full); n++)
		ck_assert_int_eq(
			cq_http_parse(full, n, 8192, &req, &status, &why),
			CQ_AGAIN);
	ck_assert_int_eq(parse(full, &req, &status), 0);
	ck_assert_uint_eq(req.minor, 0);
}
END_TEST

START_TEST(http_refusals)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{"\x10\x0c\x00\x04MQTT", 400}, /* MQTT CONNECT */
		{"\x16\x03\x01\x02\x00", 400}, /* TLS ClientHello */
		{"GET\r\n\r\n", 400},
		{"GET /x HTTP/1.1\n\n", 400}, /* bare LF */
		{"GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n", 400}, /* bare CR */
		{"GET /x HTTP/2.0\r\n\r\n", 505},
		{"GET /x HTTQ/1.1\r\n\r\n", 400},
		{"GET http://h/x HTTP/1.1\r\n\r\n", 400},
		{"GET /x HTTP/1.1\r\n folded\r\n\r\n", 400},
		{"GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n", 400},
		{"GET /x HTTP/1.1\r\nNoColon\r\n\r\n", 400},
		{"GET /x HTTP/1.1\r\nA: \x01\r\n\r\n", 400},
		{"GET /x y HTTP/1.1\r\n\r\n", 400},
	};
	for (size_t i = 0; i < CQ_ARRAY_SIZE(cases); i++) {
		cq_http_req_t req;
		int status;
		ck_assert_msg(parse(cases[i].text, &req, &status) == -1,
			"case %zu accepted", i);
		ck_assert_int_eq(status, cases[i].status);
	}
}
END_TEST

START_TEST(http_size_limits)
{
	char big[600];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	cq_http_req_t req;
	int status = 0;
	const char *why;
	ck_assert_int_eq(
		cq_http_parse(big, strlen(big), 256, &req, &status, &why), -1);
	ck_assert_int_eq(status, 431);

	/* More header lines than the parser keeps. */
	char *many = malloc(16 + CQ_HTTP_FIELDS_MAX * 8 + 16);
	strcpy(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= CQ_HTTP_FIELDS_MAX; i++)
		strcat(many, "A: b\r\n");
	strcat(many, "\r\n");
	ck_assert_int_eq(parse(many, &req, &status), -1);
	ck_assert_int_eq(status, 431);
	free(many);
}
END_TEST

START_TEST(http_responses)
{
	char buf[256];
	size_t n = cq_http_response(buf, sizeof(buf), 404, "", "no\n");
	ck_assert_str_eq(buf,
		"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n"
		"Connection: close\r\n\r\nno\n");
	ck_assert_uint_eq(n, strlen(buf));
	n = cq_http_response(
		buf, sizeof(buf), 101, "Upgrade: websocket\r\n", NULL);
	ck_assert_str_eq(buf,
		"HTTP/1.1 101 Switching Protocols\r\n"
		"Upgrade: websocket\r\n\r\n");
	ck_assert_uint_eq(cq_http_response(buf, 10, 200, "", "x"), 0);
	ck_assert_str_eq(
		cq_http_reason(431), "Request Header Fields Too Large");
}
END_TEST

/* ---- networks ----------------------------------------------------- */

static struct sockaddr_storage
addr(const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	ck_assert_int_eq(cq_netmask_sockaddr(ip, strlen(ip), 1, &ss, &len), 0);
	return ss;
}

START_TEST(netmask_match)
{
	cq_netmask_t m;
	ck_assert_int_eq(cq_netmask_parse("10.0.0.0/8", &m), 0);
	struct sockaddr_storage a = addr("10.9.8.7"), b = addr("11.0.0.1"),
				c = addr("::ffff:10.1.2.3"), d = addr("::1");
	ck_assert(cq_netmask_match(&m, (struct sockaddr *)&a));
	ck_assert(!cq_netmask_match(&m, (struct sockaddr *)&b));
	ck_assert(cq_netmask_match(&m, (struct sockaddr *)&c));
	ck_assert(!cq_netmask_match(&m, (struct sockaddr *)&d));
	ck_assert_int_eq(cq_netmask_parse("::1", &m), 0);
	ck_assert_uint_eq(m.bits, 128);
	ck_assert(cq_netmask_match(&m, (struct sockaddr *)&d));
	ck_assert_int_eq(cq_netmask_parse("192.168.1.128/25", &m), 0);
	struct sockaddr_storage e = addr("192.168.1.200"),
				f = addr("192.168.1.100");
	ck_assert(cq_netmask_match(&m, (struct sockaddr *)&e));
	ck_assert(!cq_netmask_match(&m, (struct sockaddr *)&f));
	ck_assert_int_eq(cq_netmask_parse("0.0.0.0/0", &m), 0);
	ck_assert(cq_netmask_match(&m, (struct sockaddr *)&b));
}
END_TEST

START_TEST(netmask_refusals)
{
	static const char *const bad[] = {"", "10.0.0.0/33", "::/129", "x",
		"10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8",
		"1.2.3.4 ", "[::1]"};
	cq_netmask_t m;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(bad); i++)
		ck_assert_msg(cq_netmask_parse(bad[i], &m) == -1, "%s", bad[i]);
	struct sockaddr_storage ss;
	socklen_t len;
	ck_assert_int_eq(cq_netmask_sockaddr("1.2.3", 5, 1, &ss, &len), -1);
	ck_assert_int_eq(cq_netmask_sockaddr("", 0, 1, &ss, &len), -1);
}
END_TEST

/* ---- listener keys ------------------------------------------------ */

static void
expect_listener_error(const char *yaml, const char *needle)
{
	cq_config_t cfg;
	char *err = NULL;
	ck_assert_msg(cq_config_load_string(
			      "t.yml", yaml, strlen(yaml), &cfg, &err) == -1,
		"accepted:\n%s", yaml);
	ck_assert_msg(err != NULL && strstr(err, needle) != NULL,
		"error \"%s\" lacks \"%s\"", err, needle);
	free(err);
}

START_TEST(listener_edge_checks)
{
	expect_listener_error("listeners: [{name: a, type: tls, address: "
			      "\":1\"}]",
		"a tls listener needs tls.cert_file");
	expect_listener_error("listeners: [{name: a, type: tcp, address: "
			      "\":1\", tls: {cert_file: c, key_file: k}}]",
		"does not speak TLS");
	expect_listener_error("listeners: [{name: a, type: tls, address: "
			      "\":1\", tls: {cert_file: c}}]",
		"cert_file and key_file go together");
	expect_listener_error("listeners: [{name: a, type: wss, address: "
			      "\":1\", tls: {cert_file: c, key_file: k, "
			      "client_certs: require}}]",
		"needs the ca_file");
	expect_listener_error("listeners: [{name: a, type: tcp, address: "
			      "\":1\", path: /x}]",
		"only ws, wss and health listeners have a path");
	expect_listener_error("listeners: [{name: a, type: ws, address: "
			      "\":1\", path: x}]",
		"expected an absolute path");
	expect_listener_error("listeners: [{name: a, type: tcp, address: "
			      "\":1\", trusted_proxies: [10.0.0.0/99]}]",
		"item 0: expected an IP address or a network");
	expect_listener_error("listeners: [{name: a, type: health, address: "
			      "\":1\", proxy_protocol: true}]",
		"a health listener takes no proxy_protocol");
	expect_listener_error("listeners: [{name: a, type: unix, address: "
			      "/tmp/x.sock, proxy_protocol: true}]",
		"not on a Unix socket listener");
	expect_listener_error("listeners: [{name: a, address: \":1\", "
			      "rate_limit: 5, rate_burst: 0}]",
		"rate_burst of at least 1");
	expect_listener_error("listeners: [{name: a, type: tls, address: "
			      "\":1\", tls: {cert_file: c, key_file: k, "
			      "use_identity_as_username: true}}]",
		"needs client_certs");

	cq_config_t cfg;
	char *err = NULL;
	const char *ok = "listeners:\n"
			 "  - {name: w, type: ws, address: \":1\"}\n"
			 "  - {name: h, type: health, address: \":2\"}\n"
			 "  - {name: s, type: wss, address: \":3\", path: /m,"
			 " tls: {cert_file: c, key_file: k, min_version: "
			 "\"1.3\"}}\n";
	ck_assert_msg(
		cq_config_load_string("t.yml", ok, strlen(ok), &cfg, &err) == 0,
		"%s", err);
	ck_assert_str_eq(cq_config_listener_path(&cfg.listeners[0]), "/mqtt");
	ck_assert_str_eq(
		cq_config_listener_path(&cfg.listeners[1]), "/healthz");
	ck_assert_str_eq(cq_config_listener_path(&cfg.listeners[2]), "/m");
	ck_assert(cq_config_listener_ws(&cfg.listeners[2]));
	ck_assert(cq_config_listener_tls(&cfg.listeners[2]));
	ck_assert(!cq_config_listener_tls(&cfg.listeners[0]));
	ck_assert_int_eq(cfg.listeners[2].tls.min_version, CQ_TLS_VERSION_1_3);
	cq_config_free(&cfg);
}
END_TEST

/* ---- TLS contexts ------------------------------------------------- */

/* A self-signed certificate for 'cn' valid from 'from' to 'to' days
 * from now, and its key, written to dir/<name>.crt and dir/<name>.key. */
static void
make_cert(const char *dir, const char *name, const char *cn, long from, long to)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(k);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to * 86400);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(
		n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	FILE *f = fopen(path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Load a tls listener with the cert and key files named (under dir); the
 * error (or NULL) into *err. */
static SSL_CTX *
ctx_for(const char *dir, const char *cert, const char *key, char **err)
{
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		"listeners: [{name: t, type: tls, address: \":1\", tls: "
		"{cert_file: %s, key_file: %s}}]\n",
		cert, key);
	cq_config_t cfg;
	char *lerr = NULL;
	ck_assert_msg(cq_config_load_string(
			      "t.yml", yaml, strlen(yaml), &cfg, &lerr) == 0,
		"%s", lerr);
	SSL_CTX *ctx = cq_tls_ctx_new(&cfg.listeners[0], dir, err);
	cq_config_free(&cfg);
	return ctx;
}

START_TEST(tls_contexts)
{
	char dir[] = "/tmp/check_edges.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	make_cert(dir, "good", "broker", -1, 30);
	make_cert(dir, "other", "other", -1, 30);
	make_cert(dir, "old", "old", -30, -1);
	char *err = NULL;
	SSL_CTX *ctx = ctx_for(dir, "good.crt", "good.key", &err);
	ck_assert_msg(ctx != NULL, "%s", err);
	SSL_CTX_free(ctx);

	ck_assert_ptr_null(ctx_for(dir, "good.crt", "other.key", &err));
	ck_assert_msg(
		strstr(err, "does not match tls.cert_file") != NULL, "%s", err);
	free(err);
	ck_assert_ptr_null(ctx_for(dir, "old.crt", "old.key", &err));
	ck_assert_msg(
		strstr(err, "the certificate expired on") != NULL, "%s", err);
	free(err);
	ck_assert_ptr_null(ctx_for(dir, "missing.crt", "good.key", &err));
	ck_assert_msg(
		strstr(err, "missing.crt: cannot open: No such file") != NULL,
		"%s", err);
	free(err);
	/* A key file holding a certificate is not a key. */
	ck_assert_ptr_null(ctx_for(dir, "good.crt", "good.crt", &err));
	ck_assert_msg(strstr(err, "no unencrypted PEM private key") != NULL,
		"%s", err);
	free(err);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(tls_base_dir)
{
	char buf[64];
	ck_assert_ptr_null(cq_tls_base_dir(NULL, buf, sizeof(buf)));
	ck_assert_ptr_null(cq_tls_base_dir("comqtt.yml", buf, sizeof(buf)));
	ck_assert_str_eq(cq_tls_base_dir("/etc/comqtt/c.yml", buf, sizeof(buf)),
		"/etc/comqtt");
	ck_assert_str_eq(cq_tls_base_dir("/c.yml", buf, sizeof(buf)), "/");
	ck_assert_str_eq(cq_tls_base_dir("a/b.yml", buf, sizeof(buf)), "a");
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("edges");
	TCase *tc = tcase_create("edges");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, http_upgrade_request);
	tcase_add_test(tc, http_incomplete_then_complete);
	tcase_add_test(tc, http_refusals);
	tcase_add_test(tc, http_size_limits);
	tcase_add_test(tc, http_responses);
	tcase_add_test(tc, netmask_match);
	tcase_add_test(tc, netmask_refusals);
	tcase_add_test(tc, listener_edge_checks);
	tcase_add_test(tc, tls_contexts);
	tcase_add_test(tc, tls_base_dir);
	suite_add_tcase(s, tc);
	return s;
}
