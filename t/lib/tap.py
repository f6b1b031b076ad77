"""tap.py — a minimal TAP producer for the Python integration tests.

Usage:
    from tap import T
    t = T()
    t.ok(cond, "name [MQTT-3.1.2-4]")
    t.is_(got, expected, "name")
    t.done()          # prints the plan, exits non-zero on any failure
"""
import sys
import traceback


class T:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self._cleanups = []
        sys.excepthook = self._excepthook

    def _excepthook(self, etype, value, tb):
        self.n += 1
        self.failed += 1
        print("not ok %d - uncaught exception: %s" % (self.n, value))
        for line in traceback.format_exception(etype, value, tb):
            for sub in line.rstrip().splitlines():
                print("# " + sub)
        self._run_cleanups()
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1)

    def cleanup(self, fn):
        """Register fn() to run at done() or on an uncaught exception."""
        self._cleanups.append(fn)

    def _run_cleanups(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report, keep cleaning
                print("# cleanup failed: %s" % e)

    def ok(self, cond, name=""):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name))
        sys.stdout.flush()
        return bool(cond)

    def is_(self, got, expected, name=""):
        good = self.ok(got == expected, name)
        if not good:
            self.diag("     got: %r" % (got,))
            self.diag("expected: %r" % (expected,))
        return good

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def skip_all(self, reason):
        print("1..0 # SKIP %s" % reason)
        sys.exit(0)

    def done(self):
        self._run_cleanups()
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.n == 0 else 0)
