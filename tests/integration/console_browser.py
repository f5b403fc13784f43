"""console_browser.py BIZOOPE SRC_DIR WORK_DIR - the web console of a watching `bizoope run`, in
a real browser: headless Chromium (Debian's chromium) driven by console_page.js (npm
puppeteer-core), against a run fed by `bizoope gen`.

- the page, its script and its style sheet are served compiled in, with a CSP that allows only
  them; the page loads with no console error and no failed request;
- the jobs view lists exactly the jobs the journal holds; a job's detail shows its error file's
  first lines (the file's own first lines) and its timings;
- Cancel from the page keeps a file whose merge waits (the warehouse locked by another
  process) from starting again: it fails; Retry from the page queues it again and it loads;
- the site's 30-day charts have one point per day with data (the API's days), the reject-rate
  chart its threshold line; the 24 h throughput chart has the run's samples;
- the batches view lists every step with its ledger and its missing periods, as /v1/batches
  (after one `bizoope batch run` by hand, so some are built and some missing);
- the API's CSRF rules hold for the console's POST routes: a cross-origin POST and a form-like
  POST (no JSON content type, no token) are refused, nothing is cancelled;
- screenshots of each view are kept in WORK_DIR as test artifacts."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, WatchingRun, free_port, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("console_browser")
chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
puppeteer = os.path.join(src, "tests", "fakes", "node_modules", "puppeteer-core")
if not os.path.exists(chromium) or not os.path.isdir(puppeteer):
    print("FAIL: needs %s (apt-get install chromium) and npm puppeteer-core in tests/fakes "
          "(bash scripts/setup.sh --tests installs both)" % chromium)
    sys.exit(1)

port = free_port()
base = "http://127.0.0.1:%d" % port
inst, config = fresh_installation(bizoope, work, sites=("a", "b"), edits=(
    ("  listen: 127.0.0.1:8470", "  listen: '127.0.0.1:%d'" % port),
    ("  sample_every: 1m ", "  sample_every: 1s "),
    ("poll_interval: 2s", "poll_interval: 200ms")))
feeds = os.path.join(work, "feeds")
os.makedirs(feeds)


def http(method, path, headers=None, body=None):
    req = urllib.request.Request(base + path, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def send(site, path):
    name = os.path.basename(path)
    inbox = os.path.join(inst, "inbox", site)
    shutil.copy(path, os.path.join(inbox, "." + name))
    os.rename(os.path.join(inbox, "." + name), os.path.join(inbox, name))


def feed(site, table, rows, seed):
    out = os.path.join(feeds, site, "%s_20261124090000.tsv" % table)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    gen(bizoope, table, rows, out, seed, out + ".expect", error_rate=0.02, dup_rate=0.05)
    return out


def browser(*args):
    """console_page.js with args; what it saw (empty when it failed)."""
    p = subprocess.run(["node", os.path.join(src, "tests", "integration", "console_page.js"),
                        base + "/", work] + list(args), capture_output=True, text=True,
                       timeout=180)
    if p.returncode != 0:
        print(p.stderr)
    check(p.returncode == 0, "console_page.js %s ran (%d)" % (args[0], p.returncode))
    return json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else {}


send("a", feed("a", "items", 400, 2))
send("b", feed("b", "stores", 60, 3))
journal = feed("a", "journal", 3000, 1)
run = WatchingRun(bizoope, config, work)
holder = None
try:
    check.wait("the first two files", lambda: run.got(2), timeout=120)
    status, headers, page = http("GET", "/")
    check(status == 200 and "<title>bizoope console</title>" in page, "GET / serves the page")
    csp = headers.get("Content-Security-Policy", "")
    check("script-src 'self'" in csp and "frame-ancestors 'none'" in csp,
          "the page has its CSP: %r" % csp)
    status, headers, _ = http("GET", "/console.js")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/javascript"),
          "GET /console.js: %d %s" % (status, headers.get("Content-Type")))

    # The journal's merge finds the warehouse locked by another process: it waits, queued.
    holder = sqlite3.connect(os.path.join(inst, "warehouse.db"), timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    send("a", journal)
    waits = check.wait("the journal's merge to wait", run.waiting, timeout=60) or [{}]
    victim = waits[0].get("job_id", "?")

    # CSRF: a cross-origin page and a plain form post are refused; nothing is cancelled.
    status, _, _ = http("POST", "/v1/jobs/%s/cancel" % victim,
                        {"Origin": "http://evil.example", "Content-Type": "application/json"},
                        b"{}")
    check(status == 403, "a cross-origin POST is refused (%d)" % status)
    status, _, _ = http("POST", "/v1/jobs/%s/cancel" % victim,
                        {"Content-Type": "application/x-www-form-urlencoded"}, b"x=1")
    check(status == 403, "a form-like POST is refused (%d)" % status)
    job = json.loads(http("GET", "/v1/jobs/" + victim)[2])
    check(job.get("status") == "landed", "the refused POSTs changed nothing: %s" % job.get("status"))

    # Cancel from the page: the waiting file fails, "cancelled by an operator".
    seen = browser("cancel", victim)
    check(seen.get("cancel_said") == "cancelled", "cancel answered: %s" % seen.get("cancel_said"))
    holder.rollback()
    holder.close()
    holder = None
    check.wait("the cancelled journal to fail", lambda: json.loads(
        http("GET", "/v1/jobs/" + victim)[2]).get("status") == "failed", timeout=60)
    check(run.got(3) is None, "the cancelled file did not load")

    jobs = json.loads(http("GET", "/v1/jobs")[2])["jobs"]
    items_job = next(j["job_id"] for j in jobs if j["table"] == "items")
    time.sleep(2)  # a few more 1 s samples for the 24 h chart
    seen = browser("main", victim, "a", items_job)
    clean = [seen]
    check(seen.get("console_errors") == [], "no console errors: %s" % seen.get("console_errors"))
    check(seen.get("failed_requests") == [], "no failed requests: %s" %
          seen.get("failed_requests"))
    check(sorted(seen.get("jobs_shown", [])) == sorted(j["job_id"] for j in jobs),
          "the jobs view lists the journal's %d jobs: %s" % (len(jobs), seen.get("jobs_shown")))
    errors_file = os.path.join(inst, "outbox", "a", "items_20261124090000.tsv.errors.tsv")
    first = open(errors_file, encoding="utf-8", errors="replace").read().split("\n")[:3]
    check(len(first) == 3 and seen.get("error_lines", [])[:3] == first,
          "the detail shows the error file's first lines: %s" % seen.get("error_lines", [])[:3])
    check(seen.get("timing_bars") == 6, "the detail draws 6 timings: %s" % seen.get("timing_bars"))
    check(seen.get("retry_said") == "queued again", "retry answered: %s" % seen.get("retry_said"))
    again = check.wait("the retried journal's report", lambda: run.got(3), timeout=60) or []
    check(len(again) >= 3 and again[2]["job_id"] == victim and again[2]["status"] == "loaded",
          "the run loaded the retried journal: %s" % [(r["job_id"], r["status"]) for r in again])

    # One catch-up run by hand: some steps have a ledger, the rest still show what is missing.
    built = subprocess.run([bizoope, "batch", "run", "--config", config, "--max-periods", "3"],
                           capture_output=True, text=True)
    check(built.returncode == 0, "bizoope batch run: %s" % built.stderr)
    batches = json.loads(http("GET", "/v1/batches")[2])["steps"]
    check(any(s["built"] > 0 for s in batches) and any(s["missing"] > 0 for s in batches) and
          all(len(s["missing_periods"]) == min(s["missing"], 100) for s in batches),
          "batches: built and missing periods: %s" %
          [(s["step"], s["built"], s["missing"]) for s in batches])

    seen = browser("rest", victim, "a", items_job)
    clean.append(seen)
    check(all(x.get("console_errors") == [] and x.get("failed_requests") == [] for x in clean),
          "the later views: no console errors or failed requests: %s" % clean[1:])
    days = json.loads(http("GET", "/v1/sites/a/days?days=30")[2])
    check(len(days["per_day"]) == 1 and days["per_day"][0]["files"] == 2 and
          days["per_day"][0]["lines"] == 3400 and days["reject_rate_threshold_percent"] == 10,
          "site a's days: %s" % days)
    today = days["per_day"][0]["day"][5:]
    check(seen.get("lines_points") == [today], "the lines chart: one point, today: %s" %
          seen.get("lines_points"))
    check(seen.get("files_bars") == [today], "the files chart: one bar, today: %s" %
          seen.get("files_bars"))
    check(seen.get("reject_points") == 1 and seen.get("reject_limit") == 1,
          "the reject-rate chart: one point and the threshold: %s %s" %
          (seen.get("reject_points"), seen.get("reject_limit")))
    check(clean[0].get("throughput_points", 0) >= 3, "the 24 h chart has the run's samples: %s" %
          clean[0].get("throughput_points"))
    check(sorted(seen.get("sites_shown", [])) == ["a", "b"], "the sites: %s" %
          seen.get("sites_shown"))
    check(seen.get("batches_shown") == [[s["workflow"] + "." + s["step"], "{:,}".format(s["built"]),
                                         "{:,}".format(s["missing"])] for s in batches],
          "the batches view: every step with its ledger and missing periods: %s" %
          seen.get("batches_shown"))
    check(seen.get("settings_rows", 0) > 0 and seen.get("problem_shown") == "",
          "settings shown, no problem: %s" % seen.get("problem_shown"))
    for shot in ("console-status.png", "console-job.png", "console-sites.png",
                 "console-cancel.png", "console-batches.png"):
        check(os.path.getsize(os.path.join(work, shot)) > 10000, "screenshot " + shot)
finally:
    if holder is not None:
        holder.close()
    check(run.stop() == 0, "the run stopped cleanly")

check.finish("the console loads clean, lists the journal's jobs, retries from the page, and "
             "draws one point per day with data")
