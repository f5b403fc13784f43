"""config_preflight.py BIZOOPE SRC_DIR WORK_DIR - `bizoope config check` is the run's own start
(issue #16 item 5, the first-hour review's D1-D3 and C4):

- every configuration the review found `run` refusing and `config check` passing is refused by
  both now, with the same words: a cron hour of 25, a non-loopback admin address without a
  token, and time zones glibc would silently read as UTC (JST, Asia/Tokio, Mars/Olympus) -
  JST with a pointer to Asia/Tokyo; `batch run --timezone JST` too;
- what run accepts, config check accepts: a POSIX rule (JST-9), a token file off loopback;
- under --json a mistake is an object {"valid": false, "line", "error"} on stdout;
- the configuration is found without --config: $BIZOOPE_CONFIG, then ./bizoope.yaml; with
  neither, the message says where it looked."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, free_port  # noqa: E402

bizoope, src, work = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
check = Checks("config_preflight")
port = free_port()
inst, config = fresh_installation(bizoope, work, sites=("tokyo",),
                                  edits=[("127.0.0.1:8470", "127.0.0.1:%d" % port)])
text = open(config).read()
token = os.path.join(work, "token")
open(token, "w").write("s3cret-token-for-the-test\n")
os.chmod(token, 0o600)


def variant(name, old, new, *more):
    """inst/NAME.yaml: the configuration with old replaced by new (and more such pairs)."""
    edited, pairs = text, [(old, new)] + [tuple(more[i:i + 2]) for i in range(0, len(more), 2)]
    for a, b in pairs:
        assert a in edited, a
        edited = edited.replace(a, b, 1)
    path = os.path.join(inst, name + ".yaml")
    open(path, "w").write(edited)
    return path


def line_of(path, needle):
    for i, line in enumerate(open(path).read().splitlines(), 1):
        if needle in line:
            return i
    return None


def bz(*args, cwd=None, env=None):
    e = dict(os.environ)
    e.pop("BIZOOPE_CONFIG", None)
    e.pop("BIZOOPE_API", None)
    e.pop("BIZOOPE_ADMIN_TOKEN", None)
    e.update(env or {})
    return subprocess.run([bizoope] + list(args), capture_output=True, text=True, cwd=cwd, env=e,
                          timeout=60)


REFUSED = [
    ("cron25", "schedule: '0 3 * * *'", "schedule: '0 25 * * *'",
     "batch.schedule: cron: '25' is not valid in the hour field (0-23)", "schedule:"),
    ("public", "listen: 127.0.0.1:%d" % port, "listen: 0.0.0.0:%d" % port,
     "is not loopback: the admin API needs a token there", None),
    ("jst", "timezone: Asia/Tokyo", "timezone: JST",
     "'JST' is not a time zone this machine knows (no /usr/share/zoneinfo/JST); for Japan write "
     "Asia/Tokyo", "timezone:"),
    ("tokio", "timezone: Asia/Tokyo", "timezone: Asia/Tokio", "for Japan write Asia/Tokyo",
     "timezone:"),
    ("mars", "timezone: Asia/Tokyo", "timezone: Mars/Olympus",
     "write an IANA name such as Asia/Tokyo or UTC", "timezone:"),
]
for name, old, new, words, line_key in REFUSED:
    path = variant(name, old, new)
    p = bz("config", "check", "--config", path)
    check(p.returncode == 1 and words in p.stderr and p.stdout == "",
          "config check %s: refused with %r (rc %d): %r" % (name, words, p.returncode, p.stderr))
    p = bz("config", "check", "--json", "--config", path)
    try:
        o = json.loads(p.stdout)
    except ValueError:
        o = {}
    want_line = line_of(path, line_key) if line_key else None
    check(p.returncode == 1 and o.get("valid") is False and words in o.get("error", "") and
          o.get("line") == want_line and o.get("config") == path,
          "config check --json %s: {valid: false, line: %r, error}: %r" % (name, want_line,
                                                                          p.stdout))
    r = bz("run", "--config", path, "--once")
    check(r.returncode != 0 and words in r.stderr,
          "run %s: refused at start with the same words (rc %d): %r" % (name, r.returncode,
                                                                        r.stderr[-400:]))

p = bz("batch", "run", "--config", config, "--timezone", "JST", "--dry-run")
check(p.returncode == 2 and "for Japan write Asia/Tokyo" in p.stderr,
      "batch run --timezone JST refused: %r" % p.stderr)

ACCEPTED = [
    ("posix", "timezone: Asia/Tokyo", "timezone: JST-9"),
    ("utc", "timezone: Asia/Tokyo", "timezone: UTC"),
    ("tokened", "  listen: 127.0.0.1:%d" % port, "  listen: 0.0.0.0:%d" % port,
     "  token_file:   ", "  token_file: %s " % token),
]
for name, *edits in ACCEPTED:
    path = variant(name, *edits)
    p = bz("config", "check", "--config", path)
    check(p.returncode == 0 and ": valid" in p.stdout,
          "config check %s: valid (rc %d): %r %r" % (name, p.returncode, p.stdout, p.stderr))
    if name == "tokened":
        continue  # a run would listen on every address: tests listen on 127.0.0.1 only
    r = bz("run", "--config", path, "--once")
    check(r.returncode == 0, "run %s: starts (rc %d): %r" % (name, r.returncode, r.stderr[-400:]))

# found without --config
elsewhere = os.path.join(work, "elsewhere")
os.makedirs(elsewhere)
p = bz("config", "check", "--json", env={"BIZOOPE_CONFIG": config}, cwd=elsewhere)
check(p.returncode == 0 and json.loads(p.stdout or "{}").get("config") == config,
      "BIZOOPE_CONFIG names the configuration: %r %r" % (p.stdout, p.stderr))
p = bz("jobs", "list", "--json", cwd=inst)
check(p.returncode == 0, "./bizoope.yaml is found by jobs list (rc %d): %r" % (p.returncode,
                                                                              p.stderr))
p = bz("config", "check", cwd=inst)
check(p.returncode == 0 and "bizoope.yaml: valid" in p.stdout,
      "./bizoope.yaml is found by config check: %r %r" % (p.stdout, p.stderr))
if not os.path.exists("/etc/bizoope/bizoope.yaml"):
    p = bz("config", "check", cwd=elsewhere)
    check(p.returncode == 2 and "BIZOOPE_CONFIG" in p.stderr and "/etc/bizoope/bizoope.yaml"
          in p.stderr, "with none, the message says where it looked: %r" % p.stderr)
check.finish("%d configurations run refuses are refused by config check with run's words "
             "(JSON with their line); %d it accepts are valid; found via BIZOOPE_CONFIG and "
             "./bizoope.yaml" % (len(REFUSED), len(ACCEPTED)))
