"""d06_admin_socket.py BIZOOPE SRC_DIR WORK_DIR - review D6 (admin port squatting): the `bizoope`
CLI talks to its own run over the run's owner-only Unix socket, never to whoever holds
admin.listen, and sends no token there.

- a squatter (a fake admin API answering /v1/health with the installation's journal path, as
  the review's fakeadmin.py does) takes the configured port before the run starts; the run logs
  that admin.listen is not served and serves its socket (mode 0600); `bizoope sites pause` acts
  on the real run: the journal says the site is paused, its new file stays in its inbox, and the
  squatter received no request at all - so no Authorization header - even with
  BIZOOPE_ADMIN_TOKEN set; `sites resume` lets the file in;
- another user cannot use the socket (run as nobody when this test runs as root);
- the socket goes away when the run stops; a killed run's stale socket is replaced by the next
  run, and until then the CLI works on the journal in-process;
- a file that is not a socket where the socket goes stops the run with a message and is left
  alone; a socket there owned by another user is not trusted by the CLI (it is never asked);
- a journal path longer than a socket path may be (108 bytes) still works;
- remote use: --api URL with BIZOOPE_ADMIN_TOKEN_FILE reaches a TCP listener with a token."""
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, free_port, fresh_installation, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d06_admin_socket")
TOKEN = "RealAdminToken-42"
wait_for = check.wait


def cli(*args, env=None, user=None):
    cmd = [bizoope] + list(args)
    if user is not None:
        cmd = ["runuser", "-u", user, "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)


class Squatter:
    """A fake admin API: every request is recorded with its Authorization header, /v1/health
    names the installation's journal, anything else says yes. On a TCP port or a Unix socket."""

    def __init__(self, state, port=None, unix_path=None):
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                owner.requests.append((self.command, self.path,
                                       self.headers.get("Authorization")))
                if self.path.startswith("/v1/health"):
                    body = {"status": "ok", "state": state, "backlog": 0}
                else:
                    body = {"site": "tokyo", "paused": True, "changed": True, "jobs": [],
                            "sites": []}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *a):
                pass

            def address_string(self):
                return "squatter"

        if unix_path is None:
            self.server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        else:
            class UnixServer(http.server.HTTPServer):
                address_family = socket.AF_UNIX

                def server_bind(self):
                    self.socket.bind(self.server_address)
                    self.server_name, self.server_port = "squatter", 0

            self.server = UnixServer(unix_path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Run:
    def __init__(self, config, env=None):
        self.log_path = os.path.join(work, "run-%d.log" % time.time_ns())
        self.proc = subprocess.Popen([bizoope, "run", "--config", config, "--json",
                                      "--workers", "1"], stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "w"),
                                     env=dict(env or os.environ, BIZOOPE_LOG_LEVEL="info"))

    def log(self):
        return open(self.log_path).read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def paused_in_journal(state):
    con = sqlite3.connect(state)
    try:
        return [r[0] for r in con.execute("SELECT site_id FROM paused_sites ORDER BY site_id")]
    finally:
        con.close()


port = free_port()
inst, config = fresh_installation(bizoope, work, sites=("tokyo", "osaka"), edits=(
    ("  listen: 127.0.0.1:8470 ", "  listen: 127.0.0.1:%d " % port),
    ("  token_file: ", "  token_file: token"),
    ("poll_interval: 2s", "poll_interval: 200ms")))
with open(os.path.join(inst, "token"), "w") as f:
    f.write(TOKEN + "\n")
os.chmod(os.path.join(inst, "token"), 0o600)
state = os.path.join(os.path.realpath(inst), "state.db")
sock = state + ".sock"
feed = os.path.join(work, "items_20261124090000.tsv")
gen(bizoope, "items", 200, feed, 6, feed + ".exp")
env_token = dict(os.environ, BIZOOPE_ADMIN_TOKEN=TOKEN)

# ---- the squatter holds the port before the run starts -----------------------------------------
squatter = Squatter(state, port=port)
run = Run(config)
try:
    wait_for("the run's socket", lambda: os.path.exists(sock) or run.proc.poll() is not None)
    check(run.proc.poll() is None, "the run goes on with its port taken: %s" % run.log()[-2000:])
    st = os.lstat(sock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and
          st.st_uid == os.geteuid(), "the socket is the owner's only: %o" % st.st_mode)
    wait_for("the warning about admin.listen", lambda: "not started on admin.listen" in run.log())
    paused = cli("sites", "pause", "tokyo", "--config", config, env=env_token)
    check(paused.returncode == 0 and "paused" in paused.stdout,
          "sites pause over the socket: %r %r" % (paused.stdout, paused.stderr))
    check(paused_in_journal(state) == ["tokyo"], "the journal says tokyo is paused: %r"
          % paused_in_journal(state))
    check("site intake paused" in run.log(), "the real run paused it (its log says so)")
    status = cli("status", "--config", config, "--once", env=env_token)
    check(status.returncode == 0 and ("unix:" + sock) in status.stdout and
          "http://127.0.0.1" not in status.stdout.splitlines()[0],
          "status names the run's socket, and no TCP listener (it is not up): %r" %
          status.stdout[:300])
    listed = cli("jobs", "list", "--config", config, "--json", env=env_token)
    check(listed.returncode == 0, "jobs list over the socket: %r" % listed.stderr)
    shutil.copy(feed, os.path.join(inst, "inbox", "tokyo", "." + os.path.basename(feed)))
    os.rename(os.path.join(inst, "inbox", "tokyo", "." + os.path.basename(feed)),
              os.path.join(inst, "inbox", "tokyo", os.path.basename(feed)))
    time.sleep(1.5)  # several passes
    check(os.path.exists(os.path.join(inst, "inbox", "tokyo", os.path.basename(feed))),
          "paused for real: tokyo's new file waits in its inbox")
    check(squatter.requests == [], "the squatter was never asked: %r" % squatter.requests)
    check(all(auth is None for _, _, auth in squatter.requests),
          "no Authorization header reached the squatter")
    resumed = cli("sites", "resume", "tokyo", "--config", config)
    check(resumed.returncode == 0, "sites resume: %r" % resumed.stderr)
    wait_for("tokyo's file loaded", lambda: not os.path.exists(
        os.path.join(inst, "inbox", "tokyo", os.path.basename(feed))))

    # ---- another user cannot use the socket ------------------------------------------------------
    if os.geteuid() == 0 and shutil.which("runuser"):
        nobody = pwd.getpwnam("nobody").pw_uid
        probe = subprocess.run(["runuser", "-u", "nobody", "--", sys.executable, "-c",
                                "import socket,sys; s=socket.socket(socket.AF_UNIX); "
                                "s.connect(sys.argv[1])", sock], capture_output=True, text=True)
        check(probe.returncode != 0 and "Permission denied" in probe.stderr,
              "nobody cannot connect to the socket: %r" % probe.stderr[-200:])
        os.chmod(config, 0o644)
        other = cli("status", "--config", config, "--once", user="nobody")
        check(other.returncode == 3 and "owner only" in other.stderr,
              "the CLI as another user says the socket is not theirs (3): %r %r" %
              (other.returncode, other.stderr))
    else:
        print("skipped: another user's view (needs root and runuser)")
finally:
    check(run.stop() == 0, "the run stops on SIGTERM")
    squatter.stop()
check(not os.path.exists(sock), "the socket is removed when the run stops")

# ---- a killed run's stale socket ---------------------------------------------------------------
run = Run(config)
wait_for("the run's socket", lambda: os.path.exists(sock))
wait_for("the run answering", lambda: cli("status", "--config", config, "--once").returncode == 0)
run.stop(signal.SIGKILL)
check(os.path.exists(sock), "a killed run leaves its socket behind")
local = cli("status", "--config", config, "--once")
check(local.returncode == 0 and "the journal only" in local.stdout,
      "with a dead run's socket the CLI reads the journal: %r %r" % (local.stdout, local.stderr))
local = cli("sites", "pause", "osaka", "--config", config)
check(local.returncode == 0 and paused_in_journal(state) == ["osaka"],
      "and acts on it in-process: %r" % local.stderr)
cli("sites", "resume", "osaka", "--config", config)
run = Run(config)
try:
    wait_for("the stale socket replaced", lambda: "admin API on its socket" in run.log() or
             run.proc.poll() is not None)
    status = cli("status", "--config", config, "--once")
    check(run.proc.poll() is None and status.returncode == 0 and "up " in status.stdout,
          "the next run replaced the stale socket and answers: %r" % status.stdout[:200])
finally:
    run.stop()

# ---- not a socket: left alone, the run says what to do -----------------------------------------
with open(sock, "w") as f:
    f.write("keep me\n")
refused = subprocess.run([bizoope, "run", "--config", config, "--once"], capture_output=True,
                         text=True, timeout=60)
check(refused.returncode == 1 and sock in refused.stderr and "not a socket" in refused.stderr,
      "a file in the socket's place stops the run: %r" % refused.stderr)
check(open(sock).read() == "keep me\n", "and it is left as it was")
os.remove(sock)

# ---- a socket of another user where the run's goes: the CLI never asks it ----------------------
if os.geteuid() == 0:
    fake = Squatter(state, unix_path=sock)
    os.chown(sock, pwd.getpwnam("nobody").pw_uid, -1)
    os.chmod(sock, 0o666)
    before = paused_in_journal(state)
    posed = cli("sites", "pause", "osaka", "--config", config, env=env_token)
    check(posed.returncode == 0 and "not trusted" in posed.stderr and
          paused_in_journal(state) == sorted(before + ["osaka"]),
          "a socket owned by another user is ignored, the journal changed in-process: %r %r"
          % (posed.stderr, paused_in_journal(state)))
    check(fake.requests == [], "the other user's socket was never asked: %r" % fake.requests)
    refused = subprocess.run([bizoope, "run", "--config", config, "--once"], capture_output=True,
                             text=True, timeout=60)
    check(refused.returncode == 1 and "another user" in refused.stderr,
          "and a run refuses to replace it: %r" % refused.stderr)
    fake.stop()
    os.remove(sock)
    cli("sites", "resume", "osaka", "--config", config)
else:
    print("skipped: another user's socket (needs root)")

# ---- a journal path longer than sun_path ---------------------------------------------------------
deep_work = os.path.join(work, "d" * 60, "e" * 60)
deep_inst, deep_config = fresh_installation(bizoope, deep_work, sites=("tokyo",), edits=(
    ("  listen: 127.0.0.1:8470 ", "  listen: '' "),))
deep_sock = os.path.join(os.path.realpath(deep_inst), "state.db.sock")
check(len(deep_sock) > 108, "the long socket path is %d bytes" % len(deep_sock))
run = Run(deep_config)
try:
    wait_for("the long socket", lambda: os.path.exists(deep_sock) or run.proc.poll() is not None)
    status = cli("status", "--config", deep_config, "--once")
    check(status.returncode == 0 and "unix:" + deep_sock in status.stdout and "up " in
          status.stdout, "a run with a long socket path answers the CLI: %r %r" %
          (status.stdout[:300], status.stderr))
finally:
    check(run.stop() == 0, "the deep run stops")
check(not os.path.exists(deep_sock), "and removes its long socket")

# ---- remote use: --api with the token from a file ---------------------------------------------
port2 = free_port()
text = open(config).read()
open(config, "w").write(text.replace("  listen: 127.0.0.1:%d " % port, "  listen: 0.0.0.0:%d "
                                     % port2, 1))
run = Run(config)
try:
    base = "http://127.0.0.1:%d" % port2
    token_file = os.path.join(work, "operator-token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    wait_for("the TCP listener", lambda: "admin API listening" in run.log())
    remote = cli("jobs", "list", "--api", base, env=dict(os.environ,
                                                         BIZOOPE_ADMIN_TOKEN_FILE=token_file))
    check(remote.returncode == 0 and len(remote.stdout.splitlines()) == 1,
          "--api with BIZOOPE_ADMIN_TOKEN_FILE: %r %r" % (remote.stdout, remote.stderr))
    without = cli("jobs", "list", "--api", base)
    check(without.returncode == 1 and "refused the token" in without.stderr,
          "--api without a token: 401: %r" % without.stderr)
    status = cli("status", "--config", config, "--once")
    check(status.returncode == 0 and ("http://0.0.0.0:%d, unix:%s" % (port2, sock)) in
          status.stdout, "status --config names both listeners: %r" % status.stdout[:200])
finally:
    run.stop()
check.finish("the CLI reached its own run over the socket; nothing was sent to the squatter")
