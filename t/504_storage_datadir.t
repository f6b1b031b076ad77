#!/usr/bin/python3
# 504: the LMDB store in data_dir.
#   a comqtt.mdb that is not LMDB, an LMDB database that is not comqtt's,
#     a comqtt store of another format version, a data_dir that is a file:
#     comqttd exits non-zero with a message naming the file and what is
#     wrong, and the file is left byte for byte as it was
#   the map grows when nearly full (storage.lmdb.map_size) and everything
#     written is there after a restart
#   at storage.lmdb.map_size_max (as with a full disk) commits fail: the
#     broker keeps serving (CONNECT, QoS 0) and refuses new persistent
#     state with 0x97 Quota exceeded [MQTT-3.3.4-1]
import ctypes
import ctypes.util
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import mqttraw as m  # noqa: E402
from cqtest import Broker, comqtt_only, wait_until  # noqa: E402
from tap import T  # noqa: E402

TAG = b"comqtt-storage format 1"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def refused(t, what, prepare, expect_log):
    """A broker whose data_dir prepare(path) filled must not start."""
    b = Broker(t, start=False)
    data = os.path.join(b.dir.path, "data")
    os.makedirs(data, exist_ok=True)
    target = prepare(data)
    before = digest(target) if os.path.isfile(target) else None
    b.start(wait=False)
    rc = b.wait_exit(15)
    t.ok(rc not in (None, 0), "%s: comqttd exits non-zero (%s)" % (what, rc))
    t.ok(b.wait_log(expect_log, 2), "%s: the log says why (/%s/)"
         % (what, expect_log))
    if before is not None:
        t.is_(digest(target), before, "%s: the file is untouched" % what)
    b.stop()


def garbage(data):
    p = os.path.join(data, "comqtt.mdb")
    with open(p, "wb") as f:
        f.write(b"this is not a database\n" * 400)
    return p


def foreign_lmdb(data):
    """An LMDB environment of some other program, made with liblmdb."""
    lib = ctypes.CDLL(ctypes.util.find_library("lmdb"))
    p = os.path.join(data, "comqtt.mdb")

    class Val(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    assert lib.mdb_env_open(env, p.encode(), 0x4000, 0o640) == 0  # NOSUBDIR
    assert lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)) == 0
    assert lib.mdb_dbi_open(txn, None, 0, ctypes.byref(dbi)) == 0
    k, v = b"hello", b"world"
    kv = Val(len(k), ctypes.cast(ctypes.c_char_p(k), ctypes.c_void_p))
    vv = Val(len(v), ctypes.cast(ctypes.c_char_p(v), ctypes.c_void_p))
    assert lib.mdb_put(txn, dbi, ctypes.byref(kv), ctypes.byref(vv), 0) == 0
    assert lib.mdb_txn_commit(txn) == 0
    lib.mdb_env_close(env)
    return p


def file_as_dir(data):
    os.rmdir(data)
    with open(data, "w") as f:
        f.write("a file\n")
    return data


def other_version(t):
    """A store written by this comqttd, its format tag then changed."""
    b = Broker(t, workers=1, nports=1)
    b.client(client_id="v504").publish("v/x", b"kept", qos=1, retain=True)
    b.stop()
    p = os.path.join(b.dir.path, "data", "comqtt.mdb")
    with open(p, "rb") as f:
        raw = f.read()
    t.ok(TAG in raw, "the store carries its format tag")
    with open(p, "wb") as f:
        f.write(raw.replace(TAG, TAG[:-1] + b"9"))
    before = digest(p)
    b.start(wait=False)
    rc = b.wait_exit(15)
    t.ok(rc not in (None, 0), "another format version: comqttd exits "
         "non-zero (%s)" % rc)
    t.ok(b.wait_log(r"stored format \"comqtt-storage format 9\", this "
                    r"comqttd reads \"comqtt-storage format 1\" only", 2),
         "naming both versions")
    t.is_(digest(p), before, "the store is untouched")
    b.stop()


def growth(t):
    b = Broker(t, workers=2, config="storage: {lmdb: {map_size: 1M}}\n")
    pub = b.client(client_id="grow504")
    body = b"x" * 2048
    for i in range(1500):
        pub.publish("g/%d" % i, body, qos=1, retain=True)
    pub.disconnect()
    t.ok(b.wait_log(r"map grown to \d+ MiB", 10), "the 1 MiB map grew")
    time.sleep(0.6)
    b.kill_all()
    b.start()
    c = b.client(client_id="read504")
    c.subscribe([("g/#", 0)])
    got = c.collect(1500, 20)
    t.is_(len(got), 1500, "after a restart all 1500 retained messages "
          "(3 MiB) are there")
    c.disconnect()
    b.stop()


def full(t):
    b = Broker(t, workers=1, nports=1, config="storage: {lmdb: {map_size: "
               "1M, map_size_max: 1M}}\n")
    pub = b.client(proto=m.V5, client_id="full504")
    body = b"y" * 4096
    rc, n = 0, 0
    # Accepted: 0x00, or 0x10 "no matching subscribers" (nobody listens).
    while rc < 0x80 and n < 2000:
        ack = pub.publish("full/%d" % n, body, qos=1, retain=True)
        rc = ack.rc
        n += 1
        if rc < 0x80 and n % 50 == 0:
            time.sleep(0.15)  # let batches commit (and fail)
    t.is_(rc, 0x97, "with the map at map_size_max, a retained QoS 1 "
          "PUBLISH is refused with 0x97 Quota exceeded (after %d)" % (n - 1))
    t.ok(b.wait_log(r"failed; changes wait in the rings and new persistent "
                    r"state is refused", 5), "the log says commits fail")
    c = b.client(client_id="still504")
    t.ok(c.connack.rc == 0, "the broker keeps serving: CONNECT accepted")
    c.subscribe([("live/#", 0)])
    pub.publish("live/x", b"q0", qos=0)
    t.is_([p.payload for p in c.collect(1, 5)], [b"q0"],
          "and QoS 0 messages flow")
    c.disconnect()
    pub.disconnect()
    b.stop()


t = T()
comqtt_only(t, "comqtt-storage")
refused(t, "not an LMDB file", garbage, r"comqtt\.mdb: .*not an LMDB file")
refused(t, "an LMDB database of another program", foreign_lmdb,
        r"not comqtt's .*refusing to touch it")
refused(t, "data_dir is a file", file_as_dir, r"is not a directory")
other_version(t)
growth(t)
full(t)
t.done()
