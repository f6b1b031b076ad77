#!/usr/bin/python3
# 004: every key comqttd knows (the paths in --print-config) is documented
# in etc/comqtt.yml and in comqtt.yml(5), with its default and its reload
# behaviour; the shipped file holds exactly the defaults; the page lints.
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cqtest import SRCDIR, binary, run  # noqa: E402
from tap import T  # noqa: E402

ETC = os.path.join(SRCDIR, "etc", "comqtt.yml")
MAN = os.path.join(SRCDIR, "man", "comqtt.yml.5")
# A key line: indentation, an optional list dash, the key, its value.
KEY_LINE = re.compile(r"^( *)(- )?([a-z0-9_]+):(?: (.*))?$")
# A key commented out with "#" right before its name: "#data_dir: ...".
COMMENTED_KEY = re.compile(r"^( *)#(?=(- )?[a-z0-9_]+:)")


def key_paths(text):
    """{path: value} of a YAML file written in block style, one key per
    line; the keys of list items are named "list[].key".  Maps have the
    value None, lists the value "[...]"."""
    paths = {}
    stack = []  # [indent, name, is_list]
    for line in text.splitlines():
        line = COMMENTED_KEY.sub(r"\1", line)
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1)) + (2 if m.group(2) else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if m.group(2) and stack:
            stack[-1][2] = True
            paths[path_of(stack)] = "[...]"
        stack.append([indent, m.group(3), False])
        path = path_of(stack)
        value = m.group(4)
        if path not in paths or paths[path] is None:
            paths[path] = value
    return paths


def path_of(stack):
    return ".".join(name + ("[]" if is_list and i < len(stack) - 1 else "")
                    for i, (_, name, is_list) in enumerate(stack))


def man_entries(text):
    """{path: text of its .It Ic entry}."""
    entries, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^\.It Ic (\S+)", line)
        if m:
            current = m.group(1)
            entries[current] = ""
        elif line.startswith((".It", ".El")):
            current = None
        elif current is not None:
            entries[current] += line + "\n"
    return entries


t = T()
r = run([binary("comqttd"), "--print-config"])
t.is_(r.returncode, 0, "comqttd --print-config exits 0")
printed = key_paths(r.stdout)
t.ok(len(printed) > 40, "it prints %d key paths" % len(printed))
for must in ("workers", "log.level", "listeners", "listeners[].name",
             "limits.max_packet_size", "mqtt.maximum_qos", "shm.ring_size"):
    t.ok(must in printed, "the paths include %s" % must)

with open(ETC) as f:
    etc_text = f.read()
etc = key_paths(etc_text)
missing = [p for p in printed if p not in etc]
t.ok(not missing, "every key is in etc/comqtt.yml")
for p in missing:
    t.diag("not in etc/comqtt.yml: " + p)
unknown = [p for p in etc if p not in printed]
t.ok(not unknown, "etc/comqtt.yml has no key comqttd does not know")
for p in unknown:
    t.diag("unknown in etc/comqtt.yml: " + p)

r2 = run([binary("comqttd"), "--print-config", "-c", ETC])
t.is_(r2.returncode, 0, "etc/comqtt.yml loads")
t.is_(r2.stdout, r.stdout, "etc/comqtt.yml holds exactly the defaults")

with open(MAN) as f:
    man_text = f.read()
entries = man_entries(man_text)
for path, value in sorted(printed.items()):
    if value is None:  # a map: named in the page, its keys have entries
        t.ok(re.search(r"\bIc %s\b" % re.escape(path), man_text),
             "comqtt.yml(5) names the map %s" % path)
        continue
    entry = entries.get(path)
    if not t.ok(entry is not None, "comqtt.yml(5) documents %s" % path):
        continue
    t.ok("Reload:" in entry, "%s: its reload behaviour" % path)
    default = value.strip('"')
    if path == "data_dir":
        t.ok("/lib/comqtt" in entry, "data_dir: its default")
    elif "required" in man_text.split(".It Ic " + path, 1)[1].split("\n")[0]:
        t.ok("No default" in entry, "%s: required, no default" % path)
    elif default in ("", "[...]"):
        t.ok("Default" in entry, "%s: its default" % path)
    else:
        t.ok(re.search(r"Default:\n\.Li %s \.\n" % re.escape(default),
                       entry), "%s: its default %s" % (path, default))
extra = [p for p in entries if p not in printed]
t.ok(not extra, "comqtt.yml(5) documents no key comqttd does not know")
for p in extra:
    t.diag("unknown in comqtt.yml(5): " + p)

r = run(["mandoc", "-Tlint", "-Wwarning", MAN])
t.ok(r.returncode == 0 and not r.stdout.strip(), "mandoc -Tlint comqtt.yml.5")
t.diag(r.stdout + r.stderr)
t.done()
