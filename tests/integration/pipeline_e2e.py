"""pipeline_e2e.py BIZOOPE SRC_DIR WORK_DIR - `bizoope run --once` over a sequence of files for
two sites (new keys, updates, older resends, logical deletes, overlapping keys, compressed and
bad inputs). Every count is checked against the generator's expectations and the final tables
against an independent model, row by row.

E2E_QUEUE=kafka runs the same cases in distributed mode: a Kafka cluster (tests/fakes/
kafka_mock) on 127.0.0.1 and two bizoope-worker processes do the shards; `bizoope run` is then
the coordinator (it is the same program as bizoope-coordinator)."""
import gzip
import json
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import KafkaCluster, Model, gen, init_installation, read_expect, read_lines  # noqa: E402
from pipeline_lib import run_once as lib_run_once  # noqa: E402
from pipeline_lib import start_workers, stop_workers, use_kafka, warehouse_rows  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
inst = os.path.join(work, "inst")
init_installation(bizoope, inst, ("a", "b"))
config = os.path.join(inst, "bizoope.yaml")
if os.environ.get("E2E_QUEUE", "memory") == "kafka":
    import atexit
    build = os.path.dirname(os.path.abspath(bizoope))
    cluster = KafkaCluster(build)
    use_kafka(config, cluster.bootstrap)
    workers = start_workers(build, config, 2)
    atexit.register(cluster.stop)
    atexit.register(stop_workers, workers)  # runs first
inbox = lambda site, name: os.path.join(inst, "inbox", site, name)  # noqa: E731
outbox = lambda site, name: os.path.join(inst, "outbox", site, name + ".errors.tsv")  # noqa: E731
model = Model(src)
failures = []
all_reports = []


def run_once(bizoope, config, check=True):
    reports, p = lib_run_once(bizoope, config, check=check)
    all_reports.extend(reports)
    return reports, p



def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def expect_report(r, exp, merge):
    name = "%s/%s" % (r["site"], r["file"])
    for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate"):
        check(r[k] == exp[k], "%s: %s = %s, expected %s" % (name, k, r[k], exp[k]))
    check(r["lines"] == r["loaded"] + r["rejected_invalid"] + r["rejected_duplicate"],
          name + ": lines != loaded + rejected")
    got = (r["merge_inserted"], r["merge_updated"], r["merge_skipped_older"])
    check(got == merge, "%s: merge %s, expected %s" % (name, got, merge))
    check(r["status"] == "loaded", name + ": status " + r["status"])


def check_error_file(site, name, feed, rejected):
    """The error file lists exactly the rejected lines, in order, bytes unchanged."""
    lines = read_lines(feed)
    got = open(outbox(site, name), "rb").read()
    want = b""
    for n in sorted(rejected):
        kind, detail = rejected[n]
        got_line = None
        want += lines[n - 1] + b"\tline %d: " % n
        if kind == "duplicate":
            want += b"duplicate key, superseded by line %d\n" % int(detail)
        else:
            want += b"\x00"  # placeholder: reason text checked per line below
    # compare line by line: bytes + line number exactly, reason exactly for duplicates
    got_lines = got.split(b"\n")[:-1] if got else []
    check(len(got_lines) == len(rejected), "%s/%s: %d error lines, expected %d" %
          (site, name, len(got_lines), len(rejected)))
    for gl, n in zip(got_lines, sorted(rejected)):
        kind, detail = rejected[n]
        prefix = lines[n - 1] + b"\tline %d: " % n
        check(gl.startswith(prefix), "%s/%s line %d: error line does not start with the original"
              % (site, name, n))
        if kind == "duplicate":
            check(gl == prefix + b"duplicate key, superseded by line %d" % int(detail),
                  "%s/%s line %d: duplicate reason %r" % (site, name, n, gl[len(prefix):]))
    del got_line, want


# ---- run 1: a journal for both sites (same keys), items and members for b ----------------------
exp = {}
exp["a_j1"] = gen(bizoope, "journal", 4000, inbox("a", "journal_20261124090000.tsv"), 7,
                  os.path.join(work, "a_j1.exp"), error_rate=0.03, dup_rate=0.1, crlf_rate=0.2)
shutil.copy(inbox("a", "journal_20261124090000.tsv"), inbox("b", "journal_20261124090000.tsv"))
exp["b_i1"] = gen(bizoope, "items", 1500, inbox("b", "items_20261124090000.tsv"), 8,
                  os.path.join(work, "b_i1.exp"), error_rate=0.05, dup_rate=0.2)
exp["b_m1"] = gen(bizoope, "members", 1200, inbox("b", "members_20261124090000.tsv"), 9,
                  os.path.join(work, "b_m1.exp"), bom="", no_final_newline="")
feeds = {k: os.path.join(work, k + ".tsv") for k in exp}
for k, site, name in (("a_j1", "a", "journal_20261124090000.tsv"),
                      ("b_i1", "b", "items_20261124090000.tsv"),
                      ("b_m1", "b", "members_20261124090000.tsv")):
    shutil.copy(inbox(site, name), feeds[k])
reports, _ = run_once(bizoope, config)
by = {(r["site"], r["file"]): r for r in reports}
check(len(reports) == 4, "run 1: %d reports, expected 4" % len(reports))
rej = {k: read_expect(os.path.join(work, k + ".exp")) for k in exp}
m = model.merge_file("journal", "a", feeds["a_j1"], rej["a_j1"])
expect_report(by[("a", "journal_20261124090000.tsv")], exp["a_j1"], m)
m = model.merge_file("journal", "b", feeds["a_j1"], rej["a_j1"])
expect_report(by[("b", "journal_20261124090000.tsv")], exp["a_j1"], m)
m = model.merge_file("items", "b", feeds["b_i1"], rej["b_i1"])
expect_report(by[("b", "items_20261124090000.tsv")], exp["b_i1"], m)
m = model.merge_file("members", "b", feeds["b_m1"], rej["b_m1"])
expect_report(by[("b", "members_20261124090000.tsv")], exp["b_m1"], m)
check_error_file("a", "journal_20261124090000.tsv", feeds["a_j1"], rej["a_j1"])
check_error_file("b", "items_20261124090000.tsv", feeds["b_i1"], rej["b_i1"])

# ---- run 2: updates, older resends, logical deletes, new keys for site a only --------------------
rng = random.Random(20261124)
lines = read_lines(feeds["a_j1"])
sc = model.schema("journal")
names = [c for c, _ in sc["columns"]]
oi, di, ai = names.index("output_at"), names.index("is_deleted"), names.index("amount")
ri = names.index("receipt_no")
loaded = [l for i, l in enumerate(lines, start=1) if i not in rej["a_j1"]]
out = []
for l in loaded:
    f = l.decode().split("\t")
    roll = rng.random()
    if roll < 0.3:  # newer: an update
        f[oi] = "20261125" + f[oi][8:]
        f[ai] = "1.00"
    elif roll < 0.4:  # an older resend: must never overwrite
        f[oi] = "20261101" + f[oi][8:]
        f[ai] = "9.99"
    elif roll < 0.45:  # logical delete, newer
        f[oi] = "20261125" + f[oi][8:]
        f[di] = "1"
    elif roll < 0.5:  # same output_at: equal updates
        pass
    else:
        continue
    out.append("\t".join(f))
for n in range(60):  # new keys
    f = loaded[n].decode().split("\t")
    f[ri] = str(900000 + n)
    out.append("\t".join(f))
rng.shuffle(out)
j2 = os.path.join(work, "a_j2.tsv")
open(j2, "w").write("\n".join(out) + "\n")
shutil.copy(j2, inbox("a", "journal_20261125090000.tsv"))
# the same journal again under its first name: identical content -> nothing to do
shutil.copy(feeds["a_j1"], inbox("a", "journal_20261124090000.tsv"))
reports, _ = run_once(bizoope, config)
by = {(r["site"], r["file"]): r for r in reports}
m = model.merge_file("journal", "a", j2, {})
e2 = {"lines": len(out), "loaded": len(out), "rejected_invalid": 0, "rejected_duplicate": 0}
expect_report(by[("a", "journal_20261125090000.tsv")], e2, m)
check(m[1] > 0 and m[2] > 0, "run 2 exercises updates and older resends")
check(by[("a", "journal_20261124090000.tsv")]["status"] == "identical", "identical resend")
check(os.path.getsize(outbox("a", "journal_20261125090000.tsv")) == 0, "clean file: 0-byte errors")

# ---- run 3: compressed inputs, same name with different content, bad inputs ----------------------
exp["b_s1"] = gen(bizoope, "stores", 300, os.path.join(work, "b_s1.tsv"), 11,
                  os.path.join(work, "b_s1.exp"), error_rate=0.05)
with open(os.path.join(work, "b_s1.tsv"), "rb") as fi:
    data = fi.read()
with gzip.open(inbox("b", "stores_20261124090000.tsv.gz"), "wb") as fo:
    fo.write(data)
exp["b_i2"] = gen(bizoope, "items", 800, os.path.join(work, "b_i2.tsv"), 12,
                  os.path.join(work, "b_i2.exp"), error_rate=0.02, dup_rate=0.05)
subprocess.run(["zstd", "-q", "-f", os.path.join(work, "b_i2.tsv"), "-o",
                inbox("b", "items_20261126090000.tsv.zst")], check=True)
# same name as run 1's items file, different bytes: a new load
exp["b_i3"] = gen(bizoope, "items", 500, inbox("b", "items_20261124090000.tsv"), 13,
                  os.path.join(work, "b_i3.exp"))
shutil.copy(inbox("b", "items_20261124090000.tsv"), os.path.join(work, "b_i3.tsv"))
open(inbox("a", "journal_20261127090000.tsv"), "wb").close()  # empty file
open(inbox("a", "readme.txt"), "w").write("hello\n")  # no table
open(inbox("a", "journal 2026.tsv"), "w").write("x\n")  # name not allowed
with gzip.open(inbox("a", "journal_20261128090000.tsv.gz"), "wb", compresslevel=9) as fo:
    fo.write(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB: a bomb by ratio
reports, _ = run_once(bizoope, config, check=False)
by = {(r["site"], r["file"]): r for r in reports}
rej.update({k: read_expect(os.path.join(work, k + ".exp")) for k in ("b_s1", "b_i2", "b_i3")})
m = model.merge_file("stores", "b", os.path.join(work, "b_s1.tsv"), rej["b_s1"])
expect_report(by[("b", "stores_20261124090000.tsv.gz")], exp["b_s1"], m)
m = model.merge_file("items", "b", os.path.join(work, "b_i3.tsv"), rej["b_i3"])
expect_report(by[("b", "items_20261124090000.tsv")], exp["b_i3"], m)
m = model.merge_file("items", "b", os.path.join(work, "b_i2.tsv"), rej["b_i2"])
expect_report(by[("b", "items_20261126090000.tsv.zst")], exp["b_i2"], m)
empty = by[("a", "journal_20261127090000.tsv")]
check(empty["status"] == "loaded" and empty["lines"] == 0, "empty file: loaded, 0 lines")
for name, words in (("readme.txt", b"matches no table"), ("journal 2026.tsv", b"not allowed"),
                    ("journal_20261128090000.tsv.gz", b"200")):
    r = by.get(("a", name))
    check(r is not None and r["status"] == "rejected", name + ": rejected")
    # the report names the error file: a name that is not allowed gets one of its own
    # (_<job>_<safe name>.errors.tsv), never one an allowed name could have
    text = open(r["error_file"], "rb").read() if r else b""
    if name == "journal 2026.tsv":
        check(os.path.basename(r["error_file"]) == "_%s_journal_2026.tsv.errors.tsv" % r["job_id"],
              "a name not allowed: its own error file name, got %r" % r["error_file"])
    check(words in text, "%s: error file says why: %r" % (name, text[:200]))
check(not os.listdir(os.path.join(inst, "inbox", "a")), "site a's inbox is empty")
check(len(os.listdir(os.path.join(inst, "quarantine", "a"))) == 3, "three files quarantined")

# ---- the tables, row by row ----------------------------------------------------------------------
db = os.path.join(inst, "warehouse.db")
for table in ("journal", "items", "members", "stores"):
    want = model.table_rows(table)
    got = warehouse_rows(db, model, table)
    check(len(got) == len(want), "%s: %d rows, expected %d" % (table, len(got), len(want)))
    if got != want:
        diff = [r for r in want if r not in set(got)][:3]
        check(False, "%s: contents differ from the model, e.g. missing %r" % (table, diff))
archives = sorted(os.listdir(os.path.join(inst, "archive", "b")))
check(len(archives) == 6, "site b: 6 archives, got %r" % archives)
check(not os.listdir(os.path.join(inst, "backup", "b")), "site b: backups archived and removed")
# ---- a paused site's files wait in its inbox; resumed, they are taken --------------------------------
def sites(*args):
    return subprocess.run([bizoope, "sites"] + list(args) + ["--config", config],
                          capture_output=True, text=True)


check(sites("pause", "b").returncode == 0, "sites pause b")
shutil.copy(feeds["b_i1"], inbox("b", "items_20261130090000.tsv"))
reports, _ = run_once(bizoope, config)
check(reports == [] and os.path.exists(inbox("b", "items_20261130090000.tsv")),
      "paused: b's file waits in its inbox (%d reports)" % len(reports))
listed = json.loads(sites("list", "--json").stdout)["sites"]
check([(x["id"], x["paused"]) for x in listed] == [("a", False), ("b", True)],
      "sites list shows the pause: %r" % listed)
check("was already paused" in sites("pause", "b").stdout, "pausing twice says so")
check(sites("pause", "nosuch").returncode == 1, "pausing an unknown site fails")
check(sites("resume", "b").returncode == 0, "sites resume b")
reports, _ = run_once(bizoope, config)
check([(r["site"], r["file"], r["status"]) for r in reports] ==
      [("b", "items_20261130090000.tsv", "loaded")], "resumed: b's file is taken: %r" % reports)

# ---- the journal, as `bizoope jobs` tells it ------------------------------------------------------
jobs = [json.loads(l) for l in subprocess.run(
    [bizoope, "jobs", "list", "--config", config, "--json"], check=True, capture_output=True,
    text=True).stdout.splitlines()]
check(len(jobs) == len(all_reports), "jobs list: %d jobs, %d reports" % (len(jobs),
                                                                        len(all_reports)))
fates = {"loaded": ("merged", "done"), "rejected": ("rejected",), "identical": ("identical",),
         "failed": ("failed",)}
for r in all_reports:
    j = [x for x in jobs if x["job_id"] == r["job_id"]]
    check(len(j) == 1 and j[0]["status"] in fates[r["status"]] and
          all(j[0][k] == r[k] for k in ("site", "file", "lines", "loaded", "rejected_invalid",
                                        "rejected_duplicate", "merge_inserted", "merge_updated",
                                        "merge_skipped_older")),
          "jobs list agrees with the run's report for %s: %r" % (r["job_id"], j))
rejected = subprocess.run([bizoope, "jobs", "list", "--config", config, "--json", "--status",
                           "rejected", "--site", "a"], check=True, capture_output=True,
                          text=True).stdout.splitlines()
check(len(rejected) == 3, "jobs list --status rejected --site a: %d, expected 3" % len(rejected))
last = subprocess.run([bizoope, "jobs", "list", "--config", config, "--json", "--last", "2"],
                      check=True, capture_output=True, text=True).stdout.splitlines()
check([json.loads(l)["job_id"] for l in last] == [j["job_id"] for j in jobs[-2:]],
      "jobs list --last 2: the two newest, oldest first")
show = subprocess.run([bizoope, "jobs", "show", jobs[0]["job_id"], "--config", config, "--json"],
                      check=True, capture_output=True, text=True).stdout
show = json.loads(show)
check({k: v for k, v in show.items() if k not in ("error_file", "in_flight")} == jobs[0],
      "jobs show gives the job as jobs list does, plus its error file and progress: %r" % show)
check(show["in_flight"] is None and show["error_file"] == os.path.join(
          os.path.realpath(inst), "outbox", jobs[0]["site"], jobs[0]["file"] + ".errors.tsv") and
      os.path.exists(show["error_file"]), "jobs show names the error file: %r" % show)
missing = subprocess.run([bizoope, "jobs", "show", "j999999", "--config", config],
                         capture_output=True, text=True)
check(missing.returncode == 1 and "no job j999999" in missing.stderr, "jobs show of no job: %r" %
      missing.stderr)

if os.environ.get("E2E_QUEUE", "memory") == "kafka":  # the shards went through Kafka
    answer = cluster.command("read bizoope.tasks")[-1]
    tasks = int(answer.split("count=")[1]) if "count=" in answer else 0
    files = sum(1 for r in all_reports if r["status"] == "loaded" and r["lines"] > 0)
    check(files >= 6 and tasks >= files, "distributed mode: %d shard tasks on the topic for %d "
          "loaded files (%s)" % (tasks, files, answer))
    print("pipeline_e2e: %d shard tasks went through Kafka" % tasks)
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("pipeline_e2e: all checks passed")
