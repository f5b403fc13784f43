"""bigquery_rest_fake.py LOG [SCRIPT] - the BigQuery REST API v2 calls bizoope makes, on
127.0.0.1: tables.insert, jobs.insert, jobs.get, jobs.getQueryResults (the rows the engine's
run of a query job gave). It refuses what BigQuery refuses:

- no "Authorization: Bearer tok-..." header: 401;
- tables.insert: a body whose tableReference does not match the URL, or without
  schema.fields of {name, type, mode}, with a timePartitioning not of DAY/HOUR/MONTH/YEAR on a
  DATE, DATETIME or TIMESTAMP field, or more than four clustering fields (or one that is
  missing or of a type BigQuery cannot cluster by): 400 invalid; an existing table: 409
  duplicate;
- jobs.insert: a jobReference whose projectId is not the URL's, a jobId not of
  [A-Za-z0-9_-]{1,1024}, no configuration.query.query, useLegacySql not explicitly false (it
  defaults to true), a named parameter used in the SQL (@name) but not given, parameterMode
  not NAMED: 400 invalid; a jobId already inserted: 409 duplicate (the job is not run again).

A jobs.insert with configuration.dryRun true runs nothing and makes no job: it answers DONE
with totalBytesProcessed "0", or 400 when the engine refuses the statement.

With SCRIPT["engine"] (the URL of tests/fakes/bigquery_sql_engine.js) every created table is
created in that real SQL engine too, and every query job's SQL runs there when it is inserted:
the job is DONE with the statement's own statistics (dmlStats counted by the engine) or with the
engine's refusal as status.errorResult (invalidQuery), and the log record of the insert carries
the engine's answer ("engine": {..., "partitionsRead"}).

A job is RUNNING for the first SCRIPT["running_polls"] (default 1) jobs.get calls (with
SCRIPT["done_on_insert"], as a fast query can be, jobs.insert already answers DONE), then DONE
with statistics.query.dmlStats {insertedRowCount, updatedRowCount, deletedRowCount} (strings,
as BigQuery sends int64) - without an engine from SCRIPT["dml"] (default 0/0/0) - or with
status.errorResult when
SCRIPT["job_error"] is set ({"reason", "message"}) - for every job, or only the first
SCRIPT["job_error_count"] jobs inserted, or only the SCRIPT["job_error_nth"]-th (default first)
job whose query contains SCRIPT["job_error_matching"]; SCRIPT["insert_delay_matching"] holds
the SCRIPT["insert_delay_nth"]-th such jobs.insert SCRIPT["insert_delay_s"] seconds before
making the job (logging {"kind": "insert_delayed"} at once), so a test can kill the client
while it waits. Faults: SCRIPT[kind] = [status, ...] gives
the n-th call of kind (tables.insert, jobs.insert, jobs.get) that status (the last repeats;
500/503 answer {"error": {... "reason": "backendError"}}); SCRIPT["expire_token"] = "tok-1"
answers 401 to that token once. Every request is one JSON line in LOG. Prints "port=N";
stops when stdin closes."""
import json
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]
script = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
lock = threading.Lock()
tables, jobs, counts, expired = set(), {}, {}, set()


def error(code, reason, message):
    return code, {"error": {"code": code, "message": message, "status": reason,
                            "errors": [{"reason": reason, "message": message}]}}


def engine(route, body):
    """Forwards to the SQL engine (bigquery_sql_engine.js at SCRIPT["engine"]): (status, body)."""
    req = urllib.request.Request(script["engine"] + route, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def layout_refusal(body, types):
    """What BigQuery says of a table's partitioning and clustering it refuses, or None."""
    part = body.get("timePartitioning")
    if part is not None:
        if part.get("type") not in ("DAY", "HOUR", "MONTH", "YEAR"):
            return "timePartitioning.type must be DAY, HOUR, MONTH or YEAR"
        if types.get(part.get("field")) not in ("DATE", "DATETIME", "TIMESTAMP"):
            return "The field specified for time partitioning can only be of type TIMESTAMP, " \
                "DATE or DATETIME: %s" % part.get("field")
    fields = body.get("clustering", {}).get("fields", [])
    if len(fields) > 4 or len(set(fields)) != len(fields):
        return "Too many or repeated clustering fields: at most 4 distinct fields"
    for f in fields:
        if types.get(f) not in ("STRING", "INT64", "DATE", "DATETIME", "TIMESTAMP", "BOOL",
                                "NUMERIC", "BIGNUMERIC"):
            return "The field specified for clustering cannot be used: %s" % f
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, record):
        data = json.dumps(body).encode()
        record["status"] = status
        with lock:  # recorded before the answer: a client that has it finds the record
            with open(log_path, "a") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client killed while it waited (a test's crash)

    def scripted(self, kind):
        with lock:
            n = counts.get(kind, 0)
            counts[kind] = n + 1
        statuses = script.get(kind, [200])
        return statuses[min(n, len(statuses) - 1)]

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer tok-"):
            return False
        token = auth[len("Bearer "):]
        with lock:
            if script.get("expire_token") == token and token not in expired:
                expired.add(token)
                return False
        return True

    def handle_any(self, method):
        url = urllib.parse.urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode() if length else ""
        record = {"method": method, "path": url.path}
        if not self.authorized():
            return self.reply(*error(401, "unauthorized", "Request had invalid credentials."),
                              record)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.reply(*error(400, "parseError", "body is not JSON"), record)
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables", url.path)
        if method == "POST" and m:
            record["kind"] = "tables.insert"
            return self.reply(*self.tables_insert(m.group(1), m.group(2), body, record), record)
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs", url.path)
        if method == "POST" and m:
            record["kind"] = "jobs.insert"
            return self.reply(*self.jobs_insert(m.group(1), body, record), record)
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/queries/([^/]+)", url.path)
        if method == "GET" and m:
            record["kind"] = "jobs.getQueryResults"
            query = urllib.parse.parse_qs(url.query)
            return self.reply(*self.query_results(m.group(1), m.group(2), int(query.get(
                "maxResults", ["100000"])[0]), query.get("pageToken", [""])[0]), record)
        m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/jobs/([^/]+)", url.path)
        if method == "GET" and m:
            record["kind"] = "jobs.get"
            return self.reply(*self.jobs_get(m.group(1), m.group(2)), record)
        return self.reply(*error(404, "notFound", "no such API here"), record)

    def tables_insert(self, project, dataset, body, record):
        status = self.scripted("tables.insert")
        if status != 200:
            return error(status, "backendError", "injected")
        ref = (body or {}).get("tableReference", {})
        fields = (body or {}).get("schema", {}).get("fields", [])
        if ref.get("projectId") != project or ref.get("datasetId") != dataset or \
                not ref.get("tableId"):
            return error(400, "invalid", "tableReference does not match the URL")
        if not fields or any(not {"name", "type", "mode"} <= set(f) for f in fields):
            return error(400, "invalid", "schema.fields need name, type and mode")
        refused = layout_refusal(body, {f["name"]: f["type"] for f in fields})
        if refused:
            return error(400, "invalid", refused)
        key = (project, dataset, ref["tableId"])
        record["table"] = ".".join(key)
        record["body"] = body
        with lock:
            if key in tables:
                return error(409, "duplicate", "Already Exists: Table %s" % ".".join(key))
            tables.add(key)
            if "engine" in script:
                status, answer = engine("/tables", body)
                if status != 200:
                    tables.discard(key)
                    return error(400, answer.get("reason", "invalid"), answer.get("message", ""))
        return 200, body

    def jobs_insert(self, project, body, record):
        status = self.scripted("jobs.insert")
        if status != 200:
            return error(status, "backendError", "injected")
        ref = (body or {}).get("jobReference", {})
        query = (body or {}).get("configuration", {}).get("query", {})
        job_id = ref.get("jobId", "")
        if ref.get("projectId") != project or not re.fullmatch(r"[A-Za-z0-9_-]{1,1024}", job_id):
            return error(400, "invalid", "bad jobReference")
        if not isinstance(query.get("query"), str) or query.get("useLegacySql") is not False:
            return error(400, "invalid", "a query and useLegacySql: false are required")
        given = {p.get("name") for p in query.get("queryParameters", [])}
        used = set(re.findall(r"(?<!@)@([A-Za-z_][A-Za-z0-9_]*)", query["query"]))
        if used - given or (given and query.get("parameterMode") != "NAMED"):
            return error(400, "invalid", "query parameters missing: %s" % sorted(used - given))
        record["job"] = job_id
        record["body"] = body
        delay = script.get("insert_delay_matching")
        if delay is not None and delay in query["query"]:
            with lock:
                seen = sum(delay in j["body"]["configuration"]["query"]["query"]
                           for j in jobs.values())
                if seen == script.get("insert_delay_nth", 1) - 1:
                    with open(log_path, "a") as f:  # now, for a test waiting to kill the client
                        f.write(json.dumps({"kind": "insert_delayed", "job": job_id}) + "\n")
                else:
                    delay = None
            if delay is not None:
                time.sleep(script.get("insert_delay_s", 5))
        if body.get("configuration", {}).get("dryRun") is True:
            # planned, not run, no job made: the statement is checked (by the engine when
            # there is one) and what it would read estimated (here: 0)
            record["dry_run"] = True
            if "engine" in script:
                status, answer = engine("/query", dict(query, dryRun=True))
                record["engine"] = answer
                if status != 200:
                    return error(400, answer.get("reason", "invalidQuery"),
                                 answer.get("message", ""))
            return 200, {"jobReference": ref, "configuration": body["configuration"],
                         "status": {"state": "DONE"},
                         "statistics": {"totalBytesProcessed": "0",
                                        "query": {"totalBytesProcessed": "0"}}}
        with lock:
            if job_id in jobs:
                return error(409, "duplicate", "Already Exists: Job %s:%s" % (project, job_id))
            # job_error_count: only the first n jobs inserted fail (a retry's new id succeeds)
            fails = "job_error" in script and len(jobs) < script.get("job_error_count", 1 << 30)
            # job_error_matching: only the n-th job (job_error_nth, default 1) whose query holds
            # that text fails
            match = script.get("job_error_matching")
            if match is not None:
                fails = match in query["query"] and sum(
                    match in j["body"]["configuration"]["query"]["query"]
                    for j in jobs.values()) == script.get("job_error_nth", 1) - 1
            jobs[job_id] = {"polls": 0, "body": body, "fails": fails}
            if "engine" in script and not fails:  # run now, in insertion order
                status, answer = engine("/query", query)
                jobs[job_id]["result"] = answer if status == 200 else {
                    "error": {"reason": answer.get("reason", "invalidQuery"),
                              "message": answer.get("message", "")}}
                record["engine"] = jobs[job_id]["result"]
        if script.get("done_on_insert"):
            with lock:
                jobs[job_id]["polls"] = 1 << 30
            return 200, self.job_resource(project, job_id, "DONE")
        return 200, self.job_resource(project, job_id, "RUNNING")

    def job_resource(self, project, job_id, state):
        job = {"jobReference": {"projectId": project, "jobId": job_id},
               "status": {"state": state}}
        with lock:
            fails = jobs.get(job_id, {}).get("fails", False)
            result = jobs.get(job_id, {}).get("result")
        if state == "DONE" and fails:
            job["status"]["errorResult"] = script["job_error"]
        elif state == "DONE" and result is not None and "error" in result:
            job["status"]["errorResult"] = result["error"]
        elif state == "DONE" and result is not None:
            stats = {"statementType": result["statementType"]}
            if "dmlStats" in result:
                d = result["dmlStats"]
                stats["dmlStats"] = {"insertedRowCount": str(d["inserted"]),
                                     "updatedRowCount": str(d["updated"]),
                                     "deletedRowCount": str(d["deleted"])}
            job["statistics"] = {"query": stats}
        elif state == "DONE":
            dml = script.get("dml", [0, 0, 0])
            job["statistics"] = {"query": {"statementType": "MERGE", "dmlStats": {
                "insertedRowCount": str(dml[0]), "updatedRowCount": str(dml[1]),
                "deletedRowCount": str(dml[2])}}}
        return job

    def jobs_get(self, project, job_id):
        status = self.scripted("jobs.get")
        if status != 200:
            return error(status, "backendError", "injected")
        with lock:
            job = jobs.get(job_id)
            if job is None:
                return error(404, "notFound", "Not found: Job %s:%s" % (project, job_id))
            job["polls"] += 1
            done = job["polls"] > script.get("running_polls", 1)
        return 200, self.job_resource(project, job_id, "DONE" if done else "RUNNING")

    def query_results(self, project, job_id, max_results, page_token):
        """jobs.getQueryResults of a finished job the engine ran: its rows as BigQuery sends
        them ({"f": [{"v": text or null}]}), at most max_results from where page_token says
        (opaque to the client), with a pageToken while rows remain."""
        with lock:
            job = jobs.get(job_id)
        if job is None:
            return error(404, "notFound", "Not found: Job %s:%s" % (project, job_id))
        result = job.get("result", {})
        if "error" in result:
            return error(400, result["error"]["reason"], result["error"]["message"])
        rows = result.get("rows") or []
        if not re.fullmatch(r"(p[0-9]+)?", page_token) or max_results < 1:
            return error(400, "invalid", "bad pageToken or maxResults")
        start = int(page_token[1:]) if page_token else 0
        answer = {"kind": "bigquery#getQueryResultsResponse", "jobComplete": True,
                  "jobReference": {"projectId": project, "jobId": job_id},
                  "schema": {"fields": [{"name": n, "type": "STRING"}
                                        for n in result.get("schema") or []]},
                  "totalRows": str(len(rows)),
                  "rows": [{"f": [{"v": v} for v in r]} for r in rows[start:start + max_results]]}
        if start + max_results < len(rows):
            answer["pageToken"] = "p%d" % (start + max_results)
        return 200, answer

    def do_POST(self):
        self.handle_any("POST")

    def do_GET(self):
        self.handle_any("GET")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("port=%d" % server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
