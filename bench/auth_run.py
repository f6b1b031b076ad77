#!/usr/bin/python3
"""auth_run.py — run bench/auth_bench against comqtt-authd with the ledger
and with PostgreSQL (started here on 127.0.0.1, as the tests do), print
the figures for bench/AUTH.md.

    CQ_BUILD=build bench/auth_run.py [COUNT]

Uses the release build (CQ_BUILD, default build/) and t/lib's helpers.
bench/auth_broker.py imports Quiet from here.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Absolute: authd is started with its temporary directory as cwd.
os.environ["CQ_BUILD"] = os.path.abspath(
    os.environ.get("CQ_BUILD") or os.path.join(HERE, "..", "build"))
sys.path.insert(0, os.path.join(HERE, "..", "t", "lib"))
from authd import Authd, Postgres, hash_password  # noqa: E402
from cqtest import Quiet, binary  # noqa: E402

COUNT = 200000
USERS = 1000
# Go comqtt's tables (etc/auth-postgres.yml), empty; bench/auth_broker.py
# uses them too.
PG_TABLES = """
CREATE TABLE mqtt_user (id serial PRIMARY KEY, username TEXT UNIQUE,
  password TEXT, allow smallint DEFAULT 1);
CREATE TABLE mqtt_acl (id serial PRIMARY KEY, username TEXT, topic TEXT,
  access smallint);
CREATE INDEX ON mqtt_acl(username);
"""


def bench(socket, kind, window, extra=()):
    r = subprocess.run([binary("auth_bench"), "-s", socket, "-k", kind,
                        "-n", str(COUNT), "-w", str(window), "-c",
                        str(USERS), "-u", "bench", "-p", "bench", "-t",
                        "bench"] + list(extra), capture_output=True,
                       text=True, timeout=600)
    print("  " + (r.stdout.strip() or r.stderr.strip()))


def ledger(t):
    users = "".join("  bench%d: {password: bench}\n" % i for i in range(USERS))
    rules = ("users:\n" + users + "  bench: {password: bench, acl: "
             "{\"bench/#\": 3}}\nacl:\n" +
             "".join("  - {client: \"other-%d\", filters: {\"x/%d\": 1}}\n"
                     % (i, i) for i in range(100)))
    a = Authd(t, auth="backends: [ledger]\nledger:\n  file: ledger.yml",
              files={"ledger.yml": rules})
    print("ledger (%d users, 100 acl rules before the match):" % USERS)
    for w in (1, 64, 256):
        bench(a.socket, "auth", w)
    for w in (1, 64, 256):
        bench(a.socket, "acl", w)
    a.stop()


def postgres(t):
    pg = Postgres(t)
    pg.sql("CREATE DATABASE comqtt")
    sha = hash_password(4, "bench")
    pg.sql(PG_TABLES + """
INSERT INTO mqtt_user (username, password) SELECT 'bench' || g, '%s'
  FROM generate_series(0, %d) g;
INSERT INTO mqtt_user (username, password) VALUES ('bench', '%s');
INSERT INTO mqtt_acl (username, topic, access) SELECT 'bench',
  'bench/' || g || '/#', 1 FROM generate_series(0, 9) g;
INSERT INTO mqtt_acl (username, topic, access) VALUES ('bench', 'bench/#', 3);
ANALYZE;""" % (sha, USERS, sha), db="comqtt")
    for pool in (2, 4):
        a = Authd(t, auth="""backends: [postgres]
postgres:
  host: 127.0.0.1
  port: %d
  user: postgres
  database: comqtt
  sslmode: disable
  pool_size: %d
  password_hash: 4
""" % (pg.port, pool))
        print("postgres (pool_size %d, sha256, 11 ACL rows per user):"
              % pool)
        for w in (1, 64, 256):
            bench(a.socket, "auth", w)
        for w in (1, 64, 256):
            bench(a.socket, "acl", w)
        a.stop()


def main():
    global COUNT
    if len(sys.argv) > 1:
        COUNT = int(sys.argv[1])
    t = Quiet()
    try:
        ledger(t)
        postgres(t)
    finally:
        t.close()


if __name__ == "__main__":
    main()
