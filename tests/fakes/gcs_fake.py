"""gcs_fake.py LOG SETUP - the Cloud Storage JSON API calls bizoope makes, on 127.0.0.1, with
object generations and the preconditions Cloud Storage enforces.

SETUP (JSON): {"buckets": {NAME: {"labels": {...}}}, "page_size": N (list pages, default
1000), "rewrite_steps": N (calls before a rewrite is done, default 1), "fail": {KIND:
[status, ...]} (the n-th call of KIND - list, stat, media, upload, resumable_put, rewrite,
delete, bucket - gets that status; the last repeats; 200 means no fault), "drop_chunk": N (the
N-th resumable chunk is answered 308 without being persisted, so the client must resend it),
"composite": true (objects carry only crc32c, no md5Hash, as composite objects do)}.
Objects may be put in SETUP too: {"objects": {"BUCKET/NAME": {"data": TEXT,
"content_encoding": "gzip"}}} (gzip data is compressed here).

Pub/Sub too, for the notifications of new objects: with {"notify": {"subscription":
"projects/P/subscriptions/S", "buckets": [NAME, ...]}} every object created in those buckets
(upload, copy) is announced as Cloud Storage does (attributes eventType OBJECT_FINALIZE,
bucketId, objectId, objectGeneration; data the object resource). POST /v1/SUB:pull
{"maxMessages": N} returns the unacknowledged ones not leased, leasing them for
"ack_deadline_s" (default 10; 0 redelivers on every pull); POST /v1/SUB:acknowledge
{"ackIds": [...]} removes them (an unknown ackId is ignored, as Pub/Sub does); POST
/v1/SUB:modifyAckDeadline {"ackIds", "ackDeadlineSeconds": 0..600} re-leases them for that long.
Fault kinds pull, acknowledge and modifyAckDeadline.

It refuses what Cloud Storage refuses: no "Authorization: Bearer tok-..." is 401; a missing
bucket, object or generation is 404; ifGenerationMatch / ifSourceGenerationMatch that do not
hold are 412 (nothing changes); a Range past the end is 416; a resumable chunk not starting
where the persisted bytes end is 400. A gzip-encoded object read without "Accept-Encoding:
gzip" is transcoded: decompressed and the Range ignored (200), as the real service does.
Every request is one JSON line in LOG. Prints "port=N"; stops when stdin closes."""
import base64
import gzip
import hashlib
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]
setup = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
lock = threading.RLock()  # reply() logs under it, also from inside locked sections
buckets = {name: {"labels": b.get("labels", {}), "objects": {}}
           for name, b in setup.get("buckets", {}).items()}
counts, sessions, rewrites = {}, {}, {}
notify = setup.get("notify", {})
messages = {}  # ackId -> {"message": ..., "leased_until": t}
next_gen = [1000]
chunks = [0]


def new_generation():
    next_gen[0] += 1
    return next_gen[0]


for path, spec in setup.get("objects", {}).items():
    b, name = path.split("/", 1)
    data = spec["data"].encode()
    if spec.get("content_encoding") == "gzip":
        data = gzip.compress(data)
    buckets[b]["objects"][name] = {"generation": new_generation(), "data": data,
                                   "content_encoding": spec.get("content_encoding", "")}


def announce(bucket, name, obj):
    """A Cloud Storage notification of a new object generation (JSON_API_V1)."""
    if bucket not in notify.get("buckets", []):
        return
    with lock:
        n = obj["generation"]  # one notification per object generation
        messages["ack-%d" % n] = {"leased_until": 0, "message": {
            "messageId": str(n), "publishTime": "2026-11-28T00:00:00Z",
            "data": base64.b64encode(json.dumps(resource(bucket, name, obj)).encode()).decode(),
            "attributes": {"eventType": "OBJECT_FINALIZE", "payloadFormat": "JSON_API_V1",
                           "bucketId": bucket, "objectId": name,
                           "objectGeneration": str(obj["generation"])}}}


def crc32c_table():
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
        table.append(crc)
    return table


CRC32C_TABLE = crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return (~crc) & 0xFFFFFFFF


def object_crc32c(obj):
    """An object's data never changes within a generation: compute its CRC once."""
    if "crc32c" not in obj:
        obj["crc32c"] = base64.b64encode(crc32c(obj["data"]).to_bytes(4, "big")).decode()
    return obj["crc32c"]


def resource(bucket, name, obj):
    r = {"kind": "storage#object", "bucket": bucket, "name": name,
         "size": str(len(obj["data"])), "generation": str(obj["generation"]),
         "contentEncoding": obj["content_encoding"] or None,
         "crc32c": object_crc32c(obj)}
    if not setup.get("composite"):  # a composite object has a CRC32C and no MD5
        r["md5Hash"] = base64.b64encode(hashlib.md5(obj["data"]).digest()).decode()
    return r


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=None, headers=(), raw=None, record=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        (record or {})["status"] = status
        if raw is not None and record is not None and record.get("method") == "GET":
            record["bytes"] = len(raw)  # what a read carried (the tests count a process's reads)
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps(record or {}) + "\n")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if raw is None and body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def fault(self, kind):
        with lock:
            n = counts.get(kind, 0)
            counts[kind] = n + 1
        statuses = setup.get("fail", {}).get(kind, [200])
        return statuses[min(n, len(statuses) - 1)]

    def err(self, status, reason, message, record):
        self.reply(status, {"error": {"code": status, "message": message,
                                      "errors": [{"reason": reason, "message": message}]}},
                   record=record)

    def route(self, method):
        url = urllib.parse.urlparse(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        record = {"method": method, "path": url.path, "query": q}
        if body:
            record["body_bytes"] = len(body)  # what a write carried
        if self.headers.get("User-Agent"):
            record["agent"] = self.headers["User-Agent"]  # which process (bizoope names it)
        if not self.headers.get("Authorization", "").startswith("Bearer tok-"):
            return self.err(401, "required", "Anonymous caller does not have access", record)
        if method == "POST" and url.path.startswith("/v1/projects/"):
            return self.pubsub(url.path[len("/v1/"):], json.loads(body or b"{}"), record)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")]
        m = re.fullmatch(r"/upload/session/(\d+)", url.path)
        if method == "PUT" and m:
            return self.resumable_put(int(m.group(1)), body, record)
        if url.path.startswith("/upload/storage/v1/b/") and method == "POST":
            return self.upload(parts[5], q, body, record)
        if len(parts) >= 5 and parts[1:3] == ["storage", "v1"] and parts[3] == "b":
            bucket = parts[4]
            if bucket not in buckets:
                return self.err(404, "notFound", "The specified bucket does not exist.", record)
            if len(parts) == 5 and method == "GET":
                if self.injected("bucket", record):
                    return
                return self.reply(200, {"labels": buckets[bucket]["labels"]}, record=record)
            if len(parts) == 6 and parts[5] == "o" and method == "GET":
                return self.list(bucket, q, record)
            if len(parts) == 7 and parts[5] == "o":
                if method == "GET":
                    return self.get(bucket, parts[6], q, record)
                if method == "DELETE":
                    return self.delete(bucket, parts[6], q, record)
            if len(parts) == 12 and parts[5] == "o" and parts[7:9] == ["rewriteTo", "b"] and \
                    parts[10] == "o" and method == "POST":
                return self.rewrite(bucket, parts[6], parts[9], parts[11], q, record)
        return self.err(404, "notFound", "no such API here", record)

    def pubsub(self, target, body, record):
        sub, _, verb = target.rpartition(":")
        if sub != notify.get("subscription"):
            return self.err(404, "notFound", "Resource not found (resource=%s)." % sub, record)
        if verb not in ("pull", "acknowledge", "modifyAckDeadline"):
            return self.err(400, "badRequest", "unknown method %s" % verb, record)
        if self.injected(verb, record):
            return
        now = time.time()
        with lock:
            if verb == "acknowledge":
                ids = body.get("ackIds", [])
                for ack in ids:
                    messages.pop(ack, None)
                record["acked"] = len(ids)
                return self.reply(200, {}, record=record)
            if verb == "modifyAckDeadline":
                seconds = body.get("ackDeadlineSeconds")
                if not isinstance(seconds, int) or not 0 <= seconds <= 600:
                    return self.err(400, "badRequest", "ackDeadlineSeconds must be 0 to 600",
                                    record)
                for ack in body.get("ackIds", []):
                    if ack in messages:  # an unknown or acknowledged one is ignored
                        messages[ack]["leased_until"] = now + seconds
                record["extended"] = len(body.get("ackIds", []))
                return self.reply(200, {}, record=record)
            out = []
            for ack, m in list(messages.items())[:int(body.get("maxMessages", 100))]:
                if m["leased_until"] <= now:
                    m["leased_until"] = now + notify.get("ack_deadline_s", 10)
                    out.append({"ackId": ack, "message": m["message"]})
            record["delivered"] = len(out)
        return self.reply(200, {"receivedMessages": out} if out else {}, record=record)

    def injected(self, kind, record):
        status = self.fault(kind)
        if status != 200:
            self.err(status, "backendError", "injected failure", record)
            return True
        return False

    def list(self, bucket, q, record):
        if self.injected("list", record):
            return
        size = min(int(q.get("maxResults", "1000")), setup.get("page_size", 1000))
        with lock:
            names = sorted(n for n in buckets[bucket]["objects"] if n.startswith(q.get("prefix", "")))
            start = int(q.get("pageToken", "0") or 0)
            page = names[start:start + size]
            items = [resource(bucket, n, buckets[bucket]["objects"][n]) for n in page]
        body = {"kind": "storage#objects", "items": items}
        if start + size < len(names):
            body["nextPageToken"] = str(start + size)
        self.reply(200, body, record=record)

    def get(self, bucket, name, q, record):
        media = q.get("alt") == "media"
        if self.injected("media" if media else "stat", record):
            return
        with lock:
            obj = buckets[bucket]["objects"].get(name)
        if obj is None or ("generation" in q and str(obj["generation"]) != q["generation"]):
            return self.err(404, "notFound", "No such object: %s/%s" % (bucket, name), record)
        if not media:
            return self.reply(200, resource(bucket, name, obj), record=record)
        data = obj["data"]
        headers = [("x-goog-generation", str(obj["generation"]))]
        if obj["content_encoding"] == "gzip" and "gzip" not in self.headers.get("Accept-Encoding",
                                                                                 ""):
            record["transcoded"] = True  # decompressive transcoding: the range is ignored
            return self.reply(200, raw=gzip.decompress(data), headers=headers, record=record)
        rng = self.headers.get("Range")
        if rng:
            record["range"] = rng
            m = re.fullmatch(r"bytes=(\d+)-(\d+)", rng)
            if not m:
                return self.err(400, "invalid", "bad Range", record)
            a, b = int(m.group(1)), int(m.group(2))
            if a >= len(data):
                return self.err(416, "requestedRangeNotSatisfiable", "range past the end", record)
            b = min(b, len(data) - 1)
            headers.append(("Content-Range", "bytes %d-%d/%d" % (a, b, len(data))))
            return self.reply(206, raw=data[a:b + 1], headers=headers, record=record)
        self.reply(200, raw=data, headers=headers, record=record)

    def check_generation(self, bucket, name, q, key="ifGenerationMatch"):
        if key not in q:
            return True
        obj = buckets[bucket]["objects"].get(name)
        want = int(q[key])
        return (obj is None) if want == 0 else (obj is not None and obj["generation"] == want)

    def store(self, bucket, name, data):
        obj = {"generation": new_generation(), "data": data, "content_encoding": ""}
        buckets[bucket]["objects"][name] = obj
        announce(bucket, name, obj)
        return resource(bucket, name, obj)

    def upload(self, bucket, q, body, record):
        if bucket not in buckets:
            return self.err(404, "notFound", "The specified bucket does not exist.", record)
        kind = q.get("uploadType")
        if self.injected("upload", record):
            return
        name = q.get("name")
        if kind == "resumable":
            meta = json.loads(body or b"{}")
            name = name or meta.get("name")
            with lock:
                sid = len(sessions) + 1
                sessions[sid] = {"bucket": bucket, "name": name, "q": q, "data": b""}
            host = "http://127.0.0.1:%d" % self.server.server_address[1]
            return self.reply(200, {}, headers=[("Location", "%s/upload/session/%d" % (host, sid))],
                              record=record)
        if kind != "media" or not name:
            return self.err(400, "invalid", "uploadType media needs name", record)
        with lock:
            if not self.check_generation(bucket, name, q):
                return self.err(412, "conditionNotMet", "At least one of the pre-conditions "
                                "you specified did not hold.", record)
            res = self.store(bucket, name, body)
        record["name"] = name
        self.reply(200, res, record=record)

    def resumable_put(self, sid, body, record):
        if self.injected("resumable_put", record):
            return
        with lock:
            s = sessions.get(sid)
            chunks[0] += 1
            n = chunks[0]
        if s is None:
            return self.err(404, "notFound", "no such upload session", record)
        record["bucket"], record["name"] = s["bucket"], s["name"]  # the session's object
        m = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", self.headers.get("Content-Range", ""))
        if not m:
            return self.err(400, "invalid", "bad Content-Range", record)
        total = int(m.group(3))
        if m.group(1) is not None:
            a = int(m.group(1))
            if a != len(s["data"]):
                return self.err(400, "invalid", "chunk starts at %d, persisted %d" %
                                (a, len(s["data"])), record)
            if setup.get("drop_chunk") != n:
                s["data"] += body
            else:
                record["dropped"] = True
        if len(s["data"]) < total:
            headers = [("Range", "bytes=0-%d" % (len(s["data"]) - 1))] if s["data"] else []
            return self.reply(308, raw=b"", headers=headers, record=record)
        with lock:
            if not self.check_generation(s["bucket"], s["name"], s["q"]):
                return self.err(412, "conditionNotMet", "precondition failed", record)
            res = self.store(s["bucket"], s["name"], s["data"])
        record["name"] = s["name"]
        self.reply(200, res, record=record)

    def rewrite(self, src_bucket, src, dst_bucket, dst, q, record):
        if self.injected("rewrite", record):
            return
        if dst_bucket not in buckets:
            return self.err(404, "notFound", "The specified bucket does not exist.", record)
        with lock:
            obj = buckets[src_bucket]["objects"].get(src)
            if obj is None or ("sourceGeneration" in q and
                               str(obj["generation"]) != q["sourceGeneration"]):
                return self.err(404, "notFound", "No such object", record)
            if not self.check_generation(src_bucket, src, q, "ifSourceGenerationMatch") or \
                    not self.check_generation(dst_bucket, dst, q):
                return self.err(412, "conditionNotMet", "precondition failed", record)
            key = (src_bucket, src, dst_bucket, dst)
            step = rewrites.get(key, 0) + 1
            if step < setup.get("rewrite_steps", 1):
                rewrites[key] = step
                return self.reply(200, {"done": False, "rewriteToken": "tok%d" % step,
                                        "totalBytesRewritten": "0"}, record=record)
            rewrites.pop(key, None)
            res = self.store(dst_bucket, dst, obj["data"])
        self.reply(200, {"done": True, "resource": res}, record=record)

    def delete(self, bucket, name, q, record):
        if self.injected("delete", record):
            return
        with lock:
            if name not in buckets[bucket]["objects"]:
                return self.err(404, "notFound", "No such object", record)
            if not self.check_generation(bucket, name, q):
                return self.err(412, "conditionNotMet", "precondition failed", record)
            del buckets[bucket]["objects"][name]
        self.reply(204, record=record)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # clients with many reads in flight: no SYN dropped (5 by default)


server = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("port=%d" % server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
