#!/usr/bin/python3
# 403: the mysql backend against a real MariaDB started by the test on
# 127.0.0.1, with Go comqtt's tables auth and acl: every check of
# t/lib/authsql.py (AUTH and ACL decisions, wildcards, SQL injection,
# bcrypt, acl_by client, the database restarted mid-test).
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import MariaDB, skip_unless_installed  # noqa: E402
from authsql import fill, run_suite  # noqa: E402
from tap import T  # noqa: E402

t = T()
skip_unless_installed(t, *MariaDB.BINARIES)
db = MariaDB(t)
fill(db, """
CREATE TABLE auth (id INT AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(255) NOT NULL UNIQUE, password VARCHAR(255) NOT NULL,
  allow SMALLINT DEFAULT 1 NOT NULL);
CREATE TABLE acl (id INT AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(255) NOT NULL, topic VARCHAR(255) NOT NULL,
  access SMALLINT DEFAULT 3 NOT NULL);
CREATE INDEX acl_username_idx ON acl(username);""", "auth", "acl")
run_suite(t, db, """backends: [mysql]
backend_timeout_ms: 1500
mysql:
  host: 127.0.0.1
  port: %d
  user: root
  database: comqtt
  pool_size: 2
  password_hash: 4
""" % db.port, "mysql", "auth", "acl")
t.done()
