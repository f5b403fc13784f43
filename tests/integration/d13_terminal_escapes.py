"""d13_terminal_escapes.py BIZOOPE SRC_DIR WORK_DIR - a partner's file name never reaches the
operator's terminal raw (review D13): names carrying CSI (colour, clear screen), OSC (window
title, clipboard) and BEL are shown with every control byte as \\xNN - by `bizoope run`'s text
summary, `jobs list`, `jobs show`, and `validate`'s summary and messages - and no output has a
control byte but the line ends. The JSON outputs keep the name exactly (JSON escapes it)."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d13_terminal_escapes")
inst, config = fresh_installation(bizoope, work, sites=("tokyo",),
                                  edits=(("  listen: 127.0.0.1:8470", "  listen: ''"),))
feed = os.path.join(work, "items_20261124090000.tsv")
gen(bizoope, "items", 50, feed, 3, feed + ".exp", error_rate=0.2)

NAMES = [b"items_\x1b[31mRED\x1b[0m.tsv",            # colour
         b"items_\x1b]0;owned\x07.tsv",              # window title (OSC ... BEL)
         b"items_\x1b]52;c;cm0gLXJmIC8K\x07.tsv",    # clipboard (OSC 52)
         b"items_\x1b[2J\x1b[H\r.tsv"]               # clear screen, carriage return


def shown(name):
    """The name as the terminal must show it: control bytes as \\xNN."""
    return re.sub(rb"[\x00-\x1f\x7f]", lambda m: b"\\x%02x" % m.group(0)[0], name)


def cli(*args):
    return subprocess.run([bizoope] + list(args), capture_output=True)


def controls(out):
    """The control bytes in out other than LF."""
    return sorted(set(re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]", out)))


inbox = os.path.join(os.fsencode(inst), b"inbox", b"tokyo")
for name in NAMES:
    shutil.copy(feed, os.path.join(inbox, b"." + name))
    os.rename(os.path.join(inbox, b"." + name), os.path.join(inbox, name))

# ---- bizoope run: the text summary ----------------------------------------------------------------
p = cli("run", "--config", config, "--once", "--workers", "1")
check(p.returncode == 0, "the run succeeds: %r" % p.stderr[-2000:])
check(controls(p.stdout) == [], "run's summary has no control bytes: %r" % controls(p.stdout))
for name in NAMES:
    check(b"tokyo/" + shown(name) + b": rejected" in p.stdout,
          "run shows %r escaped: %r" % (name, p.stdout))

# ---- jobs list, jobs show (and the JSON keeps the name) ------------------------------------------
p = cli("jobs", "list", "--config", config)
check(p.returncode == 0 and controls(p.stdout) == [],
      "jobs list has no control bytes: %r" % controls(p.stdout))
for name in NAMES:
    check(shown(name) in p.stdout, "jobs list shows %r escaped" % name)
p = cli("jobs", "list", "--config", config, "--json")
jobs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
check(sorted(j["file"].encode() for j in jobs) == sorted(NAMES),
      "jobs --json keeps the names exactly: %r" % [j.get("file") for j in jobs])
for j in jobs:
    p = cli("jobs", "show", j["job_id"], "--config", config)
    check(p.returncode == 0 and controls(p.stdout) == [],
          "jobs show %s has no control bytes: %r" % (j["job_id"], controls(p.stdout)))
    check(b"file      tokyo/" + shown(j["file"].encode()) in p.stdout,
          "jobs show %s shows the name escaped: %r" % (j["job_id"], p.stdout))

# ---- bizoope status: nothing of a partner's reaches it raw either --------------------------------
p = cli("status", "--config", config, "--once")
check(p.returncode == 0 and controls(p.stdout) == [],
      "status has no control bytes: %r" % controls(p.stdout))

# ---- validate: the summary, the error file's name, and the messages on stderr ----------------------
vdir = os.path.join(os.fsencode(work), b"validate")
os.makedirs(vdir)
for name in NAMES:
    path = os.path.join(vdir, name)
    shutil.copy(feed, path)
    p = cli("validate", "--table", "items", path)
    check(p.returncode == 0 and controls(p.stdout) == [] and controls(p.stderr) == [],
          "validate's summary of %r has no control bytes: %r" % (name, p.stdout + p.stderr))
    check(shown(path) + b": table items," in p.stdout and
          b"  error file: " + shown(path + b".errors.tsv") in p.stdout,
          "validate shows %r and its error file escaped: %r" % (name, p.stdout))
    p = cli("validate", path)  # no table in the name: the message quotes it
    check(p.returncode == 1 and controls(p.stderr) == [] and
          b"bizoope validate: " + shown(path) + b": the file name matches no table" in p.stderr,
          "validate's message about %r is escaped: %r" % (name, p.stderr))
    p = cli("validate", "--table", "items", path + b".missing")
    check(p.returncode == 1 and controls(p.stderr) == [] and shown(path) in p.stderr,
          "the cannot-read message is escaped: %r" % p.stderr)

check.finish("control bytes of partner names are shown as \\xNN everywhere")
