"""d14_invalid_utf8_names.py BIZOOPE SRC_DIR WORK_DIR - a file name that is not UTF-8 never
drops a key from machine output (review D14). Each byte that is not part of well-formed UTF-8
becomes U+FFFD, as in the JSON log:

- `bizoope run --json` (the file is rejected: its name matches no table), `jobs list --json`
  and `jobs show --json` (from the journal, and through a watching run's admin API), /v1/jobs
  and /v1/jobs/ID: every object has "file";
- GET /v1/jobs/%ff%fe: 404 with a JSON body {"error": ...}, not an empty one;
- `bizoope validate --json` of such a file (its lines load): "file" and "error_file"."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, free_port, fresh_installation, gen, http_get  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d14_invalid_utf8_names")


port = free_port()
base = "http://127.0.0.1:%d" % port
inst, config = fresh_installation(bizoope, work, sites=("tokyo",), edits=(
    ("  listen: 127.0.0.1:8470", "  listen: '127.0.0.1:%d'" % port),
    ("poll_interval: 2s", "poll_interval: 200ms")))
feed = os.path.join(work, "items_20261124090000.tsv")
counts = gen(bizoope, "items", 50, feed, 5, feed + ".exp", error_rate=0.2)
inbox = os.path.join(os.fsencode(inst), b"inbox", b"tokyo")
FFFD = "\ufffd"


def send(name):
    shutil.copy(feed, os.path.join(inbox, b"." + name))
    os.rename(os.path.join(inbox, b"." + name), os.path.join(inbox, name))


def cli(*args):
    p = subprocess.run([bizoope] + list(args), capture_output=True)
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()], p.stderr


def http(path):
    return http_get(base + path)


# ---- bizoope run --once --json, then the journal ---------------------------------------------------
send(b"items_\xff.tsv")
rc, reports, err = cli("run", "--config", config, "--once", "--json", "--workers", "1")
check(rc == 0 and len(reports) == 1, "one report: %r %r" % (reports, err[-2000:]))
check(all(r.get("file") == "items_" + FFFD + ".tsv" for r in reports),
      "run --json has the file, U+FFFD for the bad byte: %r" % reports)
check(all(r.get("status") == "rejected" and "error_file" in r for r in reports),
      "the file is rejected, with every key: %r" % reports)
rc, jobs, err = cli("jobs", "list", "--config", config, "--json")
check(rc == 0 and [j.get("file") for j in jobs] == ["items_" + FFFD + ".tsv"],
      "jobs list --json (journal) has the file: %r %r" % (jobs, err))
rc, shown, err = cli("jobs", "show", jobs[0]["job_id"] if jobs else "j000001", "--config", config,
                     "--json")
check(rc == 0 and shown and shown[0].get("file") == "items_" + FFFD + ".tsv",
      "jobs show --json (journal) has the file: %r %r" % (shown, err))

# ---- a watching run: /v1/jobs, /v1/jobs/ID, /v1/jobs/%ff%fe ----------------------------------------
log = open(os.path.join(work, "run.log"), "w")
run = subprocess.Popen([bizoope, "run", "--config", config, "--json", "--workers", "1"],
                       stdout=subprocess.DEVNULL, stderr=log)
try:
    deadline = time.time() + 30
    while time.time() < deadline and http("/healthz")[0] != 200 and run.poll() is None:
        time.sleep(0.1)
    send(b"items_\xfe\xff\xc3.tsv")
    listed = []
    deadline = time.time() + 30
    while time.time() < deadline and len(listed) < 2:
        status, body = http("/v1/jobs")
        listed = json.loads(body)["jobs"] if status == 200 else []
        time.sleep(0.2)
    check(sorted(j.get("file", "<none>") for j in listed) ==
          sorted(["items_" + FFFD + ".tsv", "items_" + FFFD * 3 + ".tsv"]),
          "/v1/jobs: both jobs have their file: %r" % listed)
    for j in listed:
        status, body = http("/v1/jobs/" + j["job_id"])
        one = json.loads(body) if status == 200 else {}
        check(one.get("file") == j.get("file"), "/v1/jobs/%s has the file: %r" % (j["job_id"], one))
    status, body = http("/v1/jobs/%ff%fe")
    check(status == 404 and body.startswith(b"{"), "/v1/jobs/%%ff%%fe: 404 with a body: %r" % body)
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    check(isinstance(answer.get("error"), str) and answer["error"] != "",
          "its body is JSON with an error: %r" % body)
    rc, jobs, err = cli("jobs", "list", "--config", config, "--json")  # through the API
    check(rc == 0 and len(jobs) == 2 and all("file" in j for j in jobs),
          "jobs list --json through the API has every file: %r %r" % (jobs, err))
finally:
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=60)
    log.close()

# ---- validate --json: a file with such a name loads its lines --------------------------------------
vdir = os.path.join(os.fsencode(work), b"validate")
os.makedirs(vdir)
path = os.path.join(vdir, b"items_\xff\xfe.tsv")
shutil.copy(feed, path)
rc, out, err = cli("validate", "--table", "items", "--json", path)
want = os.path.join(work, "validate", "items_" + FFFD * 2 + ".tsv")
check(rc == 0 and len(out) == 1 and out[0].get("file") == want and
      out[0].get("error_file") == want + ".errors.tsv",
      "validate --json has file and error_file: %r %r" % (out, err))
check(out and out[0]["loaded"] == counts["loaded"] and
      out[0]["rejected_invalid"] == counts["rejected_invalid"],
      "its lines are checked like any file's: %r vs %r" % (out, counts))

check.finish("every JSON output has its \"file\", U+FFFD for bytes that are not UTF-8")
