"""batch_calendar.py BIZOOPE SRC_DIR WORK_DIR - the catch-up batches over a simulated calendar:
three weeks of journal feeds arrive in bursts; `bizoope batch run` is run, skipped for ten days,
run twice, asked to rebuild one day, limited, and once broken. After every run the ledger and
the built tables are compared with values computed here, independently, from the lines this
test wrote: the consistency placeholders (and their replacement by a later item master), and
the per-store per-day sales summary (receipts, lines, quantity, exact amounts, members'
share)."""
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
inst, config = fresh_installation(bizoope, work)
db = os.path.join(inst, "warehouse.db")
check = Checks("batch_calendar")
rng = random.Random(20261128)


START = dt.date(2026, 10, 5)  # a Monday
DAYS = [START + dt.timedelta(days=i) for i in range(21)]
STORES = ["S01", "S02", "S03"]
MASTER_ITEMS = ["I%03d" % i for i in range(1, 9)]
UNKNOWN_ITEMS = ["X901", "X902"]  # sold, but not in the first item master
journal = {}  # key -> fields (the newest version: the test only ever sends newer ones)


def journal_lines(day, stamp):
    lines = []
    for store in STORES:
        if store == "S03" and day.weekday() == 6:
            continue  # S03 is closed on Sundays: a day without its sales
        for receipt in range(1, rng.randint(3, 6)):
            member = "M%04d" % rng.randint(1, 50) if rng.random() < 0.5 else ""
            for line_no in range(1, rng.randint(2, 4)):
                item = rng.choice(MASTER_ITEMS + UNKNOWN_ITEMS)
                qty = rng.randint(1, 5)
                price = Decimal(rng.randint(50, 900))
                amount = price * qty
                deleted = "1" if rng.random() < 0.05 else "0"
                f = [store, day.strftime("%Y%m%d"), "1", str(receipt), str(line_no),
                     day.strftime("%Y%m%d") + "101500", member, item, "item " + item, "C1",
                     str(qty), "%.2f" % price, "%.2f" % amount, "0.00", "%.2f" % (amount / 10),
                     "10.00", "01", "T1", deleted, stamp]
                journal[(store, day, 1, receipt, line_no)] = f
                lines.append("\t".join(f))
    return lines


def send(name, lines):
    with open(os.path.join(inst, "inbox", "a", name), "w", encoding="utf-8") as out:
        out.write("".join(l + "\n" for l in lines))


def run_pipeline():
    p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    reports = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    for r in reports:
        check(r["rejected_invalid"] == 0, "%s: %d invalid lines (the test writes valid ones)" %
              (r["file"], r["rejected_invalid"]))
    return reports


def batch(*args, expect_rc=0):
    p = subprocess.run([bizoope, "batch"] + list(args) + ["--config", config, "--json"],
                       capture_output=True, text=True)
    check(p.returncode == expect_rc, "batch %s: exit %d, expected %d: %s" %
          (" ".join(args), p.returncode, expect_rc, p.stderr.strip()))
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def built(events, step=None):
    return [(e["workflow"] + "." + e["step"], e["period"]) for e in events
            if e["event"] == "built" and (step is None or e["workflow"] + "." + e["step"] == step)]


def ledger(step):
    wf, st = step.split(".")
    con = sqlite3.connect(db)
    rows = con.execute("SELECT period, built_at, rows FROM _bizoope_batches WHERE workflow = ? "
                       "AND step = ? ORDER BY period", (wf, st)).fetchall()
    con.close()
    return rows


def iso(d):
    return d.isoformat()


def expected_sales():
    """store_day_sales computed from the lines this test sent."""
    out = {}
    for (store, day, reg, receipt, line_no), f in journal.items():
        if f[18] == "1":
            continue
        k = ("a", store, iso(day))
        e = out.setdefault(k, {"receipts": set(), "lines": 0, "qty": 0, "amount": Decimal(0),
                               "member": Decimal(0)})
        e["receipts"].add((reg, receipt))
        e["lines"] += 1
        e["qty"] += int(f[10])
        e["amount"] += Decimal(f[12])
        if f[6]:
            e["member"] += Decimal(f[12])
    return {k: (len(v["receipts"]), v["lines"], v["qty"], "%.2f" % v["amount"], "%.2f" % v["member"],
                round(float(v["member"] / v["amount"]), 4) if v["amount"] else None)
            for k, v in out.items()}


def check_sales(upto, what):
    want = {k: v for k, v in expected_sales().items() if k[2] <= iso(upto)}
    con = sqlite3.connect(db)
    got = {(r[0], r[1], r[2]): tuple(r[3:]) for r in con.execute(
        "SELECT site_id, store_code, business_date, receipts, lines, quantity, amount, "
        "member_amount, members_share FROM store_day_sales")}
    con.close()
    check(got == want, "%s: store_day_sales differs from the lines sent: %d rows vs %d; e.g. %r" %
          (what, len(got), len(want), sorted(set(got.items()) ^ set(want.items()))[:2]))


def segment_classes(kind, end, last, receipts, cents):
    days = (end - last).days
    if kind == "week":
        r = "R1" if days < 7 else "R2" if days < 28 else "R3"
        f = "F1" if receipts >= 4 else "F2" if receipts >= 2 else "F3"
    else:
        r = "R1" if days < 30 else "R2" if days < 90 else "R3"
        f = "F1" if receipts >= 12 else "F2" if receipts >= 4 else "F3"
    m = "M1" if cents >= 1000000 else "M2" if cents >= 300000 else "M3"
    return r, f, m


def expected_segments(kind, label, start, end):
    """member_segments_<kind>ly of one period, from the lines this test sent."""
    if kind == "week":
        first = end - dt.timedelta(days=83)
    else:
        y, m = (start.year, start.month - 2) if start.month > 2 else (start.year - 1,
                                                                        start.month + 10)
        first = dt.date(y, m, 1)
    members = {}
    for (store, day, reg, receipt, line_no), f in journal.items():
        if f[18] == "1" or not f[6] or not first <= day <= end:
            continue
        e = members.setdefault(f[6], {"last": day, "receipts": set(), "cents": 0})
        e["last"] = max(e["last"], day)
        e["receipts"].add((store, day, reg, receipt))
        e["cents"] += int(Decimal(f[12]) * 100)
    return {("a", label, mid): (iso(e["last"]), len(e["receipts"]), "%.2f" % (Decimal(e["cents"]) / 100))
            + segment_classes(kind, end, e["last"], len(e["receipts"]), e["cents"])
            for mid, e in members.items()}


def check_segments(kind, periods, what):
    """periods: [(label, start, end)] that must be built; nothing else may be."""
    want = {}
    for label, start, end in periods:
        want.update(expected_segments(kind, label, start, end))
    con = sqlite3.connect(db)
    got = {(r[0], r[1], r[2]): tuple(r[3:]) for r in con.execute(
        "SELECT site_id, period, member_id, last_purchase, receipts, amount, recency, frequency, "
        "monetary FROM member_segments_%sly" % kind)}
    con.close()
    check(got == want, "%s: member_segments_%sly differs: %d rows vs %d; e.g. %r" %
          (what, kind, len(got), len(want), sorted(set(got.items()) ^ set(want.items()))[:2]))


def weeks_upto(last_end):
    out, start = [], START
    while start + dt.timedelta(days=6) <= last_end:
        y, w, _ = start.isocalendar()
        out.append(("%04d-W%02d" % (y, w), start, start + dt.timedelta(days=6)))
        start += dt.timedelta(days=7)
    return out


def placeholders():
    con = sqlite3.connect(db)
    rows = con.execute("SELECT item_code, item_name FROM items WHERE site_id = 'a' AND "
                       "output_at = '0001-01-01 00:00:00' ORDER BY 1").fetchall()
    con.close()
    return rows


# ---- the settings the placeholders take their names from ---------------------------------------
st = subprocess.run([bizoope, "settings", "list", "--config", config, "--json"],
                    capture_output=True, text=True)
settings = json.loads(st.stdout) if st.returncode == 0 else {}
check(settings.get("unregistered_item_name") == "未登録商品" and
      settings.get("unregistered_store_name") == "未登録店舗", "settings list: %r" % settings)
st = subprocess.run([bizoope, "settings", "get", "nope", "--config", config], capture_output=True,
                    text=True)
check(st.returncode == 1 and "no setting 'nope'" in st.stderr, "settings get of no setting")

# ---- weeks 1 and 2 arrive; an item master without two of the sold items ------------------------
send("items_20261004090000.tsv", ["\t".join([c, "real " + c, "", "C1", "", "100.00", "10.00", "",
                                             "", "0", "20261004090000"]) for c in MASTER_ITEMS])
for i, day in enumerate(DAYS[:14]):
    send("journal_%s230000.tsv" % day.strftime("%Y%m%d"), journal_lines(day, day.strftime(
        "%Y%m%d") + "230000"))
run_pipeline()
# a limit of 20 periods: consistency's two day steps take 14 + 6, daily waits for the next run
ev = batch("run", "--until", iso(DAYS[13]), "--max-periods", "20")
check(len(built(ev)) == 20, "run 1: %d periods built, expected 20 (the limit)" % len(built(ev)))
check(any(e["event"] == "limit" for e in ev), "run 1: the limit is reported")
check(ev[-1] == {"event": "summary", "built": 20, "would_build": 0, "failed": 0, "limited": True},
      "run 1: summary %r" % ev[-1])
check([p for _, p in built(ev, "consistency.unregistered_items")] == [iso(d) for d in DAYS[:14]],
      "run 1: items placeholders built day by day, oldest first")
check(placeholders() == [(c, settings.get("unregistered_item_name")) for c in UNKNOWN_ITEMS],
      "run 1: placeholders for exactly the unknown items: %r" % placeholders())
ev = batch("run", "--until", iso(DAYS[13]))
check([p for _, p in built(ev, "consistency.unregistered_stores")] == [iso(d) for d in DAYS[6:14]],
      "run 2: the rest of the stores step first: %r" % built(ev))
check([p for _, p in built(ev, "daily.store_day_sales")] == [iso(d) for d in DAYS[:14]],
      "run 2: every day of weeks 1-2 summarized")
check_sales(DAYS[13], "run 2")
check([p for _, p in built(ev, "weekly.member_segments")] == ["2026-W41", "2026-W42"],
      "run 2: the two complete weeks: %r" % built(ev, "weekly.member_segments"))
check(built(ev, "monthly.member_segments") == [], "run 2: October is not complete yet")
check_segments("week", weeks_upto(DAYS[13]), "run 2")
ev = batch("run", "--until", iso(DAYS[13]))
check(built(ev) == [], "run 3 (again): nothing to build, got %r" % built(ev))

# ---- ten days without a run; week 3 arrived in one file meanwhile ----------------------------
send("journal_20261026230000.tsv", [l for d in DAYS[14:] for l in journal_lines(d, "20261026230000")])
run_pipeline()
until = DAYS[20] + dt.timedelta(days=3)  # three days past the last sales day
ev = batch("run", "--until", iso(until))
daily = [p for _, p in built(ev, "daily.store_day_sales")]
check(daily == [iso(d) for d in DAYS[14:]],
      "after 10 days: daily builds exactly the missing week, oldest first (not the days the "
      "journal has not reached): %r" % daily)
items = [p for _, p in built(ev, "consistency.unregistered_items")]
check(items == [iso(DAYS[14] + dt.timedelta(days=i)) for i in range(10)],
      "after 10 days: the items step covers every complete day: %r" % items)
check(len(ledger("daily.store_day_sales")) == 21, "ledger: 21 days of daily")
check_sales(DAYS[20], "after 10 days")
check([p for _, p in built(ev, "weekly.member_segments")] == ["2026-W43"],
      "after 10 days: week 43 (week 44 is not complete)")
check_segments("week", weeks_upto(DAYS[20]), "after 10 days")
ev = batch("run", "--until", iso(until))
check(built(ev) == [], "run twice: the second builds nothing, got %r" % built(ev))

# ---- a correction of day 3: only that day is built again ---------------------------------------
key = sorted(k for k in journal if k[1] == DAYS[2])[0]
f = list(journal[key])
f[10], f[12], f[18], f[19] = "7", "7777.00", "0", "20261027090000"
journal[key] = f
send("journal_20261027090000.tsv", ["\t".join(f)])
run_pipeline()
before = dict((p, b) for p, b, _ in ledger("daily.store_day_sales"))
ev = batch("run", "--until", iso(until))
check([p for s, p in built(ev) if s == "daily.store_day_sales"] == [iso(DAYS[2])],
      "correction: daily rebuilds exactly day 3: %r" % built(ev))
check_sales(DAYS[20], "after the correction")
check([p for _, p in built(ev, "weekly.member_segments")] == ["2026-W41", "2026-W42", "2026-W43"],
      "correction: every week whose window holds day 3 is built again: %r" %
      built(ev, "weekly.member_segments"))
check_segments("week", weeks_upto(DAYS[20]), "after the correction")
after = dict((p, b) for p, b, _ in ledger("daily.store_day_sales"))
check(after[iso(DAYS[2])] > before[iso(DAYS[2])] and
      all(after[p] == before[p] for p in before if p != iso(DAYS[2])),
      "correction: the ledger moved for day 3 only")

# ---- rebuild one period on request ------------------------------------------------------------------
ev = batch("rebuild", "daily.store_day_sales", "--period", iso(DAYS[4]), "--until", iso(until))
check(built(ev) == [("daily.store_day_sales", iso(DAYS[4]))], "rebuild: %r" % built(ev))
check_sales(DAYS[20], "after the rebuild")
batch("rebuild", "daily.store_day_sales", "--period", "2027-01-01", "--until", iso(until),
      expect_rc=1)  # not complete yet

# ---- the real item master arrives: placeholders are replaced, never the other way round ---------
send("items_20261028090000.tsv", ["\t".join([c, "real " + c, "", "C2", "", "300.00", "10.00", "",
                                             "", "0", "20261028090000"]) for c in UNKNOWN_ITEMS])
run_pipeline()
check(placeholders() == [], "the later master replaced the placeholders: %r" % placeholders())
con = sqlite3.connect(db)
names = dict(con.execute("SELECT item_code, item_name FROM items WHERE site_id = 'a'").fetchall())
con.close()
check(all(names[c] == "real " + c for c in MASTER_ITEMS + UNKNOWN_ITEMS),
      "every item has its real name")
batch("rebuild", "consistency.unregistered_items", "--period", iso(DAYS[0]), "--until", iso(until))
check(placeholders() == [], "a placeholder never overwrites a real row")

# ---- a broken step stops its workflow there; the next run retries it -------------------------
broken = os.path.join(work, "broken")
shutil.copytree(os.path.join(src, "schema", "batches"), broken)
text = open(os.path.join(broken, "daily.yaml")).read()
open(os.path.join(broken, "daily.yaml"), "w").write(text.replace("SUM(quantity)",
                                                                  "SUM(no_such_column)"))
day_after = until + dt.timedelta(days=1)
send("journal_20261029090000.tsv", journal_lines(day_after, "20261029090000"))
run_pipeline()
ev = batch("run", "--until", iso(day_after), "--workflows", broken, expect_rc=1)
failed = [e for e in ev if e["event"] == "failed"]
check(len(failed) == 1 and "no_such_column" in failed[0]["error"],
      "broken step: one failure naming the problem: %r" % failed)
check(iso(day_after) not in [p for p, _, _ in ledger("daily.store_day_sales")],
      "broken step: its period is not recorded as built")
ev = batch("run", "--until", iso(day_after))
check([p for _, p in built(ev, "daily.store_day_sales")] ==
      [iso(until - dt.timedelta(days=2)), iso(until - dt.timedelta(days=1)), iso(until),
       iso(day_after)],
      "fixed: the next run builds what the failure held back: %r" % built(ev))
check_sales(day_after, "after the fix")

# ---- the journal reaches the end of November: October and November close -----------------------
november = dt.date(2026, 11, 30)
send("journal_20261201090000.tsv", journal_lines(november, "20261201090000"))
run_pipeline()
ev = batch("run", "--until", iso(november))  # 32 days x 3 day steps: the limit of 100 ends it
check(ev[-1]["limited"] and ev[-1]["built"] == 100, "month end: the first run stops at the "
      "default limit of 100 periods: %r" % ev[-1])
ev += batch("run", "--until", iso(november))  # the rest
check(ev[-1]["limited"] is False, "month end: the second run finishes")
check([p for _, p in built(ev, "monthly.member_segments")] == ["2026-10", "2026-11"],
      "month end: October and November: %r" % built(ev, "monthly.member_segments"))
check([p for _, p in built(ev, "weekly.member_segments")] ==
      ["2026-W%d" % w for w in range(44, 49)], "month end: weeks 44-48: %r" %
      built(ev, "weekly.member_segments"))
check_segments("month", [("2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
                         ("2026-11", dt.date(2026, 11, 1), november)], "month end")
check_segments("week", weeks_upto(november), "month end")
check_sales(november, "month end")
day_after = november

st = subprocess.run([bizoope, "batch", "status", "--config", config, "--until", iso(day_after),
                     "--json"], capture_output=True, text=True)
rows = {r["workflow"] + "." + r["step"]: r for r in map(json.loads, st.stdout.splitlines())}
check(rows["daily.store_day_sales"]["missing"] == 0 and rows["daily.store_day_sales"]["built"] ==
      len(ledger("daily.store_day_sales")), "status: %r" % rows.get("daily.store_day_sales"))
# ---- kill -9 in the middle of builds, again and again: never a half-built period -----------------
crash = os.path.join(work, "crash")
shutil.copytree(inst, crash)
crash_config, crash_db = os.path.join(crash, "bizoope.yaml"), os.path.join(crash, "warehouse.db")
con = sqlite3.connect(crash_db)
want_rows = sorted(con.execute("SELECT * FROM store_day_sales").fetchall())
want_periods = sorted(r[0] for r in con.execute(
    "SELECT period FROM _bizoope_batches WHERE workflow = 'daily'"))
con.close()


def forget_daily():
    con = sqlite3.connect(crash_db)
    con.execute("DELETE FROM store_day_sales")
    con.execute("DELETE FROM _bizoope_batches WHERE workflow = 'daily'")
    con.commit()
    con.close()


forget_daily()
kills = partial = 0
for attempt in range(20):
    p = subprocess.Popen([bizoope, "batch", "run", "daily", "--config", crash_config, "--until",
                          iso(november), "--max-periods", "0"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.001, 0.04))
    if p.poll() is None:
        p.kill()
        kills += 1
    finished = p.wait() == 0
    con = sqlite3.connect(crash_db)
    periods = [r[0] for r in con.execute(
        "SELECT period FROM _bizoope_batches WHERE workflow = 'daily'")]
    dates = set(r[0] for r in con.execute("SELECT DISTINCT business_date FROM store_day_sales"))
    con.close()
    # every date with rows is recorded as built, and what is recorded holds the right rows
    check(dates <= set(periods), "kill %d: rows for dates the ledger does not know: %r" %
          (attempt, sorted(dates - set(periods))[:3]))
    partial += 0 < len(periods) < len(want_periods) and not finished
    if finished:
        forget_daily()  # it got through: give the next one work to be killed in
p = subprocess.run([bizoope, "batch", "run", "daily", "--config", crash_config, "--until",
                    iso(november), "--max-periods", "0"], capture_output=True, text=True)
check(p.returncode == 0, "after the kills the run completes: %s" % p.stderr)
con = sqlite3.connect(crash_db)
got_rows = sorted(con.execute("SELECT * FROM store_day_sales").fetchall())
got_periods = sorted(r[0] for r in con.execute(
    "SELECT period FROM _bizoope_batches WHERE workflow = 'daily'"))
con.close()
check(got_rows == want_rows and got_periods == want_periods,
      "after %d kill -9 mid-run and a last run: the same daily table and ledger (%d rows, %d "
      "periods vs %d, %d)" % (kills, len(got_rows), len(got_periods), len(want_rows),
                               len(want_periods)))
check(kills >= 5, "only %d of 20 runs were killed mid-build" % kills)
print("batch_calendar: %d runs killed, %d of them with part of the periods built" %
      (kills, partial))

check.finish("all checks passed (%d daily periods in the ledger)" %
             len(ledger("daily.store_day_sales")))
