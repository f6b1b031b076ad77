/*
 * res_message.c — POST /api/v1/mqtt/message: publish as the inline client.
 *
 * Body (Go comqtt's fields): {"topic_name": "a/b", "payload": "text",
 * "retain": false, "qos": 0}; also "payload_base64" for bytes that are not
 * text, and "expiry" (seconds, MQTT 5 message expiry).  Unknown members
 * are ignored, as Go's decoder does.  The admin makes the message in the
 * shm message store and hands it (the reference with it) to one live
 * worker, which publishes it like any client's: retained store, routes,
 * subscribers on every worker.  The answer echoes the message once that
 * worker has routed it.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt/topic.h"
#include "shm/ctl.h"
#include "shm/msg.h"

typedef struct pub {
	char *topic; /* malloc'd */
	size_t topic_len;
	unsigned char *payload; /* malloc'd */
	size_t payload_len;
	bool retain;
	uint8_t qos;
	uint32_t expiry;
} pub_t;

static void
pub_free(void *arg)
{
	pub_t *p = arg;
	free(p->topic);
	free(p->payload);
	free(p);
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard padded base64 into a malloc'd buffer; NULL if malformed. */
static unsigned char *
b64_decode(const char *s, size_t len, size_t *n_r)
{
	if (len % 4 != 0)
		return NULL;
	unsigned char *out = malloc(len / 4 * 3 + 1);
	size_t n = 0;
	for (size_t i = 0; out != NULL && i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' && i + 4 == len && k >= 2
				? 0
				: b64_val((unsigned char)s[i + k]);
		bool pad2 = s[i + 2] == '=', pad3 = s[i + 3] == '=';
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 ||
			(pad2 && !pad3)) {
			free(out);
			return NULL;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			(uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[n++] = (unsigned char)(w >> 16);
		if (!pad2)
			out[n++] = (unsigned char)(w >> 8);
		if (!pad3)
			out[n++] = (unsigned char)w;
	}
	*n_r = n;
	return out;
}

/* The payload members; NULL error text when fine. */
static const char *
payload_of(const cq_jv_t *body, pub_t *p)
{
	const cq_jv_t *t = cq_json_get(body, "payload");
	const cq_jv_t *b = cq_json_get(body, "payload_base64");
	if (t != NULL && b != NULL)
		return "give payload or payload_base64, not both";
	if (b != NULL) {
		if (b->type != CQ_JSON_STRING ||
			(p->payload = b64_decode(
				 b->s, b->len, &p->payload_len)) == NULL)
			return "payload_base64: expected base64 text";
		return NULL;
	}
	if (t != NULL && t->type != CQ_JSON_STRING)
		return "payload: expected a string";
	p->payload_len = t != NULL ? t->len : 0;
	p->payload = malloc(p->payload_len + 1);
	if (p->payload == NULL)
		return "out of memory";
	if (p->payload_len > 0)
		memcpy(p->payload, t->s, p->payload_len);
	return NULL;
}

/* The body into p; NULL, or what is wrong. */
static const char *
parse(const cq_jv_t *body, pub_t *p, const cq_config_t *cfg)
{
	if (body->type != CQ_JSON_OBJECT)
		return "expected a JSON object";
	const cq_jv_t *t = cq_json_get(body, "topic_name");
	const cq_jv_t *r = cq_json_get(body, "retain");
	const cq_jv_t *q = cq_json_get(body, "qos");
	const cq_jv_t *e = cq_json_get(body, "expiry");
	if (t == NULL || t->type != CQ_JSON_STRING)
		return "topic_name: expected a string";
	cq_topic_err_t te = cq_topic_name_check(
		t->s, t->len, cfg->limits.max_topic_levels);
	if (te != CQ_TOPIC_OK)
		return cq_topic_err_name(te);
	p->topic = malloc(t->len + 1);
	if (p->topic == NULL)
		return "out of memory";
	memcpy(p->topic, t->s, t->len + 1);
	p->topic_len = t->len;
	if (r != NULL && r->type != CQ_JSON_BOOL)
		return "retain: expected true or false";
	p->retain = r != NULL && r->b;
	if (q != NULL &&
		(q->type != CQ_JSON_NUMBER || !q->is_int || q->i < 0 ||
			q->i > 2))
		return "qos: expected 0, 1 or 2";
	p->qos = q != NULL ? (uint8_t)q->i : 0;
	if (e != NULL &&
		(e->type != CQ_JSON_NUMBER || !e->is_int || e->i < 0 ||
			e->i > UINT32_MAX))
		return "expiry: expected seconds from 0 to 4294967295";
	p->expiry = e != NULL ? (uint32_t)e->i : 0;
	const char *why = payload_of(body, p);
	if (why == NULL && p->payload_len > cfg->limits.max_packet_size)
		return "payload larger than limits.max_packet_size";
	return why;
}

static void
published(cq_acall_t *c)
{
	pub_t *p = c->ctx;
	uint16_t st = cq_acall_status(c);
	if (st != CQ_CTL_OK) {
		cq_http_error(c->r, st == 504 ? 504 : 503,
			st == 504 ? "the worker did not confirm the publish"
				  : "the worker could not publish (store "
				    "full)");
		return;
	}
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "topic_name", p->topic, p->topic_len);
	cq_json_kstr(&j, "payload", p->payload, p->payload_len);
	cq_json_kbool(&j, "retain", p->retain);
	cq_json_kuint(&j, "qos", p->qos);
	cq_json_obj_end(&j);
	cq_http_json(c->r, 200, &j);
}

/* Make the message and hand it to worker w. */
static void
publish(cq_hreq_t *r, pub_t *p, int w)
{
	cq_msg_info_t info = {.topic = p->topic,
		.topic_len = p->topic_len,
		.payload = p->payload,
		.payload_len = p->payload_len,
		.qos = p->qos,
		.flags = p->retain ? CQ_MSG_F_RETAIN : 0,
		.expiry = p->expiry ? (uint64_t)time(NULL) + p->expiry : 0,
		.origin_slot = UINT16_MAX};
	cq_acall_t *c = cq_acall_new(r, published, p, pub_free);
	cq_off_t m = c != NULL ? cq_msg_create(&info) : CQ_OFF_NULL;
	if (m == CQ_OFF_NULL) {
		if (c != NULL)
			cq_acall_free(c);
		else
			pub_free(p);
		cq_http_error(r, 503, "the message store is full");
		return;
	}
	if (cq_acall_send(c, (unsigned)w, CQ_CTL_PUBLISH, CQ_CTL_F_MSG, &m,
		    sizeof(m), NULL) < 0) {
		cq_msg_unref(m);
		cq_acall_free(c);
		cq_http_error(r, 503, "the worker is busy");
		return;
	}
	cq_acall_start(c);
}

void
cq_res_message(cq_hreq_t *r)
{
	cq_jv_t *body;
	if (cq_http_body_json(r, &body) < 0)
		return;
	pub_t *p = calloc(1, sizeof(*p));
	const char *why = p != NULL ? parse(body, p, r->a->cfg)
				    : "out of memory";
	int w = why == NULL ? cq_acall_any_worker(r->a) : -1;
	if (why != NULL || w < 0) {
		if (p != NULL)
			pub_free(p);
		cq_json_value_free(body);
		if (why != NULL)
			cq_http_error(r, 400, "%s", why);
		else
			cq_http_error(r, 503, "no worker runs");
		return;
	}
	cq_json_value_free(body);
	publish(r, p, w);
}
