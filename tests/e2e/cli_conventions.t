#!/usr/bin/python3
"""The conventions tcpdump/strace users expect (issue 13): `zcap help CMD`
is `zcap CMD --help`; `zcap version extra` is bad usage; man pages and bash
completion, installed by `make install` (PREFIX, DESTDIR); `--user` by
name or numeric uid with the environment runuser(1) gives (runuser and
setpriv are the oracles); `-p` of a kernel thread is refused as strace -p
refuses it."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

COMMANDS = ("record", "read", "lineage", "doctor")
PAGES = ("zcap.8", "zcap-record.8", "zcap-read.8", "zcap-lineage.8", "zcap-doctor.8")
IDS = 'id -u; id -g; id -G; echo "$HOME|$USER|$LOGNAME|$SHELL"'


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)


def usage_error(p):
    return (p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1 and
            p.stderr.startswith("zcap: "))


def long_options(cmd):
    """Every --option of `zcap CMD --help` (argp's listing)."""
    text = run([zt.ZCAP, cmd, "--help"]).stdout
    return sorted(set(re.findall(r"^\s+(?:-\S, )?(--[a-z][a-z0-9-]*)", text, re.M)))


def complete(bashrc, zcap_dir, *words):
    """COMPREPLY of the installed completion for the command line WORDS
    (the last word is the one being completed)."""
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _zcap; printf "%%s\\n" "${COMPREPLY[@]}"'
              % (bashrc, " ".join("'%s'" % w for w in words), len(words) - 1))
    env = dict(os.environ, PATH=zcap_dir + ":" + os.environ["PATH"])
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                       cwd=os.path.dirname(bashrc))
    return [line for line in p.stdout.splitlines() if line]


def main():
    tap.plan(31)
    # help and version
    for cmd in COMMANDS:
        a, b = run([zt.ZCAP, "help", cmd]), run([zt.ZCAP, cmd, "--help"])
        tap.ok(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout and
               a.stdout.startswith("Usage: zcap %s" % cmd),
               "zcap help %s prints what zcap %s --help prints" % (cmd, cmd), a.stderr)
    for argv, what in ((["version", "extra"], "zcap version extra"),
                       (["help", "nope"], "zcap help of an unknown command"),
                       (["help", "record", "x"], "zcap help with two arguments")):
        p = run([zt.ZCAP] + argv)
        tap.ok(usage_error(p), "%s: exit 2, one line" % what, "rc=%d %r" % (p.returncode, p.stderr))
    p = run([zt.ZCAP, "version"])
    tap.ok(p.returncode == 0 and re.fullmatch(r"zcap \S+ \(event ABI \d+\)\n", p.stdout),
           "zcap version: one line", p.stdout)

    # make install: binary, man pages, completion under PREFIX in DESTDIR
    dest = tempfile.mkdtemp(prefix="zcap-inst-")
    try:
        binary = os.path.abspath(zt.ZCAP)
        # -o: install the binary under test as it is, never relink it (an
        # ASan build relinked without SANITIZE=1 would not link); make
        # knows it by the path the rule names, $(BUILD)/zcap
        p = run(["make", "--no-print-directory", "-C", zt.ROOT, "install", "DESTDIR=" + dest,
                 "PREFIX=/opt/zc", "BUILD=" + os.path.dirname(binary), "-o", binary])
        prefix = os.path.join(dest, "opt/zc")
        man = os.path.join(prefix, "share/man/man8")
        bashrc = os.path.join(prefix, "share/bash-completion/completions/zcap")
        files = sorted(os.path.relpath(os.path.join(d, f), prefix)
                       for d, _, fs in os.walk(prefix) for f in fs)
        want = sorted(["sbin/zcap", "share/bash-completion/completions/zcap"] +
                      ["share/man/man8/" + page for page in PAGES])
        tap.ok(p.returncode == 0 and files == want,
               "make install DESTDIR= PREFIX=: zcap, %d man pages, the bash completion" % len(PAGES),
               "rc=%d files %r\n%s" % (p.returncode, files, p.stderr[-1000:]))
        # man pages: they render without a groff warning and document every option
        for page in PAGES:
            path = os.path.join(man, page)
            r = run(["groff", "-man", "-t", "-Tutf8", "-ww", "-z", path])
            text = open(path).read().replace("\\-", "-") if os.path.exists(path) else ""
            cmd = page[5:-2] if page != "zcap.8" else None
            missing = [o for o in long_options(cmd) if o not in text] if cmd else []
            tap.ok(r.returncode == 0 and r.stderr == "" and text and not missing,
                   "%s renders cleanly%s" % (page, " and names every option of zcap %s --help"
                                             % cmd if cmd else ""),
                   "groff: %r missing: %r" % (r.stderr, missing))
        r = run(["man", "-l", os.path.join(man, "zcap.8")], env=dict(os.environ, MANWIDTH="80"))
        tap.ok(r.returncode == 0 and "zcap-record(8)" in r.stdout and "EXIT STATUS" in r.stdout,
               "man -l zcap.8 shows the page", r.stderr)
        # every page is named in the SEE ALSO of every other page and in zcap --help
        names = [page[:-2] + "(8)" for page in PAGES]
        unlinked = []
        for page in PAGES:
            text = open(os.path.join(man, page)).read().replace("\\-", "-")
            see = re.sub(r"\.BR? (\S+) \((\d)\),?", r"\1(\2)", text.split(".SH SEE ALSO")[-1])
            unlinked += ["%s lacks %s" % (page, n) for n in names
                         if n != page[:-2] + "(8)" and n not in see]
        helptext = run([zt.ZCAP, "--help"]).stdout.replace("\n", " ")
        unlinked += ["zcap --help lacks %s" % n for n in names if n not in helptext]
        tap.ok(not unlinked, "every page is in every other page's SEE ALSO and in zcap --help",
               "%r" % unlinked)

        # bash completion (the installed file, with the zcap under test in PATH)
        zdir = os.path.dirname(zt.ZCAP)
        got = complete(bashrc, zdir, "zcap", "")
        tap.is_(sorted(got), sorted(["record", "read", "lineage", "doctor", "help", "version"]),
                "completion: the commands")
        got = complete(bashrc, zdir, "zcap", "record", "--")
        want = long_options("record")
        tap.is_(sorted(o.rstrip("=") for o in got), want,
                "completion: every long option of zcap record --help")
        tap.is_(complete(bashrc, zdir, "zcap", "record", "--format", ""),
                ["text", "json", "pcapng", "pcap"], "completion: --format values of record")
        tap.is_(complete(bashrc, zdir, "zcap", "lineage", "--format=o"), ["openlineage"],
                "completion: --format=VALUE of lineage")
        tap.is_(complete(bashrc, zdir, "zcap", "record", "-e", "io,f"), ["io,fd"],
                "completion: the next element of an -e list")
        open(os.path.join(os.path.dirname(bashrc), "capture-x.pcapng"), "w").close()
        tap.is_(complete(bashrc, zdir, "zcap", "record", "-o", "capt"), ["capture-x.pcapng"],
                "completion: files for -o")
        tap.is_(complete(bashrc, zdir, "zcap", "record", "-Z", "nobod"), ["nobody"],
                "completion: users for -Z")
        tap.is_(complete(bashrc, zdir, "zcap", "help", "li"), ["lineage"],
                "completion: commands after help")
        tap.is_(sorted(o.rstrip("=") for o in complete(bashrc, zdir, "zcap", "read", "--")),
                long_options("read"), "completion: every long option of zcap read --help")
    finally:
        shutil.rmtree(dest, ignore_errors=True)

    # --user: by name and by numeric uid, as runuser -u does
    want = run(["runuser", "-u", "nobody", "--", "sh", "-c", IDS])
    p = run([zt.ZCAP, "record", "-q", "-e", "proc", "-o", "/dev/null", "--user", "0", "--",
             "sh", "-c", IDS], env=dict(os.environ, USER="someone", LOGNAME="someone"))
    root = run(["runuser", "-u", "root", "--", "sh", "-c", IDS],
               env=dict(os.environ, USER="someone", LOGNAME="someone"))
    tap.ok(p.returncode == 0 and p.stdout == root.stdout,
           "--user 0: what runuser -u root gives (HOME, USER and LOGNAME kept)",
           "zcap %r\nrunuser %r" % (p.stdout, root.stdout))
    for user in ("nobody", "65534"):
        p = run([zt.ZCAP, "record", "-q", "-e", "proc", "-o", "/dev/null", "--user", user, "--",
                 "sh", "-c", IDS])
        tap.ok(p.returncode == 0 and want.returncode == 0 and p.stdout == want.stdout,
               "--user %s: the ids, groups, HOME, USER, LOGNAME, SHELL runuser -u nobody gives"
               % user, "zcap %r\nrunuser %r\n%s" % (p.stdout, want.stdout, p.stderr))
    # a uid without a passwd entry: setpriv's ids, a documented environment
    uid = next(u for u in range(54321, 60000) if run(["getent", "passwd", str(u)]).returncode)
    ref = run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", "--", "sh",
               "-c", "id -u; id -g; id -G"])
    p = run([zt.ZCAP, "record", "-q", "-e", "proc", "-o", "/dev/null", "--user", str(uid), "--",
             "sh", "-c", IDS])
    shell = os.environ.get("SHELL", "")
    tap.ok(p.returncode == 0 and p.stdout == ref.stdout + "/|%d|%d|%s\n" % (uid, uid, shell),
           "--user %d (no passwd entry): setpriv's ids, HOME=/ USER=LOGNAME=%d, SHELL kept"
           % (uid, uid), "zcap %r\nsetpriv %r" % (p.stdout, ref.stdout))
    p = run([zt.ZCAP, "record", "--user", "no-such-user-zcap", "--", "true"])
    tap.ok(usage_error(p), "--user of an unknown name: exit 2, one line", p.stderr)

    # -p of a kernel thread: refused as strace -p refuses it
    kthread = next(pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                   if is_kthread(pid))
    p = run([zt.ZCAP, "record", "-p", str(kthread)])
    s = run(["strace", "-p", str(kthread)], timeout=30)
    tap.ok(usage_error(p) and "kernel thread" in p.stderr and s.returncode != 0,
           "-p %d (a kernel thread): exit 2, one line saying so (strace -p refuses it too)"
           % kthread, "zcap: %r; strace rc %d %r" % (p.stderr, s.returncode, s.stderr))
    return tap.done()


def is_kthread(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    flags = int(stat[stat.rindex(")") + 2:].split()[6])
    return bool(flags & 0x00200000)  # PF_KTHREAD


if __name__ == "__main__":
    sys.exit(main())
