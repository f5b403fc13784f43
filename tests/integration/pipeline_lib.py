"""pipeline_lib.py - shared by the pipeline integration tests: an independent reference model
of what `bizoope run` must produce (stored values, keep-newest merge, per-site keys), read from
the schema files and the generator's expectations, never from bizoope's own code."""
import json
import os
import re
import sqlite3
import subprocess
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
