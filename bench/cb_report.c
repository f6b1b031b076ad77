/*
 * cb_report.c — see cb_report.h.
 *
 * Rates divide by the time from the start of the run to the last event of
 * that kind (last message written, last message received), so a count-
 * limited run and the drain after a timed run are both measured without
 * counting idle time.
 */
#include "config.h"
#include "bench/cb_report.h"

#include <string.h>

#include "bench/cb_opts.h"
#include "bench/cb_setup.h"

static double
secs(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1e9 : 0;
}

static double
per_s(double n, double s)
{
	return s > 0 ? n / s : 0;
}

static void
sum_threads(const cb_run_t *run, cb_result_t *r, uint64_t *last_send_r,
	uint64_t *last_delivery_r)
{
	for (int i = 0; i < run->nthreads; i++) {
		const cb_thread_t *th = &run->threads[i];
		const cb_local_t *l = &th->st;
		r->connected += l->connected;
		r->failed += l->failed;
		r->lost_conns += l->lost_conns;
		r->sent += l->sent;
		r->completed += l->completed;
		r->misrouted += l->misrouted;
		r->foreign += l->foreign;
		r->refused += l->refused;
		r->proto_err += l->proto_err;
		r->retained_flagged += l->retained_flagged;
		r->bytes_in += l->bytes_in;
		r->bytes_out += l->bytes_out;
		if (l->last_send > *last_send_r)
			*last_send_r = l->last_send;
		if (l->last_delivery > *last_delivery_r)
			*last_delivery_r = l->last_delivery;
		cb_hist_merge(&r->lat, &th->lat);
		cb_hist_merge(&r->conn_lat, &th->conn_lat);
		if (l->first_error[0] != '\0' && !strstr(r->error, "; first")) {
			size_t n = strlen(r->error);
			snprintf(r->error + n, sizeof(r->error) - n, "%s%s",
				n ? "; first error: " : "", l->first_error);
		}
	}
}

/* Exact accounting from the trackers: per stream, per subscriber. */
static void
sum_trackers(const cb_run_t *run, cb_result_t *r)
{
	for (uint32_t i = 0; i < run->nconns; i++) {
		const cb_pub_t *p = run->conns[i].pub;
		if (p == NULL)
			continue;
		const cb_stream_t *st = p->stream;
		r->expected += (uint64_t)p->sent * st->nsubs;
		for (uint32_t k = 0; k < st->nsubs; k++) {
			const cb_track_t *t = st->subs[k];
			r->delivered += t->unique;
			r->dup += t->dup;
			if (run->o.scenario != CB_RETAINED)
				r->reordered += t->reordered;
			if (p->sent > t->unique)
				r->lost += p->sent - t->unique;
		}
	}
}

static void
rates(const cb_run_t *run, const cb_times_t *t, cb_result_t *r,
	uint64_t last_send, uint64_t last_delivery)
{
	r->connect_s = secs(t->connect_start, t->connect_end);
	r->run_s = secs(t->run_start, t->run_end);
	if (run->o.scenario == CB_CONNRATE)
		r->connects_per_s = per_s(
			(double)t->connected_in_run, r->run_s);
	else
		r->connects_per_s = per_s((double)r->connected, r->connect_s);
	r->sent_per_s = per_s((double)r->sent, secs(t->run_start, last_send));
	uint64_t from = run->o.scenario == CB_RETAINED ? t->sub_start
						       : t->run_start;
	r->delivered_per_s = per_s(
		(double)r->delivered, secs(from, last_delivery));
	r->ratio = r->expected ? (double)r->delivered / (double)r->expected
			       : 1.0;
}

int
cb_report_collect(const cb_run_t *run, const cb_times_t *t, cb_result_t *r)
{
	memset(r, 0, sizeof(*r));
	r->run = run;
	const cb_opts_t *o = &run->o;
	r->transport = o->ws ? (o->tls ? "wss" : "ws")
			     : (o->tls ? "tls" : "tcp");
	if (cb_hist_init(&r->lat) < 0 || cb_hist_init(&r->conn_lat) < 0)
		return -1;
	snprintf(r->error, sizeof(r->error), "%s", t->error);
	uint64_t last_send = 0, last_delivery = 0;
	sum_threads(run, r, &last_send, &last_delivery);
	sum_trackers(run, r);
	rates(run, t, r, last_send, last_delivery);
	r->cpu_user = t->cpu_user;
	r->cpu_sys = t->cpu_sys;
	r->broker_cpu = t->broker_start.cpu_s >= 0 && t->broker_end.cpu_s >= 0
		? t->broker_end.cpu_s - t->broker_start.cpu_s
		: -1;
	r->pss_start_kb = t->broker_start.pss_kb;
	r->pss_end_kb = t->broker_end.pss_kb;
	r->pss_max_kb = t->broker_pss_max_kb;
	r->bytes_per_conn = -1;
	if (o->scenario == CB_CONNS && r->pss_start_kb >= 0 &&
		r->pss_end_kb >= 0 && r->connected > 0)
		r->bytes_per_conn = (double)(r->pss_end_kb - r->pss_start_kb) *
			1024.0 / (double)r->connected;
	r->complete = t->complete;
	if (o->qos > 0 && r->lost > 0)
		r->complete = 0;
	if (o->qos == 2 && r->dup > 0)
		r->complete = 0;
	if (r->complete)
		r->error[0] = '\0';
	else if (r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error),
			"%llu of %llu messages lost at QoS %d",
			(unsigned long long)r->lost,
			(unsigned long long)r->expected, o->qos);
	return 0;
}

void
cb_report_free(cb_result_t *r)
{
	cb_hist_free(&r->lat);
	cb_hist_free(&r->conn_lat);
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* One machine-readable field: key and value in JSON or key=value form. */
typedef struct field {
	const char *key;
	char kind; /* 's' string, 'u' unsigned, 'i' signed, 'f' double */
	const char *s;
	uint64_t u;
	int64_t i;
	double f;
} field_t;

#define FS(k, v)                                                               \
	{                                                                      \
		.key = (k), .kind = 's', .s = (v)                              \
	}
#define FU(k, v)                                                               \
	{                                                                      \
		.key = (k), .kind = 'u', .u = (uint64_t)(v)                    \
	}
#define FI(k, v)                                                               \
	{                                                                      \
		.key = (k), .kind = 'i', .i = (int64_t)(v)                     \
	}
#define FF(k, v)                                                               \
	{                                                                      \
		.key = (k), .kind = 'f', .f = (double)(v)                      \
	}

static void
print_field(const field_t *f, cb_format_t fmt, FILE *out)
{
	if (fmt == CB_OUT_JSON) {
		json_str(out, f->key);
		fputc(':', out);
	} else {
		fprintf(out, "%s=", f->key);
	}
	switch (f->kind) {
	case 's':
		if (fmt == CB_OUT_JSON)
			json_str(out, f->s);
		else
			fputs(f->s, out);
		break;
	case 'u':
		fprintf(out, "%llu", (unsigned long long)f->u);
		break;
	case 'i':
		fprintf(out, "%lld", (long long)f->i);
		break;
	default:
		fprintf(out, "%.6g", f->f);
	}
}

static void
print_machine(const cb_result_t *r, cb_format_t fmt, FILE *out)
{
	const cb_opts_t *o = &r->run->o;
	const field_t fields[] = {
		FS("scenario", cb_scenario_name(o->scenario)),
		FS("transport", r->transport),
		FU("mqtt_version", o->version),
		FU("qos", o->qos),
		FU("payload_bytes", o->size),
		FU("publishers", cb_setup_npubs(r->run)),
		FU("subscribers", cb_setup_nsubs(r->run)),
		FU("connections", r->run->nconns),
		FU("threads", r->run->nthreads),
		FS("mode", o->rate > 0 ? "open" : "closed"),
		FF("rate_target", o->rate),
		FU("window", o->window),
		FU("inflight", o->inflight),
		FU("connected", r->connected),
		FU("connect_failed", r->failed),
		FU("lost_connections", r->lost_conns),
		FF("connect_s", r->connect_s),
		FF("connects_per_s", r->connects_per_s),
		FF("conn_lat_p50_us", us(cb_hist_quantile(&r->conn_lat, 0.5))),
		FF("conn_lat_p99_us", us(cb_hist_quantile(&r->conn_lat, 0.99))),
		FF("conn_lat_max_us", us(r->conn_lat.max)),
		FF("run_s", r->run_s),
		FU("sent", r->sent),
		FF("sent_per_s", r->sent_per_s),
		FU("expected", r->expected),
		FU("delivered", r->delivered),
		FF("delivered_per_s", r->delivered_per_s),
		FF("delivery_ratio", r->ratio),
		FU("lost", r->lost),
		FU("duplicates", r->dup),
		FU("reordered", r->reordered),
		FU("misrouted", r->misrouted),
		FU("foreign", r->foreign),
		FU("refused", r->refused),
		FU("protocol_errors", r->proto_err),
		FU("retained_flagged", r->retained_flagged),
		FU("lat_count", r->lat.total),
		FF("lat_p50_us", us(cb_hist_quantile(&r->lat, 0.5))),
		FF("lat_p99_us", us(cb_hist_quantile(&r->lat, 0.99))),
		FF("lat_p999_us", us(cb_hist_quantile(&r->lat, 0.999))),
		FF("lat_max_us", us(r->lat.max)),
		FF("lat_mean_us",
			r->lat.total ? r->lat.sum / r->lat.total / 1e3 : 0),
		FF("cpu_user_s", r->cpu_user),
		FF("cpu_sys_s", r->cpu_sys),
		FF("broker_cpu_s", r->broker_cpu),
		FI("broker_pss_start_kb", r->pss_start_kb),
		FI("broker_pss_end_kb", r->pss_end_kb),
		FI("broker_pss_max_kb", r->pss_max_kb),
		FF("bytes_per_conn", r->bytes_per_conn),
		FU("bytes_out", r->bytes_out),
		FU("bytes_in", r->bytes_in),
		FU("complete", r->complete),
		FS("error", r->error),
	};
	if (fmt == CB_OUT_JSON)
		fputc('{', out);
	for (size_t i = 0; i < CQ_ARRAY_SIZE(fields); i++) {
		if (i > 0 && fmt == CB_OUT_JSON)
			fputc(',', out);
		print_field(&fields[i], fmt, out);
		if (fmt == CB_OUT_KV)
			fputc('\n', out);
	}
	if (fmt == CB_OUT_JSON)
		fputs("}\n", out);
}

static const char *
version_name(int v)
{
	return v == 3 ? "3.1" : v == 4 ? "3.1.1" : "5";
}

static void
print_header(const cb_result_t *r, FILE *out)
{
	const cb_run_t *run = r->run;
	const cb_opts_t *o = &run->o;
	fprintf(out, "comqtt-bench %s: ", cb_scenario_name(o->scenario));
	if (o->scenario <= CB_STRESSER || o->scenario == CB_RETAINED)
		fprintf(out,
			"%u publisher(s), %u subscriber(s), QoS %d, "
			"%u-byte payload, ",
			cb_setup_npubs(run), cb_setup_nsubs(run), o->qos,
			o->size);
	else
		fprintf(out, "%u connection(s), ", run->nconns);
	fprintf(out, "MQTT %s over %s, %d thread(s)", version_name(o->version),
		r->transport, run->nthreads);
	if (o->scenario <= CB_STRESSER) {
		if (o->rate > 0)
			fprintf(out, ", open loop at %.0f msg/s", o->rate);
		else
			fprintf(out, ", closed loop (window %u)", o->window);
	}
	fputc('\n', out);
}

static void
print_messages(const cb_result_t *r, FILE *out)
{
	fprintf(out, "run          %.3f s\n", r->run_s);
	fprintf(out, "sent         %llu msgs  %.1f msg/s\n",
		(unsigned long long)r->sent, r->sent_per_s);
	fprintf(out,
		"delivered    %llu of %llu  %.1f msg/s  ratio %.4f %%  "
		"lost %llu  duplicates %llu  reordered %llu\n",
		(unsigned long long)r->delivered,
		(unsigned long long)r->expected, r->delivered_per_s,
		r->ratio * 100, (unsigned long long)r->lost,
		(unsigned long long)r->dup, (unsigned long long)r->reordered);
	if (r->lat.total)
		fprintf(out,
			"latency      p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  "
			"max %.3f ms  (%llu samples)\n",
			us(cb_hist_quantile(&r->lat, 0.5)) / 1e3,
			us(cb_hist_quantile(&r->lat, 0.99)) / 1e3,
			us(cb_hist_quantile(&r->lat, 0.999)) / 1e3,
			us(r->lat.max) / 1e3, (unsigned long long)r->lat.total);
	if (r->misrouted || r->foreign || r->refused || r->proto_err)
		fprintf(out,
			"anomalies    misrouted %llu  foreign %llu  refused "
			"%llu  protocol errors %llu\n",
			(unsigned long long)r->misrouted,
			(unsigned long long)r->foreign,
			(unsigned long long)r->refused,
			(unsigned long long)r->proto_err);
}

static void
print_connections(const cb_result_t *r, FILE *out)
{
	double p50 = us(cb_hist_quantile(&r->conn_lat, 0.5)) / 1e3;
	double p99 = us(cb_hist_quantile(&r->conn_lat, 0.99)) / 1e3;
	if (r->run->o.scenario == CB_CONNRATE)
		fprintf(out,
			"connections  %u connectors: %llu connects (%llu "
			"failed) in %.3f s, %.1f connects/s; handshake p50 "
			"%.3f ms p99 %.3f ms\n",
			r->run->nconns, (unsigned long long)r->connected,
			(unsigned long long)r->failed, r->run_s,
			r->connects_per_s, p50, p99);
	else
		fprintf(out,
			"connections  %llu of %u connected (%llu failed) in "
			"%.3f s, %.1f connects/s; handshake p50 %.3f ms p99 "
			"%.3f ms\n",
			(unsigned long long)r->connected, r->run->nconns,
			(unsigned long long)r->failed, r->connect_s,
			r->connects_per_s, p50, p99);
}

static void
print_text(const cb_result_t *r, FILE *out)
{
	const cb_opts_t *o = &r->run->o;
	print_header(r, out);
	print_connections(r, out);
	if (o->scenario <= CB_STRESSER || o->scenario == CB_RETAINED)
		print_messages(r, out);
	fprintf(out, "cpu          comqtt-bench %.2f s (user %.2f, sys %.2f)",
		r->cpu_user + r->cpu_sys, r->cpu_user, r->cpu_sys);
	if (r->broker_cpu >= 0)
		fprintf(out, "; broker %.2f s", r->broker_cpu);
	fputc('\n', out);
	if (r->pss_start_kb >= 0 && r->pss_end_kb >= 0)
		fprintf(out,
			"broker       PSS %.1f MB at start, %.1f MB at end, "
			"%.1f MB at most\n",
			r->pss_start_kb / 1024.0, r->pss_end_kb / 1024.0,
			r->pss_max_kb / 1024.0);
	if (r->bytes_per_conn >= 0)
		fprintf(out, "memory       %.0f bytes per connection\n",
			r->bytes_per_conn);
	fprintf(out, "result       %s%s%s\n",
		r->complete ? "complete" : "INCOMPLETE",
		r->error[0] ? ": " : "", r->error);
}

void
cb_report_print(const cb_result_t *r, cb_format_t fmt, FILE *out)
{
	if (fmt == CB_OUT_TEXT)
		print_text(r, out);
	else
		print_machine(r, fmt, out);
	fflush(out);
}
