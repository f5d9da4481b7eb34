"""A small TAP (version 13) producer for zcap's Python test scripts run by prove.

    import tap
    tap.plan(3)                      # or no plan and tap.done_testing() at the end
    tap.ok(rc == 0, "exit status 0")
    tap.is_(got, want, "captured bytes")   # prints a short diff as '# ' lines on failure
    tap.skip("needs IPv6", "no ::1 here")  # sparingly: a skipped test proves nothing
    sys.exit(tap.done())

Test lines go to stdout, failure diagnostics (diag) to stderr so that prove
shows them without -v, notes (note) to stdout. The exit status is non-zero
when a test failed (the number of failures, at most 254), 255 when the plan
was not met or the run bailed out; an atexit hook enforces that even if the
script forgets to exit with done()'s value.
"""
import atexit
import difflib
import os
import pprint
import re
import sys

__all__ = ["Tap", "plan", "ok", "is_", "isnt", "like", "skip", "diag", "note", "bail_out",
           "done_testing", "done", "failed"]

_REPR_MAX = 300
_DIFF_LINES = 24


def _short(value):
    text = repr(value)
    return text if len(text) <= _REPR_MAX else text[:_REPR_MAX] + "...(%d chars)" % len(text)


def _hexline(data, start, end):
    chunk = data[start:end]
    return "%08x  %s" % (start, chunk.hex(" ")) if chunk else "%08x  (end)" % start


def _diff_bytes(got, want):
    if len(got) != len(want):
        yield "lengths differ: got %d, expected %d" % (len(got), len(want))
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    if first is None:
        first = min(len(got), len(want))
        yield "one is a prefix of the other; the first %d bytes agree" % first
    else:
        yield "first difference at byte %d" % first
    start = max(0, first - 8) // 8 * 8
    yield "got:      " + _hexline(got, start, start + 16)
    yield "expected: " + _hexline(want, start, start + 16)


def _diff_lines(got_lines, want_lines):
    diff = list(difflib.unified_diff(want_lines, got_lines, "expected", "got", lineterm="", n=2))
    if len(diff) > _DIFF_LINES:
        diff = diff[:_DIFF_LINES] + ["... (%d more diff lines)" % (len(diff) - _DIFF_LINES)]
    return diff


def _diff_sets(got, want):
    missing, extra = want - got, got - want
    if missing:
        yield "missing:    " + _short(sorted(missing, key=repr))
    if extra:
        yield "unexpected: " + _short(sorted(extra, key=repr))


def _diff_dicts(got, want):
    for key in sorted(want.keys() - got.keys(), key=repr):
        yield "missing key %r (expected %s)" % (key, _short(want[key]))
    for key in sorted(got.keys() - want.keys(), key=repr):
        yield "unexpected key %r = %s" % (key, _short(got[key]))
    for key in sorted(want.keys() & got.keys(), key=repr):
        if got[key] != want[key]:
            yield "[%r]: got %s, expected %s" % (key, _short(got[key]), _short(want[key]))


def explain(got, want):
    """Lines describing how got differs from want (for is_'s diagnostics)."""
    if isinstance(got, (bytes, bytearray)) and isinstance(want, (bytes, bytearray)):
        return list(_diff_bytes(bytes(got), bytes(want)))
    if isinstance(got, (set, frozenset)) and isinstance(want, (set, frozenset)):
        return list(_diff_sets(got, want))
    if isinstance(got, dict) and isinstance(want, dict):
        return list(_diff_dicts(got, want))
    if isinstance(got, str) and isinstance(want, str) and ("\n" in got or "\n" in want):
        return _diff_lines(got.splitlines(), want.splitlines())
    if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
        lines = ["lengths: got %d, expected %d" % (len(got), len(want))] \
            if len(got) != len(want) else []
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        if first is not None:
            lines.append("first difference at [%d]: got %s, expected %s"
                         % (first, _short(got[first]), _short(want[first])))
        return lines + _diff_lines(pprint.pformat(got, width=100).splitlines(),
                                   pprint.pformat(want, width=100).splitlines())
    return ["got:      " + _short(got), "expected: " + _short(want)]


class Tap:
    """One TAP stream. The module functions use a shared instance."""

    def __init__(self, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.count = 0
        self.failed = 0
        self.planned = None
        self.finished = False
        self.bailed = False
        self._header = False

    def _print(self, line, stream=None):
        if not self._header:
            self._header = True
            print("TAP version 13", file=self.out, flush=True)
        if stream is self.err:
            self.out.flush()
        print(line, file=stream or self.out, flush=True)

    def plan(self, n=None, skip_all=None):
        """Declare n tests up front, or skip the whole script (exits 0)."""
        if self.planned is not None:
            raise RuntimeError("tap: plan declared twice")
        if skip_all is not None:
            self._print("1..0 # SKIP %s" % skip_all)
            self.planned = 0
            self.finished = True
            sys.exit(0)
        if not isinstance(n, int) or n < 0:
            raise ValueError("tap: plan needs a test count")
        self.planned = n
        self._print("1..%d" % n)

    def diag(self, msg):
        """Diagnostics shown by prove even without -v (stderr)."""
        for line in str(msg).splitlines() or [""]:
            self._print("# " + line, self.err)

    def note(self, msg):
        """Comments only shown with prove -v (stdout)."""
        for line in str(msg).splitlines() or [""]:
            self._print("# " + line)

    def ok(self, cond, name, diag=None, todo=None):
        """One test; diag (text or lines) is printed when it fails. Returns cond."""
        self.count += 1
        line = "%s %d - %s" % ("ok" if cond else "not ok", self.count, _one_line(name))
        if todo:
            line += " # TODO %s" % _one_line(todo)
        self._print(line)
        if not cond:
            if not todo:
                self.failed += 1
            self.diag("  Failed %stest '%s'" % ("(TODO) " if todo else "", _one_line(name)))
            if diag:
                lines = diag if isinstance(diag, (list, tuple)) else str(diag).splitlines()
                for d in lines:
                    self.diag("    " + str(d))
        return bool(cond)

    def is_(self, got, expected, name, todo=None):
        """got == expected, with a short explanation of the difference on failure."""
        same = got == expected
        return self.ok(same, name, None if same else explain(got, expected), todo)

    def isnt(self, got, unexpected, name):
        return self.ok(got != unexpected, name, ["got: " + _short(got) + " (must differ)"])

    def like(self, got, pattern, name):
        """re.search(pattern, got) finds something."""
        found = isinstance(got, str) and re.search(pattern, got) is not None
        return self.ok(found, name, ["got:      " + _short(got), "expected: /%s/" % pattern])

    def skip(self, name, why):
        """A test not run: it counts as passed, so use it only when it cannot run here."""
        self.count += 1
        self._print("ok %d - %s # SKIP %s" % (self.count, _one_line(name), _one_line(why)))

    def bail_out(self, why):
        """Stop the whole prove run: the environment is unusable."""
        self._print("Bail out!  %s" % _one_line(why))
        self.bailed = True
        sys.exit(255)

    def status(self):
        """The exit status the run deserves so far."""
        if self.bailed:
            return 255
        if self.planned is not None and self.count != self.planned:
            return 255
        if self.planned is None and not self.finished:
            return 254 if self.count or self.failed else 0
        return min(self.failed, 254)

    def done_testing(self):
        """End of the tests: prints the plan if none was declared, returns the exit status."""
        if not self.finished:
            self.finished = True
            if self.planned is None:
                self.planned = self.count
                self._print("1..%d" % self.count)
            elif self.count != self.planned:
                self.diag("Looks like you planned %d test%s but ran %d."
                          % (self.planned, "" if self.planned == 1 else "s", self.count))
            if self.failed:
                self.diag("Looks like you failed %d test%s of %d."
                          % (self.failed, "" if self.failed == 1 else "s", self.count))
        return self.status()

    done = done_testing

    def _at_exit(self):
        if self.bailed or (self.count == 0 and self.planned is None):
            return
        if not self.finished:
            if self.planned is None:
                self.diag("Tests were run but no plan was declared and done_testing() "
                          "was not seen.")
            else:
                self.done_testing()
        status = self.status()
        if status:
            # The script may exit 0 despite failures: prove must still see them.
            self.out.flush()
            self.err.flush()
            os._exit(status)


def _one_line(text):
    return " ".join(str(text).split("\n")).replace("#", "\\#")


_tap = Tap()
atexit.register(_tap._at_exit)

plan = _tap.plan
ok = _tap.ok
is_ = _tap.is_
isnt = _tap.isnt
like = _tap.like
skip = _tap.skip
diag = _tap.diag
note = _tap.note
bail_out = _tap.bail_out
done_testing = _tap.done_testing
done = _tap.done


def failed():
    """Failures so far in the shared stream."""
    return _tap.failed
