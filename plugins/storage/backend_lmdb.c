/*
 * backend_lmdb.c — the embedded default backend: one LMDB environment,
 * <data_dir>/comqtt.mdb (and its lock file comqtt.mdb-lock), one named
 * database per table of codec.h.
 *
 * Only comqtt-storage opens it, after fork, once (LMDB forbids an
 * environment across fork() or opened twice in one process).  Stale
 * reader slots of a killed predecessor are cleared at open
 * (mdb_reader_check).  Commits are synced (LMDB's default): a commit that
 * returned survives a power failure.
 *
 * Long keys.  LMDB keys are at most 511 bytes; client ids, topics and
 * filters may be longer.  A key longer than KEY_DIRECT is stored as its
 * first KEY_HEAD bytes, a 0xff byte (never in UTF-8, so never in a direct
 * key at that place) and the SHA-256 of the whole key, and its value is
 * prefixed with the whole key (u32 length, bytes), which reads check.
 * Prefix deletes and scans recover whole keys that way.
 *
 * Map size.  The map starts at storage.lmdb.map_size and doubles (up to
 * map_size_max) when a commit leaves it 80% used or a write finds it full
 * (MDB_MAP_FULL: the batch is abandoned, the map grown, the batch tried
 * again by the caller).  At the limit, or when the disk is full, writes
 * fail with ENOSPC and the broker refuses new persistent state.
 *
 * Refusing foreign data: the main database of a comqtt store holds
 * exactly the names of the four tables and the meta table holds the
 * format tag.  Anything else, or a file that is not LMDB, is refused
 * before anything is written.
 */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/dirs.h"
#include "core/log.h"
#include "plugins/storage/backend.h"
#include "plugins/storage/codec.h"

#define DB_FILE    "comqtt.mdb"
#define KEY_DIRECT 448u
#define KEY_HEAD   400u
#define KEY_HASHED (KEY_HEAD + 1u + SHA256_DIGEST_LENGTH)

struct cq_store {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi[CQ_ST_COUNT];
	char path[4200];
	uint64_t map_max;
	bool map_full; /* a write of this batch hit MDB_MAP_FULL */
	cq_buf_t kbuf, vbuf;
};

/* errno for an LMDB result. */
static int
set_errno(int rc)
{
	errno = rc == MDB_MAP_FULL ? ENOSPC : rc > 0 ? rc : EIO;
	return -1;
}

/* ---- keys ---------------------------------------------------------- */

/* The stored key of 'key' (k_r), and for a hashed one the value prefix
 * into st->vbuf (reset either way). */
static int
stored_key(cq_store_t *st, const void *key, size_t klen, MDB_val *k_r)
{
	cq_buf_reset(&st->vbuf);
	if (klen <= KEY_DIRECT) {
		*k_r = (MDB_val){klen, (void *)key};
		return 0;
	}
	uint8_t hk[KEY_HASHED], len4[4];
	memcpy(hk, key, KEY_HEAD);
	hk[KEY_HEAD] = 0xff;
	SHA256(key, klen, hk + KEY_HEAD + 1);
	for (int i = 0; i < 4; i++)
		len4[i] = (uint8_t)(klen >> (8 * i));
	cq_buf_reset(&st->kbuf);
	if (cq_buf_append(&st->kbuf, hk, sizeof(hk)) < 0 ||
		cq_buf_append(&st->vbuf, len4, 4) < 0 ||
		cq_buf_append(&st->vbuf, key, klen) < 0) {
		errno = ENOMEM;
		return -1;
	}
	*k_r = (MDB_val){KEY_HASHED, cq_buf_head(&st->kbuf)};
	return 0;
}

/* The whole key and the value of a stored entry: 0, or -1 (corrupt). */
static int
entry_of(const MDB_val *k, const MDB_val *v, const void **key_r, size_t *klen_r,
	const void **val_r, size_t *vlen_r)
{
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;
	if (k->mv_size != KEY_HASHED || kp[KEY_HEAD] != 0xff) {
		*key_r = kp;
		*klen_r = k->mv_size;
		*val_r = vp;
		*vlen_r = v->mv_size;
		return 0;
	}
	if (v->mv_size < 4)
		return -1;
	size_t kl = (size_t)vp[0] | (size_t)vp[1] << 8 | (size_t)vp[2] << 16 |
		(size_t)vp[3] << 24;
	if (kl <= KEY_DIRECT || kl > v->mv_size - 4)
		return -1;
	*key_r = vp + 4;
	*klen_r = kl;
	*val_r = vp + 4 + kl;
	*vlen_r = v->mv_size - 4 - kl;
	return 0;
}

/* ---- open ---------------------------------------------------------- */

static bool
our_table(const MDB_val *k)
{
	for (unsigned t = 0; t < CQ_ST_COUNT; t++)
		if (k->mv_size == strlen(cq_store_table_names[t]) &&
			memcmp(k->mv_data, cq_store_table_names[t],
				k->mv_size) == 0)
			return true;
	return false;
}

/* What the main database says: 0 empty, 1 a comqtt store, -1 refused. */
static int
inspect(cq_store_t *st, char **error_r)
{
	MDB_txn *txn;
	MDB_dbi main;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return cq_store_fail(error_r, "%s: cannot read: %s", st->path,
			mdb_strerror(rc));
	int n = 0, ours = 0;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main)) == 0 &&
		(rc = mdb_cursor_open(txn, main, &cur)) == 0) {
		while (mdb_cursor_get(cur, &k, &v, n ? MDB_NEXT : MDB_FIRST) ==
			0) {
			n++;
			ours += our_table(&k);
		}
		mdb_cursor_close(cur);
	}
	int result = n == 0 ? 0 : 1;
	if (rc != 0)
		result = cq_store_fail(error_r, "%s: cannot read: %s", st->path,
			mdb_strerror(rc));
	else if (ours != n)
		result = cq_store_fail(error_r,
			"%s: an LMDB database that is not comqtt's (it has "
			"%d other entr%s); refusing to touch it",
			st->path, n - ours, n - ours == 1 ? "y" : "ies");
	mdb_txn_abort(txn);
	return result;
}

/* Open the tables (creating them in a fresh store) and check the tag. */
static int
open_tables(cq_store_t *st, bool fresh, char **error_r)
{
	MDB_txn *txn;
	MDB_val k = {6, "format"}, v;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	for (unsigned t = 0; rc == 0 && t < CQ_ST_COUNT; t++)
		rc = mdb_dbi_open(txn, cq_store_table_names[t],
			fresh ? MDB_CREATE : 0, &st->dbi[t]);
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
		mdb_txn_abort(txn);
		return cq_store_fail(error_r,
			"%s: not a complete comqtt store (a table is missing "
			"or of another kind); refusing to touch it",
			st->path);
	}
	if (rc == 0 && fresh) {
		v = (MDB_val){strlen(CQ_STORE_FORMAT_TAG),
			(void *)CQ_STORE_FORMAT_TAG};
		rc = mdb_put(txn, st->dbi[CQ_ST_META], &k, &v, 0);
	} else if (rc == 0) {
		rc = mdb_get(txn, st->dbi[CQ_ST_META], &k, &v);
		if (rc == 0 &&
			(v.mv_size != strlen(CQ_STORE_FORMAT_TAG) ||
				memcmp(v.mv_data, CQ_STORE_FORMAT_TAG,
					v.mv_size) != 0)) {
			mdb_txn_abort(txn);
			return cq_store_fail(error_r,
				"%s: stored format \"%.*s\", this comqttd "
				"reads \"%s\" only; refusing to touch it",
				st->path, (int)CQ_MIN(v.mv_size, 64),
				(const char *)v.mv_data, CQ_STORE_FORMAT_TAG);
		}
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return cq_store_fail(error_r,
				"%s: no format tag; refusing to touch it",
				st->path);
		}
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0)
		return cq_store_fail(error_r, "%s: cannot open the tables: %s",
			st->path, mdb_strerror(rc));
	return 0;
}

/* data_dir and its missing parents (mkdir -p). */
static int
make_dir(const char *dir, char **error_r)
{
	char failed[4096];
	if (cq_mkdir_p(dir, 0750, failed, sizeof(failed)) >= 0)
		return 0;
	if (errno == ENOTDIR && strcmp(failed, dir) == 0)
		return cq_store_fail(
			error_r, "data_dir %s is not a directory", dir);
	return cq_store_fail(error_r, "data_dir %s: mkdir() of %s failed: %s",
		dir, failed, strerror(errno));
}

static void lmdb_close(cq_store_t *st);

static int
lmdb_open(const cq_config_t *cfg, cq_store_t **st_r, char **error_r)
{
	if (make_dir(cfg->data_dir, error_r) < 0)
		return -1;
	cq_store_t *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return cq_store_fail(error_r, "out of memory");
	snprintf(st->path, sizeof(st->path), "%s/%s", cfg->data_dir, DB_FILE);
	st->map_max = cfg->storage.lmdb.map_size_max;
	int rc = mdb_env_create(&st->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(st->env, CQ_ST_COUNT + 2);
	if (rc == 0)
		rc = mdb_env_set_mapsize(
			st->env, (size_t)cfg->storage.lmdb.map_size);
	if (rc == 0)
		rc = mdb_env_open(st->env, st->path,
			MDB_NOSUBDIR | MDB_NOTLS | MDB_NORDAHEAD, 0640);
	if (rc != 0) {
		cq_store_fail(error_r, "%s: %s%s", st->path, mdb_strerror(rc),
			rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH
				? " (not an LMDB file of this version); "
				  "refusing to touch it"
				: "");
		lmdb_close(st);
		return -1;
	}
	int dead = 0;
	mdb_reader_check(st->env, &dead);
	int kind = inspect(st, error_r);
	if (kind < 0 || open_tables(st, kind == 0, error_r) < 0) {
		lmdb_close(st);
		return -1;
	}
	MDB_envinfo info;
	mdb_env_info(st->env, &info);
	cq_log(CQ_LOG_INFO, 0, "%s %s (map %zu MiB)",
		kind == 0 ? "created" : "opened", st->path,
		info.me_mapsize >> 20);
	*st_r = st;
	return 0;
}

static void
lmdb_close(cq_store_t *st)
{
	if (st == NULL)
		return;
	if (st->txn != NULL)
		mdb_txn_abort(st->txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	cq_buf_free(&st->kbuf);
	cq_buf_free(&st->vbuf);
	free(st);
}

/* ---- the map ------------------------------------------------------- */

/* Double the map (up to the limit): 0, or -1 at the limit. */
static int
grow(cq_store_t *st)
{
	MDB_envinfo info;
	mdb_env_info(st->env, &info);
	size_t now = info.me_mapsize, next = now * 2;
	if (st->map_max != 0 && next > st->map_max)
		next = (size_t)st->map_max;
	if (next <= now)
		return -1;
	int rc = mdb_env_set_mapsize(st->env, next);
	if (rc != 0) {
		cq_log(CQ_LOG_ERR, rc == EINVAL ? 0 : rc,
			"%s: growing the map to %zu MiB failed: %s", st->path,
			next >> 20, mdb_strerror(rc));
		return -1;
	}
	cq_log(CQ_LOG_NOTICE, 0, "%s: map grown to %zu MiB", st->path,
		next >> 20);
	return 0;
}

static void
lmdb_after_commit(cq_store_t *st)
{
	MDB_envinfo info;
	MDB_stat ms;
	if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &ms))
		return;
	uint64_t used = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if (used * 5 > (uint64_t)info.me_mapsize * 4)
		grow(st);
}

/* ---- batches ------------------------------------------------------- */

static int
lmdb_begin(cq_store_t *st)
{
	st->map_full = false;
	int rc = mdb_txn_begin(st->env, NULL, 0, &st->txn);
	if (rc == MDB_MAP_RESIZED) {
		rc = mdb_env_set_mapsize(st->env, 0);
		if (rc == 0)
			rc = mdb_txn_begin(st->env, NULL, 0, &st->txn);
	}
	if (rc != 0) {
		st->txn = NULL;
		return set_errno(rc);
	}
	return 0;
}

static int
lmdb_commit(cq_store_t *st)
{
	int rc = mdb_txn_commit(st->txn);
	st->txn = NULL;
	if (rc == MDB_MAP_FULL)
		st->map_full = true; /* the abort that follows grows it */
	return rc != 0 ? set_errno(rc) : 0;
}

static int
lmdb_abort(cq_store_t *st)
{
	if (st->txn != NULL)
		mdb_txn_abort(st->txn);
	st->txn = NULL;
	/* Full map: the caller tries the batch again in a larger one. */
	int again = st->map_full && grow(st) == 0;
	st->map_full = false;
	return again;
}

static int
write_result(cq_store_t *st, int rc)
{
	if (rc == MDB_MAP_FULL)
		st->map_full = true;
	return rc != 0 ? set_errno(rc) : 0;
}

static int
lmdb_put(cq_store_t *st, unsigned table, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	MDB_val k, v;
	if (stored_key(st, key, klen, &k) < 0)
		return -1;
	if (cq_buf_used(&st->vbuf) > 0) {
		if (cq_buf_append(&st->vbuf, val, vlen) < 0) {
			errno = ENOMEM;
			return -1;
		}
		v = (MDB_val){cq_buf_used(&st->vbuf), cq_buf_head(&st->vbuf)};
	} else
		v = (MDB_val){vlen, (void *)val};
	return write_result(st, mdb_put(st->txn, st->dbi[table], &k, &v, 0));
}

/* The stored entry of 'key' when its whole key matches: 1, 0, -1. */
static int
find(cq_store_t *st, MDB_txn *txn, unsigned table, const void *key, size_t klen,
	MDB_val *v_r)
{
	MDB_val k;
	if (stored_key(st, key, klen, &k) < 0)
		return -1;
	int rc = mdb_get(txn, st->dbi[table], &k, v_r);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return set_errno(rc);
	const void *wk, *wv;
	size_t wkl, wvl;
	if (entry_of(&k, v_r, &wk, &wkl, &wv, &wvl) < 0 || wkl != klen ||
		memcmp(wk, key, klen) != 0)
		return 0;
	*v_r = (MDB_val){wvl, (void *)wv};
	return 1;
}

static int
lmdb_del(cq_store_t *st, unsigned table, const void *key, size_t klen)
{
	MDB_val k, v;
	int rc = find(st, st->txn, table, key, klen, &v);
	if (rc <= 0)
		return rc;
	if (stored_key(st, key, klen, &k) < 0)
		return -1;
	rc = mdb_del(st->txn, st->dbi[table], &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : write_result(st, rc);
}

static int
lmdb_del_prefix(cq_store_t *st, unsigned table, const void *prefix, size_t plen)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(st->txn, st->dbi[table], &cur);
	if (rc != 0)
		return set_errno(rc);
	size_t head = CQ_MIN(plen, (size_t)KEY_HEAD);
	MDB_val k = {head, (void *)prefix}, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= head &&
		memcmp(k.mv_data, prefix, head) == 0) {
		const void *wk, *wv;
		size_t wkl, wvl;
		if (entry_of(&k, &v, &wk, &wkl, &wv, &wvl) == 0 &&
			wkl >= plen && memcmp(wk, prefix, plen) == 0 &&
			(rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : write_result(st, rc);
}

/* ---- reads --------------------------------------------------------- */

static int
lmdb_get(cq_store_t *st, unsigned table, const void *key, size_t klen,
	cq_buf_t *buf)
{
	MDB_txn *txn;
	MDB_val v;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return set_errno(rc);
	rc = find(st, txn, table, key, klen, &v);
	if (rc == 1) {
		cq_buf_reset(buf);
		if (cq_buf_append(buf, v.mv_data, v.mv_size) < 0) {
			errno = ENOMEM;
			rc = -1;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

static int
lmdb_scan(cq_store_t *st, unsigned table, cq_store_scan_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0 && (rc = mdb_cursor_open(txn, st->dbi[table], &cur)) != 0)
		mdb_txn_abort(txn);
	if (rc != 0)
		return set_errno(rc);
	int result = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const void *wk, *wv;
		size_t wkl, wvl;
		if (entry_of(&k, &v, &wk, &wkl, &wv, &wvl) < 0) {
			cq_log(CQ_LOG_ERR, 0,
				"%s: table %s: a long key's entry is "
				"corrupt",
				st->path, cq_store_table_names[table]);
			result = -1;
			break;
		}
		if (fn(arg, wk, wkl, wv, wvl) < 0) {
			result = -1;
			break;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		result = set_errno(rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return result;
}

const cq_store_ops_t cq_store_lmdb = {
	.name = "lmdb",
	.abi_version = CQ_STORE_ABI,
	.open = lmdb_open,
	.close = lmdb_close,
	.begin = lmdb_begin,
	.commit = lmdb_commit,
	.abort = lmdb_abort,
	.put = lmdb_put,
	.del = lmdb_del,
	.del_prefix = lmdb_del_prefix,
	.get = lmdb_get,
	.scan = lmdb_scan,
	.after_commit = lmdb_after_commit,
};
