"""bigquery_bench.py BIZOOPE SRC WORK ROWS - the body of tests/load/bigquery.sh (see there)."""
import json
import os
import shutil
import subprocess
import sys
import time

bizoope, src, work, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fakes = os.path.join(src, "tests", "fakes")
feed = os.path.join(work, "journal_20261124090000.tsv")
expect = json.loads(subprocess.run([bizoope, "gen", "--table", "journal", "--rows", str(rows),
                                    "--seed", "1", "--out", feed], check=True,
                                   capture_output=True, text=True).stdout)
size = os.path.getsize(feed)


class Fake:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.port = int(self.proc.stdout.readline().strip().split("=")[1])

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def install(name, edits=()):
    inst = os.path.join(work, name)
    subprocess.run([bizoope, "init", inst, "--site", "a"], check=True, capture_output=True)
    config = os.path.join(inst, "bizoope.yaml")
    text = open(config).read().replace("  after: 0s ", "  after: 1d ")
    text = text.replace("  settle: 30s ", "  settle: 0s  ")  # the feeds are complete when copied
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    open(config, "w").write(text)
    # a copy: a hard link (one file, two names) is refused as not a plain file
    shutil.copyfile(feed, os.path.join(inst, "inbox", "a", os.path.basename(feed)))
    return config


def run(config):
    t0 = time.time()
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--workers", "2",
                        "--json"], capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode != 0:
        sys.exit("bizoope run failed: " + p.stderr[-2000:])
    report = json.loads(p.stdout.splitlines()[0])
    for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate"):
        if report[k] != expect[k]:
            sys.exit("%s: %s, gen promised %s" % (k, report[k], expect[k]))
    return seconds


sqlite_s = run(install("sqlite"))
dump = os.path.join(work, "dump.json")
# the SQL engine runs the query jobs: BigQuery ranks each file's rows (the duplicates) and merges
engine = Fake(["node", os.path.join(fakes, "bigquery_sql_engine.js"),
               os.path.join(work, "engine.json")])
script = json.dumps({"engine": "http://127.0.0.1:%d" % engine.port})
oauth = Fake([sys.executable, os.path.join(fakes, "oauth_fake.py"), "/dev/null",
              os.path.join(work, "oauth.jsonl")])
rest = Fake([sys.executable, os.path.join(fakes, "bigquery_rest_fake.py"),
             os.path.join(work, "rest.jsonl"), script])
write = Fake(["node", os.path.join(fakes, "bigquery_write_fake.js"),
              os.path.join(work, "write.jsonl"), dump, script])
try:
    bq_s = run(install("bigquery", (
        ("  backend: sqlite ", "  backend: bigquery "),
        ("  project: ", "  project: retail-bench-1"),
        ("  bigquery_api: https://bigquery.googleapis.com/bigquery/v2",
         "  bigquery_api: 'http://127.0.0.1:%d/bigquery/v2'" % rest.port),
        ("  storage_write_api: https://bigquerystorage.googleapis.com",
         "  storage_write_api: 'http://127.0.0.1:%d'" % write.port),
        ("  metadata_url: ", "  metadata_url: 'http://127.0.0.1:%d'" % oauth.port))))
finally:
    write.stop()
    rest.stop()
    oauth.stop()
    engine.stop()
held = sum(len(v) for v in json.load(open(dump))["tables"].values())
valid = expect["lines"] - expect["rejected_invalid"]
if held != valid:
    sys.exit("the fake BigQuery holds %d rows, the file has %d valid lines" % (held, valid))
result = {"benchmark": "bigquery", "lines": expect["lines"], "bytes": size,
          "sqlite_seconds": round(sqlite_s, 3), "bigquery_seconds": round(bq_s, 3),
          "sqlite_mb_per_s": round(size / 1e6 / sqlite_s, 1),
          "bigquery_mb_per_s": round(size / 1e6 / bq_s, 1),
          "ratio_bigquery_sqlite": round(sqlite_s / bq_s, 2), "rows_committed": held}
print("bigquery: %d lines (%d bytes): SQLite %.2f s (%.1f MB/s), BigQuery through the fakes "
      "%.2f s (%.1f MB/s), %d rows committed; ratio %.2f" % (
          expect["lines"], size, sqlite_s, result["sqlite_mb_per_s"], bq_s,
          result["bigquery_mb_per_s"], held, result["ratio_bigquery_sqlite"]))
print(json.dumps(result))
