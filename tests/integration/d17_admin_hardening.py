"""d17_admin_hardening.py BIZOOPE SRC_DIR WORK_DIR - review D17 (admin API hardening), against a
watching `bizoope run`:

- loopback without a token: a cross-site "simple request" (POST with Origin evil.example.com and
  Content-Type text/plain, as a web page sends it) is refused and the site stays unpaused; so is
  a POST without a JSON content type, with or without an Origin; a Host that is not a loopback
  name (DNS rebinding) gets 403 on /metrics; the CLI (--api) and curl with
  'Content-Type: application/json' still act;
- /healthz says only whether the run is healthy, not the journal's path (/v1/health, behind
  the token where there is one, says which installation answers);
- 70 idle slow-header connections from one address do not block the API for another address
  (GET /healthz from 127.0.0.2 answers at once), nor the CLI (over its socket), and the idle
  ones are closed after the idle timeout;
- with a token (0.0.0.0): the scheme in any case ("bearer"), curl -X POST with the token and no
  content type acts, a cross-origin POST with the token is still refused, /healthz stays open
  and says nothing else, /v1/health needs the token; the same flood from one address leaves
  /healthz answering for another."""
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, free_port, fresh_installation  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d17_admin_hardening")
TOKEN = "adm-hardening-5e1d"
wait_for = check.wait


def request(port, method, path, headers=(), source="127.0.0.1", timeout=10):
    """(status, body) of one request sent exactly with these headers (Host too when given);
    (0, why) when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    names = [k.lower() for k, _ in headers]
    try:
        conn.putrequest(method, path, skip_host="host" in names, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        body = b"x" if method == "POST" else None
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read().decode()
    except (OSError, http.client.HTTPException) as e:
        return 0, repr(e)
    finally:
        conn.close()


def paused(state):
    con = sqlite3.connect(state)
    try:
        return [r[0] for r in con.execute("SELECT site_id FROM paused_sites ORDER BY site_id")]
    finally:
        con.close()


def cli(*args, env=None):
    return subprocess.run([bizoope] + list(args), capture_output=True, text=True, env=env,
                          timeout=60)


def flood(port, n=70):
    """n connections from 127.0.0.1 that send half a request and then nothing."""
    held = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        except OSError:
            pass
        held.append(s)
    return held


def closed_by_server(s):
    try:
        s.settimeout(0.2)
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def start(config, env=None):
    log = os.path.join(work, "run-%d.log" % time.time_ns())
    proc = subprocess.Popen([bizoope, "run", "--config", config, "--workers", "1", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            env=dict(env or os.environ, BIZOOPE_LOG_LEVEL="info"))
    return proc, log


port = free_port()
inst, config = fresh_installation(bizoope, work, sites=("tokyo", "osaka"), edits=(
    ("  listen: 127.0.0.1:8470 ", "  listen: 127.0.0.1:%d " % port),
    ("poll_interval: 2s", "poll_interval: 200ms")))
state = os.path.join(os.path.realpath(inst), "state.db")
base = "http://127.0.0.1:%d" % port
run, log = start(config)
try:
    wait_for("the API", lambda: request(port, "GET", "/healthz")[0] == 200 or
             run.poll() is not None)

    # ---- CSRF: what a web page can send cross-site without asking ------------------------------
    status, body = request(port, "POST", "/v1/sites/osaka/pause",
                           [("Origin", "http://evil.example.com"), ("Content-Type", "text/plain")])
    check(status == 403 and "cross-origin" in body and paused(state) == [],
          "the review's cross-site pause is refused and osaka is not paused: %d %r" %
          (status, body))
    for headers in ([("Content-Type", "text/plain")],
                    [("Content-Type", "application/x-www-form-urlencoded")],
                    [("Content-Type", "multipart/form-data; boundary=x")], []):
        status, body = request(port, "POST", "/v1/sites/osaka/pause", headers)
        check(status == 403 and "application/json" in body and paused(state) == [],
              "a POST with %r is refused: %d %r" % (headers, status, body))
    status, body = request(port, "POST", "/v1/sites/osaka/pause",
                           [("Origin", "http://evil.example.com"),
                            ("Content-Type", "application/json")])
    check(status == 403 and paused(state) == [], "a foreign Origin is refused even with JSON")
    status, body = request(port, "POST", "/v1/sites/osaka/pause",
                           [("Origin", base), ("Content-Type", "application/json")])
    check(status == 200 and paused(state) == ["osaka"],
          "a same-origin JSON POST acts: %d %r" % (status, body))
    resumed = cli("sites", "resume", "osaka", "--api", base)
    check(resumed.returncode == 0 and paused(state) == [],
          "the CLI through TCP still acts (it sends JSON): %r" % resumed.stderr)
    if shutil.which("curl"):
        curl = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                               "-H", "Content-Type: application/json",
                               base + "/v1/sites/osaka/pause"], capture_output=True, text=True)
        check(curl.stdout == "200" and paused(state) == ["osaka"],
              "curl with Content-Type: application/json acts: %r" % curl.stdout)
        cli("sites", "resume", "osaka", "--config", config)

    # ---- DNS rebinding: a Host that is not this machine's loopback ---------------------------
    status, body = request(port, "GET", "/metrics", [("Host", "evil.example.com")])
    check(status == 403 and "bizoope_" not in body,
          "/metrics with Host evil.example.com is refused: %d" % status)
    status, body = request(port, "GET", "/metrics", [("Host", "evil.example.com:%d" % port)])
    check(status == 403, "also with the port: %d" % status)
    for host in ("localhost:%d" % port, "127.0.0.1:%d" % port, "localhost"):
        status, body = request(port, "GET", "/metrics", [("Host", host)])
        check(status == 200 and "bizoope_files" in body, "/metrics with Host %s: %d" %
              (host, status))

    # ---- /healthz reveals nothing; /v1/health names the installation -------------------------
    status, body = request(port, "GET", "/healthz")
    check(status == 200 and json.loads(body) == {"status": "ok"} and state not in body and
          "state.db" not in body, "/healthz says only ok: %r" % body)
    status, body = request(port, "GET", "/v1/health")
    check(status == 200 and json.loads(body)["state"] == state, "/v1/health: %r" % body)

    # ---- 70 idle slow-header connections from one address -------------------------------------
    held = flood(port)
    t0 = time.time()
    status, body = request(port, "GET", "/healthz", source="127.0.0.2", timeout=5)
    took = time.time() - t0
    check(status == 200 and took < 2.0,
          "/healthz from another address answers during the flood: %d in %.2f s" % (status, took))
    st = cli("status", "--config", config, "--once")
    check(st.returncode == 0 and "unix:" in st.stdout, "the CLI works during the flood (socket)")
    closed = wait_for("the idle connections closed",
                      lambda: all(closed_by_server(s) for s in held), 30)
    took = time.time() - t0
    check(closed and took < 25, "the held connections were closed after %.1f s idle" % took)
    for s in held:
        s.close()
    # the server frees an address's connection slots as it sees each close: soon, not at once
    wait_for("after the flood 127.0.0.1 is served again",
             lambda: request(port, "GET", "/healthz", timeout=2)[0] == 200, 10)
finally:
    run.send_signal(signal.SIGTERM)
    check(run.wait(timeout=60) == 0, "the run stops")

# ---- with a token (off loopback) ------------------------------------------------------------------
port2 = free_port()
text = open(config).read()
open(config, "w").write(text.replace("  listen: 127.0.0.1:%d " % port,
                                     "  listen: 0.0.0.0:%d " % port2, 1))
run, log = start(config, env=dict(os.environ, BIZOOPE_ADMIN_TOKEN=TOKEN))
try:
    wait_for("the API with a token", lambda: request(port2, "GET", "/healthz")[0] == 200 or
             run.poll() is not None)
    for scheme in ("bearer", "BEARER", "Bearer"):
        status, body = request(port2, "GET", "/v1/status",
                               [("Authorization", "%s %s" % (scheme, TOKEN))])
        check(status == 200, "Authorization: %s TOKEN is accepted: %d" % (scheme, status))
    status, body = request(port2, "GET", "/v1/status", [("Authorization", "bearer wrong")])
    check(status == 401, "a wrong token: 401")
    status, body = request(port2, "POST", "/v1/sites/tokyo/pause",
                           [("Authorization", "Bearer " + TOKEN)])
    check(status == 200 and paused(state) == ["tokyo"],
          "POST with the token and no content type acts (curl -X POST -H ...): %d %r" %
          (status, body))
    status, body = request(port2, "POST", "/v1/sites/tokyo/resume",
                           [("Authorization", "Bearer " + TOKEN),
                            ("Origin", "http://evil.example.com")])
    check(status == 403 and paused(state) == ["tokyo"], "a cross-origin POST with the token: 403")
    status, body = request(port2, "GET", "/healthz", [("Host", "10.1.2.3:%d" % port2)])
    check(status == 200 and json.loads(body) == {"status": "ok"},
          "/healthz for a health checker (any Host, no token) says only ok: %r" % body)
    status, body = request(port2, "GET", "/v1/health")
    check(status == 401 and state not in body, "/v1/health without the token: 401")
    status, body = request(port2, "GET", "/v1/health", [("Authorization", "Bearer " + TOKEN)])
    check(status == 200 and json.loads(body)["state"] == state, "/v1/health with the token")
    if shutil.which("curl"):
        curl = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                               "-H", "Authorization: Bearer " + TOKEN,
                               "http://127.0.0.1:%d/v1/sites/tokyo/resume" % port2],
                              capture_output=True, text=True)
        check(curl.stdout == "200" and paused(state) == [], "curl -X POST with the token acts")
    held = flood(port2)
    status, body = request(port2, "GET", "/healthz", source="127.0.0.2", timeout=5)
    check(status == 200, "a flood from one address leaves /healthz to others: %d" % status)
    for s in held:
        s.close()
finally:
    run.send_signal(signal.SIGTERM)
    check(run.wait(timeout=60) == 0, "the run with a token stops")
check.finish("all checks passed")
