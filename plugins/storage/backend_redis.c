/*
 * backend_redis.c — the networked backend: the tables of codec.h as Redis
 * hashes, written with hiredis's synchronous API, one pipelined
 * MULTI ... EXEC per batch (atomic: all of a batch or none of it).
 *
 * Key layout (<p> = storage.redis.prefix; client ids, topics and filters
 * are binary-safe):
 *   <p>:meta          hash  "format", "applied", "sys" -> value
 *   <p>:sessions      hash  client id -> session record
 *   <p>:c:<client id> hash  kind + sub-key -> value   (one per session,
 *                           so a session's children go with one DEL)
 *   <p>:retained      hash  topic -> message
 * Values are codec.h's, byte for byte.
 *
 * Durability is Redis's: a batch is applied when EXEC answers, and on
 * disk as its persistence settings say (appendonly yes with appendfsync
 * always or everysec is what a broker wants; with persistence off a Redis
 * restart loses the state).  A lost connection fails the batch; the next
 * one connects again (the events wait in the rings meanwhile).
 */
#include "config.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/log.h"
#include "plugins/storage/backend.h"
#include "plugins/storage/codec.h"

#define SCAN_COUNT "1000"

struct cq_store {
	const cq_config_storage_redis_t *conf;
	char where[CQ_ADDR_STRLEN + 16];
	redisContext *c;
	unsigned pending; /* replies owed by the batch being built */
	bool broken; /* an append failed: the batch cannot commit */
	bool warned;
	cq_buf_t key; /* hash key of the current command */
	cq_buf_t field;
};

/* ---- the connection ------------------------------------------------ */

static void
drop_connection(cq_store_t *st, const char *why)
{
	if (st->c != NULL && !st->warned)
		cq_log(CQ_LOG_ERR, 0, "redis %s: %s", st->where,
			why != NULL ? why : st->c->errstr);
	st->warned = true;
	if (st->c != NULL)
		redisFree(st->c);
	st->c = NULL;
	st->pending = 0;
}

/* One command, answered now: the reply (free it), or NULL (logged). */
static redisReply *
command(cq_store_t *st, int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(st->c, argc, argv, lens);
	if (r == NULL)
		drop_connection(st, NULL);
	else if (r->type == REDIS_REPLY_ERROR) {
		cq_log(CQ_LOG_ERR, 0, "redis %s: %s: %s", st->where, argv[0],
			r->str);
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

static int
login(cq_store_t *st)
{
	const char *argv[3];
	char db[16];
	int n = 0;
	redisReply *r;
	if (st->conf->password[0] != '\0') {
		argv[n++] = "AUTH";
		if (st->conf->username[0] != '\0')
			argv[n++] = st->conf->username;
		argv[n++] = st->conf->password;
		if ((r = command(st, n, argv, NULL)) == NULL)
			return -1;
		freeReplyObject(r);
	}
	if (st->conf->db != 0) {
		snprintf(db, sizeof(db), "%u", st->conf->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((r = command(st, 2, argv, NULL)) == NULL)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

static int
connect_now(cq_store_t *st)
{
	if (st->c != NULL)
		return 0;
	const cq_addr_t *a = &st->conf->address;
	struct timeval tv = {2, 0};
	st->c = a->is_path ? redisConnectUnixWithTimeout(a->host, tv)
			   : redisConnectWithTimeout(a->host, a->port, tv);
	if (st->c == NULL || st->c->err) {
		const char *err = st->c != NULL ? st->c->errstr : "no memory";
		if (!st->warned)
			cq_log(CQ_LOG_ERR, 0, "redis %s: connect: %s",
				st->where, err);
		st->warned = true;
		if (st->c != NULL)
			redisFree(st->c);
		st->c = NULL;
		errno = ECONNREFUSED;
		return -1;
	}
	redisSetTimeout(st->c, tv);
	if (login(st) < 0) {
		drop_connection(st, "login failed");
		errno = EACCES;
		return -1;
	}
	if (st->warned)
		cq_log(CQ_LOG_NOTICE, 0, "redis %s: connected", st->where);
	st->warned = false;
	return 0;
}

/* ---- keys ---------------------------------------------------------- */

/* The hash key and field of (table, key) into st->key / st->field. */
static int
locate(cq_store_t *st, unsigned table, const void *key, size_t klen)
{
	static const char *const names[CQ_ST_COUNT] = {
		"meta", "sessions", NULL, "retained"};
	const char *p = st->conf->prefix;
	cq_buf_reset(&st->key);
	cq_buf_reset(&st->field);
	if (cq_buf_append(&st->key, p, strlen(p)) < 0)
		return -1;
	if (table != CQ_ST_CHILDREN)
		return cq_buf_append(&st->key, ":", 1) < 0 ||
				cq_buf_append(&st->key, names[table],
					strlen(names[table])) < 0 ||
				cq_buf_append(&st->field, key, klen) < 0
			? -1
			: 0;
	const uint8_t *z = memchr(key, 0, klen);
	if (z == NULL) {
		errno = EINVAL;
		return -1;
	}
	size_t il = (size_t)(z - (const uint8_t *)key);
	return cq_buf_append(&st->key, ":c:", 3) < 0 ||
			cq_buf_append(&st->key, key, il) < 0 ||
			cq_buf_append(&st->field, z + 1, klen - il - 1) < 0
		? -1
		: 0;
}

/* Queue one command of the batch (argv[1] = the hash key). */
static int
append(cq_store_t *st, int argc, const char **argv, const size_t *lens)
{
	if (st->c == NULL || st->broken ||
		redisAppendCommandArgv(st->c, argc, argv, lens) != REDIS_OK) {
		st->broken = true;
		errno = EIO;
		return -1;
	}
	st->pending++;
	return 0;
}

/* ---- batches ------------------------------------------------------- */

static int
redis_begin(cq_store_t *st)
{
	st->broken = false;
	st->pending = 0;
	if (connect_now(st) < 0)
		return -1;
	const char *argv[] = {"MULTI"};
	return append(st, 1, argv, NULL);
}

static int
redis_put(cq_store_t *st, unsigned table, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	if (locate(st, table, key, klen) < 0)
		return -1;
	const char *argv[] = {"HSET", (const char *)cq_buf_head(&st->key),
		(const char *)cq_buf_head(&st->field), val};
	size_t lens[] = {
		4, cq_buf_used(&st->key), cq_buf_used(&st->field), vlen};
	if (vlen == 0)
		argv[3] = "";
	return append(st, 4, argv, lens);
}

static int
redis_del(cq_store_t *st, unsigned table, const void *key, size_t klen)
{
	if (locate(st, table, key, klen) < 0)
		return -1;
	const char *argv[] = {"HDEL", (const char *)cq_buf_head(&st->key),
		(const char *)cq_buf_head(&st->field)};
	size_t lens[] = {4, cq_buf_used(&st->key), cq_buf_used(&st->field)};
	return append(st, 3, argv, lens);
}

/* Only the children of one client id (id + NUL) are ever deleted by
 * prefix: they are one hash. */
static int
redis_del_prefix(
	cq_store_t *st, unsigned table, const void *prefix, size_t plen)
{
	if (table != CQ_ST_CHILDREN || plen == 0 ||
		((const uint8_t *)prefix)[plen - 1] != 0 ||
		locate(st, table, prefix, plen) < 0) {
		errno = EINVAL;
		return -1;
	}
	const char *argv[] = {"DEL", (const char *)cq_buf_head(&st->key)};
	size_t lens[] = {3, cq_buf_used(&st->key)};
	return append(st, 2, argv, lens);
}

static int
redis_commit(cq_store_t *st)
{
	const char *argv[] = {"EXEC"};
	if (append(st, 1, argv, NULL) < 0) {
		drop_connection(st, "a batch could not be sent");
		return -1;
	}
	int rc = 0;
	while (st->pending > 0) {
		redisReply *r;
		if (redisGetReply(st->c, (void **)&r) != REDIS_OK) {
			drop_connection(st, NULL);
			errno = EIO;
			return -1;
		}
		st->pending--;
		/* The last reply is EXEC's: nil when the batch was discarded
		 * (a command was refused when queued). */
		if (r->type == REDIS_REPLY_ERROR ||
			(st->pending == 0 && r->type != REDIS_REPLY_ARRAY)) {
			cq_log(CQ_LOG_ERR, 0, "redis %s: %s", st->where,
				r->type == REDIS_REPLY_ERROR ? r->str
							     : "EXEC failed");
			rc = -1;
		}
		freeReplyObject(r);
	}
	if (rc < 0)
		errno = EIO;
	return rc;
}

static int
redis_abort(cq_store_t *st)
{
	/* Commands may sit in hiredis's buffer: the simplest clean slate is
	 * a new connection (the next begin makes it). */
	if (st->pending > 0)
		drop_connection(st, "batch abandoned");
	st->pending = 0;
	st->broken = false;
	return 0;
}

/* ---- reads --------------------------------------------------------- */

static int
redis_get(cq_store_t *st, unsigned table, const void *key, size_t klen,
	cq_buf_t *buf)
{
	if (connect_now(st) < 0 || locate(st, table, key, klen) < 0)
		return -1;
	const char *argv[] = {"HGET", (const char *)cq_buf_head(&st->key),
		(const char *)cq_buf_head(&st->field)};
	size_t lens[] = {4, cq_buf_used(&st->key), cq_buf_used(&st->field)};
	redisReply *r = command(st, 3, argv, lens);
	if (r == NULL) {
		errno = EIO;
		return -1;
	}
	int rc = 0;
	if (r->type == REDIS_REPLY_STRING) {
		cq_buf_reset(buf);
		rc = cq_buf_append(buf, r->str, r->len) < 0 ? -1 : 1;
	}
	freeReplyObject(r);
	return rc;
}

/* HSCAN every field of hash 'key', calling fn with 'kprefix' + field. */
static int
scan_hash(cq_store_t *st, const char *key, size_t klen, const void *kprefix,
	size_t plen, cq_store_scan_fn fn, void *arg)
{
	char cursor[32] = "0";
	cq_buf_t full = CQ_BUF_INIT;
	int rc = 0;
	do {
		const char *argv[] = {
			"HSCAN", key, cursor, "COUNT", SCAN_COUNT};
		size_t lens[] = {
			5, klen, strlen(cursor), 5, strlen(SCAN_COUNT)};
		redisReply *r = command(st, 5, argv, lens);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
			r->elements != 2) {
			if (r != NULL)
				freeReplyObject(r);
			rc = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		redisReply *kv = r->element[1];
		for (size_t i = 0; rc == 0 && i + 1 < kv->elements; i += 2) {
			cq_buf_reset(&full);
			if (cq_buf_append(&full, kprefix, plen) < 0 ||
				cq_buf_append(&full, kv->element[i]->str,
					kv->element[i]->len) < 0 ||
				fn(arg, cq_buf_head(&full), cq_buf_used(&full),
					kv->element[i + 1]->str,
					kv->element[i + 1]->len) < 0)
				rc = -1;
		}
		freeReplyObject(r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	cq_buf_free(&full);
	return rc;
}

/* The children: every <p>:c:* hash (SCAN may repeat a key: each is read
 * once, by HSCAN over its fields with the client id in front). */
static int scan_children(cq_store_t *st, cq_store_scan_fn fn, void *arg);

static int
redis_scan(cq_store_t *st, unsigned table, cq_store_scan_fn fn, void *arg)
{
	if (connect_now(st) < 0)
		return -1;
	if (table == CQ_ST_CHILDREN)
		return scan_children(st, fn, arg);
	if (locate(st, table, "", 0) < 0)
		return -1;
	cq_buf_t key = CQ_BUF_INIT;
	int rc = cq_buf_append(
			 &key, cq_buf_head(&st->key), cq_buf_used(&st->key)) < 0
		? -1
		: scan_hash(st, (const char *)cq_buf_head(&key),
			  cq_buf_used(&key), NULL, 0, fn, arg);
	cq_buf_free(&key);
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	const redisReply *x = *(redisReply *const *)a;
	const redisReply *y = *(redisReply *const *)b;
	int c = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Every key name matching <p>:c:* into a sorted array of replies (kept
 * alive in *holders). */
static int
child_keys(cq_store_t *st, redisReply ***keys_r, size_t *n_r,
	redisReply ***holders_r, size_t *nh_r)
{
	char pattern[300], cursor[32] = "0";
	snprintf(pattern, sizeof(pattern), "%s:c:*", st->conf->prefix);
	redisReply **keys = NULL, **holders = NULL;
	size_t n = 0, nh = 0;
	do {
		const char *argv[] = {
			"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
		redisReply *r = command(st, 6, argv, NULL);
		redisReply **h2 = realloc(holders, (nh + 1) * sizeof(*h2));
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
			r->elements != 2 || h2 == NULL) {
			if (r != NULL)
				freeReplyObject(r);
			*holders_r = h2 != NULL ? h2 : holders;
			*nh_r = nh;
			free(keys);
			return -1;
		}
		holders = h2;
		holders[nh++] = r;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		redisReply **k2 = realloc(
			keys, (n + r->element[1]->elements + 1) * sizeof(*k2));
		if (k2 == NULL) {
			*holders_r = holders;
			*nh_r = nh;
			free(keys);
			return -1;
		}
		keys = k2;
		for (size_t i = 0; i < r->element[1]->elements; i++)
			keys[n++] = r->element[1]->element[i];
	} while (strcmp(cursor, "0") != 0);
	if (n > 0)
		qsort(keys, n, sizeof(*keys), by_name);
	*keys_r = keys;
	*n_r = n;
	*holders_r = holders;
	*nh_r = nh;
	return 0;
}

static int
scan_children(cq_store_t *st, cq_store_scan_fn fn, void *arg)
{
	redisReply **keys = NULL, **holders = NULL;
	size_t n = 0, nh = 0;
	int rc = child_keys(st, &keys, &n, &holders, &nh);
	size_t skip = strlen(st->conf->prefix) + 3;
	cq_buf_t idz = CQ_BUF_INIT;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0 && by_name(&keys[i - 1], &keys[i]) == 0)
			continue;
		cq_buf_reset(&idz);
		if (keys[i]->len <= skip ||
			cq_buf_append(&idz, keys[i]->str + skip,
				keys[i]->len - skip) < 0 ||
			cq_buf_append(&idz, "", 1) < 0) {
			rc = -1;
			break;
		}
		rc = scan_hash(st, keys[i]->str, keys[i]->len,
			cq_buf_head(&idz), cq_buf_used(&idz), fn, arg);
	}
	cq_buf_free(&idz);
	free(keys);
	for (size_t i = 0; i < nh; i++)
		freeReplyObject(holders[i]);
	free(holders);
	return rc;
}

/* ---- open ---------------------------------------------------------- */

/* 1 when anything is stored under the prefix, 0 when nothing, -1. */
static int
anything_stored(cq_store_t *st)
{
	char pattern[300];
	snprintf(pattern, sizeof(pattern), "%s:*", st->conf->prefix);
	const char *argv[] = {"SCAN", "0", "MATCH", pattern, "COUNT", "1000"};
	char cursor[32] = "0";
	int found = 0;
	do {
		argv[1] = cursor;
		redisReply *r = command(st, 6, argv, NULL);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
			r->elements != 2) {
			if (r != NULL)
				freeReplyObject(r);
			return -1;
		}
		found = r->element[1]->elements > 0;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		freeReplyObject(r);
	} while (!found && strcmp(cursor, "0") != 0);
	return found;
}

static int
check_format(cq_store_t *st, char **error_r)
{
	cq_buf_t v = CQ_BUF_INIT;
	int rc = cq_store_redis.get(st, CQ_ST_META, "format", 6, &v);
	if (rc == 1 &&
		(cq_buf_used(&v) != strlen(CQ_STORE_FORMAT_TAG) ||
			memcmp(cq_buf_head(&v), CQ_STORE_FORMAT_TAG,
				cq_buf_used(&v)) != 0))
		rc = cq_store_fail(error_r,
			"redis %s: stored format \"%.*s\" under prefix "
			"\"%s\", this comqttd reads \"%s\" only; refusing "
			"to touch it",
			st->where, (int)CQ_MIN(cq_buf_used(&v), 64),
			(const char *)cq_buf_head(&v), st->conf->prefix,
			CQ_STORE_FORMAT_TAG);
	else if (rc == 0 && (rc = anything_stored(st)) == 1)
		rc = cq_store_fail(error_r,
			"redis %s: keys under prefix \"%s\" but no format "
			"tag: not comqtt's data; refusing to touch it",
			st->where, st->conf->prefix);
	else if (rc == 0) {
		const char *argv[] = {
			"HSET", "", "format", CQ_STORE_FORMAT_TAG};
		char key[300];
		snprintf(key, sizeof(key), "%s:meta", st->conf->prefix);
		argv[1] = key;
		redisReply *r = command(st, 4, argv, NULL);
		rc = r != NULL ? 0 : -1;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (rc < 0 && *error_r == NULL)
		cq_store_fail(
			error_r, "redis %s: cannot read the store", st->where);
	cq_buf_free(&v);
	return rc < 0 ? -1 : 0;
}

static void redis_close(cq_store_t *st);

static int
redis_open(const cq_config_t *cfg, cq_store_t **st_r, char **error_r)
{
	cq_store_t *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return cq_store_fail(error_r, "out of memory");
	st->conf = &cfg->storage.redis;
	cq_addr_format(&st->conf->address, st->where, sizeof(st->where));
	*error_r = NULL;
	if (connect_now(st) < 0) {
		cq_store_fail(error_r, "redis %s: cannot connect", st->where);
		redis_close(st);
		return -1;
	}
	if (check_format(st, error_r) < 0) {
		redis_close(st);
		return -1;
	}
	cq_log(CQ_LOG_INFO, 0, "redis %s, prefix \"%s\"", st->where,
		st->conf->prefix);
	*st_r = st;
	return 0;
}

static void
redis_close(cq_store_t *st)
{
	if (st == NULL)
		return;
	if (st->c != NULL)
		redisFree(st->c);
	cq_buf_free(&st->key);
	cq_buf_free(&st->field);
	free(st);
}

const cq_store_ops_t cq_store_redis = {
	.name = "redis",
	.abi_version = CQ_STORE_ABI,
	.open = redis_open,
	.close = redis_close,
	.begin = redis_begin,
	.commit = redis_commit,
	.abort = redis_abort,
	.put = redis_put,
	.del = redis_del,
	.del_prefix = redis_del_prefix,
	.get = redis_get,
	.scan = redis_scan,
};
