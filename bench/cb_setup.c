/*
 * cb_setup.c — see cb_setup.h.
 */
#include "config.h"
#include "bench/cb_setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/cb_loop.h"
#include "bench/cb_tls.h"

/* Connections per source address before another is used (the ephemeral
 * port range holds about 28,000). */
#define CONNS_PER_SRC 20000
#define CHURN_SRC     16

uint32_t
cb_setup_nsubs(const cb_run_t *run)
{
	const cb_opts_t *o = &run->o;
	switch (o->scenario) {
	case CB_PAIRS:
		return o->publishers;
	case CB_FANIN:
	case CB_RETAINED:
		return 1;
	case CB_FANOUT:
	case CB_MESH:
		return o->subscribers;
	case CB_STRESSER:
		return o->clients;
	default:
		return 0;
	}
}

uint32_t
cb_setup_npubs(const cb_run_t *run)
{
	const cb_opts_t *o = &run->o;
	switch (o->scenario) {
	case CB_PAIRS:
	case CB_FANIN:
	case CB_MESH:
		return o->publishers;
	case CB_FANOUT:
	case CB_RETAINED:
		return 1;
	case CB_STRESSER:
		return o->clients;
	default:
		return 0;
	}
}

static int
resolve(cb_run_t *run, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai;
	char port[8];
	snprintf(port, sizeof(port), "%u", run->o.port);
	int rc = getaddrinfo(run->o.host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve '%s': %s", run->o.host,
			gai_strerror(rc));
		return -1;
	}
	run->dst = calloc(1, sizeof(*run->dst));
	if (run->dst == NULL) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(run->dst, ai->ai_addr, ai->ai_addrlen);
	run->dst_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Source addresses: --source-ips, or on IPv4 loopback one per
 * CONNS_PER_SRC connections, and at least CHURN_SRC where connections are
 * opened and closed by the thousand (connrate, conns).
 *
 * Why CHURN_SRC: the client closes first, so every closed connection
 * leaves a TIME_WAIT socket on the client's side.  Linux reuses one for
 * a new connect only when it is a second old (tcp_tw_reuse = 2 on
 * loopback) and searches the even half of ip_local_port_range first,
 * so one source address gives about (60999 - 32768) / 2 = 14,100
 * connects per second.  Past that, connect() scans for a free port: the
 * generator's CPU goes into the scan, and the rate measures the scan, not
 * the broker.
 * Sixteen addresses lift that ceiling to about 225,000/s. */
static int
plan_sources(cb_run_t *run, char *err, size_t errlen)
{
	int loop4 = run->dst->ss_family == AF_INET &&
		(ntohl(((struct sockaddr_in *)run->dst)->sin_addr.s_addr) >>
			24) == 127;
	if (run->o.source_ips) {
		if (!loop4) {
			snprintf(err, errlen,
				"--source-ips needs a broker on "
				"127.0.0.0/8");
			return -1;
		}
		run->nsrc = run->o.source_ips;
	} else if (loop4) {
		run->nsrc = (run->nconns + CONNS_PER_SRC - 1) / CONNS_PER_SRC;
		if ((run->o.scenario == CB_CONNRATE ||
			    run->o.scenario == CB_CONNS) &&
			run->nsrc < CHURN_SRC)
			run->nsrc = CHURN_SRC;
		if (run->nsrc == 1)
			run->nsrc = 0;
	}
	return 0;
}

/* Enough descriptors for every connection, raising the hard limit when
 * allowed (root). */
static int
raise_nofile(uint32_t nconns, char *err, size_t errlen)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)nconns + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	struct rlimit want = {need, rl.rlim_max > need ? rl.rlim_max : need};
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return 0;
	want.rlim_max = rl.rlim_max;
	want.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &want);
	snprintf(err, errlen,
		"%u connections need %llu descriptors but RLIMIT_NOFILE is "
		"%llu (raise ulimit -n)",
		nconns, (unsigned long long)need,
		(unsigned long long)rl.rlim_max);
	return -1;
}

static int
add_pub(cb_run_t *run, cb_conn_t *c, uint32_t sid)
{
	const cb_opts_t *o = &run->o;
	cb_pub_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	c->pub = p;
	c->role |= CB_ROLE_PUB;
	p->stream = &run->streams[sid];
	p->next_pid = 1;
	p->target = o->count ? (uint32_t)o->count : UINT32_MAX - 2048;
	p->inflight_max = o->inflight;
	if (o->rate > 0)
		p->interval = 1e9 * cb_setup_npubs(run) / o->rate;
	if (cb_mqtt_publish_tmpl(&p->tmpl, o->version, p->stream->topic, o->qos,
		    o->scenario == CB_RETAINED, o->size) < 0)
		return -1;
	uint8_t *pl = p->tmpl.bytes + p->tmpl.payload_off;
	cb_put_u32(pl + CB_PAYLOAD_TAG, run->tag);
	cb_put_u32(pl + CB_PAYLOAD_STREAM, sid);
	if (o->qos) {
		p->pid_used = calloc(1024, sizeof(uint64_t));
		p->pid_rel = o->qos == 2 ? calloc(1024, sizeof(uint64_t))
					 : NULL;
		if (p->pid_used == NULL || (o->qos == 2 && !p->pid_rel))
			return -1;
	}
	return 0;
}

static int
add_sub(cb_run_t *run, cb_conn_t *c, const char *filter, uint32_t base,
	uint32_t n)
{
	cb_sub_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	c->sub = s;
	c->role |= CB_ROLE_SUB;
	s->filter = strdup(filter);
	s->tracks = calloc(n, sizeof(*s->tracks));
	if (s->filter == NULL || s->tracks == NULL)
		return -1;
	s->base = base;
	s->n = n;
	s->ordered = run->o.scenario != CB_RETAINED;
	for (uint32_t i = 0; i < n; i++) {
		cb_track_init(&s->tracks[i]);
		cb_stream_t *st = &run->streams[base + i];
		st->subs[st->nsubs] = &s->tracks[i];
		st->sub_threads[st->nsubs] = c->th;
		st->nsubs++;
	}
	return 0;
}

static int
make_streams(cb_run_t *run)
{
	run->nstreams = cb_setup_npubs(run);
	run->fan = cb_setup_nsubs(run);
	if (run->o.scenario != CB_FANOUT && run->o.scenario != CB_MESH)
		run->fan = 1;
	if (run->nstreams == 0)
		return 0;
	run->streams = calloc(run->nstreams, sizeof(*run->streams));
	if (run->streams == NULL)
		return -1;
	for (uint32_t i = 0; i < run->nstreams; i++) {
		cb_stream_t *st = &run->streams[i];
		char topic[200];
		snprintf(topic, sizeof(topic), "%s/%u", run->prefix, i);
		st->id = i;
		st->topic = strdup(topic);
		st->subs = calloc(run->fan, sizeof(*st->subs));
		st->sub_threads = calloc(run->fan, sizeof(*st->sub_threads));
		if (!st->topic || !st->subs || !st->sub_threads)
			return -1;
	}
	return 0;
}

/* Connection i: its thread and role(s). */
static int
place(cb_run_t *run, uint32_t i)
{
	const cb_opts_t *o = &run->o;
	cb_conn_t *c = &run->conns[i];
	uint32_t t = (uint32_t)run->nthreads;
	char filter[200];
	switch (o->scenario) {
	case CB_PAIRS:
		c->th = &run->threads[(i / 2) % t];
		if (i % 2 == 0)
			return add_pub(run, c, i / 2);
		return add_sub(run, c, run->streams[i / 2].topic, i / 2, 1);
	case CB_FANIN:
		c->th = &run->threads[i % t];
		if (i > 0)
			return add_pub(run, c, i - 1);
		snprintf(filter, sizeof(filter), "%s/+", run->prefix);
		return add_sub(run, c, filter, 0, run->nstreams);
	case CB_FANOUT:
		c->th = &run->threads[i % t];
		if (i == 0)
			return add_pub(run, c, 0);
		return add_sub(run, c, run->streams[0].topic, 0, 1);
	case CB_MESH:
		c->th = &run->threads[i % t];
		if (i < run->nstreams)
			return add_pub(run, c, i);
		snprintf(filter, sizeof(filter), "%s/+", run->prefix);
		return add_sub(run, c, filter, 0, run->nstreams);
	case CB_STRESSER:
		c->th = &run->threads[i % t];
		if (add_pub(run, c, i) < 0)
			return -1;
		return add_sub(run, c, run->streams[i].topic, i, 1);
	case CB_RETAINED:
		c->th = &run->threads[i % t];
		if (i == 0)
			return add_pub(run, c, 0);
		snprintf(filter, sizeof(filter), "%s/r/#", run->prefix);
		return add_sub(run, c, filter, 0, 1);
	case CB_CONNRATE:
		c->role = CB_ROLE_CYCLE;
		/* fall through */
	default:
		c->th = &run->threads[i % t];
		return 0;
	}
}

static uint32_t
count_conns(const cb_opts_t *o)
{
	switch (o->scenario) {
	case CB_PAIRS:
		return 2 * o->publishers;
	case CB_FANIN:
		return o->publishers + 1;
	case CB_FANOUT:
		return o->subscribers + 1;
	case CB_MESH:
		return o->publishers + o->subscribers;
	case CB_RETAINED:
		return 2;
	default:
		return o->clients;
	}
}

/* Give every thread the list of its connections and publishers. */
static int
distribute(cb_run_t *run)
{
	for (int t = 0; t < run->nthreads; t++) {
		cb_thread_t *th = &run->threads[t];
		th->conns = calloc(run->nconns, sizeof(*th->conns));
		th->pubs = calloc(run->nstreams + 1, sizeof(*th->pubs));
		if (th->conns == NULL || th->pubs == NULL)
			return -1;
	}
	for (uint32_t i = 0; i < run->nconns; i++) {
		cb_conn_t *c = &run->conns[i];
		c->th->conns[c->th->nconns++] = c;
		if (c->pub) {
			c->th->pubs[c->th->npubs++] = c;
			c->pub->stream->pub_thread = c->th;
		}
	}
	return 0;
}

static int
make_layout(cb_run_t *run, char *err, size_t errlen)
{
	run->nconns = count_conns(&run->o);
	run->nthreads = (int)CQ_MIN((uint32_t)run->o.threads, run->nconns);
	run->threads = calloc((size_t)run->nthreads, sizeof(*run->threads));
	run->conns = calloc(run->nconns, sizeof(*run->conns));
	for (int t = 0; run->threads && t < run->nthreads; t++)
		run->threads[t].epfd = run->threads[t].evfd = -1;
	if (run->threads == NULL || run->conns == NULL || make_streams(run) < 0)
		goto oom;
	for (int t = 0; t < run->nthreads; t++) {
		if (cb_loop_init(&run->threads[t], run, t) < 0) {
			snprintf(err, errlen, "thread setup failed: %s",
				strerror(errno));
			return -1;
		}
	}
	for (uint32_t i = 0; i < run->nconns; i++) {
		run->conns[i].fd = -1;
		run->conns[i].id = i;
		if (place(run, i) < 0)
			goto oom;
	}
	if (distribute(run) < 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory laying out %u connections",
		run->nconns);
	return -1;
}

int
cb_setup(cb_run_t *run, const cb_opts_t *o, char *err, size_t errlen)
{
	memset(run, 0, sizeof(*run));
	run->o = *o;
	if (getrandom(&run->tag, sizeof(run->tag), 0) != sizeof(run->tag))
		run->tag = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	run->tag |= 1; /* never 0 */
	snprintf(run->prefix, sizeof(run->prefix), "%s/%08x", o->prefix,
		run->tag);
	atomic_init(&run->phase, CB_PH_IDLE);
	atomic_init(&run->run_start, UINT64_MAX);
	if (resolve(run, err, errlen) < 0)
		return -1;
	if (make_layout(run, err, errlen) < 0 ||
		plan_sources(run, err, errlen) < 0 ||
		raise_nofile(run->nconns, err, errlen) < 0) {
		cb_teardown(run);
		return -1;
	}
	if (o->tls) {
		run->ssl_ctx = cb_tls_ctx_new(o, err, errlen);
		if (run->ssl_ctx == NULL) {
			cb_teardown(run);
			return -1;
		}
	}
	return 0;
}

static void
free_conn(cb_conn_t *c)
{
	if (c->pub) {
		cb_mqtt_publish_tmpl_free(&c->pub->tmpl);
		free(c->pub->pid_used);
		free(c->pub->pid_rel);
		free(c->pub);
	}
	if (c->sub) {
		for (uint32_t i = 0; c->sub->tracks && i < c->sub->n; i++)
			cb_track_free(&c->sub->tracks[i]);
		free(c->sub->tracks);
		free(c->sub->filter);
		free(c->sub);
	}
	cq_buf_free(&c->in);
	cq_buf_free(&c->out);
	cq_buf_free(&c->wire);
	cq_buf_free(&c->wsctl);
	free(c->ws_accept);
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
}

void
cb_teardown(cb_run_t *run)
{
	for (uint32_t i = 0; run->conns && i < run->nconns; i++)
		free_conn(&run->conns[i]);
	free(run->conns);
	for (uint32_t i = 0; run->streams && i < run->nstreams; i++) {
		free(run->streams[i].topic);
		free(run->streams[i].subs);
		free(run->streams[i].sub_threads);
	}
	free(run->streams);
	for (int t = 0; run->threads && t < run->nthreads; t++)
		cb_loop_free(&run->threads[t]);
	free(run->threads);
	if (run->ssl_ctx)
		SSL_CTX_free(run->ssl_ctx);
	free(run->dst);
	memset(run, 0, sizeof(*run));
}
