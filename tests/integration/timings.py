"""timings.py BIZOOPE SRC_DIR WORK_DIR - per-file timings that do not mislead (issue #16 item 4,
the first-hour review's B1/B2).

Five copies of one journal and a small stores file in one `run --once` (they wait behind each
other: one merge at a time, in landing order):
- every file's seconds = processing_seconds + waiting_seconds (JSON of run, jobs, the journal);
  the files that came later waited longer than the first;
- no rate for files under 10 MB: `mb_per_s` is null and the text line has no MB/s, while a
  file of 10 MB or more has both;
- a small file shows "<0.01 s" rather than "0.00 s", and `validate` follows the same rules;
- `jobs show` says how long the file was processed and how long it waited."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, run_once  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("timings")
inst, config = fresh_installation(bizoope, work, sites=("tokyo",))
inbox = os.path.join(inst, "inbox", "tokyo")
journal = os.path.join(work, "journal.tsv")
gen(bizoope, "journal", 30000, journal, 3, journal + ".exp")
data = open(journal, "rb").read()
for i in range(5):  # five different files (a resend of the same bytes would be 'identical')
    open(os.path.join(inbox, "journal_2026120109000%d.tsv" % i), "wb").write(data + b"\n" * i)
gen(bizoope, "stores", 100, os.path.join(inbox, "stores_20261201090000.tsv"), 3,
    os.path.join(work, "stores.exp"))
big = os.path.join(work, "journal_20261201100000.tsv")
gen(bizoope, "journal", 80000, big, 4, big + ".exp")
open(os.path.join(inbox, os.path.basename(big)), "wb").write(open(big, "rb").read())
check(os.path.getsize(big) >= 10000000, "the big file has 10 MB or more (%d)" % os.path.getsize(big))

jobs, proc = run_once(bizoope, config)
check(len(jobs) == 7 and all(j["status"] == "loaded" for j in jobs), "7 files loaded: %r" % jobs)
for j in jobs:
    total = j["processing_seconds"] + j["waiting_seconds"]
    check(abs(total - j["seconds"]) < 1e-6 and j["processing_seconds"] > 0 and
          j["waiting_seconds"] >= 0,
          "%s: seconds %.4f = processing %.4f + waiting %.4f" % (j["file"], j["seconds"],
                                                                j["processing_seconds"],
                                                                j["waiting_seconds"]))
    if j["bytes"] < 10000000:
        check(j["mb_per_s"] is None, "%s (%d bytes): no rate (%r)" % (j["file"], j["bytes"],
                                                                      j["mb_per_s"]))
    else:
        check(isinstance(j["mb_per_s"], float) and j["mb_per_s"] > 0,
              "%s: a rate for 10 MB or more (%r)" % (j["file"], j["mb_per_s"]))
copies = [j for j in jobs if re.match(r"journal_2026120109000\d", j["file"])]
check(len(copies) == 5 and copies[-1]["waiting_seconds"] > copies[0]["waiting_seconds"],
      "the last copy waited longer than the first: %r" % [c["waiting_seconds"] for c in copies])

p = subprocess.run([bizoope, "jobs", "list", "--config", config, "--json"], capture_output=True,
                   text=True)
listed = {j["file_name"] if "file_name" in j else j.get("file"): j
          for j in map(json.loads, p.stdout.splitlines())}
for j in jobs:
    k = listed.get(j["file"], {})
    check(abs(k.get("processing_seconds", -1) - j["processing_seconds"]) < 1e-6 and
          abs(k.get("waiting_seconds", -1) - j["waiting_seconds"]) < 1e-6,
          "jobs list --json keeps %s's timings: %r" % (j["file"], k))
small = next(j for j in jobs if j["file"].startswith("stores_"))
show = subprocess.run([bizoope, "jobs", "show", small["job_id"], "--config", config],
                      capture_output=True, text=True).stdout
check(re.search(r"took\s+[\d.]+ s: [\d.]+ s processing, [\d.]+ s waiting", show) is not None,
      "jobs show splits processing and waiting: %r" % show)

# the text lines, in an installation of their own
text_inst, text_config = fresh_installation(bizoope, os.path.join(work, "text"),
                                            sites=("tokyo",))
tiny = os.path.join(work, "stores_20261201090000.tsv")
gen(bizoope, "stores", 100, tiny, 3, os.path.join(work, "tiny.exp"))
open(os.path.join(text_inst, "inbox", "tokyo", os.path.basename(tiny)), "wb").write(
    open(tiny, "rb").read())
open(os.path.join(text_inst, "inbox", "tokyo", "journal_20261201100000.tsv"), "wb").write(
    open(big, "rb").read())
r = subprocess.run([bizoope, "run", "--config", text_config, "--once"], capture_output=True,
                   text=True)
lines = {m.group(1): m.group(2) for m in re.finditer(r"tokyo/(\S+): .*\((.*)\)\n", r.stdout)}
check("MB/s" not in lines.get("stores_20261201090000.tsv", "MB/s") and
      re.match(r"[\d.]+ kB in (<0\.01|[\d.]+) s", lines.get("stores_20261201090000.tsv", "")),
      "the small file's line: size and time, no rate: %r" % lines)
check(re.search(r"MB in [\d.]+ s.*, \d+ MB/s$", lines.get("journal_20261201100000.tsv", "")),
      "the 10 MB file's line has its rate: %r" % lines)
v = subprocess.run([bizoope, "validate", "--no-errors", os.path.join(work, "journal.tsv"),
                    "--table", "journal"], capture_output=True, text=True).stdout
vj = subprocess.run([bizoope, "validate", "--no-errors", "--json", "--table", "stores", tiny],
                    capture_output=True, text=True).stdout
check("MB/s" not in v and json.loads(vj or "{}").get("mb_per_s", 0) is None,
      "validate: no rate under 10 MB: %r %r" % (v, vj))
check.finish("seconds = processing + waiting for 7 files (the fifth copy waited %.2f s, the "
             "first %.2f s); rates only from 10 MB" % (copies[-1]["waiting_seconds"],
                                                         copies[0]["waiting_seconds"]))
