"""d22_hard_link.py BIZOOPE SRC_DIR WORK_DIR - entries that are not a plain file are never read
(#15 D22, D2): a hard link to a file outside the inbox (one inode, two names), a FIFO, a symbolic
link and a directory, each placed in the inbox, are quarantined unread with a reason a sender
understands, nothing hangs, the linked file's bytes appear in no output, and the linked file
itself is untouched; a real feed beside them loads."""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d22_hard_link")
inst, config = fresh_installation(bizoope, work, ("a",))
inbox = os.path.join(inst, "inbox", "a")
secret = os.path.join(work, "secret.tsv")
open(secret, "w").write("".join("TOPSECRET-%d\tx\n" % i for i in range(20)))
os.chmod(secret, 0o600)
os.link(secret, os.path.join(inbox, "journal_20261124090001.tsv"))
os.mkfifo(os.path.join(inbox, "journal_20261124090002.tsv"))
os.symlink(secret, os.path.join(inbox, "journal_20261124090003.tsv"))
os.mkdir(os.path.join(inbox, "journal_20261124090004.tsv"))
exp = gen(bizoope, "journal", 500, os.path.join(inbox, "journal_20261124090005.tsv"), 7,
          os.path.join(work, "5.exp"))

p = subprocess.run([bizoope, "run", "--config", config, "--once", "--json"], capture_output=True,
                   text=True, timeout=60)
check(p.returncode == 0, "run exits 0 (rejected files are data): %d %s" % (p.returncode, p.stderr))
reports = {r["file"]: r for r in (json.loads(l) for l in p.stdout.splitlines() if l.strip())}
want = {
    "journal_20261124090001.tsv": "a hard link (a file with more than one name) is not accepted",
    "journal_20261124090002.tsv": "not a regular file",
    "journal_20261124090003.tsv": "not a regular file",
    "journal_20261124090004.tsv": "not a regular file",
}
for name, reason in want.items():
    r = reports.get(name)
    check(r is not None and r["status"] == "rejected" and reason in (r["error"] or ""),
          "%s rejected with %r: %r" % (name, reason, r))
    err_file = os.path.join(inst, "outbox", "a", name + ".errors.tsv")
    data = open(err_file, "rb").read() if os.path.exists(err_file) else b""
    check(data.startswith(b"\tfile: ") and reason.encode() in data,
          "%s: one-line error file with the reason, got %r" % (name, data[:120]))
r = reports.get("journal_20261124090005.tsv")
check(r is not None and r["status"] == "loaded" and r["loaded"] == exp["loaded"],
      "the real feed loads with the generator's count: %r" % r)
for area in ("outbox", "backup", "load", "archive"):
    for dirpath, _, files in os.walk(os.path.join(inst, area)):
        for f in files:
            path = os.path.join(dirpath, f)
            data = open(path, "rb").read()
            if f.endswith(".zst"):
                data = subprocess.run(["zstd", "-dc", path], capture_output=True).stdout
            check(b"TOPSECRET" not in data, "the linked file's bytes appear in %s" % path)
con = sqlite3.connect(os.path.join(inst, "warehouse.db"))
for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    for row in con.execute('SELECT * FROM "%s"' % table):
        check("TOPSECRET" not in repr(row), "the linked file's bytes appear in table %s" % table)
con.close()
st = os.stat(secret)
check(open(secret).read().startswith("TOPSECRET-0") and st.st_mode & 0o777 == 0o600,
      "the linked file is untouched")
left = sorted(os.listdir(inbox))
check(left == [], "the inbox is empty: every entry quarantined or landed, got %r" % left)
check.finish("a hard link, a FIFO, a symbolic link and a directory quarantined unread")
