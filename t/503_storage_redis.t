#!/usr/bin/python3
# 503: storage.backend: redis, against a real redis-server started by the
# test on 127.0.0.1: the restart test of t/500 (t/lib/restart.py: sessions
# v3.1.1 and v5 with options, queued QoS 1/2 in order, DUP re-sends with
# packet ids, inbound QoS 2 ids, retained with expiry, expired sessions
# gone) after kill -9 of every broker process and after SIGTERM; the keys
# are under storage.redis.prefix; keys under the prefix that are not
# comqtt's are refused: the broker exits non-zero, the keys stay.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Redis, skip_unless_installed  # noqa: E402
from cqtest import Broker, comqtt_only  # noqa: E402
from restart import run  # noqa: E402
from tap import T  # noqa: E402


def config(port, prefix):
    return ("storage:\n  backend: redis\n  redis: {address: "
            "\"127.0.0.1:%d\", prefix: %s}\n" % (port, prefix))


t = T()
comqtt_only(t, "comqtt-storage")
skip_unless_installed(t, *Redis.BINARIES)
rd = Redis(t)
for how, prefix in (("kill -9", "t503a"), ("SIGTERM", "t503b")):
    run(t, how, config(rd.port, prefix))
keys = rd.cmd("KEYS", "t503a:*")
t.ok("t503a:sessions" in keys and "t503a:meta" in keys and
     "t503a:c:s311" in keys, "the keys: <prefix>:meta, <prefix>:sessions, "
     "<prefix>:c:<client id>")

rd.cmd("SET", "foreign:thing", "not ours")
b = Broker(t, config=config(rd.port, "foreign"), start=False)
b.start(wait=False)
rc = b.wait_exit(15)
t.ok(rc not in (None, 0), "keys under the prefix without comqtt's format "
     "tag: comqttd exits non-zero (%s)" % rc)
t.ok(b.wait_log(r"not comqtt's data; refusing to touch it", 2),
     "saying why")
t.is_(rd.cmd("GET", "foreign:thing").strip(), "not ours",
      "the foreign key is untouched")
t.is_(rd.cmd("KEYS", "foreign:*").split(), ["foreign:thing"],
      "and nothing was added under the prefix")
t.done()
