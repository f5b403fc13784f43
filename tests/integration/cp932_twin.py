"""cp932_twin.py BIZOOPE SRC_DIR WORK_DIR - a CP932 site loads exactly what its UTF-8 twin loads
(issue #16 item 3).

Two sites: `utf` (UTF-8, the default) and `sj`, listed as {id: sj, encoding: cp932}. A generated
journal and stores file (Japanese names, every kind of defect, duplicates near and far) go to
`utf`; their twins, the same lines encoded in CP932, go to `sj`. A line that has no CP932 form
(invalid UTF-8 planted by the generator, a character outside CP932) becomes, in both files, that
line after a 0xFF byte - invalid in either encoding - so the twins stay line for line the same.
Checked, with worker threads and then again with two bizoope-worker processes over Kafka (the
encoding travels in the task message):

- the same counts (lines, loaded, invalid, duplicate) for each pair of files;
- the same rows in the warehouse for both sites, column for column;
- error files with the same line numbers, the same reasons (but the encoding's own words for
  the 0xFF lines), each listing the sender's own bytes: the CP932 file's lines as sent;
- `bizoope validate --encoding cp932` gives the twin's counts and error file as run does."""
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import (Checks, KafkaCluster, fresh_installation, gen, load_schema,  # noqa: E402
                          run_once, start_workers, stop_workers, use_kafka)

bizoope, src, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
check = Checks("cp932_twin")
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


def error_entries(path):
    """[(line number, reason, original bytes)] of an error file."""
    out = []
    for raw in open(path, "rb").read().split(b"\n")[:-1]:
        original, _, reason = raw.rpartition(b"\t")
        m = re.match(rb"line (\d+): (.*)", reason)
        out.append((int(m.group(1)), m.group(2).decode(), original))
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
    inst, config = fresh_installation(bizoope, os.path.join(work, mode), sites=("utf", "sj"),
                                      edits=[("  - sj\n", "  - {id: sj, encoding: cp932}\n")])
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
        open(os.path.join(inst, "inbox", "utf", name), "wb").write(u)
        open(os.path.join(inst, "inbox", "sj", name), "wb").write(s)
        sent[table] = (name, u, s)
    try:
        jobs, _ = run_once(bizoope, config)
    finally:
        if workers:
            stop_workers(workers)
        if cluster:
            cluster.stop()
    by = {(j["site"], j["file"]): j for j in jobs}
    db = os.path.join(inst, "warehouse.db")
    for table, (name, u, s) in sent.items():
        ju, js = by.get(("utf", name), {}), by.get(("sj", name), {})
        check(ju.get("status") == "loaded" and js.get("status") == "loaded" and
              [ju.get(k) for k in COUNTS] == [js.get(k) for k in COUNTS] and ju.get("loaded", 0) > 0,
              "%s %s: the twins' counts agree: %r vs %r" % (mode, table, [ju.get(k) for k in COUNTS],
                                                            [js.get(k) for k in COUNTS]))
        ru, rs = main_rows(db, table, "utf"), main_rows(db, table, "sj")
        check(ru == rs and len(ru) == ju.get("loaded"),
              "%s %s: the same %d rows for both sites (%d for sj)" % (mode, table, len(ru),
                                                                    len(rs)))
        eu = error_entries(os.path.join(inst, "outbox", "utf", name + ".errors.tsv"))
        es = error_entries(os.path.join(inst, "outbox", "sj", name + ".errors.tsv"))
        sent_lines = s.split(b"\n")
        check(len(eu) == len(es) and len(eu) > 0 and
              all(a[0] == b[0] and same_reason(a[1], b[1], a[2].startswith(b"\xff"))
                  for a, b in zip(eu, es)),
              "%s %s: error files with the same lines and reasons (%d and %d entries)"
              % (mode, table, len(eu), len(es)))
        check(all(e[2] == sent_lines[e[0] - 1] for e in es),
              "%s %s: the CP932 error file lists the lines as sent" % (mode, table))
        if mode == "threads":
            os.makedirs(os.path.join(feeds, "sj"), exist_ok=True)
            path = os.path.join(feeds, "sj", name)
            open(path, "wb").write(s)
            p = subprocess.run([bizoope, "validate", "--json", "--encoding", "cp932", "--errors",
                                path + ".err", path], capture_output=True, text=True)
            import json
            v = json.loads(p.stdout or "{}")
            check([v.get(k) for k in COUNTS] == [js.get(k) for k in COUNTS] and
                  open(path + ".err", "rb").read() ==
                  open(os.path.join(inst, "outbox", "sj", name + ".errors.tsv"), "rb").read(),
                  "validate --encoding cp932 %s: run's counts and error file: %r" % (table, v))


one_round("threads")
one_round("kafka")
check.finish("CP932 twins of a journal and a stores file load the UTF-8 files' exact rows, "
             "counts and error lines, with threads and with Kafka workers")
