#!/usr/bin/python3
"""Text output captures what its lines show, as strace -s does: each
record's payload preview is --width columns, a byte taking one or more, so
without -s, -X or an expression zcap copies at most --width bytes of a call
(at most the 16384 of -s's default), not 16384 to show 100 of them. The
summary's "payload bytes captured" is exactly the sum of min(returned,
that many) over the records shown, and every preview is what it was: the
first bytes of the call, "..." when there were more."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

SIZES = (1, 36, 37, 38, 99, 100, 101, 1000, 16383, 16384, 16385, 20000, 70000)
# one write(2) per size, each of its own letter, into a pipe cat drains
WRITER = ("import os\n"
          "for i, n in enumerate(%r):\n"
          "    os.write(1, bytes([65 + i]) * n)\n" % (SIZES,))
RET = re.compile(r"\) = (\d+) [<>]")
SUMMARY = re.compile(r"zcap: (\d+) records, (\d+) payload bytes captured")
PY_WRITE = re.compile(r" python3\[\d+\] write\(1<pipe:\[\d+\]>\) = (\d+) >(?: (.*))?$")


def capture(work, args):
    out = os.path.join(work, "out.txt")
    if os.path.exists(out):
        os.unlink(out)
    script = os.path.join(work, "w.py")
    with open(script, "w") as f:
        f.write(WRITER)
    p = subprocess.run([zt.ZCAP, "record", "-o", out, "-e", "io", "--fd-kinds", "pipe"] + args +
                       ["--", "sh", "-c", "python3 %s | cat > /dev/null" % script],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
    with open(out, errors="replace") as f:
        return p.returncode, f.read().splitlines(), p.stderr


def check(work, args, cap, width, what):
    rc, lines, err = capture(work, args)
    want = sum(min(int(m.group(1)), cap) for m in map(RET.search, lines) if m)
    m = SUMMARY.search(err)
    got = int(m.group(2)) if m else None
    tap.ok(rc == 0 and got == want and (want > 0 or cap == 0),
           "%s: %s payload bytes captured = the sum of min(returned, %d) over the %d "
           "records" % (what, got, cap, sum(1 for x in lines if RET.search(x))),
           "rc=%r want %r, stderr %r" % (rc, want, err))
    # the previews of the writer's calls, exactly
    previews = {}
    for line in lines:
        m = PY_WRITE.search(line)
        if m:
            previews[int(m.group(1))] = m.group(2) or ""
    expect = {}
    for i, n in enumerate(SIZES):
        shown = min(n, width)
        expect[n] = "" if not width else ('"%s"%s' % (chr(65 + i) * shown,
                                                      "..." if n > shown else ""))
    tap.ok(previews == {n: expect[n] for n in SIZES},
           "%s: each write's preview is its first %d bytes, \"...\" after a longer one"
           % (what, width), tap.explain(previews, expect))


def main():
    tap.plan(10)
    work = tempfile.mkdtemp(prefix="zcap-text-snaplen-")
    try:
        # stdout here is no terminal: 100 columns
        check(work, [], 100, 100, "default width (100)")
        check(work, ["--width", "37"], 37, 37, "--width 37")
        check(work, ["--width", "0"], 0, 0, "--width 0 (no previews)")
        check(work, ["-s", "500", "--width", "37"], 500, 37, "-s 500 --width 37 (-s wins)")
        # -X shows whole payloads: -s's default
        rc, lines, err = capture(work, ["-X", "--width", "37"])
        want = sum(min(int(m.group(1)), 16384) for m in map(RET.search, lines) if m)
        m = SUMMARY.search(err)
        tap.ok(rc == 0 and m and int(m.group(2)) == want,
               "-X: payloads captured up to -s's default 16384 (%s bytes)"
               % (m.group(2) if m else None), "rc=%r want %r, stderr %r" % (rc, want, err))
        hexed = sum(1 for x in lines if re.match(r"^\s+0x[0-9a-f]{4}:", x))
        tap.ok(hexed >= sum((min(n, 16384) + 15) // 16 for n in SIZES),
               "-X: the hex dump shows every captured byte (%d lines)" % hexed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
