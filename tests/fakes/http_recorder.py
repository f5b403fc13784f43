"""http_recorder.py SCRIPT LOG - an HTTP/1.1 server on 127.0.0.1 for notification tests: it
records every request (method, path, headers, body) as one JSON line in LOG and answers as
SCRIPT says: a JSON object {path: [status, ...]} - the n-th request to a path gets the n-th
status (the last one repeats; 200 when the path is not listed). A 429 carries Retry-After: 1.
Requests that a real service would refuse get 400 and are recorded with "refused": a Chatwork
message without X-ChatWorkToken or without a form-encoded body=, a JSON target whose body does
not parse. Prints "port=N" once listening; stops on SIGTERM or when stdin closes."""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

script = json.loads(sys.argv[1])
log_path = sys.argv[2]
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        refused = None
        if "/rooms/" in self.path:
            form = urllib.parse.parse_qs(body)
            if not self.headers.get("X-ChatWorkToken"):
                refused = "no X-ChatWorkToken"
            elif "body" not in form or not self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded"):
                refused = "no form body"
        else:
            try:
                json.loads(body)
            except ValueError:
                refused = "body is not JSON"
        with lock:
            n = counts.get(self.path, 0)
            counts[self.path] = n + 1
            plan = script.get(self.path, [200])
            status = 400 if refused else plan[min(n, len(plan) - 1)]
            with open(log_path, "a") as f:
                f.write(json.dumps({"method": "POST", "path": self.path, "status": status,
                                    "headers": dict(self.headers), "body": body,
                                    "refused": refused}) + "\n")
        reply = b'{"ok":true}' if status < 300 else b'{"error":"scripted"}'
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("port=%d" % server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # until the test closes it
server.shutdown()
