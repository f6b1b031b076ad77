#!/usr/bin/python3
# 402: the postgres backend against a real PostgreSQL 15 started by the
# test on 127.0.0.1, with the default tables mqtt_user and mqtt_acl:
# every check of t/lib/authsql.py (AUTH and ACL decisions, wildcards, SQL
# injection, bcrypt, acl_by client, the database restarted mid-test).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Postgres, skip_unless_installed  # noqa: E402
from authsql import fill, run_suite  # noqa: E402
from tap import T  # noqa: E402

t = T()
skip_unless_installed(t, *Postgres.BINARIES)
pg = Postgres(t)
fill(pg, """
CREATE TABLE mqtt_user (id serial PRIMARY KEY, username TEXT NOT NULL UNIQUE,
  password TEXT NOT NULL, allow smallint DEFAULT 1 NOT NULL);
CREATE TABLE mqtt_acl (id serial PRIMARY KEY, username TEXT NOT NULL,
  topic TEXT NOT NULL, access smallint DEFAULT 3 NOT NULL);
CREATE INDEX mqtt_acl_username_idx ON mqtt_acl(username);""",
     "mqtt_user", "mqtt_acl")
run_suite(t, pg, """backends: [postgres]
backend_timeout_ms: 1500
postgres:
  host: 127.0.0.1
  port: %d
  user: postgres
  database: comqtt
  sslmode: disable
  pool_size: 2
  password_hash: 4
""" % pg.port, "postgres", "mqtt_user", "mqtt_acl")
t.done()
