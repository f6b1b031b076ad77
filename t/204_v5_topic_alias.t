#!/usr/bin/python3
# 204: MQTT 5 topic aliases (3.3.2.3.4), both directions.
#   client -> broker: a PUBLISH with a topic and an alias sets the
#     mapping; one with an empty topic and the alias uses it; a new topic
#     for the same alias replaces it; the subscriber sees the real topic
#     and no alias property of the publisher's (aliases are per hop)
#   an empty topic with an alias never set: DISCONNECT 0x82 (3.3.4); alias
#     0 or above the broker's maximum: 0x94 (122 tests those)
#   [MQTT-3.3.2-7] mappings do not survive the connection
#   broker -> client: [MQTT-3.1.2-27] none to a client that sent no Topic
#     Alias Maximum; [MQTT-3.1.2-26] never above the client's maximum; the
#     first delivery of a topic carries topic and alias, later ones the
#     alias and an empty topic; when all aliases are taken one is reused
#     for a new topic (sent with its topic); every delivery resolves to
#     its real topic
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker  # noqa: E402
from tap import T  # noqa: E402

t = T()
b = Broker(t, workers=2)
P0, P1 = b.port_for_worker(0), b.port_for_worker(1)
t.is_(b.client(proto=m.V5, client_id="tam204").connack.props.get(
    "topic_alias_maximum"), 10, "CONNACK announces mqtt.topic_alias_maximum")

plain = b.client(port=P1, proto=m.V5, client_id="plain204")
plain.subscribe([("ta/#", 1)])

# -- inbound --------------------------------------------------------------
pub = b.client(port=P0, proto=m.V5, client_id="pub204")
pub.publish("ta/a", b"1", qos=1, props={"topic_alias": 1})
pub.publish("", b"2", qos=1, props={"topic_alias": 1})
pub.publish("ta/b", b"3", qos=1, props={"topic_alias": 1})
pub.publish("", b"4", qos=1, props={"topic_alias": 1})
got = plain.collect(4, 5)
t.is_([(p.topic, p.payload) for p in got],
      [("ta/a", b"1"), ("ta/a", b"2"), ("ta/b", b"3"), ("ta/b", b"4")],
      "inbound aliases: set, used, replaced")
t.ok(all("topic_alias" not in p.props for p in got), "a subscriber that "
     "takes no aliases gets none [MQTT-3.1.2-27]")
pub.close()
pub = b.client(port=P0, proto=m.V5, client_id="pub204")
pub.send(m.publish("", b"5", qos=1, pid=1, props={"topic_alias": 1},
                   proto=m.V5))
t.ok(pub.closed_by_disconnect(0x82),
     "a new connection has no mappings [MQTT-3.3.2-7]: the alias is "
     "unknown, DISCONNECT 0x82 (%r)" % pub.last_close)
t.is_(plain.collect(1, 0.5), [], "and nothing was delivered")

# -- outbound ---------------------------------------------------------------
sub = b.client(port=P1, proto=m.V5, client_id="sub204",
               props={"topic_alias_maximum": 2})
sub.subscribe([("to/#", 1)])
pub = b.client(port=P0, proto=m.V5, client_id="pub204b")
topics = ["to/a", "to/a", "to/b", "to/a", "to/b", "to/c", "to/c", "to/a",
          "to/b"]
for i, tp in enumerate(topics):
    pub.publish(tp, b"%d" % i, qos=1)
got = sub.collect(len(topics), 10)
amap, resolved, ok_max, errors = {}, [], True, []
for p in got:
    alias = p.props.get("topic_alias")
    if alias is not None:
        ok_max = ok_max and 1 <= alias <= 2
        if p.topic:
            amap[alias] = p.topic
        elif alias not in amap:
            errors.append("alias %d used before it was set" % alias)
    resolved.append(p.topic or amap.get(alias, "?"))
t.is_(errors, [], "every alias-only PUBLISH uses an alias set before")
t.is_(resolved, topics, "every delivery resolves to its real topic")
t.ok(ok_max, "aliases 1..2 only: never above the client's maximum "
     "[MQTT-3.1.2-26]")
t.ok(got and got[0].topic == "to/a" and got[0].props.get("topic_alias"),
     "the first delivery of a topic carries the topic and its alias")
t.ok(len(got) > 1 and got[1].topic == "" and
     got[1].props.get("topic_alias") == got[0].props.get("topic_alias"),
     "the next one only the alias, with an empty topic")
t.ok(any(p.topic == "to/c" and p.props.get("topic_alias") for p in got),
     "with both aliases taken, a new topic gets one reassigned")
sub.close()
sub = b.client(port=P0, proto=m.V5, client_id="sub204",
               props={"topic_alias_maximum": 2})
sub.subscribe([("to/#", 1)])
pub.publish("to/a", b"again", qos=1)
p = sub.recv_publish(5)
t.is_(p.topic if p else None, "to/a", "a new connection: the topic is sent "
      "again with its alias [MQTT-3.3.2-7]")
t.done()
