/*
 * admin-int.h — what the files of comqtt-admin share: the process
 * context, one HTTP request, the response helpers, calls into the workers
 * and reads of shared memory.
 *
 * Ownership of a request: the router allocates a cq_hreq_t and hands it to
 * one handler, which must answer it exactly once, now or later (after the
 * workers replied), with cq_http_json / cq_http_error / cq_http_send; the
 * answer frees it.
 *
 * Reads of shm: between cq_snap_begin() and cq_snap_end() the admin is
 * online for QSBR (its reader slot holds back grace periods); offsets and
 * pointers into shared tries are valid only inside such a section, and
 * cq_snap_pause() passes a quiescent point inside a long walk, after which
 * nothing read before may be used.  Sections are bounded and never wait.
 */
#ifndef CQ_ADMIN_ADMIN_INT_H
#define CQ_ADMIN_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <openssl/ssl.h>

#include "admin/admin.h"
#include "core/json.h"
#include "shm/relptr.h"

#define CQ_ADMIN_PATH_ARGS  4
#define CQ_ADMIN_CALL_MS    3000u /* how long replies of workers may take */
#define CQ_ADMIN_PAGE_MAX   100u
#define CQ_ADMIN_PAGE_DEF   20u
#define CQ_ADMIN_TOKEN_FILE "admin.token"

typedef struct cq_acall cq_acall_t;

typedef struct cq_admin {
	const cq_admin_args_t *args;
	cq_config_t *cfg; /* in force (reloaded on RELOAD) */
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	SSL_CTX *ssl;
	char *token; /* the bearer token in force */
	char *dashboard_dir;
	int sigfd;
	struct event *chan_ev, *death_ev, *sig_ev, *reply_ev, *tick_ev;
	bool stopping;
	bool exit_now;
	cq_acall_t *calls; /* waiting for workers */
	uint64_t next_call_id;
	unsigned next_publisher; /* round robin over the workers */
	uint64_t bl_saved; /* blacklist version last saved */
} cq_admin_t;

/* ---- one request ---------------------------------------------------- */

typedef struct cq_hreq {
	cq_admin_t *a;
	struct evhttp_request *req;
	int method; /* enum evhttp_cmd_type */
	/* Decoded {placeholders} of the route, in order, NUL-terminated. */
	char *arg[CQ_ADMIN_PATH_ARGS];
	size_t arg_len[CQ_ADMIN_PATH_ARGS];
	unsigned nargs;
	struct evkeyvalq *query; /* decoded query string */
	const char *body; /* request body (NUL-terminated), may be "" */
	size_t body_len;
	char peer[64];
} cq_hreq_t;

typedef void (*cq_handler_fn)(cq_hreq_t *r);

/* Answer with 'j' (its document) and free r and j's buffer. */
void cq_http_json(cq_hreq_t *r, int status, cq_json_t *j);
/* {"error": "..."} */
void cq_http_error(cq_hreq_t *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cq_http_send(cq_hreq_t *r, int status, const char *ctype, const void *body,
	size_t len);
/* Call fn once the answer has been written (set before answering). */
void cq_http_on_sent(
	cq_hreq_t *r, void (*fn)(struct evhttp_request *, void *), void *arg);

/* Query parameters: the value or NULL. */
const char *cq_http_query(const cq_hreq_t *r, const char *key);
/*
 * An integer parameter in [min, max], 'def' when absent.  0, or -1 after
 * answering 400 (r is then gone).
 */
int cq_http_query_uint(cq_hreq_t *r, const char *key, uint64_t def,
	uint64_t min, uint64_t max, uint64_t *v_r);
/* A boolean parameter ("true"/"false"/"1"/"0"); -1 after answering 400. */
int cq_http_query_bool(cq_hreq_t *r, const char *key, int def, int *v_r);

/* Paging: ?page= (from 1) and ?page_size= (1..CQ_ADMIN_PAGE_MAX). */
typedef struct cq_page {
	uint64_t page, size;
} cq_page_t;
int cq_http_page(cq_hreq_t *r, cq_page_t *p_r);
/* The [from, to) window of 'total' items a page shows. */
void cq_page_window(
	const cq_page_t *p, size_t total, size_t *from_r, size_t *to_r);
/* Writes "total", "page", "page_size" and the key "items" (open the
 * array next). */
void cq_page_head(cq_json_t *j, const cq_page_t *p, size_t total);

/* The parsed JSON body; -1 after answering 400 (empty or malformed). */
int cq_http_body_json(cq_hreq_t *r, cq_jv_t **root_r);

/* ---- the HTTP server (http.c) --------------------------------------- */

int cq_http_start(cq_admin_t *a);
/* Stop accepting (stopping: what is being answered still goes out). */
void cq_http_close_listener(cq_admin_t *a);
void cq_http_stop(cq_admin_t *a);
/* Apply live settings (body size, timeout) after a reload. */
void cq_http_apply(cq_admin_t *a);
/* SIGHUP: the certificate files of admin.tls read again; when they do not
 * load, the previous context stays (logged). */
void cq_http_tls_reload(cq_admin_t *a);
/* Whether a request carries the token or is exempt. */
bool cq_http_authorized(
	cq_admin_t *a, struct evhttp_request *req, const char *peer);

/* ---- the token (token.c) -------------------------------------------- */

/* The token in force: admin.token, else the file in data_dir (made with a
 * fresh random token on first start).  0, or -1 (logged). */
int cq_admin_token_load(cq_admin_t *a);
/* data_dir (where the token and the blacklist are kept), made with its
 * parents (mode 0750) when missing.  0, or -1 with errno. */
int cq_admin_data_dir(const cq_admin_t *a);

/* ---- the dashboard (static.c) --------------------------------------- */

/* GET of a dashboard file; false when 'path' is not one of its names. */
bool cq_static_serve(
	cq_admin_t *a, struct evhttp_request *req, const char *path);

/* ---- calls into the workers (acall.c) ------------------------------- */

typedef struct cq_apart {
	unsigned slot;
	uint64_t id;
	bool answered;
	uint16_t status; /* CQ_CTL_*, 0 until answered */
	unsigned char *data; /* the reply's payload after the status */
	size_t len;
	void *user; /* the caller's per-part note */
} cq_apart_t;

typedef void (*cq_acall_fn)(cq_acall_t *c);

struct cq_acall {
	cq_admin_t *a;
	cq_hreq_t *r;
	cq_acall_fn done;
	void *ctx;
	void (*ctx_free)(void *ctx);
	cq_apart_t *parts;
	size_t nparts, cap;
	unsigned waiting;
	bool timed_out;
	struct event *timer;
	cq_acall_t *next;
};

cq_acall_t *cq_acall_new(
	cq_hreq_t *r, cq_acall_fn done, void *ctx, void (*ctx_free)(void *ctx));
/*
 * Send one command of the call to worker 'slot'.  0; -1 with errno
 * EAGAIN (its ring is full), EMSGSIZE, EINVAL or ENOMEM.
 */
int cq_acall_send(cq_acall_t *c, unsigned slot, uint16_t type, uint16_t flags,
	const void *payload, size_t len, void *user);
/* Wait for the replies (at most CQ_ADMIN_CALL_MS), then call done, which
 * answers c->r; the call is freed after done returns. */
void cq_acall_start(cq_acall_t *c);
/* Abandon a call before it started (after answering c->r). */
void cq_acall_free(cq_acall_t *c);
/* The admin's eventfd fired: match replies to calls. */
void cq_acall_on_replies(cq_admin_t *a);
/* Stopping: answer every call waiting with 503. */
void cq_acall_abort_all(cq_admin_t *a);
/* The status of a one-command call: its reply's, or 504 (no answer). */
uint16_t cq_acall_status(const cq_acall_t *c);
/*
 * Answer r with the error a worker's status means (0 or NOT_FOUND: 404
 * with 'not_found'; BAD 400; BUSY 503; no answer 504) and return true;
 * false for CQ_CTL_OK (r not answered).
 */
bool cq_acall_failed(cq_hreq_t *r, uint16_t st, const char *not_found);
/* A live worker to give a job no particular worker must do, or -1. */
int cq_acall_any_worker(cq_admin_t *a);
/* Whether worker 'slot' runs (registered in its QSBR slot). */
bool cq_acall_worker_alive(unsigned slot);

/* ---- reads of shm (snap.c) ------------------------------------------ */

void cq_snap_begin(void);
void cq_snap_pause(void);
void cq_snap_end(void);

/* One session, copied out of shm. */
typedef struct cq_srow {
	char *id;
	size_t id_len;
	uint64_t state; /* its state word */
	uint8_t protocol;
	uint32_t inflight;
	uint32_t queued;
	uint32_t nsubs;
} cq_srow_t;

/* Filters of a session scan. */
typedef struct cq_sfilter {
	const char *q; /* substring of the client id, or NULL */
	int online; /* -1 any, 0 offline only, 1 online only */
} cq_sfilter_t;

/* The sessions matching f, sorted by client id.  0, or -1 (ENOMEM). */
int cq_snap_sessions(const cq_sfilter_t *f, cq_srow_t **rows_r, size_t *n_r);
void cq_snap_rows_free(cq_srow_t *rows, size_t n);
/* Messages in the inflight window of 'sess' (inside a read section). */
uint32_t cq_snap_inflight(cq_off_t sess);
/* One session by id; false when there is none. */
bool cq_snap_session(const char *id, size_t len, cq_srow_t *row_r);

/* One subscription, copied. */
typedef struct cq_subrow {
	char *client; /* NULL when listing one client's */
	size_t client_len;
	char *filter;
	size_t filter_len;
	uint8_t qos, no_local, rap, rh;
	uint32_t sub_id;
} cq_subrow_t;

typedef struct cq_subset {
	cq_subrow_t *v;
	size_t n, cap;
	bool failed;
} cq_subset_t;

/* The subscriptions of client 'id' (false: no such session). */
bool cq_snap_subs_of(const char *id, size_t len, cq_subset_t *out);
/* Every subscription of every session (filters as substrings). */
int cq_snap_subs_all(
	const char *client_q, const char *topic_q, cq_subset_t *out);
void cq_subset_free(cq_subset_t *s);

/* A case-sensitive substring test on counted strings. */
bool cq_contains(const char *hay, size_t hlen, const char *needle);

/* ---- resources (res_*.c): the route handlers -------------------------- */

void cq_res_overall(cq_hreq_t *r);
void cq_res_online(cq_hreq_t *r);
void cq_res_workers(cq_hreq_t *r);
void cq_res_metrics(cq_hreq_t *r);
void cq_res_config(cq_hreq_t *r);
void cq_res_reload(cq_hreq_t *r);
void cq_res_stop(cq_hreq_t *r);
void cq_res_auth_invalidate(cq_hreq_t *r);
void cq_res_clients(cq_hreq_t *r);
void cq_res_client(cq_hreq_t *r);
void cq_res_client_kick(cq_hreq_t *r);
void cq_res_client_subs(cq_hreq_t *r);
void cq_res_client_unsubscribe(cq_hreq_t *r);
void cq_res_subscriptions(cq_hreq_t *r);
void cq_res_blacklist(cq_hreq_t *r);
void cq_res_blacklist_add(cq_hreq_t *r);
void cq_res_blacklist_remove(cq_hreq_t *r);
void cq_res_retained(cq_hreq_t *r);
void cq_res_retained_get(cq_hreq_t *r);
void cq_res_retained_delete(cq_hreq_t *r);
void cq_res_topics(cq_hreq_t *r);
void cq_res_message(cq_hreq_t *r);
/* Once a second: note the connected count (clients_maximum). */
void cq_res_note_connected(void);

/* Kick 'id' if it is connected; 'then' answers r with the outcome
 * (status CQ_CTL_* of the worker, or 0 when it was not connected). */
typedef void (*cq_kick_fn)(cq_hreq_t *r, uint16_t status, void *arg);
void cq_admin_kick(
	cq_hreq_t *r, const char *id, size_t len, cq_kick_fn then, void *arg);

/* The blacklist file in data_dir: load once per region, save on change. */
void cq_blacklist_file_load(cq_admin_t *a);
void cq_blacklist_file_save(cq_admin_t *a);

#endif /* CQ_ADMIN_ADMIN_INT_H */
