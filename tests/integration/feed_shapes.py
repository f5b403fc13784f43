"""feed_shapes.py BIZOOPE SRC_DIR WORK_DIR - the first hour of a partner (issue #16, items 1-2):
`bizoope validate` reads exactly as `run` reads, and a file in the wrong shape gets one reason.

- validate of a .gz and of a .zst equals validate of their content: the same counts and a
  byte-identical error file; a truncated .gz and a gzip bomb get the reason run gives them.
- A header line, a UTF-16 file, a CSV file, a CP932 file and an all-quoted file are each rejected
  as a whole with their one reason, by validate (summary, JSON `rejected`/`diagnosis`, error
  file) and by run (the job's reason, the same error file byte for byte, the file quarantined as
  received, nothing loaded) - while a good file in the same run loads gen's exact counts."""
import gzip
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, run_once  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("feed_shapes")
inst, config = fresh_installation(bizoope, work, sites=("tokyo",))
feeds = os.path.join(work, "feeds")
os.makedirs(feeds)


def validate(path, *args):
    p = subprocess.run([bizoope, "validate", "--json", "--errors-dir", feeds] + list(args) +
                       [path], capture_output=True, text=True)
    if p.returncode != 0:
        check(False, "validate %s: rc %d: %s" % (path, p.returncode, p.stderr))
        return {}, b""
    errors = open(os.path.join(feeds, os.path.basename(path) + ".errors.tsv"), "rb").read()
    return json.loads(p.stdout), errors


def counts(summary):
    return {k: summary.get(k) for k in ("lines", "loaded", "rejected_invalid",
                                        "rejected_duplicate")}


# ---- 1. validate decompresses as run does ------------------------------------------------------
plain = os.path.join(feeds, "journal_20261201090000.tsv")
expect = gen(bizoope, "journal", 20000, plain, 7, plain + ".exp", error_rate=0.02)
data = open(plain, "rb").read()
want, want_errors = validate(plain)
check(counts(want) == {k: expect[k] for k in counts(want)},
      "the plain journal validates to gen's counts: %r vs %r" % (counts(want), expect))
gz = os.path.join(feeds, "journal_20261201100000.tsv.gz")
with gzip.open(gz, "wb") as f:
    f.write(data)
zst = os.path.join(feeds, "journal_20261201110000.tsv.zst")
subprocess.run(["zstd", "-q", "-f", plain, "-o", zst], check=True)
for path in (gz, zst):
    got, got_errors = validate(path)
    check(counts(got) == counts(want) and got.get("rejected") is None,
          "%s: the counts of its content: %r vs %r" % (os.path.basename(path), counts(got),
                                                        counts(want)))
    check(got_errors == want_errors and len(want_errors) > 1000,
          "%s: its error file is byte-identical to its content's (%d vs %d bytes)"
          % (os.path.basename(path), len(got_errors), len(want_errors)))
    check(got.get("bytes") == len(data) and got.get("compressed_bytes") == os.path.getsize(path),
          "%s: bytes are the content's, compressed_bytes the file's: %r" % (path, got))

truncated = os.path.join(feeds, "stores_20261201090000.tsv.gz")
gen(bizoope, "stores", 300, os.path.join(feeds, "s.tsv"), 3, os.path.join(feeds, "s.exp"))
blob = gzip.compress(open(os.path.join(feeds, "s.tsv"), "rb").read())
open(truncated, "wb").write(blob[:len(blob) // 2])
bomb = os.path.join(feeds, "stores_20261201100000.tsv.gz")
open(bomb, "wb").write(gzip.compress(b"\n" * (8 << 20), 9))
REASONS = {
    truncated: "truncated gzip data (the file ends inside a compressed stream after",
    bomb: "expands more than 200 times its compressed size",
}

# ---- 2. wrong shapes ----------------------------------------------------------------------------
good_stores = os.path.join(feeds, "stores_20261201120000.tsv")
good_expect = gen(bizoope, "stores", 400, good_stores, 5, good_stores + ".exp")
good = open(good_stores, "rb").read()
header = b"\t".join(b"store_code store_name prefecture opened_on closed_on floor_area "
                    b"is_deleted output_at".split()) + b"\n"
body = b"".join(line + b"\n" for line in good.splitlines()[:60])
SHAPES = {
    "stores_20261201130000.tsv": (header + body, "line 1 is a header line (the 8 column names)"),
    "stores_20261201140000.tsv": (b"\xff\xfe" + body.decode().encode("utf-16-le"),
                                  "the file is UTF-16 (it starts with a UTF-16 byte-order mark)"),
    "stores_20261201150000.tsv": (b"".join(
        b"S%03d,name,pref,20200101,,1.5,0,20261125090000\n" % i for i in range(30)),
        "no line has a TAB and each has 7 commas: the file looks like CSV"),
    "stores_20261201160000.tsv": (body.decode().encode("cp932", errors="replace"),
                                  "its bytes read as Shift_JIS/CP932"),
    "stores_20261201170000.tsv": (b"".join(b"\t".join(b'"%s"' % f for f in line.split(b"\t")
                                                      if f) + b"\n"
                                           for line in body.splitlines()[:20]),
                                  "every value in the first 20 lines is wrapped in double quotes"),
}
for name, (content, reason) in SHAPES.items():
    path = os.path.join(feeds, name)
    open(path, "wb").write(content)
    REASONS[path] = reason

validated = {}
for path, reason in REASONS.items():
    got, errors = validate(path)
    validated[path] = errors
    check(got.get("rejected") is not None and reason in got.get("rejected", "") and
          got.get("diagnosis") == got.get("rejected") and got.get("lines") == 0,
          "validate %s: rejected as a whole with %r: %r" % (os.path.basename(path), reason, got))
    check(errors.startswith(b"\tfile: ") and errors.count(b"\n") == 1 and reason.encode() in errors,
          "validate %s: one error line with the reason: %r" % (os.path.basename(path), errors))
    p = subprocess.run([bizoope, "validate", "--no-errors", path], capture_output=True, text=True)
    check(p.returncode == 0 and "rejected as a whole: " in p.stdout and reason in p.stdout,
          "validate %s says it on the terminal: %r" % (os.path.basename(path), p.stdout))

# under --json a file that cannot be processed is an object too (first-hour review A10)
p = subprocess.run([bizoope, "validate", "--json", "--no-errors",
                    os.path.join(feeds, "journal_20261201190000.tsv"), good_stores],
                   capture_output=True, text=True)
objs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
check(p.returncode == 1 and len(objs) == 2 and "cannot read" in objs[0].get("error", "") and
      objs[1].get("lines") == good_expect["lines"],
      "validate --json: one object per file, the missing one with its error: %r" % p.stdout)

# a first line only partly the column names: a hint, and its lines are checked
hinted = os.path.join(feeds, "stores_20261201180000.tsv")
open(hinted, "wb").write(b"store_code\tstore_name\tx\ty\n" + good)
got, _ = validate(hinted)
check(got.get("rejected") is None and got.get("lines") == good_expect["lines"] + 1 and
      "looks like a header line" in (got.get("diagnosis") or ""),
      "a half header: lines checked, the hint in diagnosis: %r" % got)

# ---- run: the same verdicts, the same error files --------------------------------------------
inbox = os.path.join(inst, "inbox", "tokyo")
# an error file sent back with the feeds (an upload of *.tsv after validate wrote it)
sent_back = os.path.join(feeds, "stores_20261201120000.tsv.errors.tsv")
open(sent_back, "wb").write(validated[truncated])
REASONS[sent_back] = "this is an error file (NAME.errors.tsv"
validated[sent_back] = b"\tfile: this is an error file (NAME.errors.tsv, as bizoope and " \
    b"`bizoope validate` write them), not a feed: send only the feed files\n"
received = {}
for path in list(REASONS) + [good_stores]:
    name = os.path.basename(path)
    received[name] = open(path, "rb").read()
    open(os.path.join(inbox, name), "wb").write(received[name])
open(os.path.join(inbox, os.path.basename(hinted)), "wb").write(open(hinted, "rb").read())
jobs, _ = run_once(bizoope, config)
by_name = {j.get("file"): j for j in jobs}
for path, reason in REASONS.items():
    name = os.path.basename(path)
    job = by_name.get(name) or {}
    check(job.get("status") == "rejected" and reason in (job.get("error") or "") and
          job.get("diagnosis") == job.get("error"),
          "run %s: rejected with %r: %r" % (name, reason, job))
    outbox = os.path.join(inst, "outbox", "tokyo", name + ".errors.tsv")
    got = open(outbox, "rb").read() if os.path.exists(outbox) else None
    check(got == validated[path],
          "run %s: its error file is validate's, byte for byte: %r vs %r"
          % (name, got, validated[path]))
    quarantined = [f for f in os.listdir(os.path.join(inst, "quarantine", "tokyo"))
                   if f.endswith("_" + name)]
    check(len(quarantined) == 1 and open(os.path.join(inst, "quarantine", "tokyo",
                                                      quarantined[0]), "rb").read()
          == received[name], "run %s: quarantined as received: %r" % (name, quarantined))
good_job = by_name.get(os.path.basename(good_stores)) or {}
check(good_job.get("status") == "loaded" and
      {k: good_job.get(k) for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate")}
      == {k: good_expect[k] for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate")},
      "the good file loads gen's counts: %r vs %r" % (good_job, good_expect))
con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
rows = con.execute("select count(*) from stores").fetchone()[0]
con.close()
check(rows == good_expect["loaded"],
      "the warehouse holds only the good file's rows: %d vs gen's %d" % (rows, good_expect["loaded"]))
half = by_name.get(os.path.basename(hinted)) or {}
check(half.get("status") == "loaded" and "looks like a header line" in (half.get("diagnosis") or "")
      and half.get("lines") == good_expect["lines"] + 1,
      "run: a half header loads its lines with the hint in diagnosis: %r" % half)
left = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(inst, "load")) for f in fs]
check(left == [], "no load copy is left: %r" % left)
check.finish("validate reads as run does (.gz, .zst: identical error files); %d wrong shapes "
             "each rejected with one reason by validate and run alike" % len(REASONS))
