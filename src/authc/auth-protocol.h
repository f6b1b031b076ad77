/*
 * auth-protocol.h — the comqtt-authd line protocol: constants, the line
 * splitter and escaper, request and reply parsers.  One header shared by
 * both ends (Dovecot's auth-client-interface.h is the model): authd
 * (plugins/authd/) and the workers' client library (src/authc/client.c).
 * comqtt-authd(8) is the full specification; this is its code.
 *
 * In short: a SOCK_STREAM Unix socket carries UTF-8 lines ending in LF,
 * fields separated by TAB, TAB/LF/CR/backslash inside values written as
 * \t \n \r \\.  Both ends open with "VERSION<TAB>1<TAB>0"; a different
 * major version closes the connection.  The client then pipelines
 * requests, each with an id it chose; replies come in any order:
 *
 *   AUTH <id> client=<id> user=<name> pass=<b64> addr=<ip:port>
 *        listener=<name> [cert=<cn>]
 *   ACL  <id> client=<id> user=<name> topic=<topic> access=<r|w|s>
 *        [addr=<ip:port>] [listener=<name>]
 *   OK   <id> [ttl=<s>] [key=value...]
 *   FAIL <id> code=<reason> [reason=<text>] [ttl=<s>]
 *
 * and the server may push "INVALIDATE<TAB><serial>" (its policy changed:
 * forget cached answers) and, before closing on a protocol violation,
 * "ERROR<TAB><text>".
 *
 * Parsing is in place and allocation-free: cq_authp_split() cuts a line
 * into fields and unescapes each one where it lies (an escape is never
 * shorter than what it stands for), so the values point into the caller's
 * buffer and are NUL-terminated.  Nothing here does I/O or logging.
 */
#ifndef CQ_AUTHC_AUTH_PROTOCOL_H
#define CQ_AUTHC_AUTH_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define CQ_AUTHP_VERSION_MAJOR 1
#define CQ_AUTHP_VERSION_MINOR 0

/* Longest line either side sends or accepts, the LF included. */
#define CQ_AUTHP_LINE_MAX (256 * 1024)
/* Most fields of one line (command and id included). */
#define CQ_AUTHP_FIELDS_MAX 32
/* Default cap on the requests one connection may have in flight
 * (auth.max_inflight). */
#define CQ_AUTHP_INFLIGHT_DEFAULT 4096
/* A ttl= above this is taken as this (seconds; ~49 days, so that
 * milliseconds fit 32 bits). */
#define CQ_AUTHP_TTL_MAX 4294967u
/* Longest reason= text a server sends. */
#define CQ_AUTHP_REASON_MAX 200

/* FAIL codes.  A client treats an unknown code as "unavailable". */
/* Unknown user or wrong password: CONNACK 0x86, v3 0x04. */
#define CQ_AUTHP_CODE_BAD_CREDENTIALS "bad_credentials"
/* Known, but the policy refuses: CONNACK 0x87, v3 0x05; ACL denied. */
#define CQ_AUTHP_CODE_NOT_AUTHORIZED "not_authorized"
/* A backend failed (database down, timeout): CONNACK 0x88, v3 0x03. */
#define CQ_AUTHP_CODE_UNAVAILABLE "unavailable"
/* The request lacks a field or has a bad value (a client bug). */
#define CQ_AUTHP_CODE_INVALID "invalid_request"
/* More requests in flight on this connection than the server allows. */
#define CQ_AUTHP_CODE_BUSY "busy"

typedef enum cq_authp_cmd {
	CQ_AUTHP_CMD_UNKNOWN = 0,
	CQ_AUTHP_CMD_VERSION,
	CQ_AUTHP_CMD_AUTH,
	CQ_AUTHP_CMD_ACL,
	CQ_AUTHP_CMD_OK,
	CQ_AUTHP_CMD_FAIL,
	CQ_AUTHP_CMD_INVALIDATE,
	CQ_AUTHP_CMD_ERROR,
} cq_authp_cmd_t;

/* ACL access kinds, as written in access=. */
#define CQ_AUTHP_ACCESS_READ      'r' /* receive a message on a topic */
#define CQ_AUTHP_ACCESS_WRITE     'w' /* publish to a topic */
#define CQ_AUTHP_ACCESS_SUBSCRIBE 's' /* subscribe to a filter */

/* A line cut into fields: argv[i] is NUL-terminated, argl[i] long (a
 * value may not hold a NUL, so the two agree). */
typedef struct cq_authp_line {
	size_t argc;
	char *argv[CQ_AUTHP_FIELDS_MAX];
	size_t argl[CQ_AUTHP_FIELDS_MAX];
} cq_authp_line_t;

/* A request as parsed: pointers into the line; absent fields NULL. */
typedef struct cq_authp_request {
	cq_authp_cmd_t cmd; /* CQ_AUTHP_CMD_AUTH or _ACL */
	uint32_t id;
	const char *client;
	const char *user; /* NULL: the CONNECT had no user name */
	const char *pass; /* base64 text; NULL: no password */
	const char *addr;
	const char *listener;
	const char *cert;
	const char *topic;
	size_t client_len, user_len, pass_len, topic_len;
	char access; /* ACL: 'r', 'w' or 's' */
} cq_authp_request_t;

/* A server line as the client parses it. */
typedef struct cq_authp_reply {
	cq_authp_cmd_t cmd; /* _OK, _FAIL, _INVALIDATE, _ERROR, _VERSION */
	uint32_t id; /* OK, FAIL */
	bool has_ttl;
	uint32_t ttl; /* seconds, at most CQ_AUTHP_TTL_MAX */
	const char *code; /* FAIL */
	const char *reason; /* FAIL (may be NULL), ERROR */
	const char *serial; /* INVALIDATE */
	unsigned major, minor; /* VERSION */
} cq_authp_reply_t;

/* What parsing a request line found. */
typedef enum cq_authp_parse {
	CQ_AUTHP_PARSE_OK = 0,
	/* Not a request at all (unknown command, bad id): the server answers
	 * ERROR and closes the connection. */
	CQ_AUTHP_PARSE_MALFORMED,
	/* A request with a usable id but a missing or bad field: the server
	 * answers FAIL <id> code=invalid_request and carries on. */
	CQ_AUTHP_PARSE_INVALID,
} cq_authp_parse_t;

/*
 * Cut 'line' (len bytes, without its LF) into fields at each TAB and
 * unescape every field in place.  line[len] must be writable (where the
 * LF was): the last field's NUL goes there.  0, or -1 with *error_r a static text:
 * a NUL byte, a bad or cut escape, a CR (it must be escaped), an empty
 * line, more than CQ_AUTHP_FIELDS_MAX fields.
 */
int cq_authp_split(
	char *line, size_t len, cq_authp_line_t *out, const char **error_r);

/* The command named by field 0 (CQ_AUTHP_CMD_UNKNOWN if none). */
cq_authp_cmd_t cq_authp_command(const cq_authp_line_t *l);
const char *cq_authp_command_name(cq_authp_cmd_t cmd);

/*
 * Check that fields from..argc-1 are "key=value" pairs with keys of
 * [a-z0-9_] and no key twice.  0, or -1 with *error_r.
 */
int cq_authp_check_pairs(
	const cq_authp_line_t *l, size_t from, const char **error_r);

/* The value of 'key' among the pairs from 'from' on, or NULL. */
const char *cq_authp_get(
	const cq_authp_line_t *l, size_t from, const char *key, size_t *len_r);

/* A request id: decimal, 0 to 4294967295, no sign or leading zero. */
int cq_authp_parse_id(const char *s, size_t len, uint32_t *id_r);

/* VERSION<TAB>major<TAB>minor: 0, or -1 with *error_r. */
int cq_authp_parse_version(const cq_authp_line_t *l, unsigned *major_r,
	unsigned *minor_r, const char **error_r);

/*
 * An AUTH or ACL line (already split).  On CQ_AUTHP_PARSE_INVALID,
 * r->cmd and r->id are set so the server can answer the request.
 * *error_r says what is wrong.
 */
cq_authp_parse_t cq_authp_parse_request(
	const cq_authp_line_t *l, cq_authp_request_t *r, const char **error_r);

/* Any line a server sends.  0, or -1 with *error_r. */
int cq_authp_parse_reply(
	const cq_authp_line_t *l, cq_authp_reply_t *r, const char **error_r);

/*
 * Writing lines into a cq_buf_t.  Each returns 0, or -1 when out of
 * memory (the buffer then holds part of the line: the caller drops it by
 * resetting to the length it had).
 */
/* 'n' bytes escaped (TAB, LF, CR, backslash). */
int cq_authp_put_escaped(cq_buf_t *b, const char *s, size_t n);
/* "<TAB>key=" then the escaped value. */
int cq_authp_put_pair(cq_buf_t *b, const char *key, const char *s, size_t n);
/* Text written as is (a command, a TAB, a number, an LF). */
int cq_authp_put_raw(cq_buf_t *b, const char *s);
/* "<TAB>key=<decimal>" */
int cq_authp_put_uint(cq_buf_t *b, const char *key, uint64_t v);
/* "VERSION<TAB>1<TAB>0<LF>" */
int cq_authp_put_version(cq_buf_t *b);

/* Base64 (RFC 4648, padded, no line breaks).  The encoded length of n
 * bytes, with the NUL. */
#define CQ_AUTHP_B64_LEN(n) (((n) + 2) / 3 * 4 + 1)
/* Encode n bytes into dst (CQ_AUTHP_B64_LEN(n) bytes); returns the
 * length without the NUL. */
size_t cq_authp_b64_encode(char *dst, const void *src, size_t n);
/* Decode strictly (padding required, no whitespace) into dst, which has
 * room for len / 4 * 3 bytes.  0 with *n_r, or -1. */
int cq_authp_b64_decode(
	unsigned char *dst, size_t *n_r, const char *src, size_t len);

#endif /* CQ_AUTHC_AUTH_PROTOCOL_H */
