"""admin.py — helpers for the comqtt-admin tests (t/6NN_admin_*.t).

Api talks to the REST API of a cqtest.Broker started with admin={...};
every request is bounded by a timeout and never raises on an HTTP error
status: it returns a Response (status, headers, text, json).

parse_prometheus() is a strict parser of the Prometheus text exposition
format 0.0.4: it raises PromError on anything the format does not allow
(bad names, bad label syntax or escapes, a sample before its TYPE, a
family declared twice, duplicate series, non-numeric values, a counter
that is not named *_total or is negative ...).
"""
import http.client
import json
import math
import os
import re
import subprocess
import urllib.parse

from cqtest import SRCDIR, binary


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.text) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def error(self):
        """The "error" member of a JSON error answer, or None."""
        return self.json.get("error") if isinstance(self.json, dict) \
            else None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.text[:200])


class Api:
    """The REST API of `broker` (its admin address and token)."""

    def __init__(self, broker, token=None, tls_context=None):
        host, port = broker.admin["address"].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.token = broker.admin.get("token") if token is None else token
        self.tls = tls_context

    def request(self, method, path, body=None, token=None, headers=None,
                timeout=10.0):
        """body: a dict/list (sent as JSON), str or bytes (sent as is)."""
        h = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        if self.tls is not None:
            conn = http.client.HTTPSConnection(self.host, self.port,
                                               timeout=timeout,
                                               context=self.tls)
        else:
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


API = "/api/v1/mqtt"


def q(s):
    """A path segment, percent-encoded (slashes too)."""
    return urllib.parse.quote(s, safe="")


def comqttctl(broker, *args, token=None, env=None, timeout=30):
    """Run comqttctl against the broker's admin API; returns the
    CompletedProcess.  No settings file or token file of this host is
    read: HOME and XDG_CONFIG_HOME point into the broker's directory."""
    e = dict(os.environ)
    e.update({"HOME": broker.dir.path,
              "XDG_CONFIG_HOME": os.path.join(broker.dir.path, "xdg")})
    e.pop("COMQTTCTL_HOST", None)
    e.pop("COMQTTCTL_TOKEN", None)
    e.update(env or {})
    cmd = [binary("comqttctl"), "-H", broker.admin["address"]]
    tok = broker.admin.get("token") if token is None else token
    if tok:
        cmd += ["-t", tok]
    return subprocess.run(cmd + list(args), capture_output=True, text=True,
                          timeout=timeout, env=e)


# ---- Prometheus text format 0.0.4 ------------------------------------

class PromError(ValueError):
    pass


METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _parse_labels(s, lineno):
    """'{a="x",b="y\\"z"}' body (without braces) -> dict; strict."""
    labels = {}
    i = 0
    while i < len(s):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        if not m:
            raise PromError("line %d: bad label at %r" % (lineno, s[i:]))
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                raise PromError("line %d: unterminated label value"
                                % lineno)
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in "\\\"n":
                    raise PromError("line %d: bad escape in a label value"
                                    % lineno)
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
                continue
            if c == '"':
                i += 1
                break
            if c == "\n":
                raise PromError("line %d: newline in a label value" % lineno)
            val.append(c)
            i += 1
        if name in labels:
            raise PromError("line %d: label %s twice" % (lineno, name))
        if name.startswith("__"):
            raise PromError("line %d: reserved label name %s"
                            % (lineno, name))
        labels[name] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                raise PromError("line %d: expected ',' between labels"
                                % lineno)
            i += 1
    return labels


def _parse_value(v, lineno):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v):
        raise PromError("line %d: bad value %r" % (lineno, v))
    return float(v)


SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?"
                    r" ([^ ]+)( -?\d+)?\Z")


def parse_prometheus(text):
    """{family name: {"type", "help", "samples": {labels tuple: value}}};
    raises PromError on any violation of the format."""
    if not text.endswith("\n"):
        raise PromError("the last line is not terminated")
    families, current, seen_series = {}, None, set()
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            current = _comment(line, lineno, families, current)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise PromError("line %d: not a sample: %r" % (lineno, line))
        name, labels = m.group(1), _parse_labels(m.group(3) or "", lineno)
        fam = families.get(name)
        if fam is None or fam.get("type") is None:
            raise PromError("line %d: %s has no TYPE before its samples"
                            % (lineno, name))
        if current != name:
            raise PromError("line %d: %s not grouped with its family"
                            % (lineno, name))
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise PromError("line %d: duplicate series %r" % (lineno, key))
        seen_series.add(key)
        value = _parse_value(m.group(4), lineno)
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise PromError("line %d: counter %s is %r" % (lineno, name,
                                                           value))
        fam["samples"][key[1]] = value
    for name, fam in families.items():
        if fam["type"] == "counter" and not name.endswith("_total"):
            raise PromError("counter %s is not named *_total" % name)
    return families


def _comment(line, lineno, families, current):
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
        return current  # an ordinary comment
    kind, name = parts[1], parts[2]
    if not METRIC_NAME.match(name):
        raise PromError("line %d: bad metric name %r" % (lineno, name))
    fam = families.setdefault(name, {"type": None, "help": None,
                                     "samples": {}})
    if kind == "HELP":
        if fam["help"] is not None:
            raise PromError("line %d: second HELP for %s" % (lineno, name))
        fam["help"] = parts[3] if len(parts) > 3 else ""
    else:
        if fam["type"] is not None or fam["samples"]:
            raise PromError("line %d: TYPE of %s twice or late"
                            % (lineno, name))
        if len(parts) < 4 or parts[3] not in TYPES:
            raise PromError("line %d: bad TYPE line" % lineno)
        fam["type"] = parts[3]
    return name


def metric(families, name, **labels):
    """The value of one series, or None."""
    fam = families.get(name)
    if fam is None:
        return None
    return fam["samples"].get(tuple(sorted(labels.items())))


def metric_sum(families, name, **labels):
    """The sum of the series of a family whose labels include `labels`."""
    fam = families.get(name)
    if fam is None:
        return None
    return sum(v for k, v in fam["samples"].items()
               if all(dict(k).get(a) == b for a, b in labels.items()))


DASHBOARD_DIR = os.path.join(SRCDIR, "share", "dashboard")
