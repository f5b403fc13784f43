"""watch_visibility.py BIZOOPE SRC_DIR WORK_DIR - a watching run says what it is doing and what it
will not take (issue #16 item 6, the first-hour review's C2/C3):

- a start banner on stderr: the version, the sites, the inbox, the warehouse, the admin API URL;
- a file in the inbox root, a file in the folder of a site not configured and a file of a paused
  site are each logged once ("file not taken", however many passes), listed by `bizoope status`
  (and GET /v1/status as "untaken") with what to do, and the paused site's file leaves the list
  and loads once the site is resumed;
- `run --once` lists the same files on stderr at its end;
- the three binaries agree on --version."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, free_port, fresh_installation, gen  # noqa: E402

bizoope, src, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
build = os.path.dirname(bizoope)
check = Checks("watch_visibility")
port = free_port()
inst, config = fresh_installation(bizoope, work, sites=("tokyo", "osaka"),
                                  edits=[("127.0.0.1:8470", "127.0.0.1:%d" % port),
                                         ("\npoll_interval: 2s\n", "\npoll_interval: 200ms\n")])
inbox = os.path.join(inst, "inbox")
subprocess.run([bizoope, "sites", "pause", "osaka", "--config", config], check=True,
               capture_output=True)
open(os.path.join(inbox, "journal_20261201090000.tsv"), "w").write("x\n")
os.makedirs(os.path.join(inbox, "kobe"))
open(os.path.join(inbox, "kobe", "stores_20261201090000.tsv"), "w").write("y\n")
paused_file = os.path.join(inbox, "osaka", "stores_20261201090000.tsv")
expect = gen(bizoope, "stores", 50, os.path.join(work, "s.tsv"), 2, os.path.join(work, "s.exp"))
open(paused_file, "wb").write(open(os.path.join(work, "s.tsv"), "rb").read())

versions = {subprocess.run([os.path.join(build, b), "--version"], capture_output=True,
                           text=True).stdout.split(" ", 1)[-1].strip()
            for b in ("bizoope", "bizoope-coordinator", "bizoope-worker")}
check(len(versions) == 1 and list(versions)[0][0].isdigit(),
      "the three binaries print one version: %r" % versions)

err_path = os.path.join(work, "run.err")
run = subprocess.Popen([bizoope, "run", "--config", config], stdout=subprocess.DEVNULL,
                       stderr=open(err_path, "w"))


def status():
    p = subprocess.run([bizoope, "status", "--config", config, "--json"], capture_output=True,
                       text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


st = check.wait("status lists three untaken files",
                lambda: (lambda s: s if s and len(s.get("untaken", [])) == 3 else None)(status()),
                timeout=60)
time.sleep(1.5)  # several more passes: each file is still said once
untaken = {u["path"]: u["reason"] for u in (st or {}).get("untaken", [])}
check("in the inbox root" in untaken.get("journal_20261201090000.tsv", "") and
      "bizoope sites add kobe" in untaken.get("kobe/stores_20261201090000.tsv", "") and
      "bizoope sites resume osaka" in untaken.get("osaka/stores_20261201090000.tsv", ""),
      "each with what to do: %r" % untaken)
text = subprocess.run([bizoope, "status", "--config", config, "--once"], capture_output=True,
                      text=True).stdout
check("not taken from the inbox: 3" in text and "kobe/stores_20261201090000.tsv" in text,
      "bizoope status shows them: %r" % text)
subprocess.run([bizoope, "sites", "resume", "osaka", "--config", config], check=True,
               capture_output=True)
st = check.wait("the resumed site's file is taken",
                lambda: (lambda s: s if s and len(s.get("untaken", [])) == 2 and
                         not os.path.exists(paused_file) else None)(status()), timeout=60)
jobs = subprocess.run([bizoope, "jobs", "list", "--config", config, "--json"],
                      capture_output=True, text=True).stdout
loaded = [j for j in map(json.loads, jobs.splitlines()) if j.get("site") == "osaka"]
check(len(loaded) == 1 and loaded[0].get("loaded") == expect["loaded"],
      "it loads gen's %d rows: %r" % (expect["loaded"], loaded))
run.send_signal(signal.SIGTERM)
run.wait(timeout=30)
err = open(err_path).read()
banner = err.split("\n")[0:5]
check(banner[0].startswith("bizoope run ") and "watching 2 sites (tokyo, osaka)" in banner[0] and
      inbox in banner[0] and any("admin API http://127.0.0.1:%d/" % port in b for b in banner) and
      any("warehouse sqlite at" in b for b in banner), "the start banner: %r" % banner)
said = {}
for line in err.splitlines():
    if line.startswith("{") and '"file not taken"' in line:
        detail = json.loads(line).get("detail", "")
        path = detail.split(" ", 1)[0]
        said[path] = said.get(path, 0) + 1
check(said == {"path=journal_20261201090000.tsv": 1, "path=kobe/stores_20261201090000.tsv": 1,
               "path=osaka/stores_20261201090000.tsv": 1},
      "each said once in the log, over many passes: %r" % said)

once = subprocess.run([bizoope, "run", "--config", config, "--once"], capture_output=True,
                      text=True)
check(once.stderr.count("not taken: inbox/") == 2 and
      "not taken: inbox/journal_20261201090000.tsv: in the inbox root" in once.stderr,
      "run --once lists them at its end: %r" % once.stderr[-800:])
# run --once on a terminal: a progress line while a file is processed (a file that takes more
# than the line's first quiet second)
import pty  # noqa: E402
import select  # noqa: E402
big = os.path.join(inbox, "tokyo", "journal_20261201100000.tsv")
gen(bizoope, "journal", 700000, big, 5, os.path.join(work, "big.exp"))
master, slave = pty.openpty()
p = subprocess.Popen([bizoope, "run", "--config", config, "--once"], stdout=subprocess.PIPE,
                     stderr=slave)
os.close(slave)
seen = b""
while True:
    ready, _, _ = select.select([master], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    elif p.poll() is not None:
        break
report = p.stdout.read().decode()
os.close(master)
check(b"journal_20261201100000.tsv: " in seen and b"% (" in seen and b" MB of " in seen and
      b"\r" in seen and "journal_20261201100000.tsv: 700,000 lines" in report,
      "run --once on a terminal draws its progress and erases it: %r" % seen[-300:])
check.finish("banner, three untaken files said once each and listed by status, the resumed "
             "site's file loaded, one version")
