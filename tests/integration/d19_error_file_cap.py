"""d19_error_file_cap.py BIZOOPE SRC_DIR WORK_DIR - an error file lists at most N rejected
lines (errors.max_lines, default 100,000; `validate --max-error-lines N`), then one line in the
same shape - nothing before the TAB - counting the rest by class; the counts stay exact
(review D19):

- the review's file, 5 MB of newlines, through `bizoope run`: an error file of exactly 100,001
  lines (the first 100,000 "empty line" in order, then "4900000 more ... (4900000 invalid,
  0 duplicate)"), about 2 MB instead of 129 MB; lines = loaded + rejected_invalid +
  rejected_duplicate with every line counted;
- a file with invalid and duplicate lines through `validate` at several caps, shard sizes and
  thread counts: the capped file is the uncapped one's first N lines plus that line, whose
  counts by class match what was left out;
- the key in the configuration: in the default file, accepted by `config check`, a bad value
  refused with its line."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, run_once  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d19_error_file_cap")
CAP_LINE = re.compile(rb"^\t(\d+) more rejected lines? not listed \((\d+) invalid, (\d+) "
                      rb"duplicate\): an error file lists the first (\d+) only$")


def cap_line_counts(line):
    m = CAP_LINE.match(line)
    return tuple(int(g) for g in m.groups()) if m else None


# ---- the review's file through the pipeline ------------------------------------------------------
inst, config = fresh_installation(bizoope, work, sites=("tokyo",),
                                  edits=(("  listen: 127.0.0.1:8470", "  listen: ''"),))
name = "journal_20261124090000.tsv"
inbox = os.path.join(inst, "inbox", "tokyo")
with open(os.path.join(inbox, "." + name), "wb") as f:
    f.write(b"\n" * 5000000)
os.rename(os.path.join(inbox, "." + name), os.path.join(inbox, name))
reports, _ = run_once(bizoope, config)
r = reports[0] if len(reports) == 1 else {}
check(r.get("lines") == 5000000 and r.get("loaded") == 0 and
      r.get("rejected_invalid") == 5000000 and r.get("rejected_duplicate") == 0,
      "the summary's counts are exact: %r" % r)
check(r.get("lines") == r.get("loaded", 0) + r.get("rejected_invalid", 0) +
      r.get("rejected_duplicate", 0), "lines = loaded + rejected_invalid + rejected_duplicate")
error_file = os.path.join(inst, "outbox", "tokyo", name + ".errors.tsv")
data = open(error_file, "rb").read()
lines = data.split(b"\n")
check(data.endswith(b"\n") and len(lines) - 1 == 100001,
      "the error file has exactly 100,001 lines (%d)" % (len(lines) - 1))
check(all(lines[i] == b"\tline %d: empty line" % (i + 1) for i in range(100000)),
      "the first 100,000 are the first rejected lines, in order")
check(cap_line_counts(lines[100000]) == (4900000, 4900000, 0, 100000),
      "the last line counts the rest: %r" % lines[100000])
check(len(data) < 3000000, "about 2 MB, not 129 MB: %d bytes" % len(data))

# ---- invalid and duplicate lines through validate, capped anywhere -------------------------------
feed = os.path.join(work, "items_20261124100000.tsv")
counts = gen(bizoope, "items", 4000, feed, 19, feed + ".exp", error_rate=0.15, dup_rate=0.3)
total = counts["rejected_invalid"] + counts["rejected_duplicate"]
check(counts["rejected_invalid"] > 100 and counts["rejected_duplicate"] > 100,
      "the feed has both kinds: %r" % counts)


def validate(cap, shard, threads):
    out = os.path.join(work, "errors-%s-%s-%s.tsv" % (cap, shard, threads))
    p = subprocess.run([bizoope, "validate", "--json", "--errors", out, "--max-error-lines",
                        str(cap), "--shard-size", str(shard), "--threads", str(threads), feed],
                       capture_output=True)
    summary = json.loads(p.stdout) if p.returncode == 0 else {}
    return summary, open(out, "rb").read() if p.returncode == 0 else b""


whole_summary, whole = validate(0, 64 << 20, 1)
whole_lines = whole.split(b"\n")[:-1]
check(len(whole_lines) == total, "uncapped (0): every rejected line is listed (%d of %d)"
      % (len(whole_lines), total))
for cap in (1, 7, 1000, total - 1, total, total + 1):
    for shard, threads in ((64 << 20, 1), (10000, 2), (777, 2)):
        summary, capped = validate(cap, shard, threads)
        got = capped.split(b"\n")[:-1]
        listed = whole_lines[:cap]
        check(summary.get("lines") == whole_summary["lines"] and
              summary.get("rejected_invalid") == counts["rejected_invalid"] and
              summary.get("rejected_duplicate") == counts["rejected_duplicate"],
              "cap %d, shards of %d: the counts stay exact: %r" % (cap, shard, summary))
        check(got[:len(listed)] == listed,
              "cap %d, shards of %d: the first %d lines as uncapped" % (cap, shard, len(listed)))
        if cap >= total:
            check(len(got) == total, "cap %d >= %d rejected: no count line" % (cap, total))
            continue
        dup = sum(1 for l in listed if b": duplicate key, superseded by line " in l)
        want = (total - cap, counts["rejected_invalid"] - (cap - dup),
                counts["rejected_duplicate"] - dup, cap)
        check(len(got) == cap + 1 and cap_line_counts(got[-1]) == want,
              "cap %d, shards of %d: %d lines, the last %r (want %r)"
              % (cap, shard, len(got), got[-1] if got else None, want))

# ---- the configuration key ---------------------------------------------------------------------------
text = open(config).read()
check(re.search(r"^errors:\n(#.*\n|\s.*\n)*?  max_lines: 100000 ", text, re.M) is not None,
      "the default file has errors.max_lines: 100000")
open(config, "w").write(text.replace("  max_lines: 100000 ", "  max_lines: 10     ", 1))
p = subprocess.run([bizoope, "config", "check", "--config", config], capture_output=True,
                   text=True)
check(p.returncode == 0, "config check accepts errors.max_lines: 10: %s" % p.stderr)
open(config, "w").write(text.replace("  max_lines: 100000 ", "  max_lines: -1     ", 1))
p = subprocess.run([bizoope, "config", "check", "--config", config], capture_output=True,
                   text=True)
line = text[:text.index("  max_lines: 100000 ")].count("\n") + 1
check(p.returncode != 0 and ("bizoope.yaml:%d" % line) in p.stderr and "max_lines" in p.stderr,
      "a bad errors.max_lines is refused at its line %d: %s" % (line, p.stderr))

check.finish("error files capped with a count line; counts exact")
