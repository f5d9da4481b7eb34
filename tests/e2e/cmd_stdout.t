#!/usr/bin/python3
"""zcap record -- CMD with zcap's text or JSON Lines and CMD's own output in
the same stdout pipe (`zcap record -- CMD | less`), the pipe full most of
the time: a pipe write of up to PIPE_BUF bytes is never interleaved with
another, so zcap writes whole lines in pieces within PIPE_BUF there
(user/linefile.c). Every
line CMD printed arrives whole, exactly once, and every other line is one
whole zcap record: valid JSON, or text starting with its time."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

LINES = 4000
# CMD: one write(2) per 300-byte line, each also a record zcap writes out
CMD = ("import os\n"
       "for i in range(%d):\n"
       "    os.write(1, b'cmd-line %%05d ' %% i + b'x' * 284 + b'\\n')\n" % LINES)
CMD_LINE = re.compile(rb"^cmd-line (\d{5}) x{284}$")
TEXT_RECORD = re.compile(rb"^\d\d:\d\d:\d\d\.\d{6} ")


def run(args):
    """zcap's stdout, read slowly so the pipe stays full; (rc, lines)."""
    argv = [zt.ZCAP, "record", "-q"] + args + ["--", "python3", "-c", CMD]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    chunks = []
    while True:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        chunks.append(chunk)
        if len(chunks) % 8 == 0:
            time.sleep(0.002)
    rc = proc.wait(120)
    return rc, b"".join(chunks).split(b"\n")


def check(name, args, record_ok):
    rc, lines = run(args)
    tail = lines.pop()  # after the last newline: nothing
    seen, bad = {}, []
    for line in lines:
        m = CMD_LINE.match(line)
        if m:
            seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
        elif not record_ok(line):
            bad.append(line)
    twice = sorted(i for i, n in seen.items() if n > 1)
    missing = sorted(set(range(LINES)) - set(seen))
    tap.ok(rc == 0 and tail == b"" and not bad and not twice and not missing,
           "%s -- CMD, one stdout pipe: CMD's %d lines whole and once, %d zcap lines whole"
           % (name, LINES, len(lines) - len(seen)),
           "rc=%r tail=%r missing %d (%r) twice %r bad %d: %r"
           % (rc, tail[:80], len(missing), missing[:5], twice[:5], len(bad),
              [b[:120] for b in bad[:3]]))
    return len(lines) - len(seen)


def json_record(line):
    try:
        rec = zt.json.loads(line)
    except ValueError:
        return False
    return isinstance(rec, dict) and "type" in rec


def main():
    tap.plan(4)
    # -s 512: every record's line within PIPE_BUF (a longer one is written
    # alone, but no pipe keeps a write of more than PIPE_BUF in one piece)
    n = check("--json -s 512", ["--json", "-s", "512"], json_record)
    tap.ok(n >= LINES, "the JSON records of CMD's %d writes are there (%d lines)" % (LINES, n))
    n = check("text", ["--width", "2000"], lambda line: bool(TEXT_RECORD.match(line)))
    tap.ok(n >= LINES, "the text records of CMD's %d writes are there (%d lines)" % (LINES, n))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
