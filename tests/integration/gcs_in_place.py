"""gcs_in_place.py BIZOOPE SRC_DIR WORK_DIR - #18 item 2: files landed in place on Cloud Storage
(tests/fakes/gcs_fake.py), the coordinator off their bytes. bizoope-coordinator --once with two
bizoope-worker processes on the Kafka mock cluster and BigQuery (the fakes), storage.backend gcs
with backup, load and archive buckets. Sites upload to their interface buckets:

- a plain journal file loads with exactly the counts `bizoope gen` promised; its received
  generation was rewritten to the backup bucket, the workers read it there (ranged, pinned),
  it was never downloaded nor uploaded again, and once merged it sits in the archive bucket,
  byte for byte, under the job's id;
- a file whose name matches no table is rejected without being read: its object moves to the
  quarantine (the backup bucket's _quarantine/<site>/), its site gets a one-line error file;
- a .gz file is landed in place too: a worker task decompresses its backup into the load
  bucket and the shards read that copy; it loads its counts, archived as received;
- a .gz file whose decompressed size exceeds the ratio cap is rejected with the worker's
  reason, its backup quarantined; nothing of it is loaded;
- a paused site's object stays in its bucket, untouched, and loads once the site is resumed;
- the same bytes sent again under the same name end identical, their backup object deleted,
  nothing loaded twice."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from pipeline_lib import Checks, Fake, KafkaCluster, fresh_installation, gen  # noqa: E402
from pipeline_lib import start_workers, stop_workers, use_kafka  # noqa: E402
from pipeline_lib import bigquery_edits, start_bigquery_fakes  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
build = os.path.dirname(os.path.abspath(bizoope))
fakes = os.path.join(src, "tests", "fakes")
check = Checks("gcs_in_place")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
feeds = os.path.join(work, "feeds")
os.makedirs(feeds)

SETUP = {"buckets": {"bz-if-a": {"labels": {"site_id": "a"}},
                     "bz-if-b": {"labels": {"site_id": "b"}},
                     "bz-load": {}, "bz-backup": {}, "bz-archive": {}}}
JOURNAL, ITEMS = "journal_20261124090000.tsv", "items_20261124090000.tsv"
GZ, NO_TABLE = "journal_20261125090000.tsv.gz", "nosuchtable_20261124090000.tsv"
BOMB = "journal_20261126090000.tsv.gz"  # 20 MB of empty lines: far past decompress's ratio cap
want = {JOURNAL: gen(bizoope, "journal", 30000, os.path.join(feeds, JOURNAL), 11,
                     os.path.join(feeds, JOURNAL + ".exp")),
        ITEMS: gen(bizoope, "items", 4000, os.path.join(feeds, ITEMS), 12,
                   os.path.join(feeds, ITEMS + ".exp"))}
plain_gz = os.path.join(feeds, GZ[:-3])
want[GZ] = gen(bizoope, "journal", 8000, plain_gz, 13, plain_gz + ".exp")
open(os.path.join(feeds, GZ), "wb").write(gzip.compress(open(plain_gz, "rb").read()))
open(os.path.join(feeds, NO_TABLE), "wb").write(b"whatever\tthis\tis\n")
open(os.path.join(feeds, BOMB), "wb").write(gzip.compress(b"\n" * (20 << 20), 9))


def data(name):
    return open(os.path.join(feeds, name), "rb").read()


gcs_log = os.path.join(work, "gcs.jsonl")
engine, oauth, rest, write, _ = start_bigquery_fakes(fakes, work, "bq", {}, {})
storage = Fake([sys.executable, os.path.join(fakes, "gcs_fake.py"), gcs_log, json.dumps(SETUP)])


def call(method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (storage.port, path), data=body,
                                 method=method, headers={"Authorization": "Bearer tok-test"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


sent = {}  # name: the generation of its last upload


def upload(bucket, name):
    sent[name] = json.loads(call("POST", "/upload/storage/v1/b/%s/o?uploadType=media&name=%s" % (
        bucket, urllib.parse.quote(name, safe="")), data(name)))["generation"]


def objects(bucket):
    items = json.loads(call("GET", "/storage/v1/b/%s/o" % bucket)).get("items", [])
    return {o["name"]: call("GET", "/storage/v1/b/%s/o/%s?alt=media" % (
        bucket, urllib.parse.quote(o["name"], safe=""))) for o in items}


def names(bucket):
    return sorted(o["name"] for o in json.loads(call(
        "GET", "/storage/v1/b/%s/o" % bucket)).get("items", []))


def requests():
    return [json.loads(l) for l in open(gcs_log)] if os.path.exists(gcs_log) else []


inst, config = fresh_installation(bizoope, os.path.join(work, "run"), sites=("a", "b"), edits=(
    bigquery_edits(oauth, rest, write) + (
    ("  backend: local ", "  backend: gcs   "),
    ("  gcs_api: https://storage.googleapis.com", "  gcs_api: 'http://127.0.0.1:%d'" %
     storage.port),
    ("  interface_buckets: ", "  interface_buckets: bz-if-a, bz-if-b"),
    ("  load_bucket: ", "  load_bucket: bz-load"),
    ("  backup_bucket: ", "  backup_bucket: bz-backup"),
    ("  archive_bucket: ", "  archive_bucket: bz-archive"))))
cluster = KafkaCluster(build)
# No worker dies here: a lease long enough that a loaded CI machine (the ASan pass, other suites
# beside it) never re-sends a task, so "one decompressed copy" below means one attempt. With
# 15 s, one CI run re-sent every task (a2 for all) and made a second copy.
use_kafka(config, cluster.bootstrap, lease="90s")
workers = start_workers(build, config, 2)


def coordinator(label):
    """One bizoope-coordinator --once; its reports by file name."""
    p = subprocess.run([os.path.join(build, "bizoope-coordinator"), "--config", config, "--once",
                        "--json"], capture_output=True, text=True, timeout=300)
    open(os.path.join(work, label + ".log"), "w").write(p.stderr)
    check(p.returncode == 0, "%s: bizoope-coordinator exited %d: %s" % (
        label, p.returncode, p.stderr[-1500:]))
    return {r["file"]: r for r in (json.loads(l) for l in p.stdout.splitlines() if l.strip())}


def counts(r):
    return {k: r.get(k) for k in ("lines", "loaded", "rejected_invalid", "rejected_duplicate")}


try:
    p = subprocess.run([bizoope, "sites", "pause", "b", "--config", config], capture_output=True,
                       text=True)
    check(p.returncode == 0, "sites pause b: %s" % p.stderr)
    for name in (JOURNAL, GZ, NO_TABLE, BOMB):
        upload("bz-if-a", name)
    upload("bz-if-b", ITEMS)
    mark = len(requests())
    got = coordinator("first")
    for name in (JOURNAL, GZ):
        r = got.get(name, {})
        check(r.get("status") == "loaded" and counts(r) == {k: want[name][k] for k in counts(r)},
              "%s: loaded with gen's counts %r, got %r" % (name, want[name], r))
    for name in (NO_TABLE, BOMB):
        r = got.get(name, {})
        check(r.get("status") == "rejected" and r.get("loaded") == 0,
              "%s: rejected, got %r" % (name, r))
    check(ITEMS not in got, "the paused site's file was not taken: %r" % got.get(ITEMS))
    ours = requests()[mark:]
    media = [q for q in ours if q["method"] == "GET" and q["query"].get("alt") == "media"]
    downloaded = sorted(urllib.parse.unquote(q["path"].rsplit("/o/", 1)[1]) for q in media
                        if q["path"].startswith("/storage/v1/b/bz-if-"))
    check(downloaded == [], "nothing was downloaded from a site's bucket: %r" % downloaded)
    uploads = [q for q in ours if q["method"] == "POST" and "/b/bz-load/o" in q["path"]]
    coordinator_uploads = [q for q in uploads if "bizoope-coordinator" in q.get("agent", "")]
    decompressed = {q["query"]["name"] for q in uploads if "/decompressed." in q["query"]["name"]}
    check(coordinator_uploads == [] and len(decompressed) == 1 and
          all("_staging/" in q["query"].get("name", "") for q in uploads),
          "the load bucket got the workers' results and one decompressed copy, nothing from "
          "the coordinator: %r" % [q["query"] for q in uploads])
    feed_reads = [q for q in media if "bizoope-coordinator" in q.get("agent", "") and
                  "/b/bz-backup/" not in q["path"] and "_staging" not in q["path"]]
    check(feed_reads == [], "the coordinator read no feed object whole: %r" %
          [q["path"] for q in feed_reads])
    backup_reads = [q for q in media if q["path"].startswith("/storage/v1/b/bz-backup/o/") and
                    JOURNAL in urllib.parse.unquote(q["path"])]
    # each range once: a task delivered twice (the group rebalancing as workers join) reads its
    # shard twice, which is Kafka's at-least-once, not the coordinator's doing
    read = sum(q.get("bytes", 0) for q in {q.get("range"): q for q in backup_reads
                                           if q["status"] in (200, 206)}.values())
    # the shards once (each reads at most 512 bytes past its end, where its last line ends),
    # and one read of 512 bytes for each duplicate the error file lists
    bound = len(data(JOURNAL)) + 512 * (got[JOURNAL].get("shards", 0) +
                                        want[JOURNAL]["rejected_duplicate"])
    check(backup_reads and all(q["query"].get("generation") for q in backup_reads) and
          read <= bound,
          "the journal's shards were read from its backup, pinned, about once: %d reads, %d "
          "bytes of %d (at most %d)" % (len(backup_reads), read, len(data(JOURNAL)), bound))
    archived = objects("bz-archive")
    journal_archive = "a/%s_%s" % (got[JOURNAL]["job_id"], JOURNAL)
    gz_archive = "a/%s_%s" % (got[GZ]["job_id"], GZ)
    check(sorted(archived) == sorted([journal_archive, gz_archive]) and
          archived[journal_archive] == data(JOURNAL) and archived[gz_archive] == data(GZ),
          "the journal and the .gz file archived as received under their jobs: %r" %
          sorted(archived))
    backup = objects("bz-backup")
    quarantined = ["_quarantine/a/%s_%s" % (got[n]["job_id"], n) for n in (NO_TABLE, BOMB)]
    check(sorted(backup) == sorted(quarantined) and
          [backup[q] for q in quarantined] == [data(NO_TABLE), data(BOMB)],
          "the backup bucket holds the two rejected files, in quarantine, as received: %r" %
          sorted(backup))
    site_a = objects("bz-if-a")
    error = site_a.get("errors/%s.errors.tsv" % NO_TABLE, b"")
    check(error.startswith(b"\tfile: the name matches no table") and error.count(b"\n") == 1,
          "the rejected file's site got its one-line error file: %r" % error)
    error = site_a.get("errors/%s.errors.tsv" % BOMB, b"")
    check(error.startswith(b"\tfile: expands more than 200 times its compressed size") and
          error.count(b"\n") == 1,
          "the bomb's site got the worker's reason in one line: %r" % error)
    check(names("bz-load") == [], "the load bucket is empty: %r" % names("bz-load"))
    error = site_a.get("errors/%s.errors.tsv" % GZ, b"")
    rejected = want[GZ]["rejected_invalid"] + want[GZ]["rejected_duplicate"]
    check(error.count(b"\n") == rejected and error.count(b"\tline ") == rejected and
          all(l.split(b"\t")[0] != b"" for l in error.splitlines() if b"duplicate key" in l),
          "the .gz file's error file lists its %d rejected lines, duplicates with their bytes "
          "(read from the decompressed copy): %d lines" % (rejected, error.count(b"\n")))
    check(sorted(n for n in site_a if not n.startswith("errors/")) == [],
          "site a's bucket holds only error files: %r" % sorted(site_a))
    check(names("bz-if-b") == [ITEMS], "the paused site's object stays: %r" % names("bz-if-b"))
    p = subprocess.run([bizoope, "jobs", "show", got[JOURNAL]["job_id"], "--config", config],
                       capture_output=True, text=True)
    check(p.returncode == 0 and "in place  backup object a/%s_%s, generation " % (
        sent[JOURNAL], JOURNAL) in p.stdout, "jobs show names the backup object: %r" % p.stdout)

    # the same bytes again under the same name; the paused site resumed
    upload("bz-if-a", JOURNAL)
    p = subprocess.run([bizoope, "sites", "resume", "b", "--config", config],
                       capture_output=True, text=True)
    check(p.returncode == 0, "sites resume b: %s" % p.stderr)
    got2 = coordinator("second")
    check(got2.get(JOURNAL, {}).get("status") == "identical",
          "the resend ends identical: %r" % got2.get(JOURNAL))
    r = got2.get(ITEMS, {})
    check(r.get("status") == "loaded" and counts(r) == {k: want[ITEMS][k] for k in counts(r)},
          "the resumed site's file loads with gen's counts %r, got %r" % (want[ITEMS], r))
    check(sorted(objects("bz-backup")) == sorted(quarantined),
          "the identical resend's backup object deleted: %r" % names("bz-backup"))
    check(sorted(n for n in names("bz-archive") if n.startswith("a/")) ==
          sorted([journal_archive, gz_archive]),
          "nothing archived twice: %r" % names("bz-archive"))
    check(names("bz-if-b") == ["errors/%s.errors.tsv" % ITEMS],
          "site b's bucket holds its error file only: %r" % names("bz-if-b"))
    print("gcs_in_place: journal %d lines landed in place (%d ranged reads of its backup, %d "
          "bytes of %d), .gz decompressed by a worker, bomb and no-table file quarantined, paused site waited, resend "
          "identical" % (want[JOURNAL]["lines"], len(backup_reads), read, len(data(JOURNAL))))
finally:
    stop_workers(workers)
    cluster.stop()
    storage.stop()
    for fake in (write, rest, oauth, engine):
        fake.stop()
check.finish("files landed in place, never through the coordinator")
