#!/usr/bin/env bash
# gcp-smoke.sh - an opt-in check of a Google Cloud deployment, run by an operator after
# `terraform apply` and before the first real file (docs/google-cloud.md, "After terraform
# apply"). Not run in CI: it talks to a real project.
#
# What it verifies, printing one line per check:
#   1. `bizoope smoke` on the coordinator's configuration: for every table the main table exists,
#      three generated rows go through a PENDING Storage Write stream into an expiring scratch
#      work table (pos_work.w_smoke..._T) and are committed, and BigQuery dry-runs the MERGE
#      that would follow (nothing merged; main tables keep their rows); one INFO notice is
#      produced on the notifications topic of Managed Kafka with the OAUTHBEARER token and read
#      back (a watching coordinator relays it to people: expect a "smoke test" notice);
#   2. the workers' autoscaler: it exists, targets the workers' group, and reports no error
#      (its statusDetails), with the group's current and target size.
#
# Usage: scripts/gcp-smoke.sh --config /etc/bizoope/bizoope.yaml --project P --region R
#                             [--prefix bizoope] [--bizoope /usr/bin/bizoope]
# Needs: the bizoope binary and its configuration (run it on the coordinator's VM, whose
# service account holds the roles), gcloud authenticated for step 2. Exit 0 when every check
# passed.
set -uo pipefail

config="" project="" region="" prefix="bizoope" bin="bizoope"
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --project) project="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --bizoope) bin="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gcp-smoke.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done
if [ -z "$config" ] || [ -z "$project" ] || [ -z "$region" ]; then
  echo "gcp-smoke.sh: --config, --project and --region are required (--help)" >&2
  exit 2
fi

failed=0
say() { printf '  %-5s %s\n' "$1" "$2"; }

echo "gcp-smoke: $config, project $project, region $region"

# 1. warehouse and Kafka, through bizoope's own code paths
if "$bin" smoke --config "$config"; then
  say ok "bizoope smoke: tables, write streams, MERGE dry runs, notifications topic"
else
  say FAIL "bizoope smoke (its report above says which check and why)"
  failed=1
fi

# 2. the workers' autoscaler
if ! command -v gcloud >/dev/null 2>&1; then
  say FAIL "gcloud is not installed: the autoscaler was not checked"
  failed=1
else
  name="$prefix-workers"
  if ! scaler=$(gcloud compute region-autoscalers describe "$name" --project "$project" \
                  --region "$region" --format=json 2>&1); then
    say FAIL "autoscaler $name: $scaler"
    failed=1
  else
    status=$(printf '%s' "$scaler" | python3 -c '
import json, sys
a = json.load(sys.stdin)
details = [d.get("message", "") for d in a.get("statusDetails", [])]
print(a.get("status", "?"), "|", a.get("target", "?").rsplit("/", 1)[-1], "|", "; ".join(details))')
    state=${status%% |*}
    rest=${status#* | }
    target=${rest%% |*}
    details=${rest#* | }
    group=$(gcloud compute instance-groups managed describe "$name" --project "$project" \
              --region "$region" --format='value(targetSize,status.isStable)' 2>&1)
    if [ "$state" = "ACTIVE" ] && [ "$target" = "$name" ] && [ -z "$details" ]; then
      say ok "autoscaler $name: ACTIVE on group $target (target size, stable: $group)"
    else
      say FAIL "autoscaler $name: status $state, target $target, details: ${details:-none}"
      failed=1
    fi
  fi
fi

if [ "$failed" -eq 0 ]; then
  echo "gcp-smoke: every check passed"
else
  echo "gcp-smoke: FAILED (see the lines above)"
fi
exit "$failed"
