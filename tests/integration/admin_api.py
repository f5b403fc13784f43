"""admin_api.py BIZOOPE SRC_DIR WORK_DIR - operating a watching `bizoope run` with `bizoope`
alone, through its admin API on 127.0.0.1:

- a large file in flight shows in /v1/status and in `bizoope status`, run in a real terminal
  (tmux), with its phase, shards and a progress bar; `jobs show` gives its live progress;
- the warehouse held locked by another process: the merge has to wait - the file is reported
  "waiting" and tried again with backoff, not failed - and people get one ERROR "warehouse
  unreachable" (a recording webhook); `bizoope cancel` of the waiting file keeps it from starting
  (it fails, "cancelled by an operator"), and once the lock is gone `bizoope retry` through the API
  queues it behind a file in flight and it loads;
- a file over the site's reject rate gets a WARNING; a site with a higher per-site threshold
  does not;
- `sites pause` through the API holds a site's new file in its inbox, `sites resume` lets it in;
- /metrics: lines, rejects by reason, files by outcome and by status equal the runs' reports
  and the journal, exactly;
- settings: served, reloaded on SIGHUP, a broken file keeps the old values;
- the same JSON from the API and, once the run stopped, from the journal in-process;
- exit statuses: 1 for a refused action, 2 for usage, 3 when the API does not answer;
- off loopback the API needs a token: refused without one at start-up, 401 without the
  header, /healthz open, the CLI passes BIZOOPE_ADMIN_TOKEN."""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, WatchingRun, free_port, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("admin_api")


def http(method, url, token=None):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, ""


def api(method, path, token=None):
    status, body = http(method, base + path, token)
    return status, (json.loads(body) if body.startswith("{") else body)


def cli(*args, env=None):
    return subprocess.run([bizoope] + list(args), capture_output=True, text=True, env=env)


wait_for = check.wait


def Run(config, env=None, workers=1):
    return WatchingRun(bizoope, config, work, env=env, workers=workers)


# ---- the installation: two sites, a webhook that records notices -------------------------------
hooks = os.path.join(work + ".hooks.jsonl")
if os.path.exists(hooks):
    os.remove(hooks)
fake = subprocess.Popen([sys.executable, os.path.join(src, "tests", "fakes", "http_recorder.py"),
                         "{}", hooks], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
hook_port = int(fake.stdout.readline().strip().split("=")[1])
port = free_port()
base = "http://127.0.0.1:%d" % port
settings_dir = work + ".settings"
shutil.rmtree(settings_dir, ignore_errors=True)
os.makedirs(settings_dir)
shutil.copy(os.path.join(src, "schema", "settings.yaml"), settings_dir)
inst, config = fresh_installation(bizoope, work, sites=("a", "b"), edits=(
    ("  listen: 127.0.0.1:8470", "  listen: '127.0.0.1:%d'" % port),
    ("poll_interval: 2s", "poll_interval: 200ms"),
    ("shard_size: 64MiB", "shard_size: 2MiB"),
    ("  webhook_url: ", "  webhook_url: 'http://127.0.0.1:%d/hook'" % hook_port),
    ("  max_files_in_flight: 4 ", "  max_files_in_flight: 1 "),
    ("  reject_rate_sites: {}", "  reject_rate_sites:\n    b: 30"),
    ("  settings: ", "  settings: '%s'" % settings_dir)))
feeds = os.path.join(work, "feeds")
os.makedirs(feeds)
inbox = {s: os.path.join(inst, "inbox", s) for s in ("a", "b")}


def send(site, path):
    name = os.path.basename(path)
    shutil.copy(path, os.path.join(inbox[site], "." + name))
    os.rename(os.path.join(inbox[site], "." + name), os.path.join(inbox[site], name))


big = os.path.join(feeds, "journal_20261124090000.tsv")
gen(bizoope, "journal", 400000, big, 11, big + ".exp")
big2 = os.path.join(feeds, "journal_20261124093000.tsv")
gen(bizoope, "journal", 400000, big2, 17, big2 + ".exp")
noisy_a = os.path.join(feeds, "items_20261124100000.tsv")
gen(bizoope, "items", 3000, noisy_a, 12, noisy_a + ".exp", error_rate=0.2)
noisy_b = os.path.join(feeds, "items_20261124110000.tsv")
gen(bizoope, "items", 3000, noisy_b, 13, noisy_b + ".exp", error_rate=0.2)
locked_feed = os.path.join(feeds, "stores_20261124120000.tsv")
gen(bizoope, "stores", 500, locked_feed, 14, locked_feed + ".exp")
paused_feed = os.path.join(feeds, "journal_20261124130000.tsv")
gen(bizoope, "journal", 2000, paused_feed, 15, paused_feed + ".exp")

tmux = ["tmux", "-L", "bizoope-admin-test-%d" % os.getpid()]
run = Run(config)
try:
    wait_for("the admin API", lambda: http("GET", base + "/healthz")[0] == 200
             if run.proc.poll() is None else True, 30)
    check(run.proc.poll() is None, "the watching run is up: %s" % run.log()[-2000:])
    status, health = api("GET", "/v1/health")
    check(status == 200 and health["status"] == "ok" and
          health["state"] == os.path.join(os.path.realpath(inst), "state.db"),
          "health names the installation's journal: %r" % health)

    # ---- a large file in flight: /v1/status, `bizoope status` in a terminal, `jobs show` ----
    send("a", big)
    flying = wait_for("the big file in flight", lambda: [
        f for f in api("GET", "/v1/status")[1]["files_in_flight"]
        if f["file"] == os.path.basename(big) and f["shards"] > 1 and f["shards_done"] >= 1])
    if flying:
        f = flying[0]
        check(f["site"] == "a" and f["table"] == "journal" and f["bytes"] == os.path.getsize(big)
              and 0 < f["bytes_done"] <= f["bytes"] and f["phase"] in ("shards", "errors",
                                                                        "merging"),
              "status: the file in flight with its progress: %r" % f)
        subprocess.run(tmux + ["new-session", "-d", "-s", "status", "-x", "160", "-y", "40",
                               "%s status --config %s --interval 0.2" % (bizoope, config)],
                       check=True)
        screen = wait_for("the live view", lambda: (lambda s: s if os.path.basename(big) in s
                                                    else None)(subprocess.run(
                                                        tmux + ["capture-pane", "-p", "-t",
                                                                "status"],
                                                        capture_output=True, text=True).stdout),
                          20)
        print("bizoope status, as the terminal showed it:\n" + (screen or ""))
        row = [l for l in (screen or "").splitlines() if os.path.basename(big) in l]
        check(screen and base in screen and "files: 1 in flight" in screen and
              "SHARDS" in screen and row and re.search(r"\d+/%d " % f["shards"], row[0]) and
              re.search(r"\[[#.]{20}\] +\d+%", row[0]),
              "the live view shows the file with its shards and a progress bar: %r" % row)
        shown = cli("jobs", "show", f["job_id"], "--config", config, "--json")
        live = json.loads(shown.stdout)["in_flight"] if shown.returncode == 0 else None
        check(live is None or live["job_id"] == f["job_id"],
              "jobs show of the file in flight: %r" % shown.stdout)
        cancel = cli("cancel", f["job_id"], "--config", config)
        check(cancel.returncode == 1 and ("in flight" in cancel.stderr or
                                          "only a queued" in cancel.stderr),
              "cancel of a file in flight is refused (1): %r" % cancel.stderr)
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    first = wait_for("the big file's report", lambda: run.got(1), 120)
    check(first and first[0]["status"] == "loaded", "the big file loaded: %r" % first)
    first_id = first[0]["job_id"] if first else "?"
    detail = json.loads(cli("jobs", "show", first_id, "--config", config, "--json").stdout)
    check(first and detail["shards"] == first[0]["shards"] > 1 and
          detail["attempts"] == detail["shards"] and detail["shards_seconds"] > 0 and
          detail["merge_seconds"] > 0 and detail["in_flight"] is None and
          detail["error_file"] == first[0]["error_file"],
          "jobs show: shards, attempts, timings and the error file of the loaded file: %r" % detail)

    # ---- reject rates: a over the default 10 %, b under its own 30 % --------------------------
    send("a", noisy_a)
    send("b", noisy_b)
    wait_for("the noisy files", lambda: run.got(3), 60)

    # ---- the warehouse held by another process: the file waits, people hear of it once --------
    holder = sqlite3.connect(os.path.join(inst, "warehouse.db"), timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    send("a", locked_feed)
    waits = wait_for("the locked file's report", run.waiting, 60) or [{}]
    locked = waits[0]
    check(locked.get("status") == "waiting" and locked.get("file") == os.path.basename(locked_feed)
          and "locked" in (locked.get("error") or ""),
          "the file whose merge found the warehouse locked waits, saying why: %r" % locked)
    victim = locked.get("job_id", "?")
    shown = json.loads(cli("jobs", "show", victim, "--config", config, "--json").stdout or "{}")
    check(shown.get("status") == "landed" and "locked" in (shown.get("error") or ""),
          "jobs show: landed, with why it waits: %r" % shown)

    # ---- cancel: the waiting file is never started again until retried -------------------------
    cancel = cli("cancel", victim, "--config", config)
    check(cancel.returncode == 0 and "cancelled" in cancel.stdout,
          "cancel of the waiting file: %r" % cancel.stderr)
    again = cli("cancel", victim, "--config", config)
    check(again.returncode == 1 and "only a queued" in again.stderr, "cancel twice: refused (1)")
    holder.rollback()
    holder.close()
    tries = len(run.waiting())
    time.sleep(2.5)  # several passes, and past its next try
    shown = json.loads(cli("jobs", "show", victim, "--config", config, "--json").stdout or "{}")
    check(len(run.waiting()) == tries and run.got(4) is None and shown.get("status") == "failed"
          and "cancelled by an operator" in (shown.get("error") or ""),
          "the cancelled file was not started again and says why: %r" % shown)

    # ---- retry: queued behind a file in flight, then loaded -----------------------------------
    send("a", big2)
    wait_for("the second big file in flight", lambda: [
        f for f in api("GET", "/v1/status")[1]["files_in_flight"]
        if f["file"] == os.path.basename(big2)])
    retry = cli("retry", victim, "--config", config)
    check(retry.returncode == 0 and "failed job queued again" in run.log(),
          "retry through the running coordinator: %r" % retry.stderr)
    queued = json.loads(cli("jobs", "show", victim, "--config", config, "--json").stdout or "{}")
    check(queued.get("status") == "landed", "retried: queued (landed): %r" % queued)
    status, st = api("GET", "/v1/status")
    check(st["queued"] == 1, "status counts it queued: %r" % st["queued"])
    again = wait_for("the retried file", lambda: run.got(5), 60) or []
    check([(r["file"], r["status"]) for r in again[3:]] ==
          [(os.path.basename(big2), "loaded"), (os.path.basename(locked_feed), "loaded")] and
          again[4]["job_id"] == victim,
          "the big file, then the retried one, loaded: %r" % again[3:])

    # ---- pause holds a site's new file in its inbox; resume lets it in ---------------------------
    p = cli("sites", "pause", "b", "--config", config)
    check(p.returncode == 0 and "paused" in p.stdout and "site intake paused" in run.log(),
          "sites pause b through the API: %r %r" % (p.stdout, p.stderr))
    send("b", paused_feed)
    time.sleep(1.5)  # several passes
    waiting = os.path.join(inbox["b"], os.path.basename(paused_feed))
    status, sites = api("GET", "/v1/sites")
    b = [s for s in sites["sites"] if s["site"] == "b"]
    check(os.path.exists(waiting) and b and b[0]["paused"] and b[0]["inbox_files"] == 1,
          "paused: the file waits in b's inbox and /v1/sites says so: %r" % b)
    check(cli("sites", "resume", "b", "--config", config).returncode == 0, "sites resume b")
    reports = wait_for("the resumed site's file", lambda: run.got(6), 60) or []
    check(reports[5:] and reports[5]["file"] == os.path.basename(paused_feed) and
          reports[5]["status"] == "loaded", "resumed: b's file loaded: %r" % reports[5:])

    # ---- /metrics agrees with the reports and the journal -----------------------------------------
    status, metrics = http("GET", base + "/metrics")
    values = {}
    for line in metrics.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    # every run of a file's shards: the ended files and each try that had to wait
    ran = [r for r in run.all_reports() if r["lines"] > 0]
    loaded = [r for r in reports if r["status"] == "loaded"]
    want = {
        "bizoope_lines_total": sum(r["lines"] for r in ran),
        'bizoope_rejected_lines_total{reason="invalid"}': sum(r["rejected_invalid"] for r in ran),
        'bizoope_rejected_lines_total{reason="duplicate"}':
            sum(r["rejected_duplicate"] for r in loaded),
        'bizoope_files_total{status="loaded"}': len(loaded),
        'bizoope_files_total{status="failed"}': 0,
        'bizoope_files{status="done"}': len(loaded),
        'bizoope_files{status="failed"}': 0,
        "bizoope_shard_backlog": 0,
        "bizoope_files_in_flight": 0,
        'bizoope_notifications_total{outcome="failed"}': 0,
    }
    for k, v in want.items():
        check(values.get(k) == v, "metrics: %s is %r, expected %r" % (k, values.get(k), v))
    check(values.get("bizoope_shard_seconds_count", 0) >= 8 and
          values.get("bizoope_merge_seconds_count") == len(loaded),
          "metrics: shard and merge histograms counted: %r" % {
              k: v for k, v in values.items() if "_count" in k})

    # ---- settings: served, reloaded on SIGHUP, a broken file keeps the old ones ------------------
    status, one = api("GET", "/v1/settings/unregistered_item_name")
    check(status == 200 and one == {"name": "unregistered_item_name", "value": "未登録商品"},
          "GET /v1/settings/unregistered_item_name: %r" % one)
    status, none = api("GET", "/v1/settings/nope")
    check(status == 404, "an unknown setting is 404: %r" % none)
    path = os.path.join(settings_dir, "settings.yaml")
    text = open(path).read()
    open(path, "w").write(text.replace("未登録商品", "unknown item"))
    run.proc.send_signal(signal.SIGHUP)
    wait_for("the reloaded setting", lambda: cli("settings", "get", "unregistered_item_name",
                                                 "--config", config).stdout == "unknown item\n",
             20)
    open(path, "w").write(text.replace("unregistered_item_name:", "Bad Key:"))
    run.proc.send_signal(signal.SIGHUP)
    wait_for("the refused reload", lambda: "settings not reloaded" in run.log(), 20)
    check(api("GET", "/v1/settings/unregistered_item_name")[1].get("value") == "unknown item",
          "a broken settings file keeps the old values")
    open(path, "w").write(text)

    # ---- the same JSON over the API and from the journal ----------------------------------------
    over_api = cli("jobs", "list", "--api", base, "--json")
    status, by_id = api("GET", "/v1/jobs?site=a&status=done")
    check(status == 200 and [j["site"] for j in by_id["jobs"]] == ["a"] * 4,
          "GET /v1/jobs?site=a&status=done: %r" % by_id)
    bad = cli("jobs", "list", "--config", config, "--status", "nonsense")
    check(bad.returncode == 2, "jobs list --status nonsense is a usage error (2)")
    check(cli("retry", first_id, "--config", config).returncode == 1,
          "retry of a loaded job is refused (1)")
    check(cli("jobs", "show", "j20000101000000000nojob", "--api", base).returncode == 1,
          "jobs show of no job (1)")
    check(run.stop() == 0, "the run stops on SIGTERM, with exit 0: no file failed in it")
    local = cli("jobs", "list", "--config", config, "--json")
    check(over_api.returncode == 0 and local.returncode == 0 and over_api.stdout == local.stdout
          and len(local.stdout.splitlines()) == 6,
          "jobs list: the API and the journal give the same 6 jobs: %r %r" % (over_api.stdout,
                                                                          local.stdout))
    down = cli("jobs", "list", "--api", base)
    check(down.returncode == 3 and "does not answer" in down.stderr,
          "with no coordinator, --api exits 3: %r" % down.stderr)
    st = cli("status", "--config", config)
    check(st.returncode == 0 and "the journal only" in st.stdout and "done 6" in st.stdout,
          "status with no run: the journal's totals: %r" % st.stdout)

    check(cli("cancel", first_id, "--config", config).returncode == 1,
          "cancel of a done file is refused (1)")
    check(cli("retry", first_id, "--config", config).returncode == 1,
          "retry of a loaded job is refused (1), also from the journal")
    check(cli("cancel", "--config", config).returncode == 2, "cancel without a job: usage (2)")

    # a run that holds the installation but does not answer on its socket (busy, or started
    # without one): a change is refused (3), never made in the journal behind its back
    import fcntl
    lock = open(os.path.join(inst, "state.db.lock"), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    held = cli("sites", "pause", "a", "--config", config)
    check(held.returncode == 3 and "nothing was changed" in held.stderr,
          "a change while another process holds the installation: refused (3): %r" %
          held.stderr)
    listed = cli("jobs", "list", "--config", config)
    check(listed.returncode == 0, "reading the journal meanwhile still works: %r" % listed.stderr)
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    st = cli("status", "--config", config)
    check("paused" not in st.stdout, "the site was not paused: %r" % st.stdout)
finally:
    subprocess.run(tmux + ["kill-server"], capture_output=True)
    if run.proc.poll() is None:
        run.proc.kill()
    fake.stdin.close()
    fake.wait(timeout=10)

# ---- what people were told ------------------------------------------------------------------
told = [json.loads(json.loads(l)["body"]) for l in open(hooks)] if os.path.exists(hooks) else []
print("notices: %r" % [(n["severity"], n["title"], n["site_id"]) for n in told])
titles = sorted((n["severity"], n["title"], n["site_id"]) for n in told)
check(titles == sorted([("ERROR", "warehouse unreachable", "a"),
                        ("WARNING", "reject rate over threshold", "a")]),
      "notices: the warehouse once, a's reject rate (not b's, under its 30 %%): %r" % titles)
check(all("Bearer" not in json.dumps(n) for n in told), "no token in any notice")

# ---- off loopback: a token or nothing ----------------------------------------------------------
token = "adm-7c1f0e2b"
port2 = free_port()
text = open(config).read()
open(config, "w").write(text.replace("  listen: '127.0.0.1:%d'" % port, "  listen: '0.0.0.0:%d'"
                                     % port2, 1))
refused = subprocess.run([bizoope, "run", "--config", config], capture_output=True, text=True,
                         timeout=30)
check(refused.returncode == 1 and "needs a token" in refused.stderr,
      "off loopback without a token the run refuses to start: %r" % refused.stderr)
env = dict(os.environ, BIZOOPE_ADMIN_TOKEN=token)
base = "http://127.0.0.1:%d" % port2
run = Run(config, env=env)
try:
    wait_for("the API with a token", lambda: http("GET", base + "/healthz")[0] == 200, 30)
    check(http("GET", base + "/v1/status")[0] == 401, "no token: 401")
    check(http("GET", base + "/v1/status", "wrong")[0] == 401, "a wrong token: 401")
    check(http("GET", base + "/metrics")[0] == 401, "/metrics needs the token too")
    check(http("GET", base + "/v1/status", token)[0] == 200, "the token: 200")
    with_token = cli("jobs", "list", "--api", base, env=env)
    without = cli("jobs", "list", "--api", base)
    check(with_token.returncode == 0 and len(with_token.stdout.splitlines()) == 6,
          "the CLI passes BIZOOPE_ADMIN_TOKEN: %r" % with_token.stderr)
    check(without.returncode == 1 and "refused the token" in without.stderr,
          "the CLI without the token: %r" % without.stderr)
    check(token not in run.log(), "the token is never logged")
finally:
    run.stop()
check.finish("all checks passed")
