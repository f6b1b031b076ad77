/*
 * ws_upgrade.c — see ws_upgrade.h.
 */
#include "config.h"
#include "workers/ws_upgrade.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/netmask.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN 24 /* base64 of 16 bytes */

int
cq_ws_accept_key(const char *key, size_t len, char out[CQ_WS_ACCEPT_LEN + 1])
{
	char text[KEY_LEN + sizeof(WS_GUID)];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (len != KEY_LEN)
		return -1;
	memcpy(text, key, len);
	memcpy(text + len, WS_GUID, sizeof(WS_GUID) - 1);
	if (EVP_Digest(text, len + sizeof(WS_GUID) - 1, md, &n, EVP_sha1(),
		    NULL) != 1 ||
		n != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

/* A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and
 * "==" [RFC 6455 4.1]. */
static bool
key_ok(cq_http_view_t v)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789+/";
	if (v.n != KEY_LEN || v.p[22] != '=' || v.p[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++)
		if (v.p[i] == '\0' || strchr(b64, v.p[i]) == NULL)
			return false;
	return true;
}

static void
refuse(cq_ws_upgrade_t *u, int status, const char *why)
{
	u->status = status;
	u->why = why;
}

/* The subprotocol to answer with: "mqtt" if offered, else "mqttv3.1"
 * (MQTT 3.1 clients); NULL when the client asked for none.  false when
 * it asked only for others. */
static bool
pick_protocol(const cq_http_req_t *req, const char **proto_r)
{
	*proto_r = NULL;
	bool asked = false, mqtt = false, v31 = false;
	for (unsigned i = 0; i < req->nfields; i++) {
		const cq_http_field_t *f = &req->fields[i];
		if (!cq_http_ieq(f->name, "Sec-WebSocket-Protocol"))
			continue;
		asked = true;
		mqtt |= cq_http_has_token(f->value, "mqtt");
		v31 |= cq_http_has_token(f->value, "mqttv3.1");
	}
	if (!asked)
		return true;
	*proto_r = mqtt ? "mqtt" : v31 ? "mqttv3.1" : NULL;
	return *proto_r != NULL;
}

/* Upgrade: websocket and Connection: upgrade, or why not. */
static bool
upgrade_headers_ok(const cq_http_req_t *req, cq_ws_upgrade_t *u)
{
	const cq_http_field_t *up = cq_http_field(req, "Upgrade");
	if (up == NULL) {
		refuse(u, 426, "plain HTTP on a WebSocket port");
		return false;
	}
	if (!cq_http_has_token(up->value, "websocket")) {
		refuse(u, 400, "Upgrade is not websocket");
		return false;
	}
	const cq_http_field_t *conn = cq_http_field(req, "Connection");
	if (conn == NULL || !cq_http_has_token(conn->value, "upgrade")) {
		refuse(u, 400, "Connection does not name upgrade");
		return false;
	}
	if (req->minor < 1 || cq_http_field_count(req, "Host") != 1) {
		refuse(u, 400, "an upgrade needs HTTP/1.1 and one Host");
		return false;
	}
	return true;
}

void
cq_ws_upgrade_check(
	const cq_http_req_t *req, const char *path, cq_ws_upgrade_t *u_r)
{
	memset(u_r, 0, sizeof(*u_r));
	if (!cq_http_eq(req->method, "GET"))
		return refuse(u_r, 405, "method is not GET");
	if (!cq_http_eq(req->path, path))
		return refuse(u_r, 404, "unknown path");
	if (!upgrade_headers_ok(req, u_r))
		return;
	const cq_http_field_t *ver = cq_http_field(
		req, "Sec-WebSocket-Version");
	if (ver == NULL || !cq_http_eq(ver->value, "13"))
		return refuse(u_r, 426, "Sec-WebSocket-Version is not 13");
	const cq_http_field_t *key = cq_http_field(req, "Sec-WebSocket-Key");
	if (key == NULL || cq_http_field_count(req, "Sec-WebSocket-Key") != 1 ||
		!key_ok(key->value))
		return refuse(u_r, 400, "bad Sec-WebSocket-Key");
	if (!pick_protocol(req, &u_r->protocol))
		return refuse(u_r, 400,
			"no MQTT subprotocol (mqtt, mqttv3.1) offered");
	if (cq_ws_accept_key(key->value.p, key->value.n, u_r->accept) < 0)
		return refuse(u_r, 500, "SHA-1 failed");
	u_r->status = 101;
}

size_t
cq_ws_upgrade_response(const cq_ws_upgrade_t *u, char *buf, size_t size)
{
	char headers[256];
	if (u->status == 101) {
		snprintf(headers, sizeof(headers),
			"Upgrade: websocket\r\nConnection: Upgrade\r\n"
			"Sec-WebSocket-Accept: %s\r\n%s%s%s",
			u->accept,
			u->protocol ? "Sec-WebSocket-Protocol: " : "",
			u->protocol ? u->protocol : "",
			u->protocol ? "\r\n" : "");
		return cq_http_response(buf, size, 101, headers, NULL);
	}
	const char *extra = "";
	if (u->status == 426)
		extra = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
	else if (u->status == 405)
		extra = "Allow: GET\r\n";
	snprintf(headers, sizeof(headers), "%sContent-Type: text/plain\r\n",
		extra);
	char body[160];
	snprintf(body, sizeof(body), "%s\n", u->why ? u->why : "refused");
	return cq_http_response(buf, size, u->status, headers, body);
}

/* The last address of one X-Forwarded-For value that is not trusted:
 * 1 (found), 0 (all trusted) or -1 (not an address). */
static int
scan_field(cq_http_view_t v, const cq_cfg_strlist_t *trusted,
	struct sockaddr_storage *ss_r, socklen_t *len_r)
{
	const char *end = v.p + v.n;
	while (end > v.p) {
		const char *start = end;
		while (start > v.p && start[-1] != ',')
			start--;
		const char *s = start, *e = end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (cq_netmask_sockaddr(s, (size_t)(e - s), 0, ss_r, len_r) < 0)
			return -1;
		if (!cq_netmask_list_match(trusted, (struct sockaddr *)ss_r))
			return 1;
		end = start > v.p ? start - 1 : v.p;
	}
	return 0;
}

int
cq_ws_forwarded_for(const cq_http_req_t *req, const cq_cfg_strlist_t *trusted,
	struct sockaddr_storage *ss_r, socklen_t *len_r)
{
	/* Several X-Forwarded-For lines read as one list, in order: walk
	 * them from the last. */
	for (unsigned i = req->nfields; i-- > 0;) {
		const cq_http_field_t *f = &req->fields[i];
		if (!cq_http_ieq(f->name, "X-Forwarded-For"))
			continue;
		int rc = scan_field(f->value, trusted, ss_r, len_r);
		if (rc != 0)
			return rc;
	}
	/* No header, or only trusted proxies in it: keep the peer. */
	return 0;
}
