"""merge_targets.py BIZOOPE SRC_DIR WORK_DIR - merge.targets end to end, on SQLite and on
BigQuery (the fakes, every job run on tests/fakes/bigquery_sql_engine.js): the standard journal
with two more targets keyed differently (schema/examples/journal-with-targets.yaml) -
item_day_sales (per store, day and item) and member_last (per member, the rows with a member) -
each a select over the file's rows; TARGETS below is the model's copy of them.

Two generated journals (the second updates and repeats keys of the first, with newer, equal
and older output times) are run by `bizoope run --once`; a model computed here from the files
and the generator's expected rejections predicts every table: the main one as before, each
target the newest row per its key within a file (ties: the later line), then merged file after
file (older never overwrites, equal does). Checked on both warehouses: the rows of all three
tables value for value, and each file's counts per target in `--json` (merge_targets).
On BigQuery again with a fault between the targets: the first MERGE into member_last fails
(after journal's and item_day_sales's ran), the file fails, and a second run finishes it -
following the MERGE jobs that ran, running the one that did not: the same rows, exactly once.
And with a crash between the targets: the coordinator killed (-9) while the second file's MERGE
into member_last is on its way; restarted, the same rows and counts, each MERGE job made once."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, Model, fresh_installation, gen, read_expect, read_lines  # noqa
from pipeline_lib import run_once, start_bigquery_fakes, bigquery_edits, stored  # noqa: E402
from pipeline_lib import warehouse_rows, engine_main_table  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("merge_targets")
fakes = os.path.join(src, "tests", "fakes")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

TARGETS = {
    "item_day_sales": {
        "columns": [("store_code", "string(10)"), ("business_date", "date"),
                    ("item_code", "string(20)"), ("quantity", "int64"),
                    ("amount", "numeric(14,2)"), ("is_deleted", "bool"), ("output_at", "datetime")],
        "key": ["store_code", "business_date", "item_code"],
        "where": None,
    },
    "member_last": {
        "columns": [("member_id", "string(20)"), ("store_code", "string(10)"),
                    ("business_date", "date"), ("is_deleted", "bool"), ("output_at", "datetime")],
        "key": ["member_id"],
        "where": "member_id IS NOT NULL",
    },
}

# ---- the schema: the standard tables, the journal of schema/examples with its targets --------
schemas = os.path.join(work, "schemas")
shutil.copytree(os.path.join(src, "schema", "tables"), schemas)
shutil.copy(os.path.join(src, "schema", "examples", "journal-with-targets.yaml"),
            os.path.join(schemas, "journal.yaml"))

# ---- the files and the model ----------------------------------------------------------------------
feeds = os.path.join(work, "feeds")
os.makedirs(feeds)
FILES = [("journal_20261124090000.tsv", 6000, 1), ("journal_20261125090000.tsv", 3000, 2)]
for name, rows, seed in FILES:
    gen(bizoope, "journal", rows, os.path.join(feeds, name), seed,
        os.path.join(feeds, name + ".exp"))

model = Model(src)
journal = model.schema("journal")
targets = {name: {} for name in TARGETS}  # name -> {(site, key): row}
want_counts = []  # per file: {target: [inserted, updated, skipped_older]}
for name, _, _ in FILES:
    path = os.path.join(feeds, name)
    rejected = read_expect(path + ".exp")
    model.merge_file("journal", "a", path, rejected)
    loaded = []
    for i, raw in enumerate(read_lines(path), start=1):
        if i not in rejected:
            fields = raw.decode("utf-8").split("\t")
            loaded.append((i, {c: stored(v, typ) for (c, typ), v in
                               zip(journal["columns"], fields)}))
    counts = {}
    for tname, t in TARGETS.items():
        newest = {}
        for i, row in loaded:
            if t["where"] == "member_id IS NOT NULL" and row["member_id"] is None:
                continue
            k = tuple(row[c] for c in t["key"])
            have = newest.get(k)
            if have is None or (row["output_at"], i) > (have[1]["output_at"], have[0]):
                newest[k] = (i, row)
        c = [0, 0, 0]
        for k, (_, row) in newest.items():
            old = targets[tname].get(("a", k))
            if old is None:
                c[0] += 1
            elif row["output_at"] >= old["output_at"]:
                c[1] += 1
            else:
                c[2] += 1
                continue
            targets[tname][("a", k)] = {col: row[col] for col, _ in t["columns"]}
        counts[tname] = c
    want_counts.append(counts)


def model_rows(tname):
    cols = [c for c, _ in TARGETS[tname]["columns"]]
    return sorted((tuple([site] + [row[c] for c in cols]) for (site, _), row in
                   targets[tname].items()), key=repr)


def send(inst, which):
    for name, _, _ in [FILES[i] for i in which]:
        shutil.copy(os.path.join(feeds, name), os.path.join(inst, "inbox", "a", name))


def report_counts(reports):
    return [{t["table"]: [t["inserted"], t["updated"], t["skipped_older"]]
             for t in r.get("merge_targets", [])} for r in reports]


# ---- SQLite -----------------------------------------------------------------------------------
EDITS = (("schema_dir:", "schema_dir: '%s'" % schemas),)
inst, config = fresh_installation(bizoope, os.path.join(work, "sqlite"), edits=EDITS)
reports = []
for i in range(len(FILES)):  # one file per run: their order is the model's
    send(inst, [i])
    reports += run_once(bizoope, config)[0]
check([r["status"] for r in reports] == ["loaded", "loaded"], "sqlite: both files loaded: %r" %
      reports)
check(report_counts(reports) == want_counts, "sqlite: counts per target %r, model %r" % (
    report_counts(reports), want_counts))
# the journal keeps them: `bizoope jobs show` (its JSON and its text) after the run ended
for r, want in zip(reports, want_counts):
    p = subprocess.run([bizoope, "jobs", "show", r["job_id"], "--config", config, "--json"],
                       capture_output=True, text=True)
    shown = json.loads(p.stdout) if p.returncode == 0 else {}
    check(report_counts([shown]) == [want], "sqlite: jobs show %s: %r, model %r" % (
        r["job_id"], shown.get("merge_targets"), want))
    p = subprocess.run([bizoope, "jobs", "show", r["job_id"], "--config", config],
                       capture_output=True, text=True)
    line = "  into    member_last: %d new, %d updated, %d older skipped" % tuple(
        want["member_last"])
    check(line in p.stdout.splitlines(), "sqlite: jobs show says %r:\n%s" % (line, p.stdout))
db = os.path.join(inst, "warehouse.db")
check(warehouse_rows(db, model, "journal") == model.table_rows("journal"),
      "sqlite: the journal table as the model says")
for tname, t in TARGETS.items():
    con = sqlite3.connect(db)
    got = sorted(con.execute('SELECT site_id, %s FROM "%s"' % (
        ", ".join(c for c, _ in t["columns"]), tname)).fetchall(), key=repr)
    bad = con.execute('SELECT COUNT(*) FROM "%s" WHERE created_at > updated_at' % tname)
    check(bad.fetchone()[0] == 0, "sqlite: %s: created_at after updated_at" % tname)
    con.close()
    want = model_rows(tname)
    check(got == want, "sqlite: %s holds %d rows, the model %d; first difference %r" % (
        tname, len(got), len(want), next(((a, b) for a, b in zip(got, want) if a != b), None)))


# ---- BigQuery ---------------------------------------------------------------------------------
def engine_rows(dump, tname, columns):
    return engine_main_table(dump, src, tname, columns)


def run_bigquery(label, rest_script):
    engine, oauth, rest, write, paths = start_bigquery_fakes(fakes, work, label, {}, rest_script)
    try:
        inst, config = fresh_installation(bizoope, os.path.join(work, label), edits=EDITS + (
            bigquery_edits(oauth, rest, write)) + (("poll_interval: 2s", "poll_interval: 200ms"),))
        out = []
        for i in range(len(FILES)):
            send(inst, [i])
            got, p = run_once(bizoope, config, check=False)
            out.append((got, p))
            if "job_error_matching" in rest_script and i == 1:
                time.sleep(1.5)  # past the retry's wait (1 s)
                again, p2 = run_once(bizoope, config, check=False)  # the retry finishes it
                out.append((again, p2))
    finally:
        write.stop()
        rest.stop()
        oauth.stop()
        engine.stop()
    return out, json.load(open(paths["engine.json"])), paths["rest.jsonl"]


def check_bigquery(label, dump):
    journal_cols = journal["columns"]
    got = engine_rows(dump, "journal", journal_cols)
    want = model.table_rows("journal")
    check(got == want, "%s: journal holds %s rows, the model %d" % (
        label, "no" if got is None else len(got), len(want)))
    for tname, t in TARGETS.items():
        got = engine_rows(dump, tname, t["columns"])
        want = model_rows(tname)
        check(got == want, "%s: %s holds %s rows, the model %d; first difference %r" % (
            label, tname, "no" if got is None else len(got), len(want),
            next(((a, b) for a, b in zip(got or [], want) if a != b), None)))


runs, dump, _ = run_bigquery("bigquery", {"done_on_insert": True})
reports = [r for got, _ in runs for r in got]
check([r["status"] for r in reports] == ["loaded", "loaded"] and all(p.returncode == 0
                                                                    for _, p in runs),
      "bigquery: both files loaded: %r %s" % (reports, runs[-1][1].stderr[-2000:]))
check(report_counts(reports) == want_counts, "bigquery: counts per target %r, model %r" % (
    report_counts(reports), want_counts))
check_bigquery("bigquery", dump)

# a fault between the targets: the second file's MERGE into member_last fails after the
# journal's and item_day_sales's ran
runs, dump, rest_log = run_bigquery("between", {
    "done_on_insert": True, "job_error_matching": "MERGE `retail-test-1.pos.member_last`",
    "job_error_nth": 2,
    "job_error": {"reason": "backendError", "message": "injected between targets"}})
statuses = [[r["status"] for r in got] for got, _ in runs]
final = [r for got, _ in runs for r in got if r["status"] == "loaded"]
check(statuses[0] == ["loaded"] and statuses[1] != ["loaded"] and statuses[2] == ["loaded"] and
      report_counts(final) == want_counts,
      "between: the second file failed at member_last, then loaded with the model's counts: "
      "%r %r" % (statuses, report_counts(final)))
waited = [r for r in runs[1][0] if r["status"] != "loaded"]
check(waited and "merge target member_last" in (waited[0].get("error") or "") and
      "injected between targets" in waited[0]["error"],
      "between: the failed file says which target's MERGE failed and why: %r" % waited)
check_bigquery("between", dump)
merges = [json.loads(l) for l in open(rest_log)]
merges = [m for m in merges if m.get("kind") == "jobs.insert" and m["status"] == 200 and
          m["body"]["configuration"]["query"]["query"].startswith("MERGE")]
runs_of = {}
for m in merges:
    q = m["body"]["configuration"]["query"]["query"]
    tname = q.split("`")[1].split(".")[-1]
    runs_of[tname] = runs_of.get(tname, 0) + 1
check(runs_of == {"journal": 2, "item_day_sales": 2, "member_last": 3},
      "between: each target's MERGE ran once per file (member_last's failed one again): %r" %
      runs_of)

# a crash between the targets: the coordinator is killed (-9) while the second file's MERGE
# into member_last is on its way (after the journal's and item_day_sales's ran); restarted,
# it follows the MERGE jobs that exist and runs what does not - each once
engine, oauth, rest, write, paths = start_bigquery_fakes(fakes, work, "crash", {}, {
    "done_on_insert": True, "insert_delay_matching": "MERGE `retail-test-1.pos.member_last`",
    "insert_delay_nth": 2, "insert_delay_s": 3})
try:
    inst, config = fresh_installation(bizoope, os.path.join(work, "crash"), edits=EDITS + (
        bigquery_edits(oauth, rest, write)))
    send(inst, [0])
    first, _ = run_once(bizoope, config, check=False)
    send(inst, [1])
    victim = subprocess.Popen([bizoope, "run", "--config", config, "--once", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline, killed = time.time() + 60, False
    while time.time() < deadline and not killed and victim.poll() is None:
        time.sleep(0.05)
        if any('"insert_delayed"' in l for l in open(paths["rest.jsonl"])):
            victim.kill()
            killed = True
    victim.wait()
    time.sleep(3.5)  # the delayed insert makes its job meanwhile
    resumed, p = run_once(bizoope, config, check=False)
finally:
    write.stop()
    rest.stop()
    oauth.stop()
    engine.stop()
check(killed, "crash: the coordinator was killed between the targets")
check([r["status"] for r in first + resumed] == ["loaded", "loaded"] and
      report_counts(first + resumed) == want_counts,
      "crash: after the restart both files loaded with the model's counts: %r %r" % (
          [r["status"] for r in first + resumed], report_counts(first + resumed)))
check_bigquery("crash", json.load(open(paths["engine.json"])))
made = {}
for m in (json.loads(l) for l in open(paths["rest.jsonl"])):
    if m.get("kind") == "jobs.insert" and m.get("status") == 200 and \
            m["body"]["configuration"]["query"]["query"].startswith("MERGE"):
        tname = m["body"]["configuration"]["query"]["query"].split("`")[1].split(".")[-1]
        made[tname] = made.get(tname, 0) + 1
check(made == {"journal": 2, "item_day_sales": 2, "member_last": 2},
      "crash: each target's MERGE job made once per file: %r" % made)
check.finish("journal files merged into two more targets with other keys, as the model says, "
             "on SQLite and BigQuery, also across a fault and a crash between targets")
