"""admin_bench.py BIZOOPE WORK JOBS - the body of tests/load/admin.sh (see there): the admin
API's latency over a journal of JOBS synthetic jobs, against a bare SELECT COUNT(*) in the
sqlite3 shell. Also a module: fill_jobs and get (HTTP over a Unix socket) serve
tests/integration/d21_jobs_pagination.py."""
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from pipeline_lib import init_installation  # noqa: E402

# The jobs table as the first bizoope release made it: a journal of that age must open (the
# first open adds columns, indexes and the kept counts), so the benchmark starts from one.
OLD_SCHEMA = """
CREATE TABLE jobs(seq INTEGER PRIMARY KEY, job_id TEXT NOT NULL UNIQUE, site_id TEXT NOT NULL,
  file_name TEXT NOT NULL, content_hash TEXT, size INTEGER NOT NULL DEFAULT 0, table_name TEXT,
  state TEXT NOT NULL, merge_now TEXT, merged_at TEXT, error TEXT,
  lines INTEGER NOT NULL DEFAULT 0, loaded INTEGER NOT NULL DEFAULT 0,
  rejected_invalid INTEGER NOT NULL DEFAULT 0, rejected_duplicate INTEGER NOT NULL DEFAULT 0,
  crlf_lines INTEGER NOT NULL DEFAULT 0, merge_inserted INTEGER NOT NULL DEFAULT 0,
  merge_updated INTEGER NOT NULL DEFAULT 0, merge_skipped_older INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE INDEX jobs_by_file ON jobs(site_id, file_name, content_hash);
"""
TABLES = ("journal", "items", "members", "stores")
# terminal states only: a watching run leaves those alone (no resume, no archiving)
STATES = ("done",) * 94 + ("rejected",) * 3 + ("identical",) * 2 + ("failed",)


def job_row(seq, sites):
    """Job seq (1-based) of a year of files: its site, table, state and when it changed."""
    t = 1767225600 + seq * 31536000 // 1000000  # 2026-01-01 onwards
    table = TABLES[seq % len(TABLES)]
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
    state = STATES[(seq * 7919) % len(STATES)]
    return (seq, "j%06d" % seq, sites[seq % len(sites)], "%s_%s.tsv" % (table, stamp),
            "%032x" % seq, 1000 + seq % 5000, table if state != "rejected" else None, state,
            100 + seq % 900, 90 + seq % 900,
            time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t)))


def fill_jobs(state_path, n, sites, first=1, old_schema=False):
    """n synthetic jobs (first, first+1, ...) into the journal at state_path in one transaction
    with one prepared statement; with old_schema, the journal is made first as the first
    release made it. Returns {state: count}."""
    con = sqlite3.connect(state_path, isolation_level=None)
    counts = {}
    try:
        if old_schema:
            con.executescript(OLD_SCHEMA)
        con.execute("BEGIN")
        rows = (job_row(seq, sites) for seq in range(first, first + n))

        def counted():
            for r in rows:
                counts[r[7]] = counts.get(r[7], 0) + 1
                yield r
        con.executemany("INSERT INTO jobs(seq, job_id, site_id, file_name, content_hash, size,"
                        " table_name, state, lines, loaded, updated)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", counted())
        con.execute("COMMIT")
    finally:
        con.close()
    return counts


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def get(sock_path, path, method="GET"):
    """(status, body text) of one request on a new connection to the run's socket, or to
    "HOST:PORT" over TCP."""
    conn = (http.client.HTTPConnection(sock_path, timeout=30) if ":" in sock_path
            else UnixHTTPConnection(sock_path))
    try:
        headers = {"Content-Type": "application/json"} if method == "POST" else {}
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def wait_answering(sock_path, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if get(sock_path, "/v1/health")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def timed(sock_path, path, runs):
    """ms per request (new connection each, body read), after 3 untimed."""
    out = []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        status, body = get(sock_path, path() if callable(path) else path)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            raise SystemExit("admin_bench: %s answered %d: %s" % (path, status, body[:200]))
        if i >= 3:
            out.append(ms)
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def sqlite_count_ms(state_path, runs=5):
    """The baseline: `SELECT COUNT(*) FROM jobs` in the sqlite3 shell, its own .timer (real),
    median of runs; and the shell's wall time, start-up included."""
    script = ".timer on\n" + "SELECT COUNT(*) FROM jobs;\n" * runs
    t0 = time.perf_counter()
    out = subprocess.run(["sqlite3", state_path], input=script, capture_output=True, text=True,
                         check=True).stdout
    wall = (time.perf_counter() - t0) * 1000
    reals = [float(l.split()[3]) * 1000 for l in out.splitlines() if l.startswith("Run Time:")]
    count = int(out.splitlines()[0])
    return statistics.median(reals), wall, count


def cli_ms(bizoope, args, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([bizoope] + args, capture_output=True)
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main():
    bizoope, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    smoke = n < 100000
    runs = 30 if smoke else 200
    sites = ["s%d" % i for i in range(4)]
    inst = os.path.join(work, "inst")
    config = init_installation(bizoope, inst, sites)
    text = open(config).read()
    assert "  listen: 127.0.0.1:8470 " in text
    open(config, "w").write(text.replace("  listen: 127.0.0.1:8470 ", "  listen: 127.0.0.1:0 ", 1))
    state = os.path.join(os.path.realpath(inst), "state.db")
    sock = state + ".sock"

    t0 = time.perf_counter()
    counts = fill_jobs(state, n, sites, old_schema=True)
    fill_s = time.perf_counter() - t0
    print("journal: %d synthetic jobs (%s) written in %.1f s, %.0f MB" % (
        n, ", ".join("%s %d" % kv for kv in sorted(counts.items())), fill_s,
        os.path.getsize(state) / 1e6))
    t0 = time.perf_counter()
    first = subprocess.run([bizoope, "jobs", "list", "--config", config, "--last", "1", "--json"],
                           capture_output=True, text=True)
    upgrade_s = time.perf_counter() - t0
    if first.returncode != 0 or json.loads(first.stdout)["job_id"] != "j%06d" % n:
        raise SystemExit("admin_bench: the first open failed: %s %s" % (first.stdout,
                                                                       first.stderr))
    print("first open of that journal by bizoope (adds the indexes and counts): %.1f s"
          % upgrade_s)

    run = subprocess.Popen([bizoope, "run", "--config", config, "--workers", "1", "--quiet"],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "run.log"),
                                                                  "w"))
    try:
        if not wait_answering(sock, run):
            raise SystemExit("admin_bench: the run did not answer on %s: %s" % (
                sock, open(os.path.join(work, "run.log")).read()[-2000:]))
        failures = check_answers(sock, n, counts)
        rng = random.Random(1)
        routes = [("/metrics", "/metrics"), ("/v1/status", "/v1/status"),
                  ("/v1/jobs?limit=20", "/v1/jobs?limit=20"),
                  ("/v1/jobs/<id>", lambda: "/v1/jobs/j%06d" % rng.randint(1, n)),
                  ("/v1/sites", "/v1/sites"),
                  ("/v1/jobs?status=failed&limit=20", "/v1/jobs?status=failed&limit=20"),
                  ("/v1/jobs (first page)", "/v1/jobs")]
        results = {}
        for name, path in routes:
            ms = timed(sock, path, runs if "first page" not in name else max(10, runs // 10))
            results[name] = (pct(ms, 50), pct(ms, 95))
        tcp = json.loads(get(sock, "/v1/health")[1])["listen"]  # what Prometheus would scrape
        ms = timed(tcp, "/metrics", runs)
        results["/metrics over TCP"] = (pct(ms, 50), pct(ms, 95))
        rss = [l.split()[1] for l in open("/proc/%d/status" % run.pid)
               if l.startswith("VmHWM:")]
        cli = {"jobs list --last 3": cli_ms(bizoope, ["jobs", "list", "--config", config,
                                                       "--last", "3"], 5),
               "jobs show": cli_ms(bizoope, ["jobs", "show", "j%06d" % (n // 2), "--config",
                                             config], 5),
               "retry (refused)": cli_ms(bizoope, ["retry", "j%06d" % (n // 2), "--config",
                                                   config], 5)}
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    base_ms, base_wall, base_count = sqlite_count_ms(state)
    if base_count != n:
        failures.append("sqlite3 counted %d jobs, not %d" % (base_count, n))
    report(n, results, cli, base_ms, base_wall, int(rss[0]) if rss else 0, upgrade_s, smoke,
           failures)


def check_answers(sock, n, counts):
    """The routes' numbers against the journal as written."""
    failures = []
    st = json.loads(get(sock, "/v1/status")[1])
    if {k: v for k, v in st["files"].items() if v} != counts:
        failures.append("/v1/status files %r, journal %r" % (st["files"], counts))
    sites = json.loads(get(sock, "/v1/sites")[1])["sites"]
    if sum(sum(s["jobs"].values()) for s in sites) != n:
        failures.append("/v1/sites counts %r" % sites)
    jobs = json.loads(get(sock, "/v1/jobs?limit=20")[1])
    ids = [j["job_id"] for j in jobs["jobs"]]
    if ids != ["j%06d" % i for i in range(n - 19, n + 1)] or jobs["next"] is not None:
        failures.append("/v1/jobs?limit=20 gave %r" % ids)
    metrics = get(sock, "/metrics")[1]
    total = sum(float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines()
                if l.startswith("bizoope_files{"))
    if total != n:
        failures.append("/metrics bizoope_files add up to %r" % total)
    return failures


def report(n, results, cli, base_ms, base_wall, rss_kb, upgrade_s, smoke, failures):
    target = 50.0
    print("\nbaseline: SELECT COUNT(*) FROM jobs in the sqlite3 shell: %.1f ms (.timer real, "
          "median of 5); %.0f ms with the shell's start-up" % (base_ms, base_wall))
    print("\n%-34s %9s %9s  (over the run's Unix socket unless said, a new connection each)" % (
        "route", "p50 ms", "p95 ms"))
    met = True
    for name, (p50, p95) in results.items():
        timed_target = "first page" not in name
        met = met and (p95 < target or not timed_target)
        print("%-34s %9.2f %9.2f%s" % (name, p50, p95, "" if not timed_target else
                                       "  BELOW TARGET" if p95 >= target and not smoke else ""))
    print("\nCLI (median of 5, process start-up included): " +
          ", ".join("%s %.0f ms" % kv for kv in cli.items()))
    print("run's peak RSS after the requests: %.0f MB" % (rss_kb / 1024))
    print("target: p95 < %.0f ms per route at 1,000,000 jobs: %s" % (
        target, "not judged (smoke)" if smoke else "met" if met else "NOT MET"))
    for f in failures:
        print("WRONG:", f, file=sys.stderr)
    print(json.dumps({"jobs": n, "routes": {k: {"p50_ms": round(v[0], 3),
                                                "p95_ms": round(v[1], 3)}
                                            for k, v in results.items()},
                      "cli_ms": {k: round(v, 1) for k, v in cli.items()},
                      "sqlite3_count_ms": round(base_ms, 3),
                      "sqlite3_count_wall_ms": round(base_wall, 1),
                      "first_open_s": round(upgrade_s, 2), "peak_rss_mb": round(rss_kb / 1024, 1),
                      "target_met": None if smoke else met}))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
