"""authsql.py — the checks both SQL backends must pass (t/402 postgres,
t/403 mysql), against a server the test started with run_suite().

The tables are Go comqtt's shape under the backend's default names; the
rows are the same for both servers, so both answer the same questions
the same way: AUTH allowed / refused / disabled / unknown, ACL read /
write / deny with wildcard filters, SQL injection attempts in user name,
client id and topic, a bcrypt row, lookups by client id, and the server
restarted mid-test.
"""
from authd import Authd, hash_password, refusal_logged, wait_for

ROWS_USERS = "('alice', '%s', 1), ('bob', '%s', 1), ('carol', '%s', 0)"
ROWS_ACL = """('alice', 'alice/#', 3), ('alice', 'alice/private/#', 0),
  ('alice', 'news/+', 1), ('bob', 'sensors/+/data', 2),
  ('dev-7', 'devices/7/#', 3)"""
GO_BCRYPT_123456 = ("$2a$12$j8bs10UCRC5GUENPqZXLceACpN1l72wcDaN6F0j0rIbcH"
                    "IZpt0Cbq")


def fill(db, create, users, acls):
    """Create the tables (create: DDL text) and insert the rows."""
    sha = hash_password(4, "secret")
    db.sql("CREATE DATABASE comqtt")
    db.sql(create + "\nINSERT INTO %s (username, password, allow) VALUES "
           % users + ROWS_USERS % (sha, sha, sha) + ";\n"
           "INSERT INTO %s (username, topic, access) VALUES " % acls +
           ROWS_ACL + ";", db="comqtt")


def run_suite(t, pg, CONF, name, users, acls):
    """pg: the server (Postgres or MariaDB); CONF: the auth section."""
    a = Authd(t, auth=CONF)
    c = a.client()

    t.ok(c.auth("c1", "alice", "secret").ok, "AUTH alice (sha256): OK")
    t.is_(c.auth("c1", "alice", "Secret").code, "bad_credentials",
          "a wrong password: bad_credentials")
    t.is_(c.auth("c1", "carol", "secret").code, "not_authorized",
          "allow = 0: not_authorized")
    t.is_(c.auth("c1", "nobody", "secret").code, "bad_credentials",
          "an unknown user: bad_credentials")
    t.is_(c.auth("c1", None, None).code, "bad_credentials",
          "no user name: bad_credentials")
    t.ok(refusal_logged(a, "c1", "not_authorized"), "refusals are logged")

    t.ok(c.acl("c1", "alice", "alice/inbox", "w").ok, "alice/# grants write")
    t.ok(c.acl("c1", "alice", "alice/inbox", "r").ok, "... and read")
    t.is_(c.acl("c1", "alice", "alice/private/x", "r").code, "not_authorized",
          "a deny row (access 0) wins over alice/#")
    t.ok(c.acl("c1", "alice", "news/today", "r").ok, "news/+ is readable")
    t.is_(c.acl("c1", "alice", "news/today", "w").code, "not_authorized",
          "news/+ is not writable")
    t.ok(c.acl("c1", "alice", "alice/+/inbox", "s").ok,
         "subscribe alice/+/inbox: covered by alice/#")
    t.is_(c.acl("c1", "alice", "news/#", "s").code, "not_authorized",
          "subscribe news/#: not covered by news/+")
    t.ok(c.acl("c1", "bob", "sensors/9/data", "w").ok,
         "bob writes sensors/+/data")
    t.is_(c.acl("c1", "bob", "sensors/9/data", "r").code, "not_authorized",
          "bob may not read it")
    t.is_(c.acl("c1", "nobody", "x", "w").code, "not_authorized",
          "a user without rows: acl_no_match deny")

    # SQL injection: the key is a parameter of a prepared statement.
    for user in ("alice' OR '1'='1", "alice'--", "x'; DROP TABLE %s;--" % users,
                 'alice" OR "1"="1', "alice\\'"):
        t.is_(c.auth("inj", user, "secret").code, "bad_credentials",
              "AUTH with user %r is refused" % user)
    for topic in ("a'; DROP TABLE %s;--" % acls, "alice/' OR '1'='1"):
        t.is_(c.acl("inj", "alice' OR '1'='1", topic, "w").code,
              "not_authorized", "ACL with topic %r is refused" % topic)
    t.ok(c.acl("inj", "alice", "alice/x", "w").ok and
         "5" in pg.sql("SELECT count(*) FROM %s" % acls, db="comqtt"),
         "the tables are intact")

    # Go comqtt's bcrypt (cost 12, $2a$), checked on the backend's thread.
    pg.sql("UPDATE %s SET password = '%s' WHERE username = 'bob'"
           % (users, GO_BCRYPT_123456), db="comqtt")
    t.ok(a.reload(CONF.replace("password_hash: 4", "password_hash: 1")),
         "reload with password_hash 1")
    c.read_line()
    t.ok(c.auth("c", "bob", "123456").ok, "bcrypt: Go's $2a$ hash of 123456")
    t.is_(c.auth("c", "bob", "1234567").code, "bad_credentials",
          "bcrypt: a wrong password")

    # ACL rows keyed by client id (acl_by: client), injection through it.
    t.ok(a.reload(CONF + "  acl_by: client\n"), "reload with acl_by: client")
    c.read_line()
    t.ok(c.acl("dev-7", "anyone", "devices/7/state", "w").ok,
         "acl_by client: rows of client dev-7")
    t.is_(c.acl("dev-7' OR '1'='1", "anyone", "devices/7/state", "w").code,
          "not_authorized", "a client id with SQL in it is just a key")

    # The database restarts mid-test.
    pg.stop()
    r = c.auth("c", "alice", "secret")
    t.is_(r.code, "unavailable", "database down: AUTH fails closed "
          "(unavailable)")
    t.ok("ttl" not in r.kv, "... and the fault carries no ttl")
    t.is_(c.acl("dev-7", "x", "devices/7/up", "w").code, "unavailable",
          "database down: ACL fails closed")
    pg.start()
    t.ok(wait_for(lambda: c.auth("c", "alice", "secret").ok, 20, 0.2),
         "after the restart authd reconnects and answers again")
    t.ok(c.acl("dev-7", "x", "devices/7/up", "w").ok, "ACL works again")
    t.ok(name + ": " in a.log_text(), "the outage is logged")
    c.close()
    a.stop()
