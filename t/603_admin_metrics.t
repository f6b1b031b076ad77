#!/usr/bin/python3
# 603: GET /metrics is valid Prometheus text format 0.0.4 (checked by a
# strict parser: names, HELP/TYPE once and before the samples, grouping,
# label syntax and escapes, no duplicate series, numeric values, counters
# named *_total and never negative), holds the families operators need,
# and its counters move when messages flow: messages and bytes in/out by
# QoS and worker, drops by reason, connections, auth results; gauges
# follow connections and subscriptions.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from admin import (Api, PromError, metric, metric_sum,  # noqa: E402
                   parse_prometheus)
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-admin")

# The parser itself refuses what the format does not allow.
BAD = ["x 1",  # no TYPE
       "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",  # duplicate series
       "# TYPE x gauge\nx{a=1} 1\n",  # unquoted label value
       "# TYPE x gauge\nx{a=\"\\q\"} 1\n",  # bad escape
       "# TYPE x gauge\nx one\n",  # not a number
       "# TYPE x counter\nx 1\n",  # counter without _total
       "# TYPE x_total counter\nx_total -1\n",  # negative counter
       "# TYPE x gauge\n# TYPE x gauge\nx 1\n",  # TYPE twice
       "# TYPE 9x gauge\n9x 1\n",  # bad name
       "# TYPE x gauge\nx 1",  # no final newline
       "# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n"]  # not grouped
for bad in BAD:
    try:
        parse_prometheus(bad if bad.endswith("\n") or "TYPE" in bad
                         else bad + "\n")
        t.ok(False, "the parser refuses %r" % bad)
    except PromError:
        t.ok(True, "the parser refuses %r" % bad)

b = Broker(t, admin={})
api = Api(b)


def scrape(check=True):
    """The parsed metrics; with check, asserts status, type and syntax."""
    r = api.get("/metrics")
    if check:
        t.ok(r.status == 200 and r.header("Content-Type").startswith(
            "text/plain; version=0.0.4"),
            "GET /metrics: 200, text format 0.0.4")
    try:
        return parse_prometheus(r.text)
    except PromError as e:
        t.ok(False, "the exposition parses: %s" % e)
        return {}


m0 = scrape()
t.ok(m0, "the exposition parses strictly")
for fam in ("comqtt_connections", "comqtt_connections_accepted_total",
            "comqtt_messages_received_total", "comqtt_messages_sent_total",
            "comqtt_bytes_received_total", "comqtt_bytes_sent_total",
            "comqtt_messages_dropped_total", "comqtt_auth_total",
            "comqtt_subscriptions", "comqtt_loop_lag_seconds",
            "comqtt_ring_depth_bytes", "comqtt_sessions",
            "comqtt_retained_messages", "comqtt_shm_arena_bytes",
            "comqtt_qsbr_pending_objects", "comqtt_build_info"):
    t.ok(fam in m0 and m0[fam]["help"], "family %s, with HELP" % fam)
for w in ("0", "1"):
    t.ok(metric(m0, "comqtt_loop_lag_seconds", worker=w) is not None,
         "loop lag of worker %s" % w)
    for reason in ("ring_full", "queue_full", "expired", "acl",
                   "too_large", "no_memory"):
        t.ok(metric(m0, "comqtt_messages_dropped_total", worker=w,
                    reason=reason) is not None,
             "drops of worker %s for %s" % (w, reason))
t.ok(metric(m0, "comqtt_shm_arena_bytes", state="total") > 0,
     "arena size")

# Traffic: a subscriber on worker 1, a publisher on worker 0.
sub = b.client(port=b.ports[1], client_id="m-sub")
sub.subscribe([("m/#", 2)])
pub = b.client(port=b.ports[0], client_id="m-pub")
N = 20
for qos in (0, 1, 2):
    for i in range(N):
        pub.publish("m/q%d" % qos, b"x" * 100, qos=qos)
got = sub.collect(3 * N, 20)
t.is_(len(got), 3 * N, "the subscriber got all %d" % (3 * N))
sub.drain_acks(0.5)


def moved(m1):
    return all(metric(m1, "comqtt_messages_received_total", worker="0",
                      qos=str(q)) - metric(m0, "comqtt_messages_received_"
                                           "total", worker="0", qos=str(q))
               >= N for q in (0, 1, 2))


t.ok(wait_until(lambda: moved(scrape(False)), 5), "messages received by worker "
     "0 went up by %d at each QoS" % N)
m1 = scrape()
for qos in ("0", "1", "2"):
    t.ok(metric(m1, "comqtt_messages_sent_total", worker="1", qos=qos) -
         metric(m0, "comqtt_messages_sent_total", worker="1", qos=qos) >= N,
         "messages sent by worker 1 at QoS %s went up" % qos)
for qos in ("0", "1", "2"):
    t.is_(metric_sum(m1, "comqtt_payload_bytes_received_total", qos=qos) -
          metric_sum(m0, "comqtt_payload_bytes_received_total", qos=qos),
          N * 100.0, "payload bytes received at QoS %s: exactly %d"
          % (qos, N * 100))
    t.is_(metric_sum(m1, "comqtt_payload_bytes_sent_total", qos=qos) -
          metric_sum(m0, "comqtt_payload_bytes_sent_total", qos=qos),
          N * 100.0, "payload bytes sent at QoS %s: exactly %d"
          % (qos, N * 100))
t.ok(metric_sum(m1, "comqtt_bytes_received_total") -
     metric_sum(m0, "comqtt_bytes_received_total") >= 3 * N * 100,
     "bytes received went up by at least the payloads")
t.ok(metric_sum(m1, "comqtt_bytes_sent_total") -
     metric_sum(m0, "comqtt_bytes_sent_total") >= 3 * N * 100,
     "bytes sent too")
t.ok(metric_sum(m1, "comqtt_ring_records_total", direction="out") >
     metric_sum(m0, "comqtt_ring_records_total", direction="out"),
     "records crossed the rings between the workers")
t.ok(metric_sum(m1, "comqtt_connections") >= 2 and
     metric(m1, "comqtt_subscriptions", worker="1") >= 1,
     "gauges: connections and subscriptions")
t.ok(metric_sum(m1, "comqtt_auth_total", result="allow") -
     metric_sum(m0, "comqtt_auth_total", result="allow") >= 2,
     "auth results: the CONNECTs let in")
t.ok(metric(m1, "comqtt_connections_accepted_total", worker="1") >= 1,
     "connections accepted")

pub.disconnect()
sub.disconnect()
t.ok(wait_until(lambda: metric_sum(scrape(False), "comqtt_connections")
                == 0, 5),
     "the connections gauge goes back to 0")
b.stop()
t.done()
