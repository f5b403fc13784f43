"""coordinator_bench.py BIZOOPE SRC_DIR WORK_DIR ROWS - what the coordinator itself carries in
the at-scale layout (Cloud Storage + Kafka + BigQuery, all as the local fakes: gcs_fake.py, the
librdkafka mock cluster, the BigQuery REST/Write fakes): a journal of ROWS lines and one of
10 x ROWS, each through bizoope-coordinator --once with two bizoope-worker processes. For each
run the coordinator's peak RSS (VmHWM) and the bytes it read and wrote are sampled until it
exits: its files (rchar + wchar of /proc/PID/io, which count read/write calls, not the
send/recv of its sockets) plus its Cloud Storage traffic (what the fake served it and what it
uploaded, told from the workers' by the user agent bizoope sends). The last line is

    rss_ratio=R bytes_per_file_byte=B

R: the large file's peak RSS over the small one's (DESIGN.md's promise: <= 1.15, the coordinator
does not grow with the file). B: the large run's bytes read and written over the large file's
size (<= 0.05: the coordinator never carries the feed). Reported, not enforced: #18 is what
moves the bytes and the fold off the coordinator. Counts must be what `bizoope gen` promised."""
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from pipeline_lib import KafkaCluster, Fake, bigquery_edits, fresh_installation, gen  # noqa
from pipeline_lib import start_bigquery_fakes, start_workers, stop_workers, use_kafka  # noqa

bizoope, src, work, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
build = os.path.dirname(os.path.abspath(bizoope))
fakes = os.path.join(src, "tests", "fakes")
os.makedirs(work, exist_ok=True)
GCS_SETUP = {"buckets": {"bz-if-a": {"labels": {"site_id": "a"}}, "bz-load": {},
                         "bz-backup": {}, "bz-archive": {}}}


def storage_bytes(gcs_log, agent):
    """Payload bytes the Cloud Storage fake served to or received from the process named
    agent (reads' bodies, uploads' bodies), by what they were: lines read back from a backup
    (the duplicates an error file lists), shard results read from the load bucket, error files
    uploaded, anything else."""
    parts = {"backup_lines": 0, "results": 0, "error_files": 0, "other": 0}
    for line in open(gcs_log):
        r = json.loads(line)
        if agent not in r.get("agent", ""):
            continue
        n = r.get("bytes", 0) + r.get("body_bytes", 0)
        where = "%s %s /b/%s/ %s" % (r["path"], json.dumps(r.get("query", {})),
                                     r.get("bucket", ""), r.get("name", ""))
        part = ("backup_lines" if "/b/bz-backup/" in where else
                "results" if "_staging" in where else
                "error_files" if "/b/bz-if-" in where else "other")
        parts[part] += n
    return parts


def gcs_upload(port, bucket, name, data):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/upload/storage/v1/b/%s/o?uploadType=media&name=%s" % (
            port, bucket, urllib.parse.quote(name, safe="")), data=data, method="POST",
        headers={"Authorization": "Bearer tok-test"})
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()


def sample(pid, seen):
    """The process's VmHWM (kB) and rchar + wchar, kept while it lives."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmHWM:"):
                seen["rss_kb"] = int(line.split()[1])
        io = dict(l.split(": ") for l in open("/proc/%d/io" % pid).read().splitlines())
        seen["io"] = int(io["rchar"]) + int(io["wchar"])
    except (OSError, KeyError, ValueError):
        pass


def run(label, lines, seed):
    feed = os.path.join(work, "journal_2026112409%04d.tsv" % seed)
    want = gen(bizoope, "journal", lines, feed, seed, feed + ".exp")
    size = os.path.getsize(feed)
    cluster = KafkaCluster(build)
    engine, oauth, rest, write, paths = start_bigquery_fakes(fakes, work, label, {}, {})
    gcs = Fake([sys.executable, os.path.join(fakes, "gcs_fake.py"),
                os.path.join(work, label + ".gcs.jsonl"), json.dumps(GCS_SETUP)])
    workers = []
    try:
        inst, config = fresh_installation(bizoope, os.path.join(work, label), edits=(
            bigquery_edits(oauth, rest, write) + (
                ("  backend: local ", "  backend: gcs   "),
                ("  gcs_api: https://storage.googleapis.com",
                 "  gcs_api: 'http://127.0.0.1:%d'" % gcs.port),
                ("  interface_buckets: ", "  interface_buckets: bz-if-a"),
                ("  load_bucket: ", "  load_bucket: bz-load"),
                ("  backup_bucket: ", "  backup_bucket: bz-backup"),
                ("  archive_bucket: ", "  archive_bucket: bz-archive"))))
        use_kafka(config, cluster.bootstrap)
        gcs_upload(gcs.port, "bz-if-a", os.path.basename(feed), open(feed, "rb").read())
        workers = start_workers(build, config, 2)
        seen = {"rss_kb": 0, "io": 0}
        t0 = time.time()
        coord = subprocess.Popen([os.path.join(build, "bizoope-coordinator"), "--config", config,
                                  "--once", "--json"], stdout=subprocess.PIPE, text=True,
                                 stderr=open(os.path.join(work, label + ".coordinator.log"), "w"))
        while coord.poll() is None:
            sample(coord.pid, seen)
            time.sleep(0.02)
        seconds = time.time() - t0
        reports = [json.loads(l) for l in coord.stdout.read().splitlines() if l.strip()]
    finally:
        stop_workers(workers)
        for f in (gcs, write, rest, oauth, engine):
            f.stop()
        cluster.stop()
    got = {k: sum(r[k] for r in reports) for k in ("lines", "loaded", "rejected_invalid",
                                                   "rejected_duplicate")}
    if coord.returncode != 0 or got != {k: want[k] for k in got}:
        sys.exit("coordinator_bench: %s: exit %d, counts %r, gen promised %r" % (
            label, coord.returncode, got, want))
    cloud = storage_bytes(os.path.join(work, label + ".gcs.jsonl"), "bizoope-coordinat")
    io = seen["io"] + sum(cloud.values())
    print("%s: %d lines, %d bytes, %.1f s; coordinator peak RSS %d MiB, read+written %d bytes, "
          "%.3f per file byte (files %d; Cloud Storage: %s)" % (
              label, lines, size, seconds, seen["rss_kb"] // 1024, io, io / size, seen["io"],
              ", ".join("%s %d" % kv for kv in cloud.items())))
    return seen["rss_kb"], io, size


small = run("small", rows, 1)
large = run("large", rows * 10, 2)
rss_ratio = large[0] / small[0] if small[0] else 0
per_byte = large[1] / large[2]
print(json.dumps({"benchmark": "coordinator", "small_lines": rows, "large_lines": rows * 10,
                  "small_rss_kb": small[0], "large_rss_kb": large[0],
                  "large_bytes": large[2], "large_coordinator_io": large[1],
                  "rss_target": 1.15, "bytes_target": 0.05}))
print("rss_ratio=%.2f bytes_per_file_byte=%.2f" % (rss_ratio, per_byte))
