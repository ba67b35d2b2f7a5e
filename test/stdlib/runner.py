# Runs standard-library test modules (sys.argv[1:], e.g. "test_int") with unittest and
# prints one line per test outcome: "@stdlib " + {"id", "outcome", "detail"} as JSON.
# The same file runs bare and in the jail, so the two can be compared test by test.
# Resources are regrtest's default (none enabled: no network, no cpu-heavy, no large files).
import json
import os
import sys
import unittest

from test import support

MARK = "@stdlib "
support.use_resources = []
# A copy of stdout made now: tests replace sys.stdout and may close or redirect fd 1's users.
OUT = os.dup(1)


def emit(test_id, outcome, detail=""):
    line = MARK + json.dumps({"id": test_id, "outcome": outcome, "detail": detail[-400:]}) + "\n"
    data = line.encode("utf-8", "backslashreplace")
    while data:
        data = data[os.write(OUT, data):]


def last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class JsonResult(unittest.TestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        emit(test.id(), "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        emit(test.id(), "fail", last_line(self.failures[-1][1]))

    def addError(self, test, err):
        super().addError(test, err)
        emit(test.id(), "error", last_line(self.errors[-1][1]))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        emit(test.id(), "skip", str(reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        emit(test.id(), "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        emit(test.id(), "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:  # the test itself then gets no addSuccess
            failed = issubclass(err[0], test.failureException)
            emit(test.id(), "fail" if failed else "error", last_line(self._exc_info_to_string(err, test)))


def run(name):
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName("test." + name)
    except BaseException as exc:  # noqa: BLE001 - a module that cannot load is its result
        emit(f"test.{name} (import)", "error", f"{type(exc).__name__}: {exc}")
        return
    suite.run(JsonResult())


for name in sys.argv[1:]:
    run(name)
    emit(f"test.{name} (done)", "done")
