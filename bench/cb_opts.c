/*
 * cb_opts.c — see cb_opts.h.
 *
 * Numbers are parsed strictly (the whole argument, in range), so a typo
 * never turns into a zero that silently changes the experiment.
 */
#include "config.h"
#include "bench/cb_opts.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scenario_names[] = {"pairs", "fanin", "fanout", "mesh",
	"stresser", "conns", "connrate", "retained"};

const char *
cb_scenario_name(cb_scenario_t s)
{
	return scenario_names[s];
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: comqtt-bench [options] SCENARIO\n"
		"scenarios:\n"
		"  pairs     P publishers, each to its own topic with its own "
		"subscriber\n"
		"  fanin     P publishers -> 1 wildcard subscriber\n"
		"  fanout    1 publisher -> S subscribers of one topic\n"
		"  mesh      P publishers -> S wildcard subscribers (every "
		"message to all)\n"
		"  stresser  N clients each publish M messages to their own "
		"topic\n"
		"            and receive them back\n"
		"  conns     open N idle connections and hold them\n"
		"  connrate  N connectors: connect, CONNACK, DISCONNECT, "
		"repeat\n"
		"  retained  publish R retained messages, then one subscriber "
		"gets them\n"
		"options:\n"
		"  -H, --host ADDR        broker address (127.0.0.1)\n"
		"  -p, --port PORT        broker port (1883)\n"
		"  -V, --mqtt-version V   3 (3.1), 4 or 3.1.1 (default), 5\n"
		"  -q, --qos N            0 (default), 1 or 2\n"
		"  -s, --size BYTES       payload size, at least 24 (64)\n"
		"  -P, --publishers N     pairs (1), fanin (100), mesh (10)\n"
		"  -S, --subscribers N    fanout (1000), mesh (10)\n"
		"  -n, --clients N        stresser (2), conns (1000), connrate "
		"(16)\n"
		"  -c, --count N          messages per publisher (stresser "
		"10000);\n"
		"                         retained: retained messages (1000)\n"
		"  -d, --duration SEC     run time without --count (5); conns: "
		"hold time\n"
		"  -r, --rate MSG/S       open loop at this total rate "
		"(default: closed loop)\n"
		"  -w, --window N         closed loop: messages per publisher "
		"not yet\n"
		"                         received (1000; fanout, mesh 1000/S, "
		">= 2; 0: unlimited)\n"
		"  -i, --inflight N       QoS 1/2: unacknowledged messages per "
		"publisher (20)\n"
		"  -t, --threads N        event-loop threads (1)\n"
		"      --tls              TLS; --cafile FILE, --cert FILE, "
		"--key FILE,\n"
		"                         --insecure (do not verify the "
		"broker)\n"
		"      --ws               MQTT over WebSocket; --ws-path PATH "
		"(/mqtt)\n"
		"  -u, --username NAME    --password PASS; a %%u in either is "
		"the client's\n"
		"                         number (connrate: a new number and "
		"client id\n"
		"                         for every connect)\n"
		"      --users N          %%u counts modulo N\n"
		"      --keepalive SEC    (60; 0: off)\n"
		"      --connect-timeout SEC  per handshake (10)\n"
		"      --drain-timeout SEC    wait for deliveries after the "
		"run "
		"(10)\n"
		"      --concurrency N    handshakes in progress at once (64)\n"
		"      --source-ips N     spread client addresses over "
		"127.0.0.1..N\n"
		"                         (default: one per 20,000 "
		"connections;\n"
		"                         at least 16 in connrate and conns)\n"
		"      --tick-us US       open loop: shortest sleep (50)\n"
		"      --coalesce-us US   pause after a small read so input "
		"batches\n"
		"                         (closed loop 500; open loop, "
		"connrate,\n"
		"                         conns 0)\n"
		"      --broker-pid PID   report the broker's memory (PSS) "
		"and CPU\n"
		"      --topic-prefix STR topics are STR/<run id>/... (cqb)\n"
		"      --json, --kv       machine-readable output\n"
		"  -h, --help             this text; --version\n"
		"exit status: 0 complete, 1 incomplete or messages lost at QoS "
		"1/2, 2 usage\n");
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v_r)
{
	char *end;
	errno = 0;
	if (s[0] == '-' || s[0] == '\0')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*v_r = v;
	return 0;
}

static int
parse_double(const char *s, double lo, double hi, double *v_r)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v < lo ||
		v > hi)
		return -1;
	*v_r = v;
	return 0;
}

enum {
	OPT_TLS = 256,
	OPT_CAFILE,
	OPT_CERT,
	OPT_KEY,
	OPT_INSECURE,
	OPT_WS,
	OPT_WS_PATH,
	OPT_PASSWORD,
	OPT_USERS,
	OPT_KEEPALIVE,
	OPT_CONNECT_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
	OPT_CONCURRENCY,
	OPT_SOURCE_IPS,
	OPT_TICK,
	OPT_COALESCE,
	OPT_BROKER_PID,
	OPT_PREFIX,
	OPT_JSON,
	OPT_KV,
	OPT_VERSION,
};

static const struct option longopts[] = {
	{"host", required_argument, NULL, 'H'},
	{"port", required_argument, NULL, 'p'},
	{"mqtt-version", required_argument, NULL, 'V'},
	{"qos", required_argument, NULL, 'q'},
	{"size", required_argument, NULL, 's'},
	{"publishers", required_argument, NULL, 'P'},
	{"subscribers", required_argument, NULL, 'S'},
	{"clients", required_argument, NULL, 'n'},
	{"count", required_argument, NULL, 'c'},
	{"duration", required_argument, NULL, 'd'},
	{"rate", required_argument, NULL, 'r'},
	{"window", required_argument, NULL, 'w'},
	{"inflight", required_argument, NULL, 'i'},
	{"threads", required_argument, NULL, 't'},
	{"username", required_argument, NULL, 'u'},
	{"password", required_argument, NULL, OPT_PASSWORD},
	{"users", required_argument, NULL, OPT_USERS},
	{"tls", no_argument, NULL, OPT_TLS},
	{"cafile", required_argument, NULL, OPT_CAFILE},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"ws", no_argument, NULL, OPT_WS},
	{"ws-path", required_argument, NULL, OPT_WS_PATH},
	{"keepalive", required_argument, NULL, OPT_KEEPALIVE},
	{"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY},
	{"source-ips", required_argument, NULL, OPT_SOURCE_IPS},
	{"tick-us", required_argument, NULL, OPT_TICK},
	{"coalesce-us", required_argument, NULL, OPT_COALESCE},
	{"broker-pid", required_argument, NULL, OPT_BROKER_PID},
	{"topic-prefix", required_argument, NULL, OPT_PREFIX},
	{"json", no_argument, NULL, OPT_JSON},
	{"kv", no_argument, NULL, OPT_KV},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static void
set_defaults(cb_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = 1883;
	o->version = 4;
	o->size = 64;
	o->window = UINT32_MAX; /* per scenario */
	o->inflight = 20;
	o->threads = 1;
	o->ws_path = "/mqtt";
	o->keepalive = 60;
	o->connect_timeout = 10;
	o->drain_timeout = 10;
	o->concurrency = 64;
	o->tick_us = 50;
	o->coalesce_us = -1; /* auto */
	o->prefix = "cqb";
	o->duration = -1; /* unset */
}

static int
parse_version(const char *s, int *v_r)
{
	if (strcmp(s, "3") == 0 || strcmp(s, "3.1") == 0 ||
		strcmp(s, "31") == 0)
		*v_r = 3;
	else if (strcmp(s, "4") == 0 || strcmp(s, "3.1.1") == 0 ||
		strcmp(s, "311") == 0)
		*v_r = 4;
	else if (strcmp(s, "5") == 0 || strcmp(s, "5.0") == 0)
		*v_r = 5;
	else
		return -1;
	return 0;
}

/* The numeric options: target field, its type and the accepted range. */
typedef struct num_spec {
	int opt;
	char type; /* 'h' uint16, 'u' uint32, 'U' uint64, 'i' int, 'p' pid,
		      'd' double */
	double lo;
	double hi;
	size_t off;
} num_spec_t;

#define NUM(o, t, l, h, f)                                                     \
	{                                                                      \
		(o), (t), (l), (h), offsetof(cb_opts_t, f)                     \
	}
static const num_spec_t num_specs[] = {
	NUM('p', 'h', 1, 65535, port),
	NUM('q', 'i', 0, 2, qos),
	NUM('s', 'u', CB_PAYLOAD_HDR, 1024 * 1024, size),
	NUM('P', 'u', 1, 1000000, publishers),
	NUM('S', 'u', 1, 1000000, subscribers),
	NUM('n', 'u', 1, 1000000, clients),
	NUM('c', 'U', 1, UINT32_MAX - 2048, count),
	NUM('w', 'u', 0, 1u << 30, window),
	NUM('i', 'u', 1, 65535, inflight),
	NUM('t', 'i', 1, 64, threads),
	NUM(OPT_KEEPALIVE, 'h', 0, 65535, keepalive),
	NUM(OPT_CONCURRENCY, 'u', 1, 1000000, concurrency),
	NUM(OPT_SOURCE_IPS, 'u', 1, 254, source_ips),
	NUM(OPT_BROKER_PID, 'p', 1, 1u << 30, broker_pid),
	NUM(OPT_USERS, 'u', 1, UINT32_MAX, users),
	NUM('d', 'd', 0.001, 86400, duration),
	NUM('r', 'd', 1, 1e9, rate),
	NUM(OPT_CONNECT_TIMEOUT, 'd', 0.01, 3600, connect_timeout),
	NUM(OPT_DRAIN_TIMEOUT, 'd', 0.01, 3600, drain_timeout),
	NUM(OPT_TICK, 'd', 1, 1e6, tick_us),
	NUM(OPT_COALESCE, 'd', 0, 100000, coalesce_us),
};

/* A numeric option: 0, -1 (bad value), or 1 (not a numeric option). */
static int
num_opt(int opt, const char *arg, cb_opts_t *o)
{
	const num_spec_t *n = NULL;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(num_specs) && !n; i++)
		if (num_specs[i].opt == opt)
			n = &num_specs[i];
	if (n == NULL)
		return 1;
	char *f = (char *)o + n->off;
	double d;
	uint64_t v;
	if (n->type == 'd') {
		if (parse_double(arg, n->lo, n->hi, &d))
			return -1;
		*(double *)f = d;
		return 0;
	}
	if (parse_u64(arg, (uint64_t)n->lo, (uint64_t)n->hi, &v))
		return -1;
	switch (n->type) {
	case 'h':
		*(uint16_t *)f = (uint16_t)v;
		break;
	case 'u':
		*(uint32_t *)f = (uint32_t)v;
		break;
	case 'U':
		*(uint64_t *)f = v;
		break;
	case 'p':
		*(pid_t *)f = (pid_t)v;
		break;
	default:
		*(int *)f = (int)v;
	}
	return 0;
}

static int
str_opt(int opt, const char *arg, cb_opts_t *o)
{
	switch (opt) {
	case 'H':
		if (strlen(arg) >= sizeof(o->host) || arg[0] == '\0')
			return -1;
		snprintf(o->host, sizeof(o->host), "%s", arg);
		return 0;
	case 'V':
		return parse_version(arg, &o->version);
	case 'u':
		o->username = arg;
		return 0;
	case OPT_PASSWORD:
		o->password = arg;
		return 0;
	case OPT_CAFILE:
		o->cafile = arg;
		return 0;
	case OPT_CERT:
		o->certfile = arg;
		return 0;
	case OPT_KEY:
		o->keyfile = arg;
		return 0;
	case OPT_WS_PATH:
		if (arg[0] != '/' || strpbrk(arg, " \r\n") != NULL)
			return -1;
		o->ws_path = arg;
		return 0;
	case OPT_PREFIX:
		if (arg[0] == '\0' || strpbrk(arg, "+#") != NULL ||
			strlen(arg) > 64)
			return -1;
		o->prefix = arg;
		return 0;
	}
	return 1;
}

static int
flag_opt(int opt, cb_opts_t *o)
{
	switch (opt) {
	case OPT_TLS:
		o->tls = 1;
		return 0;
	case OPT_INSECURE:
		o->insecure = 1;
		return 0;
	case OPT_WS:
		o->ws = 1;
		return 0;
	case OPT_JSON:
		o->format = CB_OUT_JSON;
		return 0;
	case OPT_KV:
		o->format = CB_OUT_KV;
		return 0;
	}
	return 1;
}

static void
scenario_defaults(cb_opts_t *o)
{
	switch (o->scenario) {
	case CB_PAIRS:
		o->publishers = o->publishers ? o->publishers : 1;
		break;
	case CB_FANIN:
		o->publishers = o->publishers ? o->publishers : 100;
		break;
	case CB_FANOUT:
		o->subscribers = o->subscribers ? o->subscribers : 1000;
		break;
	case CB_MESH:
		o->publishers = o->publishers ? o->publishers : 10;
		o->subscribers = o->subscribers ? o->subscribers : 10;
		break;
	case CB_STRESSER:
		o->clients = o->clients ? o->clients : 2;
		o->count = o->count ? o->count : 10000;
		break;
	case CB_CONNS:
		o->clients = o->clients ? o->clients : 1000;
		break;
	case CB_CONNRATE:
		o->clients = o->clients ? o->clients : 16;
		break;
	case CB_RETAINED:
		o->count = o->count ? o->count : 1000;
		break;
	}
	if (o->duration < 0)
		o->duration = 5;
	/* About 1,000 deliveries queued in the broker per publisher: one
	 * fan-out message to 1,000 subscribers is 1,000 deliveries. */
	if (o->window == UINT32_MAX)
		o->window = o->scenario == CB_FANOUT || o->scenario == CB_MESH
			? CQ_MAX(2u, 1000 / o->subscribers)
			: 1000;
	/* Closed loop measures throughput: batch reads.  Open loop measures
	 * latency: read at once.  connrate and conns read only handshake
	 * replies: a pause there would throttle the connect loop itself. */
	if (o->coalesce_us < 0)
		o->coalesce_us = o->rate > 0 || o->scenario == CB_CONNRATE ||
				o->scenario == CB_CONNS
			? 0
			: 500;
}

static int
has_number(const char *s)
{
	return s != NULL && strstr(s, "%u") != NULL;
}

int
cb_opts_expand(char *dst, size_t cap, const char *fmt, uint64_t n)
{
	char num[24];
	size_t nl = (size_t)snprintf(num, sizeof(num), "%" PRIu64, n);
	size_t len = 0;
	for (const char *p = fmt; *p != '\0'; p++) {
		const char *piece = p;
		size_t pl = 1;
		if (p[0] == '%' && p[1] == 'u') {
			piece = num;
			pl = nl;
			p++;
		}
		if (len + pl >= cap)
			return -1;
		memcpy(dst + len, piece, pl);
		len += pl;
	}
	if (cap == 0)
		return -1;
	dst[len] = '\0';
	return (int)len;
}

/* %u in the credentials: --users needs one, and the longest number must
 * fit (checked here so that no connection fails on it later). */
static int
check_numbered(cb_opts_t *o, char *err, size_t errlen)
{
	char buf[CB_CRED_MAX];
	o->numbered = has_number(o->username) || has_number(o->password);
	if (o->users && !o->numbered)
		return fail(err, errlen,
			"--users needs a %%u in --username or --password");
	if (has_number(o->username) &&
		cb_opts_expand(buf, sizeof(buf), o->username, UINT64_MAX) < 0)
		return fail(err, errlen, "--username is too long with %%u");
	if (has_number(o->password) &&
		cb_opts_expand(buf, sizeof(buf), o->password, UINT64_MAX) < 0)
		return fail(err, errlen, "--password is too long with %%u");
	return 0;
}

/* Combinations that make no sense. */
static int
check_combinations(cb_opts_t *o, char *err, size_t errlen)
{
	int pubsub = o->scenario <= CB_STRESSER;
	if (o->rate > 0 && !pubsub)
		return fail(err, errlen,
			"--rate applies to pairs, fanin, "
			"fanout and stresser only");
	if (o->count && (o->scenario == CB_CONNS || o->scenario == CB_CONNRATE))
		return fail(err, errlen, "--count does not apply to %s",
			cb_scenario_name(o->scenario));
	if ((o->cafile || o->certfile || o->keyfile || o->insecure) && !o->tls)
		return fail(err, errlen, "TLS options need --tls");
	if (o->password && !o->username)
		return fail(err, errlen, "--password needs --username");
	return check_numbered(o, err, errlen);
}

static int
one_opt(int opt, const char *arg, cb_opts_t *o)
{
	int rc = num_opt(opt, arg, o);
	if (rc == 1)
		rc = str_opt(opt, arg, o);
	if (rc == 1)
		rc = flag_opt(opt, o);
	return rc;
}

int
cb_opts_parse(cb_opts_t *o, int argc, char **argv, char *err, size_t errlen)
{
	set_defaults(o);
	int opt, li = -1;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv,
			":H:p:V:q:s:P:S:n:c:d:r:w:i:t:u:h", longopts, &li)) !=
		-1) {
		char name[40];
		if (li >= 0)
			snprintf(name, sizeof(name), "--%s", longopts[li].name);
		else
			snprintf(name, sizeof(name), "-%c", opt);
		li = -1;
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("comqtt-bench %s\n", PACKAGE_VERSION);
			return 1;
		}
		if (opt == '?')
			return fail(err, errlen, "unknown option '%s'",
				argv[optind - 1]);
		if (opt == ':')
			return fail(err, errlen, "option '%s' needs a value",
				argv[optind - 1]);
		if (one_opt(opt, optarg, o) != 0)
			return fail(err, errlen, "bad value '%s' for %s",
				optarg ? optarg : "", name);
	}
	if (optind >= argc)
		return fail(err, errlen, "no scenario given");
	if (optind != argc - 1)
		return fail(err, errlen,
			"one scenario expected, got '%s' and "
			"'%s'",
			argv[optind], argv[optind + 1]);
	size_t i;
	for (i = 0; i < CQ_ARRAY_SIZE(scenario_names); i++)
		if (strcmp(argv[optind], scenario_names[i]) == 0)
			break;
	if (i == CQ_ARRAY_SIZE(scenario_names))
		return fail(err, errlen, "unknown scenario '%s'", argv[optind]);
	o->scenario = (cb_scenario_t)i;
	scenario_defaults(o);
	return check_combinations(o, err, errlen);
}
