#!/usr/bin/python3
"""Bad input to zcap record, lineage and doctor (beyond record_cli.t,
pcapng_cli.t, lineage_formats.t and doctor.t): numbers out of range,
conflicting options, commands that cannot run, output paths that cannot be
written, no root, no kernel BTF, tracefs that cannot be mounted (the last
two through the test/debug overrides ZCAP_BTF_PATH and ZCAP_TRACEFS_PATH).

Each case: the documented exit code (README: 2 bad usage or privileges, 1
a runtime failure such as a missing kernel piece, 127 a command that cannot
be run), nothing on stdout, exactly one line on stderr starting `zcap: `
(saying what is wrong), and nothing half-written: a case that names an
output file runs twice, once with a new path (which must not be created)
and once with an existing file (which must be left as it was)."""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZCAP = os.path.abspath(os.environ.get("ZCAP") or os.path.join(ROOT, "build", "zcap"))
PRECIOUS = b"precious: zcap must not touch this file\n"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run(argv, env=None, prefix=()):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(list(prefix) + [ZCAP] + argv, capture_output=True, text=True,
                       timeout=120, env=full_env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def check(name, argv, rc, why=None, env=None, prefix=(), out=None, ext=""):
    """One case; {out} in argv is the output path (ending in ext), tried new
    and existing."""
    problems = []
    paths = [None]
    if any("{out}" in a for a in argv):
        paths = [os.path.join(out, "new.out" + ext), os.path.join(out, "existing.out" + ext)]
        with open(paths[1], "wb") as f:
            f.write(PRECIOUS)
        os.chmod(paths[1], 0o644)
    err_line = ""
    for path in paths:
        args = [a.replace("{out}", path) if path else a for a in argv]
        got_rc, got_out, got_err = run(args, env, prefix)
        lines = got_err.splitlines()
        err_line = lines[0] if lines else ""
        if got_rc != rc:
            problems.append("exit %d, expected %d" % (got_rc, rc))
        if got_out:
            problems.append("stdout %r" % got_out[:200])
        if len(lines) != 1 or not lines[0].startswith("zcap: "):
            problems.append("stderr is not one 'zcap: ' line: %r" % got_err[:600])
        elif why and not re.search(why, lines[0]):
            problems.append("the line does not say /%s/: %r" % (why, lines[0]))
        if path and path.endswith("new.out" + ext) and os.path.lexists(path):
            problems.append("output file created")
            os.unlink(path)
        if path and path.endswith("existing.out" + ext):
            with open(path, "rb") as f:
                data = f.read()
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if data != PRECIOUS or mode != 0o644:
                problems.append("existing output changed (mode %o, %d bytes)" % (mode, len(data)))
            os.unlink(path)
    tap.ok(not problems, "%s: exit %d, one line%s (%s)"
           % (name, rc, ", no output written" if paths[0] else "", err_line), problems)


def main():
    work = tempfile.mkdtemp(prefix="zcap-bad-input-")
    os.chmod(work, 0o755)  # the unprivileged case reaches its files
    out = os.path.join(work, "out")
    os.makedirs(out)
    ro = os.path.join(work, "ro")
    os.makedirs(ro)
    target = os.path.join(work, "target.txt")
    with open(target, "wb") as f:
        f.write(PRECIOUS)
    link = os.path.join(work, "link.txt")
    os.symlink(target, link)
    rec = ["record", "-o", "{out}"]
    cases = [
        # numbers out of range, malformed numbers
        ("--port 0", rec + ["--port", "0", "--", "true"], 2, "invalid port"),
        ("--port not a number", rec + ["--port", "http", "--", "true"], 2, "invalid port"),
        ("--duration 0", rec + ["--duration", "0"], 2, "invalid duration"),
        ("--duration negative", rec + ["--duration=-1"], 2, "invalid duration"),
        ("--duration nan", rec + ["--duration", "nan"], 2, "invalid duration"),
        ("--duration beyond 1e9 s", rec + ["--duration", "1e10"], 2, "invalid duration"),
        ("-B above 2 GiB (the ring's size is a u32)", rec + ["-B", "4194304", "--", "true"], 2,
         "invalid buffer size"),
        ("-c negative", rec + ["-c", "-1"], 2, "invalid count"),
        ("-c beyond 64 bits", rec + ["-c", "18446744073709551616"], 2, "invalid count"),
        ("--width not a number", rec + ["--width", "wide", "--", "true"], 2, "invalid width"),
        ("-p 0", rec + ["-p", "0"], 2, "invalid pid"),
        ("more than 64 -p", rec + ["-p", str(os.getpid())] * 65, 2, "at most 64"),
        ("pid that does not exist", rec + ["-p", "4194303"], 2, "no such process"),
        # malformed names and lists
        ("--comm empty", rec + ["--comm=", "--", "true"], 2, "invalid --comm"),
        ("--comm longer than 15", rec + ["--comm", "a-very-long-name", "--", "true"], 2,
         "invalid --comm"),
        ("-e with an empty list", rec + ["-e", ",", "--", "true"], 2, "invalid --events"),
        ("--send-hook unknown", rec + ["--send-hook", "uprobe", "--", "true"], 2,
         "invalid --send-hook"),
        ("-o with an empty name", ["record", "-o", "", "--", "true"], 2, "empty output"),
        # conflicting options
        ("--json with --format text", rec + ["--json", "--format", "text", "--", "true"], 2,
         "exclude each other"),
        ("--user without a command", rec + ["--user", "nobody"], 2, "--user"),
        ("--user that does not exist", rec + ["--user", "no-such-user-zcap", "--", "true"], 2,
         "unknown user"),
        # commands that cannot run: 127 before anything is created
        ("command not found", rec + ["--", "no-such-command-zcap"], 127, "command not found"),
        ("command not executable", rec + ["--", "/etc/passwd"], 127, "Permission denied"),
        ("command is a directory", rec + ["--", "/tmp"], 127, "Is a directory"),
        ("empty command name", rec + ["--", ""], 127, "cannot run ''"),
        # output paths
        ("output on a read-only file system", ["record", "-o", os.path.join(ro, "x.txt"), "--",
                                               "true"], 2, "Read-only file system"),
        ("output through a symlink to an existing file", ["record", "-o", link, "--", "true"],
         2, "symbolic link"),
        # the environment
        ("no kernel BTF (ZCAP_BTF_PATH=/nonexistent)", rec + ["--", "true"], 1, "BTF",
         {"ZCAP_BTF_PATH": "/nonexistent/vmlinux"}),
        ("kernel BTF that is not BTF", rec + ["--", "true"], 1,
         "'/etc/passwd' \\(ZCAP_BTF_PATH\\) is not a valid BTF file$",
         {"ZCAP_BTF_PATH": "/etc/passwd"}),
        ("tracefs cannot be mounted", rec + ["--", "true"], 1, "tracefs",
         {"ZCAP_TRACEFS_PATH": os.path.join(work, "no", "tracing")}),
        ("packets without BTF", rec + ["--format", "pcapng", "--", "true"], 1, "BTF",
         {"ZCAP_BTF_PATH": "/nonexistent/vmlinux"}),
        # lineage and doctor
        ("lineage --format empty", ["lineage", "--format", "", "--", "true"], 2,
         "invalid --format"),
        ("lineage -B 1", ["lineage", "-B", "1", "--", "true"], 2, "invalid buffer size"),
        ("lineage -o a directory", ["lineage", "-o", work, "--", "true"], 2, "Is a directory"),
        ("lineage without kernel BTF", ["lineage", "-o", "{out}", "--", "true"], 1, "BTF",
         {"ZCAP_BTF_PATH": "/nonexistent/vmlinux"}),
        ("lineage, tracefs cannot be mounted", ["lineage", "-o", "{out}", "--", "true"], 1,
         "tracefs", {"ZCAP_TRACEFS_PATH": os.path.join(work, "no", "tracing")}),
        ("lineage -- a directory", ["lineage", "-o", "{out}", "--", "/tmp"], 127,
         "Is a directory"),
        ("doctor --json=yes", ["doctor", "--json=yes"], 2, "doctor"),
    ]
    tap.plan(len(cases) + 5)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", ro], check=True)
    try:
        for case in cases:
            name, argv, rc, why = case[:4]
            env = case[4] if len(case) > 4 else None
            check(name, argv, rc, why, env, out=out)
        # not root: refused before anything is written
        check("not root, -o FILE", ["record", "-o", "{out}", "--", "true"], 2,
              "permission denied", prefix=NOBODY, out=out)
        check("not root, lineage", ["lineage", "-o", "{out}", "--", "true"], 2,
              "permission denied", prefix=NOBODY, out=out)
        with open(target, "rb") as f:
            tap.ok(f.read() == PRECIOUS, "the symlink's target is untouched")
        # JSON Lines into a packet file's name: refused as --format pcapng is
        check("--json -o FILE.pcapng", ["record", "--json", "-o", "{out}", "--", "true"], 2,
              "--json and -o .* exclude each other", out=out, ext=".pcapng")
        check("--json -o FILE.pcap", ["record", "--json", "-o", "{out}", "--", "true"], 2,
              "--json and -o .* exclude each other", out=out, ext=".pcap")
    finally:
        subprocess.run(["umount", ro])
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
