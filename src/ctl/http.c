/*
 * http.c — one request to comqtt-admin with libcurl (ctl.h).
 *
 * A fresh easy handle per request (comqttctl makes one or two): the bearer
 * token in a header, JSON bodies, a bounded answer (API answers are small;
 * 64 MiB is far beyond any), a connect and a total timeout.
 */
#include "config.h"
#include "ctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define BODY_MAX (64u << 20)

typedef struct sink {
	cq_ctl_resp_t *r;
	bool too_big;
} sink_t;

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	sink_t *s = arg;
	size_t add = size * n;
	if (s->r->len + add > BODY_MAX) {
		s->too_big = true;
		return 0;
	}
	char *b = realloc(s->r->body, s->r->len + add + 1);
	if (b == NULL)
		return 0;
	memcpy(b + s->r->len, p, add);
	s->r->len += add;
	b[s->r->len] = '\0';
	s->r->body = b;
	return add;
}

bool
cq_ctl_path(char *buf, size_t size, const char *path, const char *seg,
	const char *suffix)
{
	char *e = cq_ctl_escape(seg);
	int n = e != NULL ? snprintf(buf, size, "%s%s%s", path, e, suffix) : -1;
	free(e);
	return n >= 0 && (size_t)n < size;
}

char *
cq_ctl_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, (int)strlen(s));
	char *copy = e != NULL ? strdup(e) : NULL;
	curl_free(e);
	return copy;
}

static struct curl_slist *
headers(const cq_ctl_t *c, bool body)
{
	char auth[300];
	struct curl_slist *h = NULL, *n;
	if (c->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			c->token);
		if ((n = curl_slist_append(h, auth)) == NULL)
			return h;
		h = n;
	}
	if (body &&
		(n = curl_slist_append(h, "Content-Type: application/json")))
		h = n;
	if ((n = curl_slist_append(h, "Accept: application/json")) != NULL)
		h = n;
	return h;
}

static void
setup(CURL *k, const cq_ctl_t *c, const char *method, const char *url,
	const char *body, struct curl_slist *h, sink_t *s)
{
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
	}
	if (c->tls && c->insecure) {
		curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->tls && c->cacert[0] != '\0')
		curl_easy_setopt(k, CURLOPT_CAINFO, c->cacert);
	if (c->tls && c->cert[0] != '\0') {
		curl_easy_setopt(k, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(k, CURLOPT_SSLKEY,
			c->key[0] != '\0' ? c->key : c->cert);
	}
}

int
cq_ctl_request(const cq_ctl_t *c, const char *method, const char *path,
	const char *body, cq_ctl_resp_t *resp)
{
	char url[8192];
	memset(resp, 0, sizeof(*resp));
	int n = snprintf(url, sizeof(url), "%s://%s%s",
		c->tls ? "https" : "http", c->host, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(resp->error, sizeof(resp->error), "URL too long");
		return CQ_CTL_EXIT_USAGE;
	}
	CURL *k = curl_easy_init();
	struct curl_slist *h = k ? headers(c, body != NULL) : NULL;
	if (k == NULL) {
		snprintf(resp->error, sizeof(resp->error), "out of memory");
		return CQ_CTL_EXIT_CONNECT;
	}
	sink_t s = {.r = resp};
	setup(k, c, method, url, body, h, &s);
	CURLcode rc = curl_easy_perform(k);
	if (rc == CURLE_OK)
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &resp->status);
	else
		snprintf(resp->error, sizeof(resp->error), "%.160s: %s", url,
			s.too_big ? "answer too large"
				  : curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(k);
	return rc == CURLE_OK ? CQ_CTL_EXIT_OK : CQ_CTL_EXIT_CONNECT;
}

void
cq_ctl_resp_free(cq_ctl_resp_t *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* The "error" member of an error answer, or the raw text. */
static void
print_error(const cq_ctl_resp_t *resp)
{
	cq_jv_t *v = NULL;
	char err[64];
	const cq_jv_t *e = NULL;
	if (resp->body != NULL &&
		cq_json_parse(resp->body, resp->len, &v, err, sizeof(err)) == 0)
		e = cq_json_get(v, "error");
	if (e != NULL && e->type == CQ_JSON_STRING)
		fprintf(stderr, "comqttctl: %s (HTTP %ld)\n", e->s,
			resp->status);
	else
		fprintf(stderr, "comqttctl: HTTP %ld%s%.*s\n", resp->status,
			resp->len ? ": " : "",
			(int)(resp->len > 200 ? 200 : resp->len),
			resp->body ? resp->body : "");
	cq_json_value_free(v);
}

int
cq_ctl_result(const cq_ctl_t *c, int rc, cq_ctl_resp_t *resp, bool raw,
	cq_jv_t **root_r)
{
	(void)c;
	if (root_r != NULL)
		*root_r = NULL;
	if (rc != CQ_CTL_EXIT_OK) {
		fprintf(stderr, "comqttctl: %s\n", resp->error);
		return rc;
	}
	if (resp->status < 200 || resp->status > 299) {
		print_error(resp);
		return resp->status == 404    ? CQ_CTL_EXIT_NOT_FOUND
			: resp->status == 401 ? CQ_CTL_EXIT_AUTH
					      : CQ_CTL_EXIT_FAILED;
	}
	if (raw || root_r == NULL)
		return CQ_CTL_EXIT_OK;
	char err[160];
	if (cq_json_parse(resp->body ? resp->body : "", resp->len, root_r, err,
		    sizeof(err)) < 0) {
		fprintf(stderr, "comqttctl: the answer is not JSON: %s\n", err);
		return CQ_CTL_EXIT_FAILED;
	}
	return CQ_CTL_EXIT_OK;
}

int
cq_ctl_call(const cq_ctl_t *c, const char *method, const char *path,
	const char *body, cq_jv_t **root_r)
{
	cq_ctl_resp_t resp;
	int rc = cq_ctl_request(c, method, path, body, &resp);
	rc = cq_ctl_result(c, rc, &resp, c->json, root_r);
	if (rc == CQ_CTL_EXIT_OK && c->json)
		cq_ctl_print_raw(&resp);
	cq_ctl_resp_free(&resp);
	return rc;
}

int
cq_ctl_one(const cq_ctl_t *c, const char *method, const char *path,
	const char *done)
{
	cq_jv_t *v;
	int rc = cq_ctl_call(c, method, path, NULL, &v);
	if (rc == CQ_CTL_EXIT_OK && v != NULL && strcmp(method, "GET") == 0)
		cq_ctl_print_flat("", v);
	else if (rc == CQ_CTL_EXIT_OK && v != NULL)
		printf("%s\n", done);
	cq_json_value_free(v);
	return rc;
}

int
cq_ctl_usage(const char *cmd, const char *what)
{
	fprintf(stderr, "comqttctl %s: %s (see comqttctl -h)\n", cmd, what);
	return CQ_CTL_EXIT_USAGE;
}
