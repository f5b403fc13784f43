"""d21_jobs_pagination.py BIZOOPE SRC_DIR WORK_DIR - review D21 (journal size), the functional
side (tests/load/admin.sh times it): /v1/jobs answers a page at a time and `next` leads through
every job exactly once, in order, against the journal itself:

- 2,600 synthetic jobs in a watching run's journal: pages of 1,000 from the start; with
  site/status filters; the newest 1,500 (`limit`); jobs added between two pages come after the
  ones seen, each once; an `after` that is no job is a 400;
- `bizoope jobs list` pages through the same: over the run's socket (--config), over TCP
  (--api), and in-process with no run, each listing every job once in order, also with
  --site/--status and --last;
- /v1/status, /v1/sites and /metrics count the jobs by state and site as the journal holds
  them (kept counts, no scan), also after jobs are added, changed and deleted;
- a journal made by the first release (no indexes, no counts) opens and counts right."""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "load"))
from pipeline_lib import Checks, free_port, fresh_installation  # noqa: E402
from admin_bench import fill_jobs, get, wait_answering  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d21_jobs_pagination")
SITES = ["a", "b", "c"]


def sql(state, query, *args):
    con = sqlite3.connect(state)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def api(path):
    status, body = get(sock, path)
    return status, json.loads(body) if body.startswith("{") else body


def pages(path):
    """Every job of path's pages, following `next`; and how many pages it took."""
    ids, n, after = [], 0, None
    while True:
        sep = "&" if "?" in path else "?"
        status, page = api(path + ("%safter=%s" % (sep, after) if after else ""))
        if status != 200:
            check(False, "%s: %d %r" % (path, status, page))
            return ids, n
        n += 1
        ids += [j["job_id"] for j in page["jobs"]]
        check(len(page["jobs"]) <= 1000, "a page holds at most 1000 jobs")
        after = page["next"]
        if after is None:
            return ids, n
        check(after == ids[-1], "next is the last job of the page")


def cli_ids(*args):
    p = subprocess.run([bizoope, "jobs", "list", "--json"] + list(args), capture_output=True,
                       text=True, timeout=120)
    check(p.returncode == 0, "jobs list %r: %r" % (args, p.stderr))
    return [json.loads(l)["job_id"] for l in p.stdout.splitlines()]


def counts_by_state(state, site=None):
    rows = sql(state, "SELECT state, COUNT(*) FROM jobs %s GROUP BY state" %
               ("WHERE site_id = ?" if site else ""), *([site] if site else []))
    return dict(rows)


def check_counts(what):
    status, st = api("/v1/status")
    check({k: v for k, v in st["files"].items() if v} == counts_by_state(state),
          "%s: /v1/status counts %r = journal %r" % (what, st["files"], counts_by_state(state)))
    status, sites = api("/v1/sites")
    for s in sites["sites"]:
        check({k: v for k, v in s["jobs"].items() if v} == counts_by_state(state, s["site"]),
              "%s: /v1/sites %s %r" % (what, s["site"], s["jobs"]))
    status, metrics = get(sock, "/metrics")
    for k, v in counts_by_state(state).items():
        check('bizoope_files{status="%s"} %d' % (k, v) in metrics,
              "%s: /metrics bizoope_files %s = %d" % (what, k, v))


port = free_port()
inst, config = fresh_installation(bizoope, work, sites=tuple(SITES), edits=(
    ("  listen: 127.0.0.1:8470 ", "  listen: 127.0.0.1:%d " % port),
    ("poll_interval: 2s", "poll_interval: 200ms")))
state = os.path.join(os.path.realpath(inst), "state.db")
sock = state + ".sock"
run = subprocess.Popen([bizoope, "run", "--config", config, "--quiet", "--workers", "1"],
                       stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "run.log"), "w"))
try:
    check(wait_answering(sock, run, 60), "the run answers on its socket")
    fill_jobs(state, 2600, SITES)
    every = [r[0] for r in sql(state, "SELECT job_id FROM jobs ORDER BY seq")]
    check(len(every) == 2600, "2600 jobs in the journal")

    ids, n = pages("/v1/jobs")
    check(ids == every and n == 3, "/v1/jobs: every job once, in order, in 3 pages (%d, %d)" %
          (len(ids), n))
    want = [r[0] for r in sql(state, "SELECT job_id FROM jobs WHERE site_id = 'b' AND "
                              "state = 'done' ORDER BY seq")]
    ids, n = pages("/v1/jobs?site=b&status=done")
    check(ids == want and len(want) > 700, "site=b&status=done: %d of %d" % (len(ids), len(want)))
    ids, n = pages("/v1/jobs?limit=1500")
    check(ids == every[-1500:] and n == 2, "limit=1500: the newest 1500 in order, 2 pages")
    ids, n = pages("/v1/jobs?status=failed&limit=5")
    want = [r[0] for r in sql(state, "SELECT job_id FROM jobs WHERE state = 'failed' "
                              "ORDER BY seq DESC LIMIT 5")][::-1]
    check(ids == want, "status=failed&limit=5: the newest 5 failed: %r %r" % (ids, want))

    # jobs arriving between two pages come after the ones seen, each once
    status, first = api("/v1/jobs")
    fill_jobs(state, 10, SITES, first=2601)
    ids = [j["job_id"] for j in first["jobs"]]
    after = first["next"]
    while after:
        status, page = api("/v1/jobs?after=" + after)
        ids += [j["job_id"] for j in page["jobs"]]
        after = page["next"]
    every = [r[0] for r in sql(state, "SELECT job_id FROM jobs ORDER BY seq")]
    check(ids == every and len(ids) == 2610, "with jobs added meanwhile: %d, each once, in order"
          % len(ids))
    status, body = api("/v1/jobs?after=j999999")
    check(status == 400 and "no job j999999" in body["error"], "after=no job: 400 %r" % body)

    check(cli_ids("--config", config) == every, "jobs list over the socket: every job once")
    check(cli_ids("--api", "http://127.0.0.1:%d" % port) == every,
          "jobs list over TCP: every job once")
    want = [r[0] for r in sql(state, "SELECT job_id FROM jobs WHERE site_id = 'c' AND "
                              "state = 'failed' ORDER BY seq")]
    check(cli_ids("--config", config, "--site", "c", "--status", "failed") == want,
          "jobs list --site c --status failed")
    check(cli_ids("--config", config, "--last", "1200") == every[-1200:], "jobs list --last 1200")

    check_counts("after the bulk inserts")
    con = sqlite3.connect(state)  # as another writer would: the kept counts follow
    con.execute("UPDATE jobs SET state = 'done' WHERE state = 'failed' AND site_id = 'a'")
    con.execute("DELETE FROM jobs WHERE job_id = 'j000007'")
    con.commit()
    con.close()
    check_counts("after an update and a delete")
finally:
    run.terminate()
    run.wait(timeout=60)

# no run: the CLI pages in-process the same way
every = [r[0] for r in sql(state, "SELECT job_id FROM jobs ORDER BY seq")]
check(cli_ids("--config", config) == every and len(every) == 2609,
      "jobs list in-process: every job once")

# a journal of the first release: no indexes, no counts
old_work = os.path.join(work, "old")
old_inst, old_config = fresh_installation(bizoope, old_work, sites=tuple(SITES), edits=(
    ("  listen: 127.0.0.1:8470 ", "  listen: '' "),))
old_state = os.path.join(os.path.realpath(old_inst), "state.db")
written = fill_jobs(old_state, 1200, SITES, old_schema=True)
st = subprocess.run([bizoope, "status", "--config", old_config, "--json"], capture_output=True,
                    text=True)
files = json.loads(st.stdout)["files"] if st.returncode == 0 else {}
check({k: v for k, v in files.items() if v} == written,
      "an old journal opens and counts right: %r %r" % (files, written))
check(cli_ids("--config", old_config) == ["j%06d" % i for i in range(1, 1201)],
      "and lists every job once")
check.finish("every job once, in order, on every path; counts as the journal holds them")
