"""pipeline_lib.py - shared by the pipeline integration tests: an independent reference model
of what `bizoope run` must produce (stored values, keep-newest merge, per-site keys), read from
the schema files and the generator's expectations, never from bizoope's own code."""
import json
import os
import re
import sqlite3
import shutil
import signal
import subprocess
import sys
from decimal import Decimal


def load_schema(src_dir, table):
    text = open(os.path.join(src_dir, "schema", "tables", table + ".yaml"), encoding="utf-8").read()
    cols = []
    for m in re.finditer(r"-\s*\{name:\s*(\w+),\s*type:\s*(?:'([^']*)'|([^,}\s]+))", text):
        cols.append((m.group(1), (m.group(2) or m.group(3)).strip()))
    key = [k.strip() for k in re.search(r"^key:\s*\[([^\]]*)\]", text, re.M).group(1).split(",")]
    order_by = re.search(r"^order_by:\s*(\w+)", text, re.M).group(1)
    return {"name": table, "columns": cols, "key": key, "order_by": order_by}


def stored(value, typ):
    """The stored form of one valid field (lib/warehouse/warehouse.h)."""
    if value == "":
        return None
    if typ in ("int64", "bool"):
        return int(value)
    m = re.match(r"numeric\((\d+),(\d+)\)", typ)
    if m:
        scale = int(m.group(2))
        d = Decimal(value)
        d = abs(d) if d == 0 else d  # "-0.0" is stored as 0
        return format(d.quantize(Decimal(1).scaleb(-scale)), "f")
    if typ == "date":
        return "%s-%s-%s" % (value[0:4], value[4:6], value[6:8])
    if typ in ("datetime", "timestamp"):
        return "%s-%s-%s %s:%s:%s" % (value[0:4], value[4:6], value[6:8], value[8:10],
                                      value[10:12], value[12:14])
    return value


def read_lines(path):
    data = open(path, "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [l[:-1] if l.endswith(b"\r") else l for l in lines]


def read_expect(path):
    """gen --expect-lines: {line: (kind, detail)} for every rejected line."""
    out = {}
    for row in open(path, encoding="utf-8"):
        n, kind, detail = row.rstrip("\n").split("\t")
        out[int(n)] = (kind, detail)
    return out


class Model:
    """Main tables as they must be: {(table, site, key): row dict}."""

    def __init__(self, src_dir):
        self.src_dir = src_dir
        self.schemas = {}
        self.rows = {}

    def schema(self, table):
        if table not in self.schemas:
            self.schemas[table] = load_schema(self.src_dir, table)
        return self.schemas[table]

    def merge_file(self, table, site, path, rejected):
        """Merges the loaded lines of a file (every line not in rejected). Returns
        (inserted, updated, skipped_older)."""
        sc = self.schema(table)
        names = [c for c, _ in sc["columns"]]
        counts = [0, 0, 0]
        for i, raw in enumerate(read_lines(path), start=1):
            if i in rejected:
                continue
            fields = raw.decode("utf-8").split("\t")
            assert len(fields) == len(names), (path, i, raw)
            row = {c: stored(v, t) for (c, t), v in zip(sc["columns"], fields)}
            k = (table, site, tuple(row[c] for c in sc["key"]))
            old = self.rows.get(k)
            if old is None:
                self.rows[k] = row
                counts[0] += 1
            elif row[sc["order_by"]] >= old[sc["order_by"]]:
                self.rows[k] = row
                counts[1] += 1
            else:
                counts[2] += 1
        return tuple(counts)

    def table_rows(self, table):
        sc = self.schema(table)
        names = [c for c, _ in sc["columns"]]
        out = []
        for (t, site, _), row in self.rows.items():
            if t == table:
                out.append(tuple([site] + [row[c] for c in names]))
        return sorted(out, key=repr)


def warehouse_rows(db_path, model, table):
    sc = model.schema(table)
    names = ", ".join('"%s"' % c for c, _ in sc["columns"])
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute('SELECT site_id, %s FROM "%s"' % (names, table)).fetchall()
        bad = con.execute('SELECT COUNT(*) FROM "%s" WHERE created_at > updated_at' % table)
        assert bad.fetchone()[0] == 0, "created_at after updated_at"
    finally:
        con.close()
    return sorted(rows, key=repr)


def gen(bizoope, table, rows, out, seed, expect, **opts):
    args = [bizoope, "gen", "--table", table, "--rows", str(rows), "--out", out, "--seed", str(seed),
            "--expect-lines", expect]
    for k, v in opts.items():
        args += ["--" + k.replace("_", "-")] + ([str(v)] if v != "" else [])
    return json.loads(subprocess.run(args, check=True, capture_output=True).stdout)


def run_once(bizoope, config, workers=2, check=True):
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json",
                        "--workers", str(workers)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("bizoope run failed (%d): %s" % (p.returncode, p.stderr))
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p


# ---- distributed mode: the Kafka harness and worker processes --------------------------------

class KafkaCluster:
    """tests/fakes/kafka_mock (librdkafka's mock cluster) on 127.0.0.1 with bizoope's topics;
    command() sends one harness command and returns its answer lines."""

    def __init__(self, build_dir, tasks_partitions=4):
        self.proc = subprocess.Popen(
            [os.path.join(build_dir, "tests", "fakes", "kafka_mock"),
             "--topic", "bizoope.tasks:%d" % tasks_partitions, "--topic", "bizoope.results:2",
             "--topic", "bizoope.notifications:1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("bootstrap="), line
        self.bootstrap = line[len("bootstrap="):]

    def command(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, "kafka_mock exited"
            lines.append(line.rstrip("\n"))
            if line.startswith("ok") or line.startswith("error"):
                return lines

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=20)


def use_kafka(config, bootstrap, lease="15s", max_attempts=8, max_shards=8, max_files=None):
    """Points the installation's bizoope.yaml at the cluster. A dead worker is noticed by the
    group after session.timeout.ms; the lease must be longer, so a re-sent task finds its
    partition reassigned to a live worker; on a loaded machine the mock cluster has taken 30 s+
    to hand a dead worker's partitions over, so shards get 8 attempts."""
    text = open(config).read()
    for old, new in (("  backend: memory ", "  backend: kafka  "),
                     ("  bootstrap: ", "  bootstrap: '%s'" % bootstrap),
                     ("  lease: 5m ", "  lease: %s " % lease),
                     ("  max_attempts: 3 ", "  max_attempts: %d " % max_attempts),
                     ("  max_shards_in_flight: 64 ", "  max_shards_in_flight: %d " % max_shards),
                     ("  rdkafka: {}",
                      "  rdkafka:\n    topic.metadata.refresh.interval.ms: 500\n"
                      "    session.timeout.ms: 6000\n    heartbeat.interval.ms: 1000\n"
                      # the mock cluster answers a fetch only when its wait is up
                      "    fetch.wait.max.ms: 10")):
        assert old in text, "bizoope.yaml has no %r" % old
        text = text.replace(old, new, 1)
    if max_files is not None:
        text = text.replace("  max_files_in_flight: 4 ", "  max_files_in_flight: %d " % max_files)
    open(config, "w").write(text)


def start_workers(build_dir, config, n, first=0, listen=False):
    """Worker processes; each one's log (stderr) goes to worker-<id>.log next to config. With
    listen, each serves /healthz and /metrics on a free port of 127.0.0.1 (worker_port says
    which)."""
    logs = os.path.dirname(os.path.abspath(config))
    return [subprocess.Popen([os.path.join(build_dir, "bizoope-worker"), "--config", config,
                              "--id", "w%d" % i] + (["--listen", "127.0.0.1:0"] if listen else []),
                             stderr=open(os.path.join(logs, "worker-w%d.log" % i), "a"))
            for i in range(first, first + n)]


def worker_port(config, i):
    """The port worker w<i> (started with listen) serves /healthz and /metrics on."""
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(config)), "worker-w%d.log" % i)
    for line in open(path):
        m = re.search(r"health and metrics endpoints listening.*port=(\d+)", line)
        if m:
            return int(m.group(1))
    return None


def scrape(port, path="/metrics"):
    """GET http://127.0.0.1:port/path: (status, {series: value}) for /metrics, else (status,
    body)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    if path != "/metrics":
        return status, body
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            values[k] = float(v)
    return status, values


def stop_workers(workers):
    """SIGTERM (after SIGCONT, for a stopped one); returns how many needed a kill after 20 s."""
    import signal
    killed = 0
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGCONT)
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=20)
        except subprocess.TimeoutExpired:
            w.kill()
            killed += 1
    return killed


def free_port():
    """A port of 127.0.0.1 that was free when asked (for admin.listen)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=30):
    """GET url: (status, body as bytes); (0, b"") when nothing answers."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError):
        return 0, b""


# ---- a fresh installation ----------------------------------------------------------------------

def init_installation(bizoope, inst, sites=("a",)):
    """`bizoope init inst --site ...` with inbox.settle 0s: the tests drop complete files and run
    at once (settling itself is what d03_settle.py tests). Returns the configuration's path."""
    args = [bizoope, "init", inst]
    for site in sites:
        args += ["--site", site]
    subprocess.run(args, check=True, capture_output=True)
    config = os.path.join(inst, "bizoope.yaml")
    text = open(config).read()
    assert "  settle: 30s " in text, "bizoope.yaml has no inbox.settle"
    open(config, "w").write(text.replace("  settle: 30s ", "  settle: 0s  ", 1))
    return config


def fresh_installation(bizoope, work, sites=("a",), edits=()):
    """Empties work, makes work/inst (init_installation) and applies edits to its
    bizoope.yaml: (old, new) pairs, each of which must be found. Returns (inst, config)."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    inst = os.path.join(work, "inst")
    config = init_installation(bizoope, inst, sites)
    text = open(config).read()
    for old, new in edits:
        assert old in text, "bizoope.yaml has no %r" % old
        text = text.replace(old, new, 1)
    open(config, "w").write(text)
    return inst, config


class WatchingRun:
    """A watching `bizoope run --json --workers N` on config; its reports collected as they come
    (a thread reads them), its log in work/run-<ns>.log."""

    def __init__(self, bizoope, config, work, env=None, workers=1):
        import threading
        import time
        self.log_path = os.path.join(work, "run-%d.log" % time.time_ns())
        self.proc = subprocess.Popen([bizoope, "run", "--config", config, "--json",
                                      "--workers", str(workers)],
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "w"),
                                     text=True, env=dict(env or os.environ,
                                                         BIZOOPE_LOG_LEVEL="info"))
        self.reports, self.lock = [], threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                with self.lock:
                    self.reports.append(json.loads(line))

    def got(self, n):
        """The reports of files that ended (not "waiting"), once there are n of them."""
        with self.lock:
            ended = [r for r in self.reports if r["status"] != "waiting"]
            return ended if len(ended) >= n else None

    def waiting(self):
        """The "waiting" reports: a step that had to wait, tried again later."""
        with self.lock:
            return [r for r in self.reports if r["status"] == "waiting"]

    def all_reports(self):
        with self.lock:
            return list(self.reports)

    def log(self):
        return open(self.log_path).read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        return rc


class Checks:
    """Collects failed checks; finish() prints them and exits 1 when any failed."""

    def __init__(self, name):
        self.name, self.failures = name, []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what)

    def stop(self, run, timeout):
        """SIGTERM to a watching run; a failed check (and a kill) when it is not gone after
        timeout s."""
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
            self(False, "the run did not stop within %d s of SIGTERM (hung)" % timeout)

    def wait(self, what, cond, timeout=60):
        """cond()'s first true value, asked every 0.1 s; a failed check after timeout s."""
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = cond()
            if value:
                return value
            time.sleep(0.1)
        self(False, "timed out waiting for " + what)
        return None

    def finish(self, success):
        if self.failures:
            print("%d check(s) failed" % len(self.failures))
            sys.exit(1)
        print("%s: %s" % (self.name, success))


# ---- the BigQuery fakes ---------------------------------------------------------------------

class Fake:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("port="), "%s did not start: %r" % (argv[1], line)
        self.port = int(line.split("=")[1])

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def start_bigquery_fakes(fakes, work, label, write_script, rest_script):
    """The SQL engine, the metadata server, the REST and the Write API fakes (tests/fakes, in
    fakes) of one round, and the files they log to (work/label.*)."""
    paths = {k: os.path.join(work, label + "." + k) for k in (
        "oauth.jsonl", "rest.jsonl", "write.jsonl", "dump.json", "engine.json")}
    for p in paths.values():
        if os.path.exists(p):
            os.remove(p)
    engine = Fake(["node", os.path.join(fakes, "bigquery_sql_engine.js"), paths["engine.json"]])
    url = "http://127.0.0.1:%d" % engine.port
    oauth = Fake([sys.executable, os.path.join(fakes, "oauth_fake.py"), "/dev/null",
                  paths["oauth.jsonl"]])
    rest = Fake([sys.executable, os.path.join(fakes, "bigquery_rest_fake.py"),
                 paths["rest.jsonl"], json.dumps(dict(rest_script, engine=url))])
    write = Fake(["node", os.path.join(fakes, "bigquery_write_fake.js"), paths["write.jsonl"],
                  paths["dump.json"], json.dumps(dict(write_script, engine=url))])
    return engine, oauth, rest, write, paths


def bigquery_edits(oauth, rest, write):
    return (("shard_size: 64MiB", "shard_size: 1MiB"),
            ("  backend: sqlite ", "  backend: bigquery "),
            ("  project: ", "  project: retail-test-1"),
            ("  bigquery_api: https://bigquery.googleapis.com/bigquery/v2",
             "  bigquery_api: 'http://127.0.0.1:%d/bigquery/v2'" % rest.port),
            ("  storage_write_api: https://bigquerystorage.googleapis.com",
             "  storage_write_api: 'http://127.0.0.1:%d'" % write.port),
            ("  metadata_url: ", "  metadata_url: 'http://127.0.0.1:%d'" % oauth.port))


def engine_main_table(engine_dump, src, table, columns=None):
    """A main table as the SQL engine holds it after the MERGE jobs, in SQLite's stored form
    (warehouse_rows), created_at never after updated_at. columns: [(name, type)] of a table
    that is not in src/schema/tables (a merge target); default: the schema's."""
    t = engine_dump["tables"].get("pos." + table)
    if t is None:
        return None
    if columns is None:
        columns = load_schema(src, table)["columns"]
    at = {c: i for i, c in enumerate(t["columns"])}
    out = []
    for r in t["rows"]:
        assert r[at["created_at"]] <= r[at["updated_at"]], \
            "engine: %s created_at after updated_at" % table
        row = [r[at["site_id"]]]
        for c, typ in columns:
            v = r[at[c]]
            if v is None:
                row.append(None)
            elif typ == "bool":
                row.append(1 if v == "true" else 0)
            elif typ == "int64":
                row.append(int(v))
            elif typ.startswith("numeric"):
                row.append(stored(v, typ))
            elif typ in ("datetime", "timestamp"):
                row.append(v[:19])
            else:
                row.append(v)
        out.append(tuple(row))
    return sorted(out, key=repr)
