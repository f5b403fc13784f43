"""site_forms.py BIZOOPE SRC_DIR WORK_DIR - a site's own form of the feed (issue #16 item 3): a
CP932 site loads exactly what its UTF-8 twin loads, and so does a site whose files begin with a
header line.

Four sites: `utf` (UTF-8, the default), `sj` listed as {id: sj, encoding: cp932}, `hd` as
{id: hd, header: first_line} and `sjh` with both. A generated journal and stores file (Japanese
names, every kind of defect, duplicates near and far) go to `utf`; their twins go to the
others: the same lines encoded in CP932 (`sj`), after a line of the column names (`hd`), or both
(`sjh`). A line that has no CP932 form
(invalid UTF-8 planted by the generator, a character outside CP932) becomes, in both files, that
line after a 0xFF byte - invalid in either encoding - so the twins stay line for line the same.
Checked, with worker threads and then again with two bizoope-worker processes over Kafka (the
encoding travels in the task message):

- the same counts (lines, loaded, invalid, duplicate) for each twin (the header not counted);
- the same rows in the warehouse for every site, column for column;
- error files with the same lines (numbered one further after a header: the partner's line
  numbers), the same reasons (but the encoding's own words for the 0xFF lines), each listing the
  sender's own bytes as sent;
- a file without its header line sent to `hd` is rejected as a whole with that reason;
- `bizoope validate --encoding cp932 --header first_line` gives run's counts and error file."""
import json
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import (Checks, KafkaCluster, fresh_installation, gen, load_schema,  # noqa: E402
                          run_once, start_workers, stop_workers, use_kafka)

bizoope, src, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
check = Checks("site_forms")
COUNTS = ("lines", "loaded", "rejected_invalid", "rejected_duplicate")


def twins(utf8_path):
    """The UTF-8 file rewritten so every line has a CP932 form, and that CP932 form."""
    u, s, replaced = [], [], 0
    for line in open(utf8_path, "rb").read().split(b"\n")[:-1]:
        try:
            sj = line.decode("utf-8").encode("cp932")
        except (UnicodeDecodeError, UnicodeEncodeError):
            line, sj, replaced = b"\xff" + line, b"\xff" + line, replaced + 1
        u.append(line + b"\n")
        s.append(sj + b"\n")
    return b"".join(u), b"".join(s), replaced


def error_entries(path, shift=0):
    """[(line number, reason, original bytes)] of an error file, line numbers (also the one a
    duplicate was superseded by) less shift."""
    out = []
    for raw in open(path, "rb").read().split(b"\n")[:-1]:
        original, _, reason = raw.rpartition(b"\t")
        m = re.match(rb"line (\d+): (.*)", reason)
        why = re.sub(r"superseded by line (\d+)",
                     lambda d: "superseded by line %d" % (int(d.group(1)) - shift),
                     m.group(2).decode())
        out.append((int(m.group(1)) - shift, why, original))
    return out


def same_reason(a, b, replaced):
    """Equal - or, for a line the test itself made invalid in both encodings (replaced), each
    the encoding's own refusal (a line with a second defect may name either: the count always
    comes first, but a control character before the 0xFF byte is UTF-8's and not CP932's)."""
    return a == b or (replaced and "not CP932 at byte" in b)


def main_rows(db, table, site):
    cols = [c for c, _ in load_schema(src, table)["columns"]]
    con = sqlite3.connect(db)
    rows = con.execute('select %s from "%s" where site_id = ? order by %s'
                       % (", ".join('"%s"' % c for c in cols), table, ", ".join(cols)),
                       (site,)).fetchall()
    con.close()
    return rows


def one_round(mode):
    inst, config = fresh_installation(
        bizoope, os.path.join(work, mode), sites=("utf", "sj", "hd", "sjh"),
        edits=[("  - sj\n", "  - {id: sj, encoding: cp932}\n"),
               ("  - hd\n", "  - {id: hd, header: first_line}\n"),
               ("  - sjh\n", "  - {id: sjh, encoding: cp932, header: first_line}\n")])
    cluster, workers = None, []
    if mode == "kafka":
        build = os.path.dirname(bizoope)
        cluster = KafkaCluster(build)
        use_kafka(config, cluster.bootstrap)
        workers = start_workers(build, config, 2)
    feeds = os.path.join(work, mode, "feeds")
    os.makedirs(feeds)
    sent = {}
    for table, rows, seed in (("journal", 12000, 11), ("stores", 800, 12)):
        name = "%s_20261201090000.tsv" % table
        raw = os.path.join(feeds, name)
        gen(bizoope, table, rows, raw, seed, raw + ".exp", error_rate=0.03, dup_rate=0.08)
        u, s, replaced = twins(raw)
        check(replaced > 0 and s != u, "%s: the twins differ and some lines have no CP932 form "
              "(%d)" % (table, replaced))
        header = b"\t".join(c.encode() for c, _ in load_schema(src, table)["columns"]) + b"\r\n"
        forms = {"utf": u, "sj": s, "hd": header + u, "sjh": header + s}
        for site, data in forms.items():
            open(os.path.join(inst, "inbox", site, name), "wb").write(data)
        sent[table] = (name, forms)
    headless = "stores_20261201100000.tsv"
    open(os.path.join(inst, "inbox", "hd", headless), "wb").write(sent["stores"][1]["utf"])
    try:
        jobs, _ = run_once(bizoope, config)
    finally:
        if workers:
            stop_workers(workers)
        if cluster:
            cluster.stop()
    by = {(j["site"], j["file"]): j for j in jobs}
    db = os.path.join(inst, "warehouse.db")
    for table, (name, forms) in sent.items():
        ju = by.get(("utf", name), {})
        ru = main_rows(db, table, "utf")
        eu = error_entries(os.path.join(inst, "outbox", "utf", name + ".errors.tsv"))
        check(ju.get("status") == "loaded" and len(ru) == ju.get("loaded") and len(eu) > 0,
              "%s %s: the UTF-8 file loads (%r)" % (mode, table, ju))
        for site in ("sj", "hd", "sjh"):
            js = by.get((site, name), {})
            check(js.get("status") == "loaded" and
                  [ju.get(k) for k in COUNTS] == [js.get(k) for k in COUNTS],
                  "%s %s %s: the twins' counts agree: %r vs %r"
                  % (mode, site, table, [ju.get(k) for k in COUNTS], [js.get(k) for k in COUNTS]))
            rs = main_rows(db, table, site)
            check(ru == rs, "%s %s %s: the same %d rows as utf (%d)" % (mode, site, table,
                                                                       len(ru), len(rs)))
            shift = 1 if site in ("hd", "sjh") else 0
            es = error_entries(os.path.join(inst, "outbox", site, name + ".errors.tsv"), shift)
            check(len(eu) == len(es) and
                  all(a[0] == b[0] and same_reason(a[1], b[1], a[2].startswith(b"\xff"))
                      for a, b in zip(eu, es)),
                  "%s %s %s: error files with the same lines and reasons (%d and %d entries)"
                  % (mode, site, table, len(eu), len(es)))
            sent_lines = forms[site].split(b"\n")
            check(all(e[2] == sent_lines[e[0] + shift - 1].rstrip(b"\r") for e in es),
                  "%s %s %s: the error file lists the lines as sent" % (mode, site, table))
        if mode == "threads":
            os.makedirs(os.path.join(feeds, "sjh"), exist_ok=True)
            path = os.path.join(feeds, "sjh", name)
            open(path, "wb").write(forms["sjh"])
            p = subprocess.run([bizoope, "validate", "--json", "--encoding", "cp932", "--header",
                                "first_line", "--errors", path + ".err", path],
                               capture_output=True, text=True)
            v = json.loads(p.stdout or "{}")
            js = by.get(("sjh", name), {})
            check([v.get(k) for k in COUNTS] == [js.get(k) for k in COUNTS] and
                  open(path + ".err", "rb").read() ==
                  open(os.path.join(inst, "outbox", "sjh", name + ".errors.tsv"), "rb").read(),
                  "validate --encoding cp932 --header first_line %s: run's counts and error "
                  "file: %r" % (table, v))
    jh = by.get(("hd", headless), {})
    check(jh.get("status") == "rejected" and
          "line 1 is not the header line its site sends" in (jh.get("error") or ""),
          "%s: a file without its header line is rejected with that reason: %r" % (mode, jh))


one_round("threads")
one_round("kafka")
check.finish("CP932 and header-line twins of a journal and a stores file load the UTF-8 "
             "files' exact rows, counts and error lines, with threads and with Kafka workers")
