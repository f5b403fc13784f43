"""bigquery_e2e.py BIZOOPE SRC_DIR WORK_DIR - `bizoope run` with warehouse.backend bigquery
against the local fakes (tests/fakes: oauth_fake.py as the metadata server,
bigquery_rest_fake.py for tables and jobs, bigquery_write_fake.js - a real gRPC server decoding
with Google's own protos - for the Storage Write API), compared with the same files run into
SQLite:

- every file's counts and error file are the same as the SQLite run's;
- the main tables the MERGE jobs themselves produced (run on a real SQL engine:
  tests/fakes/bigquery_sql_engine.js, DuckDB, which the REST fake runs every query job on and
  the Write fake commits rows into) equal the rows SQLite holds, value for value;
- so do the rows the fake BigQuery received and committed, decoded, deduplicated by the MERGE's
  own rule (newest order_by, then latest position) and merged file after file (older never
  overwrites) in this script: the data sent, checked apart from the SQL that merges it;
- every shard's stream was finalized and committed exactly once, and nothing else committed;
- one MERGE job per loaded file, naming that file's work table, with the site as a parameter;
  the journal's (partitioned by business_date) restricted to the file's range of it, the
  engine reading no partition outside it;
  main tables created once, a work table per file, with an expiration;
- again with faults: the Write API answers UNAVAILABLE mid-append and resets a stream, jobs.insert
  answers 503 once, the access token expires: the same rows, exactly once.
Then a watching `bizoope run` with storage.backend gcs and the SQLite warehouse, the files
uploaded after it started: they arrive through the buckets' Pub/Sub notifications (each bucket
listed once, at start), with the reference run's counts, error files and rows.
Then `bizoope smoke` against the same fakes and the Kafka mock cluster: every table staged and
committed into a scratch work table, each MERGE only dry-run, one notice read back, the main
tables left empty.
Then distributed: bizoope-coordinator with Kafka (tests/fakes/kafka_mock) and bizoope-worker
processes writing the streams, the same checks (each shard's accepted stream committed once,
no other stream committed):
- clean;
- every shard task delivered twice (each copy writes a stream of its own; only the accepted
  attempt's is committed) with UNAVAILABLE, GOAWAY and RESOURCE_EXHAUSTED on appends and a 429
  on jobs.insert;
- a worker killed (kill -9) while it writes streams: its half-written streams are never
  committed, its shards are re-sent to the others;
- with storage.backend gcs (tests/fakes/gcs_fake.py): the files are sent to the sites' interface
  buckets (labelled site_id), the coordinator moves them into its inbox, the workers read their
  shards from the load bucket with ranged reads pinned to the generation, and the error files
  land back in each site's bucket under errors/ - byte-identical to the SQLite run's; at the
  end the interface buckets hold only the error files and the load bucket is empty. Once
  clean, with the coordinator killed (-9) while shards are out and again as it merges, and
  with a 503 on the first listing, a 429 on the first read and a 503 on the first upload."""
import base64
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, load_schema, run_once, stored  # noqa
from pipeline_lib import warehouse_rows, Model  # noqa: E402
from pipeline_lib import KafkaCluster, use_kafka, start_workers, stop_workers  # noqa: E402
from pipeline_lib import Fake, start_bigquery_fakes, bigquery_edits, engine_main_table  # noqa

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
build = os.path.dirname(os.path.abspath(bizoope))
check = Checks("bigquery_e2e")
fakes = os.path.join(src, "tests", "fakes")
os.makedirs(work, exist_ok=True)


# ---- the same files for both runs --------------------------------------------------------------
feeds = os.path.join(work, "feeds")
shutil.rmtree(feeds, ignore_errors=True)
os.makedirs(feeds)
files = [("a", "journal_20261124090000.tsv", "journal", 60000, 1),
         ("a", "journal_20261125090000.tsv", "journal", 20000, 2),  # updates and older rows
         ("b", "items_20261124090000.tsv", "items", 5000, 3),
         ("b", "stores_20261124090000.tsv", "stores", 300, 4)]
for site, name, table, rows, seed in files:
    gen(bizoope, table, rows, os.path.join(feeds, name), seed, os.path.join(feeds, name + ".exp"))


def send(inst):
    for site, name, _, _, _ in files:
        shutil.copy(os.path.join(feeds, name), os.path.join(inst, "inbox", site, name))


ref_inst, ref_config = fresh_installation(bizoope, work + ".ref", sites=("a", "b"), edits=(
    ("shard_size: 64MiB", "shard_size: 1MiB"),))
send(ref_inst)
ref_reports, _ = run_once(bizoope, ref_config)


# ---- the BigQuery stored form back to SQLite's ---------------------------------------------------
def from_bigquery(value, typ):
    if value is None:
        return None
    if typ == "int64":
        return int(value)
    if typ == "bool":
        return 1 if value is True else 0
    if typ.startswith("numeric"):
        return stored(value, typ)  # the literal as sent, in SQLite's exact decimal text
    if typ == "date":
        d = datetime.date(1970, 1, 1) + datetime.timedelta(days=int(value))
        return d.isoformat()
    if typ in ("datetime", "timestamp"):
        p = int(value)
        return "%04d-%02d-%02d %02d:%02d:%02d" % (p >> 46, (p >> 42) & 15, (p >> 37) & 31,
                                                  (p >> 32) & 31, (p >> 26) & 63, (p >> 20) & 63)
    return value


def bigquery_table(dump, rest_log, project):
    """What BigQuery's main tables would hold: each loaded file's committed rows, deduplicated
    as the MERGE's QUALIFY does, merged in the order the MERGE jobs ran."""
    jobs = [json.loads(l) for l in open(rest_log) if '"kind": "jobs.insert"' in l]
    jobs = [j for j in jobs if j["status"] == 200
            and "MERGE `" in j["body"]["configuration"]["query"]["query"]]
    tables = {}
    for j in jobs:
        q = j["body"]["configuration"]["query"]
        params = {p["name"]: p["parameterValue"]["value"] for p in q["queryParameters"]}
        work = q["query"].split("FROM `")[1].split("`")[0].split(".")
        main = q["query"].split("MERGE `")[1].split("`")[0].split(".")[2]
        sc = load_schema(src, main)
        types = dict(sc["columns"])
        rows = dump["tables"].get("projects/%s/datasets/%s/tables/%s" % tuple(work), [])
        winners = {}
        for r in rows:
            if r["site_id"] != params["site_id"]:
                continue
            row = {c: from_bigquery(r.get(c), t) for c, t in sc["columns"]}
            k = tuple(row[c] for c in sc["key"])
            rank = (row[sc["order_by"]], int(r["_bz_position"]))
            if k not in winners or rank > winners[k][0]:
                winners[k] = (rank, row)
        t = tables.setdefault(main, {})
        for k, (_, row) in winners.items():
            key = (params["site_id"], k)
            if key not in t or row[sc["order_by"]] >= t[key][sc["order_by"]]:
                t[key] = row
    out = {}
    for main, t in tables.items():
        sc = load_schema(src, main)
        out[main] = sorted((tuple([site] + [row[c] for c, _ in sc["columns"]])
                            for (site, _), row in t.items()), key=repr)
    return out


def run_distributed(config, cluster, fault, write_log):
    """bizoope-coordinator --once with two bizoope-worker processes; returns (reports, process,
    note)."""
    note = ""
    use_kafka(config, cluster.bootstrap, lease="10s")
    logs = os.path.dirname(config)
    workers = start_workers(build, config, 2)
    if fault == "duplicate-tasks":
        cluster.command("duplicate bizoope.tasks")
    coord_log = os.path.join(logs, "coordinator.log")

    def coordinator():
        return subprocess.Popen([os.path.join(build, "bizoope-coordinator"), "--config", config,
                                 "--once", "--json"], stdout=subprocess.PIPE, text=True,
                                stderr=open(coord_log, "a"))

    def wait_log(marker, count, proc):
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(coord_log) and open(coord_log).read().count(marker) >= count:
                return True
            time.sleep(0.02)
        return False

    coord = coordinator()
    earlier = ""
    try:
        if fault in KILL_COORDINATOR:
            # killed (-9) at the marker, then started again: it resumes from its journal
            marker, count = KILL_COORDINATOR[fault]
            check(wait_log(marker, count, coord), "%s: the coordinator never logged %r" %
                  (fault, marker))
            coord.kill()
            earlier, _ = coord.communicate()
            note = "coordinator killed at %r #%d, %d file(s) reported before" % (
                marker, count, len(earlier.splitlines()))
            coord = coordinator()
        if fault == "kill-worker":
            # once the workers are writing streams, the first one dies; a third joins
            deadline = time.time() + 120
            while time.time() < deadline and coord.poll() is None:
                if os.path.exists(write_log) and sum(
                        1 for l in open(write_log) if '"CreateWriteStream"' in l) >= 6:
                    break
                time.sleep(0.05)
            workers[0].kill()
            workers.append(start_workers(build, config, 1, first=2)[0])
            note = "w0 killed after 6 streams"
        out, _ = coord.communicate(timeout=600)
    finally:
        if coord.poll() is None:
            coord.kill()
        check(stop_workers(workers) == 0, "a worker did not stop within 20 s of SIGTERM")
    if fault == "duplicate-tasks":
        copied = int(cluster.command("duplicate off")[-1].split("copied=")[1])
        note = "%d tasks delivered twice" % copied
        check(copied > 0, "duplicate-tasks: the harness copied no task")
    reports = [json.loads(l) for l in (earlier + out).splitlines() if l.strip()]
    return reports, coord, note


KILL_COORDINATOR = {"kill-coordinator-dispatch": ("file split into shards", 3),
                    "kill-coordinator-merge": ("merging into the table", 2)}


GCS_SETUP = {"buckets": {"bz-if-a": {"labels": {"site_id": "a"}},
                         "bz-if-b": {"labels": {"site_id": "b"}}, "bz-load": {},
                         "bz-backup": {}, "bz-archive": {}},
             "notify": {"subscription": "projects/retail-test-1/subscriptions/bz-new",
                        "buckets": ["bz-if-a", "bz-if-b"]}}


def gcs_call(port, method, path, body=None):
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method, headers={"Authorization": "Bearer tok-test"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def gcs_send(port):
    """The sites upload their files to their interface buckets."""
    import urllib.parse
    for site, name, _, _, _ in files:
        gcs_call(port, "POST", "/upload/storage/v1/b/bz-if-%s/o?uploadType=media&name=%s" % (
            site, urllib.parse.quote(name, safe="")), open(os.path.join(feeds, name), "rb").read())


def gcs_names(port, bucket):
    """The names in the bucket now (a listing only: an object the coordinator pulls meanwhile
    is not read, so it cannot vanish between the listing and a read)."""
    items = json.loads(gcs_call(port, "GET", "/storage/v1/b/%s/o" % bucket)).get("items", [])
    return [o["name"] for o in items]


def gcs_objects(port, bucket):
    """{name: bytes} of the bucket."""
    import urllib.parse
    items = json.loads(gcs_call(port, "GET", "/storage/v1/b/%s/o" % bucket)).get("items", [])
    return {o["name"]: gcs_call(port, "GET", "/storage/v1/b/%s/o/%s?alt=media" % (
        bucket, urllib.parse.quote(o["name"], safe=""))) for o in items}


def check_gcs(label, port, gcs_log):
    # bizoope's requests: the ones before this check's own reads below (a result object a late
    # attempt left behind is read by gcs_objects, by name, and must not count as bizoope's)
    ours = open(gcs_log).read().splitlines()
    for site in ("a", "b"):
        got = gcs_objects(port, "bz-if-" + site)
        want = {"errors/%s.errors.tsv" % name: open(os.path.join(
            ref_inst, "outbox", site, name + ".errors.tsv"), "rb").read()
            for s_, name, _, _, _ in files if s_ == site}
        check(got == want, "%s: bucket bz-if-%s holds %r, expected exactly the error files of "
              "the SQLite run" % (label, site, sorted(got)))
    left = gcs_objects(port, "bz-load")
    late = [n for n in left if n.startswith("_staging/")]
    check(len(late) == len(left), "%s: the load bucket holds no file at the end: %r" %
          (label, sorted(n for n in left if n not in late)))
    # landed in place: each received generation rewritten to the backup bucket, read there,
    # and once merged moved to the archive bucket - as received, under the job's id
    backups = gcs_names(port, "bz-backup")
    check(backups == [], "%s: the backup bucket is empty once every file is archived: %r" %
          (label, backups))
    archived = gcs_objects(port, "bz-archive")
    check(sorted((n.split("/")[0], n.split("_", 1)[1], d) for n, d in archived.items()) ==
          sorted((site, name, open(os.path.join(feeds, name), "rb").read())
                 for site, name, _, _, _ in files),
          "%s: the archive bucket holds each received file once, as received: %r" %
          (label, sorted(archived)))
    log = [json.loads(l) for l in ours]
    media = [r for r in log if r["method"] == "GET" and r["query"].get("alt") == "media"]
    reads = [r for r in media if r["path"].startswith("/storage/v1/b/bz-backup/o/")]
    check(reads and all(r["query"].get("generation") for r in reads),
          "%s: every read of the backup bucket is pinned to a generation (%d reads)" %
          (label, len(reads)))
    # the bytes never pass through the coordinator: no feed object downloaded from a site's
    # bucket, none uploaded to the load bucket; the backups read about once (the shards, and a
    # line for each duplicate the error files list)
    check(not [r for r in media if r["path"].startswith("/storage/v1/b/bz-if-")],
          "%s: a feed object was downloaded from an interface bucket" % label)
    check(not [r for r in log if r["method"] == "POST" and "/b/bz-load/o" in r["path"] and
               "_staging/" not in json.dumps(r.get("query", {}))],
          "%s: a file was uploaded to the load bucket" % label)
    received = sum(os.path.getsize(os.path.join(feeds, name)) for _, name, _, _, _ in files)
    # each range once: a task delivered twice (Kafka's at-least-once, e.g. as the group
    # rebalances) reads its shard twice, which is not the coordinator carrying the feed
    read = sum(r.get("bytes", 0) for r in {(r["path"], r["query"].get("generation"),
                                             r.get("range")): r
                                            for r in reads if r["status"] in (200, 206)}.values())
    # each shard once (and at most 512 bytes past its end), a read of 512 bytes per duplicate
    # the error files list
    bound = received + 512 * sum(r["shards"] + r["rejected_duplicate"] for r in ref_reports)
    if label == "dist-gcs":  # no coordinator killed: no shard re-planned
        check(read <= bound, "%s: %d bytes read from the backups for %d received (at most %d)" %
              (label, read, received, bound))
    faults = [r for r in json.loads("[%s]" % ",".join(open(gcs_log)))
              if r["status"] in (429, 503)]
    results = [r for r in json.loads("[%s]" % ",".join(open(gcs_log)))
               if "/b/bz-load/o" in r["path"] and "_staging/" in json.dumps(r.get("query", {}))
               and r["method"] == "POST" and r["status"] == 200]
    check(results, "%s: the workers handed their results over through the load bucket" % label)
    check(all(r["query"].get("ifGenerationMatch") == "0" for r in results),
          "%s: every result object was written create-only (ifGenerationMatch=0: workers may "
          "create objects, not replace them): %r" % (label, [r["query"] for r in results][:3]))
    print("%s: %d ranged reads of the backups (%d bytes for %d received), %d result objects "
          "through the load bucket (%d left by late attempts for the lifecycle rule), error "
          "files back in the buckets, %d answers 429/503" % (
              label, len(reads), read, received, len(results), len(late), len(faults)))
    return len(faults)


def first_difference(got, want):
    for g, w in zip(got, want):
        if g != w:
            return ": first %r, expected %r" % (g, w)
    return ""


def engine_table(engine_dump, table):
    return engine_main_table(engine_dump, src, table)


def bigquery_fakes(label, write_script, rest_script):
    return start_bigquery_fakes(fakes, work, label, write_script, rest_script)


def run_bigquery(label, write_script, rest_script, cluster=None, fault=None, gcs=None):
    engine, oauth, rest, write, paths = bigquery_fakes(label, write_script, rest_script)
    rest_log, write_log = paths["rest.jsonl"], paths["write.jsonl"]
    dump, engine_dump = paths["dump.json"], paths["engine.json"]
    storage = None
    if gcs is not None:
        gcs_log = os.path.join(work, label + ".gcs.jsonl")
        if os.path.exists(gcs_log):
            os.remove(gcs_log)
        storage = Fake([sys.executable, os.path.join(fakes, "gcs_fake.py"), gcs_log,
                        json.dumps(dict(GCS_SETUP, **gcs))])
    try:
        inst, config = fresh_installation(bizoope, work + "." + label, sites=("a", "b"), edits=(
            bigquery_edits(oauth, rest, write)) + ((
                ("  backend: local ", "  backend: gcs   "),
                ("  gcs_api: https://storage.googleapis.com",
                 "  gcs_api: 'http://127.0.0.1:%d'" % storage.port),
                ("  interface_buckets: ", "  interface_buckets: bz-if-a, bz-if-b"),
                ("  load_bucket: ", "  load_bucket: bz-load"),
                ("  backup_bucket: ", "  backup_bucket: bz-backup"),
                ("  archive_bucket: ", "  archive_bucket: bz-archive"),
                ("  subscription: ", "  subscription: projects/retail-test-1/subscriptions/bz-new"),
                ("  pubsub_api: https://pubsub.googleapis.com",
                 "  pubsub_api: 'http://127.0.0.1:%d'" % storage.port)) if storage else ()))
        if storage:
            gcs_send(storage.port)
        else:
            send(inst)
        if cluster is None:
            reports, p = run_once(bizoope, config, check=False)
            check(p.returncode == 0, "%s: bizoope run exited %d: %s" % (label, p.returncode,
                                                                        p.stderr[-2000:]))
        else:
            reports, p, note = run_distributed(config, cluster, fault, write_log)
            check(p.returncode == 0, "%s: bizoope-coordinator exited %d (see %s)" % (
                label, p.returncode, os.path.join(inst, "coordinator.log")))
            if note:
                print("%s: %s" % (label, note))
        if storage:
            injected = check_gcs(label, storage.port, gcs_log)
            check(injected == len(gcs.get("fail", {})), "%s: %d faults injected, %d scripted" %
                  (label, injected, len(gcs.get("fail", {}))))
    finally:
        if storage:
            storage.stop()
        write.stop()
        rest.stop()
        oauth.stop()
        engine.stop()
    return inst, reports, json.load(open(dump)), rest_log, write_log, json.load(open(engine_dump))


def compare(label, inst, reports, dump, rest_log, write_log, engine_dump):
    keys = ("site", "file", "table", "status", "lines", "loaded", "rejected_invalid",
            "rejected_duplicate")
    check([{k: r[k] for k in keys} for r in reports] ==
          [{k: r[k] for k in keys} for r in ref_reports],
          "%s: counts differ from the SQLite run:\n%r\n%r" % (label, reports, ref_reports))
    for site, name, _, _, _ in files:
        a = open(os.path.join(inst, "outbox", site, name + ".errors.tsv"), "rb").read()
        b = open(os.path.join(ref_inst, "outbox", site, name + ".errors.tsv"), "rb").read()
        check(a == b, "%s: error file of %s differs from the SQLite run's" % (label, name))
    got = bigquery_table(dump, rest_log, "retail-test-1")
    model = Model(src)
    for table in ("journal", "items", "stores"):
        want = warehouse_rows(os.path.join(ref_inst, "warehouse.db"), model, table)
        check(got.get(table) == want, "%s: %s rows committed to BigQuery (%d), merged as the "
              "MERGE's rule says, differ from SQLite's (%d)" % (label, table,
                                                               len(got.get(table, [])), len(want)))
        merged = engine_table(engine_dump, table)
        check(merged == want, "%s: %s rows the MERGE jobs produced (%s) differ from SQLite's "
              "(%d)%s" % (label, table, "none" if merged is None else len(merged), len(want),
                          first_difference(merged or [], want)))
    streams = dump["streams"]
    shards = sum(r["shards"] for r in reports)
    committed = [s for s in streams.values() if s["committed"]]
    check(len(committed) == shards and all(s["finalized"] for s in committed),
          "%s: %d streams committed for %d shards, each finalized" %
          (label, len(committed), shards))
    if not label.startswith("dist"):  # one process: no attempt is ever run twice
        check(len(streams) == shards, "%s: %d streams for %d shards" % (label, len(streams),
                                                                       shards))
    rest = [json.loads(l) for l in open(rest_log)]
    jobs = [r for r in rest if r.get("kind") == "jobs.insert" and r["status"] == 200]
    ranks = [r for r in jobs if "WITH ranked AS" in r["body"]["configuration"]["query"]["query"]]
    jobs = [r for r in jobs if "MERGE `" in r["body"]["configuration"]["query"]["query"]]
    loaded = [r for r in reports if r["status"] == "loaded"]
    # the duplicates were ranked by BigQuery, on each loaded file's work table, before its MERGE
    check(all(any("w_%s_%s" % (r["job_id"], r["table"]) in q["body"]["configuration"]["query"]
                  ["query"] for q in ranks) for r in loaded),
          "%s: each loaded file's duplicates ranked by a query on its work table" % label)
    check(len(jobs) == len(loaded) and all(
        "w_%s_%s" % (r["job_id"], r["table"]) in j["body"]["configuration"]["query"]["query"]
        and {"name": "site_id", "parameterType": {"type": "STRING"},
             "parameterValue": {"value": r["site"]}}
        in j["body"]["configuration"]["query"]["queryParameters"]
        for r, j in zip(loaded, jobs)),
          "%s: one MERGE job per loaded file, on its work table and site" % label)
    # the journal (partition_by: business_date): each MERGE names the file's range of it, and
    # the engine read only partitions inside that range
    for j in jobs:
        q = j["body"]["configuration"]["query"]
        if "MERGE `retail-test-1.pos.journal`" not in q["query"]:
            continue
        params = {p["name"]: p["parameterValue"]["value"] for p in q["queryParameters"]}
        read = j.get("engine", {}).get("partitionsRead")
        check("T.`business_date` BETWEEN @partition_lo AND @partition_hi" in q["query"] and
              read is not None and all(params["partition_lo"] <= d <= params["partition_hi"]
                                       for d in read),
              "%s: journal MERGE %s reads partitions %r outside its range %r..%r" % (
                  label, j["job"], read, params.get("partition_lo"), params.get("partition_hi")))
    tables = [r for r in rest if r.get("kind") == "tables.insert" and r["status"] == 200]
    mains = sorted(r["table"] for r in tables if ".pos." in r["table"])
    works = [r for r in tables if ".pos_work." in r["table"]]
    check(mains == ["retail-test-1.pos.items", "retail-test-1.pos.journal",
                    "retail-test-1.pos.stores"] and len(works) == len(files) and
          all("expirationTime" in r["body"] for r in works),
          "%s: main tables created once each, one expiring work table per file: %r" %
          (label, [r["table"] for r in tables]))
    print("%s: %d files, %d shards, %d streams committed (%d written), %d MERGE jobs" %
          (label, len(reports), shards, len(committed), len(streams), len(jobs)))
    return len(streams) - len(committed)


compare("clean", *run_bigquery("clean", {}, {}))
faults = run_bigquery("faults", {
    "append": [None, {"code": 14, "after": 0}, None, {"reset": True, "after": 0}],
    "expire_token": "tok-1"}, {"jobs.insert": [503, 200], "running_polls": 2})
compare("faults", *faults)
injected = [json.loads(l) for l in open(faults[4])]
check(sum(1 for r in injected if r.get("code") == 14) == 1 and
      sum(1 for r in injected if r.get("fault") == "reset") == 1 and
      sum(1 for r in injected if r.get("code") == 16) == 1,
      "faults: UNAVAILABLE, a reset stream and an expired token were each injected once")
check(sum(1 for l in open(faults[3]) if '"status": 503' in l) == 1,
      "faults: jobs.insert answered 503 once")

# ---- watching, files announced by Pub/Sub ----------------------------------------------------------
def watch_gcs():
    """A watching `bizoope run` with storage.backend gcs (SQLite warehouse, worker threads):
    the files are uploaded after it started, so they reach it through the subscription's
    notifications; the same counts, error files (back in the buckets) and table rows as the
    reference run, each bucket listed once (at start), every notification acknowledged."""
    label = "watch-gcs"
    gcs_log = os.path.join(work, label + ".gcs.jsonl")
    if os.path.exists(gcs_log):
        os.remove(gcs_log)
    oauth = Fake([sys.executable, os.path.join(fakes, "oauth_fake.py"), "/dev/null",
                  os.path.join(work, label + ".oauth.jsonl")])
    storage = Fake([sys.executable, os.path.join(fakes, "gcs_fake.py"), gcs_log,
                    json.dumps(GCS_SETUP)])
    proc = None
    try:
        inst, config = fresh_installation(bizoope, work + "." + label, sites=("a", "b"), edits=(
            ("shard_size: 64MiB", "shard_size: 1MiB"),
            ("poll_interval: 2s", "poll_interval: 200ms"),
            ("  listen: 127.0.0.1:8470", "  listen: '127.0.0.1:0'"),
            ("  metadata_url: ", "  metadata_url: 'http://127.0.0.1:%d'" % oauth.port),
            ("  backend: local ", "  backend: gcs   "),
            ("  gcs_api: https://storage.googleapis.com",
             "  gcs_api: 'http://127.0.0.1:%d'" % storage.port),
            ("  interface_buckets: ", "  interface_buckets: bz-if-a, bz-if-b"),
            ("  backup_bucket: ", "  backup_bucket: bz-backup"),
            ("  subscription: ", "  subscription: projects/retail-test-1/subscriptions/bz-new"),
            ("  pubsub_api: https://pubsub.googleapis.com",
             "  pubsub_api: 'http://127.0.0.1:%d'" % storage.port)))
        proc = subprocess.Popen([bizoope, "run", "--config", config, "--json", "--workers", "2"],
                                stdout=subprocess.PIPE, text=True,
                                stderr=open(os.path.join(inst, "run.log"), "w"))
        deadline = time.time() + 60  # the start: every bucket listed once
        while time.time() < deadline and not (
                os.path.exists(gcs_log) and open(gcs_log).read().count(
                    '"path": "/storage/v1/b/bz-if-b/o"') >= 1):
            time.sleep(0.1)
        gcs_send(storage.port)
        deadline = time.time() + 180
        want = len(files)
        while time.time() < deadline and proc.poll() is None:
            got = sum(1 for site in ("a", "b") for n in gcs_names(storage.port, "bz-if-" + site)
                      if n.startswith("errors/"))
            if got >= want:
                break
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        reports = [json.loads(l) for l in out.splitlines() if l.strip()]
        keys = ("site", "file", "table", "status", "lines", "loaded", "rejected_invalid",
                "rejected_duplicate")
        check([{k: r[k] for k in keys} for r in reports] ==
              [{k: r[k] for k in keys} for r in ref_reports],
              "%s: counts differ from the reference run:\n%r" % (label, reports))
        for site in ("a", "b"):
            got = gcs_objects(storage.port, "bz-if-" + site)
            want_files = {"errors/%s.errors.tsv" % name: open(os.path.join(
                ref_inst, "outbox", site, name + ".errors.tsv"), "rb").read()
                for s_, name, _, _, _ in files if s_ == site}
            check(got == want_files, "%s: bucket bz-if-%s holds %r, expected exactly the "
                  "reference run's error files" % (label, site, sorted(got)))
        model = Model(src)
        for table in ("journal", "items", "stores"):
            check(warehouse_rows(os.path.join(inst, "warehouse.db"), model, table) ==
                  warehouse_rows(os.path.join(ref_inst, "warehouse.db"), model, table),
                  "%s: %s rows differ from the reference run's" % (label, table))
        log = [json.loads(l) for l in open(gcs_log)]
        lists = [r for r in log if r["method"] == "GET" and "prefix" in r["query"] and
                 r["path"] in ("/storage/v1/b/bz-if-a/o", "/storage/v1/b/bz-if-b/o")]  # ours

        acked = sum(r.get("acked", 0) for r in log if r["path"].endswith(":acknowledge"))
        check(len(lists) == 2, "%s: the buckets were listed %d times, once each expected "
              "(the rest came by notification)" % (label, len(lists)))
        # every upload by the sites and every error file written back is announced; all are
        # acknowledged (the error files and moved objects as nothing to do)
        check(acked >= len(files), "%s: %d notifications acknowledged" % (label, acked))
        print("%s: %d files through Pub/Sub notifications, %d acknowledged, buckets listed %d "
              "times" % (label, len(reports), acked, len(lists)))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        storage.stop()
        oauth.stop()


watch_gcs()

# ---- `bizoope smoke`: a deployment checked with scratch data ------------------------------------
def smoke(cluster):
    """`bizoope smoke` against the fakes with the Kafka mock cluster: every table prepared, three
    generated rows staged through a PENDING stream and committed into its scratch work table,
    the MERGE dry-run (planned by the engine, not run), one notice produced and read back; no
    main table's rows change."""
    engine, oauth, rest, write, paths = bigquery_fakes("smoke", {}, {})
    try:
        inst, config = fresh_installation(bizoope, work + ".smoke", sites=("a",),
                                          edits=bigquery_edits(oauth, rest, write))
        use_kafka(config, cluster.bootstrap)
        p = subprocess.run([bizoope, "smoke", "--config", config, "--json"], capture_output=True,
                           text=True, timeout=300)
        text = subprocess.run([bizoope, "smoke", "--config", config, "--table", "stores"],
                              capture_output=True, text=True, timeout=300)
    finally:
        write.stop()
        rest.stop()
        oauth.stop()
        engine.stop()
    check(p.returncode == 0, "smoke: exited %d: %s %s" % (p.returncode, p.stdout, p.stderr[-2000:]))
    report = json.loads(p.stdout) if p.stdout.strip() else {}
    tables = {t["table"]: t for t in report.get("tables", [])}
    check(sorted(tables) == ["items", "journal", "members", "stores"] and
          all(t["ok"] and t["rows_staged"] == 3 and "/tables/w_smoke" in t["stage"]
              for t in tables.values()) and report.get("kafka", {}).get("ok") is True,
          "smoke: every table staged 3 rows into a scratch work table, Kafka read back: %r" %
          report)
    check(text.returncode == 0 and "  ok    stores " in text.stdout and
          "  ok    kafka " in text.stdout, "smoke: the text report: %r" % text.stdout)
    dump = json.load(open(paths["dump.json"]))
    committed = [s for s in dump["streams"].values() if s["committed"]]
    check(len(committed) == 5 and all(s["rows"] == 3 for s in committed),
          "smoke: 5 streams of 3 rows committed (4 tables, then stores again): %r" %
          dump["streams"])
    rest_log = [json.loads(l) for l in open(paths["rest.jsonl"])]
    inserts = [r for r in rest_log if r.get("kind") == "jobs.insert"]
    merges = [r for r in inserts if "MERGE `" in r["body"]["configuration"]["query"]["query"]]
    ranks = [r for r in inserts
             if "WITH ranked AS" in r["body"]["configuration"]["query"]["query"]]
    check(len(merges) == 5 and all(r.get("dry_run") and r["status"] == 200 for r in merges),
          "smoke: every MERGE only dry-run, each accepted by the engine: %r" %
          [(r.get("job"), r.get("dry_run"), r["status"]) for r in merges])
    check(len(ranks) == 5 and len(inserts) == 10 and
          all(r.get("dry_run") and r["status"] == 200 for r in ranks),
          "smoke: every duplicates query dry-run too, each accepted by the engine: %r" %
          [(r.get("job"), r.get("dry_run"), r["status"]) for r in ranks])
    engine_tables = json.load(open(paths["engine.json"]))["tables"]
    mains = {k: v["rows"] for k, v in engine_tables.items() if k.startswith("pos.")}
    check(sorted(mains) == ["pos.items", "pos.journal", "pos.members", "pos.stores"] and
          all(rows == [] for rows in mains.values()),
          "smoke: the main tables exist and hold no row: %r" % {k: len(v) for k, v in
                                                                mains.items()})
    print("smoke: %d tables staged, committed and MERGE-planned, notice read back; main tables "
          "untouched" % len(tables))


# ---- distributed: coordinator, Kafka, bizoope-worker processes ---------------------------------
cluster = KafkaCluster(build)
try:
    smoke(cluster)
    compare("dist-clean", *run_bigquery("dist-clean", {}, {}, cluster))
    extra = compare("dist-duplicates", *run_bigquery(
        "dist-duplicates", {"append": [None, None, {"code": 14, "after": 0}, None,
                                       {"goaway": True, "after": 1}, {"code": 8, "after": 0}]},
        {"jobs.insert": [429, 200]}, cluster, "duplicate-tasks"))
    check(extra > 0, "dist-duplicates: the copies wrote streams of their own (uncommitted)")
    compare("dist-kill-worker", *run_bigquery("dist-kill-worker", {}, {}, cluster, "kill-worker"))
    compare("dist-gcs", *run_bigquery("dist-gcs", {}, {}, cluster, gcs={}))
    for fault in KILL_COORDINATOR:
        compare("dist-gcs-" + fault, *run_bigquery("dist-gcs-" + fault, {}, {}, cluster, fault,
                                                  gcs={}))
    compare("dist-gcs-faults", *run_bigquery("dist-gcs-faults", {}, {}, cluster, gcs={
        "fail": {"list": [503, 200], "media": [429, 200],
                 "upload": [200] * len(files) + [503, 200]}}))  # the sites' uploads go through
finally:
    cluster.stop()
check.finish("all checks passed")
