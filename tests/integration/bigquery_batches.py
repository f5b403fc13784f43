"""bigquery_batches.py BIZOOPE SRC_DIR WORK_DIR - the shipped batch workflows (consistency,
daily, weekly, monthly) on the BigQuery warehouse against the local fakes (the REST fake running
every job on tests/fakes/bigquery_sql_engine.js, a real SQL engine), compared with the same
workflows on SQLite over the same files:

- a journal spread over six weeks (2026-10-19 .. 2026-11-30) for site a, items and stores for
  site b, loaded into each warehouse;
- on BigQuery a watching `bizoope run` loads them and runs the batches on its schedule (every
  minute here, max_periods 0); on SQLite `bizoope batch run --until` the same day (yesterday in
  Asia/Tokyo) builds the same periods of every step, each period's ledger row (workflow, step,
  period, rows changed) the same;
- the tables the steps built - store_day_sales, member_segments_weekly, member_segments_monthly
  and the placeholders consistency registered in items and stores - hold the same rows, value for
  value (amounts compared as decimals, the share as its rounded double);
- every build ran as one multi-statement job: its tables created before BEGIN TRANSACTION, the
  ledger row inside it;
- a `bizoope batch run` after the scheduled one builds nothing; `batch rebuild` of one period
  (on both) gives the same rows and ledger again;
- a step whose SQL BigQuery refuses (a DATETIME into a TIMESTAMP column) fails with the
  refusal, and leaves neither rows nor a ledger row behind."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, run_once, warehouse_rows  # noqa: E402
from pipeline_lib import Model, start_bigquery_fakes, bigquery_edits, engine_main_table  # noqa

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("bigquery_batches")
fakes = os.path.join(src, "tests", "fakes")
os.makedirs(work, exist_ok=True)
FIRST_DAY, DAYS = date(2026, 10, 19), 43

# ---- the files: gen's, the journal's business dates spread over six weeks ------------------------
feeds = os.path.join(work, "feeds")
os.makedirs(feeds, exist_ok=True)
raw = os.path.join(feeds, "journal.raw")
gen(bizoope, "journal", 6000, raw, 7, raw + ".exp", error_rate=0.005)
with open(raw, "rb") as f, open(os.path.join(feeds, "journal_20261201090000.tsv"), "wb") as out:
    for i, line in enumerate(f):
        cols = line.split(b"\t")
        if len(cols) > 1 and cols[1] == b"20261123":
            cols[1] = (FIRST_DAY + timedelta(days=i % DAYS)).strftime("%Y%m%d").encode()
        out.write(b"\t".join(cols))
gen(bizoope, "items", 300, os.path.join(feeds, "items_20261201090000.tsv"), 8,
    os.path.join(feeds, "items.exp"))
gen(bizoope, "stores", 40, os.path.join(feeds, "stores_20261201090000.tsv"), 9,
    os.path.join(feeds, "stores.exp"))
FILES = (("a", "journal_20261201090000.tsv"), ("b", "items_20261201090000.tsv"),
         ("b", "stores_20261201090000.tsv"))


def send(inst):
    for site, name in FILES:
        with open(os.path.join(feeds, name), "rb") as f:
            open(os.path.join(inst, "inbox", site, name), "wb").write(f.read())


def batch(config, *args):
    p = subprocess.run([bizoope, "batch"] + list(args) + ["--config", config, "--json"],
                       capture_output=True, text=True)
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p


def built(lines):
    """(workflow, step, period, rows) of every period a batch run built."""
    return sorted((l["workflow"], l["step"], l["period"], l["rows"]) for l in lines
                  if l.get("event") == "built")


# ---- the values of both warehouses in one form -------------------------------------------------
def norm(v):
    """A cell as comparable: NULL, a decimal (amounts, counts, shares) or the text."""
    if v is None:
        return None
    t = str(v)
    if t in ("true", "false"):
        return t == "true"
    try:
        return Decimal(t).normalize()
    except InvalidOperation:
        return t


def sqlite_table(db, table, columns):
    con = sqlite3.connect(db)
    try:
        rows = con.execute('SELECT %s FROM "%s"' % (", ".join(columns), table)).fetchall()
    finally:
        con.close()
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


def engine_rows(dump, table, columns):
    t = dump["tables"].get("pos." + table)
    if t is None:
        return None
    at = [t["columns"].index(c) for c in columns]
    return sorted((tuple(norm(r[i]) for i in at) for r in t["rows"]), key=repr)


RESULT_COLUMNS = {
    "store_day_sales": ["site_id", "store_code", "business_date", "receipts", "lines",
                        "quantity", "amount", "member_amount", "members_share"],
    "member_segments_weekly": ["site_id", "period", "member_id", "last_purchase", "receipts",
                               "amount", "recency", "frequency", "monetary"],
    "member_segments_monthly": ["site_id", "period", "member_id", "last_purchase", "receipts",
                                "amount", "recency", "frequency", "monetary"],
    "_bizoope_batches": ["workflow", "step", "period", "period_start", "period_end", "rows"],
}

BROKEN = """workflow: broken
description: A step whose second insert BigQuery refuses.
steps:
  - name: stamp
    period: once
    sql:
      sqlite: SELECT 1
      bigquery: |
        CREATE TABLE IF NOT EXISTS broken_stamps (site_id STRING NOT NULL, stamped_at TIMESTAMP NOT NULL);
        INSERT INTO broken_stamps (site_id, stamped_at) SELECT 'a', TIMESTAMP(@now);
        INSERT INTO broken_stamps (site_id, stamped_at) SELECT 'b', CURRENT_DATETIME();
"""

def tokyo_yesterday():
    """What a scheduled run means by --until: yesterday in batch.timezone (Asia/Tokyo)."""
    return ((datetime.now(timezone.utc) + timedelta(hours=9)).date() - timedelta(days=1)).isoformat()


# ---- SQLite: the files loaded (its batches run below, over the periods the schedule saw) -----------
ref_inst, ref_config = fresh_installation(bizoope, os.path.join(work, "ref"), sites=("a", "b"))
send(ref_inst)
ref_reports, _ = run_once(bizoope, ref_config)

# ---- BigQuery: the batches a watching run schedules, then the CLI --------------------------------
engine, oauth, rest, write, paths = start_bigquery_fakes(fakes, work, "bq", {},
                                                         {"done_on_insert": True})
try:
    inst, config = fresh_installation(bizoope, os.path.join(work, "bq"), sites=("a", "b"),
                                      edits=bigquery_edits(oauth, rest, write) + (
        ("  schedule: '0 3 * * *'", "  schedule: '* * * * *'"),
        ("poll_interval: 2s", "poll_interval: 200ms"),
        ("  max_periods: 100", "  max_periods: 0  ")))
    send(inst)
    log_path = os.path.join(work, "bq.run.log")
    with open(log_path, "w") as log:
        run = subprocess.Popen([bizoope, "run", "--config", config, "--json"],
                               stdout=subprocess.PIPE, stderr=log, text=True,
                               env=dict(os.environ, BIZOOPE_LOG_LEVEL="info"))
        deadline, ran = time.time() + 100, None
        while time.time() < deadline and ran is None:
            time.sleep(1)
            ran = next((e for e in (json.loads(l) for l in open(log_path) if l.startswith("{"))
                        if e.get("message") == "scheduled batches ran"), None)
        until = tokyo_yesterday()
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=60)
    reports = [json.loads(l) for l in out.splitlines() if l.strip()]
    check(ran is not None and ran["severity"] == "INFO" and "failed=0" in ran["detail"] and
          "built=0" not in ran["detail"],
          "bigquery: the watching run built the batches on schedule: %r" % (ran,))
    check(run.returncode == 0 and sorted((r["file"], r["loaded"]) for r in reports) ==
          sorted((r["file"], r["loaded"]) for r in ref_reports),
          "bigquery: the watching run loaded the files as SQLite did (exit %d): %r" % (
              run.returncode, reports))
    again, p = batch(config, "run", "--until", until, "--max-periods", "0")
    check(p.returncode == 0 and built(again) == [],
          "bigquery: a run after the scheduled one builds nothing: %r %s" % (
              built(again)[:5], p.stderr[-1000:]))
    rebuilt, p = batch(config, "rebuild", "daily.store_day_sales", "--period", "2026-11-02")
    check(p.returncode == 0 and [(w, s, d) for w, s, d, _ in built(rebuilt)] ==
          [("daily", "store_day_sales", "2026-11-02")],
          "bigquery: rebuild builds that one period: %r %s" % (rebuilt, p.stderr[-1000:]))
    # a step BigQuery refuses in the middle of its transaction: nothing of it stays
    broken = os.path.join(work, "broken")
    os.makedirs(broken, exist_ok=True)
    open(os.path.join(broken, "broken.yaml"), "w").write(BROKEN)
    lines, p = batch(config, "run", "broken", "--workflows", broken, "--until", until)
    check(p.returncode != 0 and "cannot be inserted into column stamped_at, which has type "
          "TIMESTAMP" in p.stderr + p.stdout and built(lines) == [],
          "bigquery: a refused step fails with BigQuery's reason (exit %d): %s" % (
              p.returncode, (p.stderr + p.stdout)[-1500:]))
finally:
    write.stop()
    rest.stop()
    oauth.stop()
    engine.stop()

# ---- SQLite: the reference batches, over the same periods ----------------------------------------
ref_lines, p = batch(ref_config, "run", "--until", until, "--max-periods", "0")
check(p.returncode == 0, "sqlite: batch run exited %d: %s" % (p.returncode, p.stderr[-2000:]))
ref_built = built(ref_lines)
ref_rebuilt, p = batch(ref_config, "rebuild", "daily.store_day_sales", "--period", "2026-11-02")
check(p.returncode == 0 and built(ref_rebuilt) == built(rebuilt),
      "sqlite: rebuild as on BigQuery: %r %r %s" % (built(ref_rebuilt), built(rebuilt),
                                                    p.stderr[-2000:]))
ref_db = os.path.join(ref_inst, "warehouse.db")
steps = sorted({(w, s) for w, s, _, _ in ref_built})
check(steps == [("consistency", "unregistered_items"), ("consistency", "unregistered_stores"),
                ("daily", "store_day_sales"), ("monthly", "member_segments"),
                ("weekly", "member_segments")],
      "sqlite: every step of the four workflows built something: %r" % steps)
dump = json.load(open(paths["engine.json"]))

for table, columns in RESULT_COLUMNS.items():
    want = sqlite_table(ref_db, table, columns)
    got = engine_rows(dump, table, columns)
    check(got == want and len(want) > 0,
          "%s: BigQuery holds %s rows, SQLite %d; first difference: %r" % (
              table, "no" if got is None else len(got), len(want),
              next(((a, b) for a, b in zip(got or [], want) if a != b), None)))
check(dump["tables"].get("pos.broken_stamps", {}).get("rows") == [] and
      not any(r[0] == "broken" for r in dump["tables"]["pos._bizoope_batches"]["rows"]),
      "bigquery: the refused step left its table empty and no ledger row")
# every build one job: its tables created before the transaction, the ledger row inside it
rest_log = [json.loads(l) for l in open(paths["rest.jsonl"])]
scripts = [r["body"]["configuration"]["query"]["query"] for r in rest_log
           if r.get("kind") == "jobs.insert" and
           r["body"]["configuration"]["query"]["query"].startswith("DECLARE")]


def ordered(q):
    at = [q.find(s) for s in ("BEGIN TRANSACTION;", "INSERT INTO _bizoope_batches",
                              "COMMIT TRANSACTION;")]
    create = q.rfind("CREATE TABLE")
    return -1 < at[0] < at[1] < at[2] and create < at[0]


check(len(scripts) == len(ref_built) + 2 and all(ordered(q) for q in scripts),
      "bigquery: %d build jobs for %d periods (+ rebuild + refused), each ordered" %
      (len(scripts), len(ref_built)))
model = Model(src)
for table in ("items", "stores"):  # consistency's placeholders among the loaded rows
    want = warehouse_rows(ref_db, model, table)
    got = engine_main_table(dump, src, table)
    check(got == want, "%s: BigQuery holds %s rows, SQLite %d; first difference: %r" % (
        table, "no" if got is None else len(got), len(want),
        next(((a, b) for a, b in zip(got or [], want) if a != b), None)))
print("bigquery_batches: %d periods built on both warehouses; %s" % (
    len(ref_built), ", ".join("%s %d rows" % (t, len(sqlite_table(ref_db, t, c[:1])))
                              for t, c in RESULT_COLUMNS.items())))
check.finish("the shipped workflows build the same tables on BigQuery as on SQLite")
