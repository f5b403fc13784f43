"""oauth_fake.py PUBKEY LOG [SCRIPT] - Google's OAuth 2.0 token endpoint and the GCE metadata
server's token path, on 127.0.0.1, for auth tests. It checks what the real ones check:

- POST /token: a form with grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and an
  assertion that is a JWT (three base64url parts, no padding) with header alg RS256, whose
  signature verifies with PUBKEY (RSASSA-PKCS1-v1_5, SHA-256; checked by the openssl CLI), whose
  claims have iss, scope, aud equal to this endpoint's URL, iat not in the future (60 s of
  slack) and exp - iat <= 3600. Anything else gets 400 {"error": "invalid_grant", ...}.
- GET /computeMetadata/v1/instance/service-accounts/default/token: only with the header
  "Metadata-Flavor: Google" and without X-Forwarded-For (else 403).
- GET /computeMetadata/v1/instance/service-accounts/default/email: the same rule; answers
  the text "bizoope-vm@retail-test-1.iam.gserviceaccount.com".

Tokens are "tok-1", "tok-2", ... with expires_in 3599. SCRIPT is a JSON object
{path: [status, ...]}: the n-th request to a path gets the n-th status (the last repeats;
200 when not listed); 500/503 answer an error body. Every request is one JSON line in LOG
(path, status, claims when a JWT was checked). Prints "port=N" once listening; stops when
stdin closes."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

pubkey, log_path = sys.argv[1], sys.argv[2]
script = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
counts, issued, lock = {}, [0], threading.Lock()


def b64url_decode(part):
    if "=" in part or not all(c.isalnum() or c in "-_" for c in part):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(jwt, audience):
    parts = jwt.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three parts")
    header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
    if header.get("alg") != "RS256" or header.get("typ") != "JWT":
        raise ValueError("header must be alg RS256, typ JWT: %r" % header)
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "data"), "w").write(parts[0] + "." + parts[1])
        open(os.path.join(d, "sig"), "wb").write(b64url_decode(parts[2]))
        p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pubkey, "-signature",
                            os.path.join(d, "sig"), os.path.join(d, "data")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise ValueError("signature does not verify")
    now = time.time()
    for k in ("iss", "scope", "aud", "iat", "exp"):
        if k not in claims:
            raise ValueError("claim %s missing" % k)
    if claims["aud"] != audience:
        raise ValueError("aud %r is not %r" % (claims["aud"], audience))
    if claims["iat"] > now + 60 or claims["exp"] - claims["iat"] > 3600:
        raise ValueError("iat in the future or exp more than an hour after it")
    return claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, record, text=False):
        data = body.encode() if text else json.dumps(body).encode()
        record["status"] = status
        with lock:  # recorded before the answer: a client that has it finds the record
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def scripted(self, path):
        with lock:
            n = counts.get(path, 0)
            counts[path] = n + 1
        statuses = script.get(path, [200])
        return statuses[min(n, len(statuses) - 1)]

    def token(self, record):
        with lock:
            issued[0] += 1
            n = issued[0]
        self.answer(200, {"access_token": "tok-%d" % n, "expires_in": 3599,
                          "token_type": "Bearer"}, record)

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        record = {"method": "POST", "path": path}
        status = self.scripted(path)
        if path != "/token":
            return self.answer(404, {"error": "not_found"}, record)
        if status != 200:
            return self.answer(status, {"error": "backend_error"}, record)
        form = urllib.parse.parse_qs(body)
        try:
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
                raise ValueError("grant_type")
            if not self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded"):
                raise ValueError("not a form")
            audience = "http://127.0.0.1:%d/token" % self.server.server_address[1]
            record["claims"] = verify(form.get("assertion", [""])[0], audience)
        except (ValueError, KeyError) as e:
            return self.answer(400, {"error": "invalid_grant", "error_description": str(e)},
                               record)
        self.token(record)

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        record = {"method": "GET", "path": path, "query": urllib.parse.urlparse(self.path).query}
        status = self.scripted(path)
        base = "/computeMetadata/v1/instance/service-accounts/default/"
        if path not in (base + "token", base + "email"):
            return self.answer(404, {"error": "not_found"}, record)
        if self.headers.get("Metadata-Flavor") != "Google" or self.headers.get("X-Forwarded-For"):
            return self.answer(403, {"error": "missing Metadata-Flavor: Google"}, record)
        if status != 200:
            return self.answer(status, {"error": "unavailable"}, record)
        if path == base + "email":
            return self.answer(200, "bizoope-vm@retail-test-1.iam.gserviceaccount.com", record,
                               text=True)
        self.token(record)


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # clients with many reads in flight: no SYN dropped (5 by default)


server = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("port=%d" % server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
