#!/usr/bin/python3
# 003: comqttd -t checks a configuration file (exit status and message),
# --workers overrides it, and --print-config prints a file that -t accepts
# and that prints back the same.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import SRCDIR, TempDir, binary, run  # noqa: E402
from tap import T  # noqa: E402

COMQTTD = binary("comqttd")
t = T()
tmp = TempDir()
t.cleanup(tmp.remove)


def check(text, name="c.yml", args=()):
    path = tmp.file(name, text)
    return path, run([COMQTTD, "-t", "-c", path] + list(args))


# Good files.
GOOD = {
    "empty": "",
    "comments": "# nothing but a comment\n",
    "partial": "limits:\n  max_inflight: 10\nlog:\n  level: debug\n",
    "listeners": 'listeners:\n  - name: a\n    address: "127.0.0.1:1999"\n'
                 '  - name: b\n    type: unix\n    address: /tmp/cq.sock\n'
                 '    mode: 0600\n  - name: c\n    address: "[::1]:1999"\n',
    "shipped": open(os.path.join(SRCDIR, "etc", "comqtt.yml")).read(),
}
for what, text in GOOD.items():
    path, r = check(text, what + ".yml")
    t.is_(r.returncode, 0, "-t accepts the %s file" % what)
    t.ok("configuration file %s is valid" % path in r.stderr,
         "and says it is valid")
    if r.returncode:
        t.diag(r.stderr)

r = run([COMQTTD, "-t"])
t.is_(r.returncode, 0, "-t without -c checks the embedded defaults")
t.ok("the default configuration is valid" in r.stderr, "and says so")

# Bad files: exit 1 and one line naming file:line:column and the key.
BAD = [
    ("limits:\n  max_packet_size: big\n",
     ":2:20: limits.max_packet_size: expected a size like 1M, got \"big\""),
    ("limits:\n  max_packet_size: 512M\n",
     ":2:20: limits.max_packet_size: expected a size from 128 to "
     "268435455, got \"512M\""),
    ("workers: 65\n",
     ":1:10: workers: expected an integer from 0 to 64, got \"65\""),
    ("mqtt:\n  retain_avialable: true\n",
     ":2:3: mqtt.retain_avialable: unknown key (did you mean "
     "retain_available?)"),
    ("log:\n  level: info\n  level: warn\n",
     ":3:3: log.level: duplicate key (first set at 2:10)"),
    ("limits: [1]\n", ":1:9: limits: expected a map of keys, got a list"),
    ("listeners:\n  - name: a\n    address: \":1\"\n"
     "  - name: a\n    address: \":2\"\n",
     ":4:11: listeners[1].name: listeners[0] already has the name \"a\""),
    ("listeners:\n  - name: x\n", ":2:5: listeners[0]: the key address is "
     "required"),
    ("log:\n\tlevel: info\n", ":2:1: YAML syntax error: found character "
     "that cannot start any token (while scanning for the next token at "
     "2:1) (tabs cannot indent YAML: use spaces)"),
    ("user: \"unclosed\n", ":2:1: YAML syntax error: found unexpected end "
     "of stream (while scanning a quoted scalar at 1:7)"),
]
for i, (text, want) in enumerate(BAD):
    path, r = check(text, "bad%d.yml" % i)
    t.is_(r.returncode, 1, "-t refuses bad file %d" % i)
    t.is_(r.stderr, "comqttd: %s%s\n" % (path, want),
          "with the file, position, key and reason")

r = run([COMQTTD, "-t", "-c", os.path.join(tmp.path, "missing.yml")])
t.is_(r.returncode, 1, "-t on a missing file exits 1")
t.ok("missing.yml: cannot open: No such file or directory" in r.stderr,
     "and says it cannot open it")
r = run([COMQTTD, "-t", "-c", tmp.path])
t.is_(r.returncode, 1, "-t on a directory exits 1")
t.ok("is a directory" in r.stderr, "and says so")

# --workers overrides the file, and is checked like the key.
path = tmp.file("w.yml", "workers: 2\n")
r = run([COMQTTD, "-c", path, "--workers", "5", "--print-config"])
t.is_(r.returncode, 0, "--workers with --print-config exits 0")
t.ok("\nworkers: 5\n" in r.stdout, "--workers wins over the file")
r = run([COMQTTD, "-t", "--workers", "100"])
t.is_(r.returncode, 1, "--workers 100 is refused")
t.is_(r.stderr, "comqttd: --workers: expected an integer from 0 to 64, "
      "got \"100\"\n", "with the option named")

# --print-config round trip: what it prints, -t accepts and prints back.
CONFIGS = {
    "defaults": None,
    "custom": "workers: 3\nshm_size: 1048576K\nsys_interval: 120\n"
              "log: {file: /tmp/x.log}\n"
              "listeners:\n  - {name: v6, address: \"[0::0]:1883\"}\n"
              "  - {name: u, type: unix, address: /tmp/u.sock, mode: 600}\n"
              "mqtt: {maximum_session_expiry_interval: 86400}\n",
}
for what, text in CONFIGS.items():
    args = [COMQTTD, "--print-config"]
    if text is not None:
        args += ["-c", tmp.file(what + ".yml", text)]
    first = run(args)
    t.is_(first.returncode, 0, "--print-config of the %s exits 0" % what)
    printed = tmp.file(what + "-printed.yml", first.stdout)
    r = run([COMQTTD, "-t", "-c", printed])
    t.is_(r.returncode, 0, "-t accepts what --print-config printed (%s)"
          % what)
    second = run([COMQTTD, "--print-config", "-c", printed])
    t.is_(second.stdout, first.stdout, "and it prints back the same")
    if what == "custom":
        for line in ("shm_size: 1G", "sys_interval: 2m",
                     "maximum_session_expiry_interval: 1d",
                     'address: "[::]:1883"', "mode: 0600"):
            t.ok(line in first.stdout, "printed canonically: %s" % line)

r = run([COMQTTD, "-t", "-c", printed, "--print-config"])
t.is_(r.returncode, 0, "-t with --print-config exits 0")
t.ok(r.stdout.startswith("# comqttd configuration"),
     "and prints only YAML on stdout")
t.done()
