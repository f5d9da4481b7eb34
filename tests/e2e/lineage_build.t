#!/usr/bin/python3
"""zcap lineage with a real build as the oracle.

The test writes a small C project (several .c and .h files, nested
includes, a header in a subdirectory) and builds it with `make -j2` and
`gcc -MD` under `zcap lineage`. For every object file, the sources and
headers zcap says that compile (the gcc driver's process subtree: cc1, as)
read must equal the dependency list gcc itself wrote in the object's .d
file (restricted to files that exist); every object and the final binary
must be outputs.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import Tap, Workdir, run_lineage, schema_errors  # noqa: E402

PROJECT = {
    "Makefile": "CFLAGS = -O1 -MD -Iinclude\n"
                "OBJS = main.o util.o calc.o\n"
                "app: $(OBJS)\n\tgcc -o $@ $(OBJS)\n"
                "%.o: %.c\n\tgcc $(CFLAGS) -c $< -o $@\n"
                "-include $(OBJS:.o=.d)\n",
    "include/cfg/config.h": "#ifndef CONFIG_H\n#define CONFIG_H\n#include \"cfg/limits.h\"\n"
                            "#define GREETING \"hello\"\n#endif\n",
    "include/cfg/limits.h": "#ifndef LIMITS_H\n#define LIMITS_H\n#define MAX_ITEMS 16\n#endif\n",
    "types.h": "#ifndef TYPES_H\n#define TYPES_H\ntypedef unsigned int count_t;\n#endif\n",
    "util.h": "#ifndef UTIL_H\n#define UTIL_H\n#include \"types.h\"\n#include <stddef.h>\n"
              "count_t count_chars(const char *s);\n#endif\n",
    "calc.h": "#ifndef CALC_H\n#define CALC_H\n#include \"util.h\"\nint scaled(int x);\n#endif\n",
    "main.c": "#include <stdio.h>\n#include \"calc.h\"\n#include \"cfg/config.h\"\n"
              "int main(void)\n{\n\tprintf(\"%s %u %d\\n\", GREETING, count_chars(GREETING), scaled(MAX_ITEMS));\n"
              "\treturn 0;\n}\n",
    "util.c": "#include \"util.h\"\ncount_t count_chars(const char *s)\n{\n\tcount_t n = 0;\n"
              "\twhile (s[n])\n\t\tn++;\n\treturn n;\n}\n",
    "calc.c": "#include \"calc.h\"\n#include \"cfg/limits.h\"\nint scaled(int x)\n{\n"
              "\treturn x * MAX_ITEMS;\n}\n",
}
OBJS = ("main.o", "util.o", "calc.o")

t = Tap()
w = Workdir()
root = os.path.realpath(w.path)
for name, text in PROJECT.items():
    os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
    with open(os.path.join(root, name), "w") as f:
        f.write(text)

rc, text, err, _ = run_lineage(["make", "-j2"], root, timeout=300)
t.eq(rc, 0, f"make -j2 under zcap lineage exits 0 ({err.strip()[-300:]})")
rec = json.loads(text)
t.eq(schema_errors(rec), [], "record matches docs/lineage.schema.json")
t.eq(rec["dropped_events"], 0, "no event lost")
run = subprocess.run([os.path.join(root, "app")], capture_output=True)
t.eq(run.stdout, b"hello 5 256\n", "the built program runs")


def deps_of(dfile):
    """The prerequisites gcc wrote in a .d file, as real paths of files that exist."""
    with open(dfile) as f:
        text = f.read().replace("\\\n", " ")
    first = text.split("\n\n")[0] if "\n\n" in text else text.splitlines()[0]
    _, _, rhs = first.partition(":")
    out = set()
    for p in rhs.split():
        p = os.path.join(root, p)
        if os.path.exists(p):
            out.add(os.path.realpath(p))
    return out


procs = {p["pid"]: p for p in rec["processes"]}
children = {}
for p in rec["processes"]:
    children.setdefault(p["ppid"], []).append(p["pid"])


def subtree(pid):
    out, todo = set(), [pid]
    while todo:
        q = todo.pop()
        if q not in out:
            out.add(q)
            todo.extend(children.get(q, []))
    return out


def is_source(path):
    return path.endswith(".c") or path.endswith(".h")


for obj in OBJS:
    drivers = [p for p in rec["processes"]
               if p["argv"] and os.path.basename(p["argv"][0]) == "gcc" and "-c" in p["argv"]
               and obj in p["argv"]]
    t.eq(len(drivers), 1, f"{obj}: one gcc -c driver process")
    if not drivers:
        continue
    tree = subtree(drivers[0]["pid"])
    t.ok(any(os.path.basename(procs[q]["exe"] or "") == "cc1" for q in tree),
         f"{obj}: cc1 is in the driver's subtree")
    read = {os.path.realpath(f["path"]) for f in rec["files"]
            if f["read"] and is_source(f["path"]) and tree & set(f["readers"])}
    want = deps_of(os.path.join(root, obj[:-2] + ".d"))
    t.ok(len(want) > 3, f"{obj}: gcc's .d lists {len(want)} files")
    t.eq(sorted(read), sorted(want), f"{obj}: sources and headers read == gcc -MD dependencies")
    missing = sorted(read ^ want)
    if missing:
        t.diag(f"differ: {missing}")

outputs = {os.path.relpath(f["path"], root) for f in rec["files"]
           if f["path"].startswith(root + "/") and (f["written"] or f["created"]) and not f["deleted"]}
want_out = set(OBJS) | {o[:-2] + ".d" for o in OBJS} | {"app"}
t.eq(outputs, want_out, "outputs: every object, its .d and the binary, nothing else")
for name in sorted(want_out):
    f = next((x for x in rec["files"] if x["path"] == os.path.join(root, name)), {})
    t.eq((f.get("created"), f.get("written")), (True, True), f"{name}: created and written")
w.cleanup()
t.done()
