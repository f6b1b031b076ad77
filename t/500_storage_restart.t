#!/usr/bin/python3
# 500: the broker comes back with its state after a restart (storage.backend
# lmdb, the default), once after SIGKILL of the master and every child at
# the same moment, once after a graceful stop (SIGTERM).
#   persistent sessions, MQTT 3.1.1 and 5, are still there: session
#     present 1 [MQTT-3.2.2-2], with their subscriptions and options
#     (QoS, no local, retain as published, subscription identifier)
#     [MQTT-3.1.2-4]
#   QoS 1 and 2 messages queued while they were offline come, in order,
#     DUP 0 [MQTT-3.1.2-5] [MQTT-4.6.0-6]
#   QoS 1/2 messages sent but not acknowledged are sent again with DUP 1
#     and the same packet ids, in their order [MQTT-4.4.0-1] [MQTT-4.6.0-1]
#   a QoS 2 packet id received before the stop and not yet released is
#     still known: the re-sent PUBLISH is not delivered twice, PUBREL is
#     answered with PUBCOMP 0x00 [MQTT-4.3.3-2]
#   retained messages come back; a cleared one does not, an expired one
#     does not [MQTT-3.3.2-5]
#   a session whose expiry interval passed while the broker was down is
#     gone: session present 0 [MQTT-3.1.2-23]
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import comqtt_only  # noqa: E402
from restart import run  # noqa: E402
from tap import T  # noqa: E402

t = T()
comqtt_only(t, "comqtt-storage")
for how in ("kill -9", "SIGTERM"):
    run(t, how)
t.done()
