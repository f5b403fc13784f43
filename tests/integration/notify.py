"""notify.py BIZOOPE SRC_DIR WORK_DIR - notices reach people: a failed batch step's ERROR notice
is delivered to Chatwork (form body with [toall], token in X-ChatWorkToken), a Slack incoming
webhook and a JSON webhook, all played by tests/fakes/http_recorder.py on 127.0.0.1. Chatwork
answers 429 once (retried after Retry-After), Slack answers 500 every time (given up after
notify.max_attempts, logged as lost), the webhook answers 200. Secrets (the token, the Slack
URL) never appear in bizoope's log."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("notify")
token, secret_path = "cw-token-7f3a9c", "/slack/T000/B000/secret-xyz"
broken = work + ".workflows"
shutil.rmtree(broken, ignore_errors=True)
shutil.copytree(os.path.join(src, "schema", "batches"), broken)
text = open(os.path.join(broken, "daily.yaml")).read()
open(os.path.join(broken, "daily.yaml"), "w").write(text.replace("SUM(quantity)",
                                                                 "SUM(no_such_column)"))
os.makedirs(work, exist_ok=True)
recorded = os.path.join(work + ".requests.jsonl")
if os.path.exists(recorded):
    os.remove(recorded)
fake = subprocess.Popen([sys.executable, os.path.join(src, "tests", "fakes", "http_recorder.py"),
                         json.dumps({"/v2/rooms/42/messages": [429, 200], secret_path: [500]}),
                         recorded], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
port = int(fake.stdout.readline().strip().split("=")[1])
base = "http://127.0.0.1:%d" % port
try:
    inst, config = fresh_installation(bizoope, work, edits=(
        ("  chatwork_room: ", "  chatwork_room: '42'"),
        ("  chatwork_api: https://api.chatwork.com/v2", "  chatwork_api: '%s/v2'" % base),
        ("  webhook_url: ", "  webhook_url: '%s/hook'" % base),
        ("  max_attempts: 5 ", "  max_attempts: 3 "),
        ("  backoff: 1s ", "  backoff: 50ms"),
        ("  workflows: ", "  workflows: '%s'" % broken)))
    open(os.path.join(inst, "slack.url"), "w").write(base + secret_path + "\n")
    text = open(config).read().replace("  slack_webhook_file: ", "  slack_webhook_file: slack.url", 1)
    open(config, "w").write(text)
    day = "20261123"
    with open(os.path.join(inst, "inbox", "a", "journal_20261124090000.tsv"), "w") as f:
        f.write("\t".join(["S01", day, "1", "1", "1", day + "101500", "", "I001", "item", "C1",
                           "2", "100.00", "200.00", "0.00", "20.00", "10.00", "01", "T1", "0",
                           day + "230000"]) + "\n")
    env = dict(os.environ, BIZOOPE_CHATWORK_TOKEN=token, BIZOOPE_LOG_LEVEL="debug")
    subprocess.run([bizoope, "run", "--config", config, "--once"], check=True,
                   capture_output=True, env=env)
    p = subprocess.run([bizoope, "batch", "run", "--config", config, "--until", "2026-11-23"],
                       capture_output=True, text=True, env=env)
    check(p.returncode == 1, "the batch with a broken step exits 1 (got %d)" % p.returncode)
finally:
    fake.stdin.close()
    fake.wait(timeout=10)
reqs = [json.loads(l) for l in open(recorded)] if os.path.exists(recorded) else []
by = {}
for r in reqs:
    by.setdefault(r["path"], []).append(r)
cw = by.get("/v2/rooms/42/messages", [])
check([r["status"] for r in cw] == [429, 200], "chatwork: 429, then delivered: %r" %
      [r["status"] for r in cw])
check(all(r["refused"] is None and r["headers"].get("X-ChatWorkToken") == token for r in cw),
      "chatwork: well-formed, token in X-ChatWorkToken")
if cw:
    import urllib.parse
    body = urllib.parse.parse_qs(cw[-1]["body"])["body"][0]
    check(body.startswith("[toall]") and "[title]ERROR: batch step failed[/title]" in body and
          "daily.store_day_sales" in body and "no_such_column" in body,
          "chatwork: an ERROR mentions everyone and says what failed: %r" % body)
sl = by.get(secret_path, [])
check([r["status"] for r in sl] == [500, 500, 500], "slack: tried max_attempts (3) times: %r" %
      [r["status"] for r in sl])
check(all(r["refused"] is None and "batch step failed" in json.loads(r["body"])["text"]
          for r in sl), "slack: incoming-webhook JSON with the title")
wh = by.get("/hook", [])
check(len(wh) == 1 and json.loads(wh[0]["body"])["type"] == "notification" and
      json.loads(wh[0]["body"])["severity"] == "ERROR" and
      json.loads(wh[0]["body"])["title"] == "batch step failed",
      "webhook: the notification message as JSON: %r" % [r["body"] for r in wh])
log = p.stderr if reqs else ""
check("notice lost" in log and "target=slack" in log, "the given-up Slack notice is logged")
check(token not in log and "secret-xyz" not in log, "no secret in the log")
env = dict(os.environ)
env.pop("BIZOOPE_CHATWORK_TOKEN", None)
p = subprocess.run([bizoope, "batch", "run", "--config", config, "--until", "2026-11-23"],
                   capture_output=True, text=True, env=env)
check(p.returncode == 1 and "no token" in p.stderr and "BIZOOPE_CHATWORK_TOKEN" in p.stderr,
      "a Chatwork room without a token stops start-up and says what to set: %r" % p.stderr)
check.finish("delivered to Chatwork (after a 429) and the webhook; Slack given up after 3 "
             "attempts; no secret logged")
