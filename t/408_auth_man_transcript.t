#!/usr/bin/python3
# 408: the session transcript in comqtt-authd(8) EXAMPLES is true: its
# client lines, replayed against authd with the ledger the page describes,
# get the server lines it shows (answers in any order; the policy serial
# is whatever authd picked).
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from authd import Authd, AuthClient  # noqa: E402
from cqtest import SRCDIR  # noqa: E402
from tap import T  # noqa: E402

t = T()
with open(os.path.join(SRCDIR, "man", "comqtt-authd.8")) as f:
    page = f.read()
block = page.split("A session, as seen on the socket", 1)[1]
block = block.split(".Bd -literal -offset indent\n", 1)[1].split(".Ed", 1)[0]
lines = []
for raw in block.splitlines():
    if raw.startswith("   <TAB>"):
        lines[-1] += raw.strip()
    elif raw.startswith(("C: ", "S: ")):
        lines.append(raw)
lines = [ln.replace("<TAB>", "\t") for ln in lines]
client = [ln[3:] for ln in lines if ln.startswith("C: ")]
server = [ln[3:] for ln in lines if ln.startswith("S: ")]
t.ok(len(client) >= 5 and len(server) >= 6, "the transcript has %d client "
     "and %d server lines" % (len(client), len(server)))

a = Authd(t, auth="backends: [ledger]\nledger:\n  file: ledger.yml",
          files={"ledger.yml": 'users:\n  alice: {password: secret, '
                 'acl: {"alice/#": 3}}\n'})
c = AuthClient(a.socket, handshake=False)
c.send_raw("".join(ln + "\n" for ln in client))
got = []
while True:
    ln = c.read_line()
    if ln is None:
        break
    got.append(ln)
t.is_(got[0], server[0], "VERSION as shown")
t.ok(re.fullmatch(r"INVALIDATE\t\S+", got[1]), "INVALIDATE <serial> next")
t.ok(re.fullmatch(r"INVALIDATE\t\S+", server[1]), "(the page shows one)")
answers = [ln for ln in server[2:] if not ln.startswith("ERROR")]
t.is_(sorted(got[2:2 + len(answers)]), sorted(answers),
      "the answers are the page's, in some order")
t.is_(got[2 + len(answers):], [ln for ln in server if ln.startswith("ERROR")],
      "the unknown command gets the page's ERROR, then the end")
t.done()
