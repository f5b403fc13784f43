#!/usr/bin/env bash
# init_sites.sh BIZOOPE SRC_DIR WORK_DIR - `bizoope init`, `sites add` and `sites list` as an
# operator uses them: the directory tree and the printed next step, the file edited in place
# (only one line changes), the JSON listing, every refusal with its exit status, and a broken
# configuration reported as "file:line: what". Owns nothing but WORK_DIR.
set -euo pipefail
bz=$1
src=$(cd "$2" && pwd)
work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# expect STATUS CMD... - runs CMD, saving stdout/stderr in out.txt/err.txt, checks its status
expect() {
    local want=$1 got=0
    shift
    "$@" >out.txt 2>err.txt || got=$?
    if [ "$got" != "$want" ]; then
        cat out.txt err.txt >&2
        fail "'$*' exited $got, expected $want"
    fi
}
has() { # has FILE TEXT - FILE contains the fixed string TEXT
    grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' not in $1"; }
}

# ---- init ------------------------------------------------------------------------------------
expect 0 "$bz" init demo --site tokyo --site osaka
real=$(cd demo && pwd -P)
for d in inbox/tokyo inbox/osaka outbox/tokyo outbox/osaka backup load temp archive quarantine; do
    [ -d "demo/$d" ] || fail "init did not create demo/$d"
done
[ -f demo/bizoope.yaml ] || fail "no demo/bizoope.yaml"
[ ! -e demo/warehouse.db ] && [ ! -e demo/state.db ] || fail "init must not create the databases"
[ -z "$(find demo -name '*.tmp-*')" ] || fail "a temporary file was left behind"
has out.txt "created $real/bizoope.yaml"
has out.txt "created $real/inbox/tokyo/"
has out.txt "bizoope run --config demo/bizoope.yaml --once"
has demo/bizoope.yaml "version: 1"
has demo/bizoope.yaml "shard_size: 64MiB"

# refusals: an existing file (exit 1, untouched), usage mistakes (exit 2)
cp demo/bizoope.yaml before.yaml
expect 1 "$bz" init demo --site nagoya
has err.txt "demo/bizoope.yaml already exists; not overwriting it"
cmp -s before.yaml demo/bizoope.yaml || fail "init changed an existing configuration"
expect 2 "$bz" init other
has err.txt "at least one --site ID is required"
expect 2 "$bz" init other --site 'bad/id'
has err.txt "'bad/id' is not a valid site id"
expect 2 "$bz" init other --site a --site A
expect 2 "$bz" init
[ ! -e other ] || fail "a refused init created other/"
expect 0 "$bz" init --help
has out.txt "usage: bizoope init DIR --site ID"

# ---- sites add -------------------------------------------------------------------------------
expect 0 "$bz" sites add nagoya --config demo/bizoope.yaml
[ -d demo/inbox/nagoya ] && [ -d demo/outbox/nagoya ] || fail "sites add made no directories"
has out.txt "added site 'nagoya' to demo/bizoope.yaml"
# exactly one line more, right after the last site; every other byte kept
diff before.yaml demo/bizoope.yaml >diff.txt || true
printf '15a16\n>   - nagoya\n' >want.txt
cmp -s diff.txt want.txt || { cat diff.txt >&2; fail "sites add changed more than one line"; }

cp demo/bizoope.yaml before.yaml
expect 1 "$bz" sites add nagoya --config demo/bizoope.yaml
has err.txt "demo/bizoope.yaml: site 'nagoya' is already listed"
expect 1 "$bz" sites add NAGOYA --config demo/bizoope.yaml
expect 2 "$bz" sites add 'a b' --config demo/bizoope.yaml
expect 2 "$bz" sites add nara
has err.txt "--config FILE is required"
cmp -s before.yaml demo/bizoope.yaml || fail "a refused sites add changed the file"
expect 0 "$bz" sites add --help
has out.txt "usage: bizoope sites add ID --config FILE"

# ---- sites list ------------------------------------------------------------------------------
expect 0 "$bz" sites list --config demo/bizoope.yaml
printf 'tokyo\nosaka\nnagoya\n' >want.txt
cmp -s out.txt want.txt || { cat out.txt >&2; fail "sites list"; }
expect 0 "$bz" sites list --config demo/bizoope.yaml --json
cat >want.json <<EOF
{"config":"$real/bizoope.yaml","sites":[{"id":"tokyo","inbox":"$real/inbox/tokyo","outbox":"$real/outbox/tokyo","paused":false,"encoding":"utf-8","header":"none"},{"id":"osaka","inbox":"$real/inbox/osaka","outbox":"$real/outbox/osaka","paused":false,"encoding":"utf-8","header":"none"},{"id":"nagoya","inbox":"$real/inbox/nagoya","outbox":"$real/outbox/nagoya","paused":false,"encoding":"utf-8","header":"none"}]}
EOF
cmp -s out.txt want.json || { cat out.txt >&2; fail "sites list --json"; }
if command -v jq >/dev/null; then
    [ "$(jq -r '.sites | map(.id) | join(",")' out.txt)" = "tokyo,osaka,nagoya" ] || fail "jq"
fi
expect 2 "$bz" sites
expect 2 "$bz" sites remove x --config demo/bizoope.yaml
expect 0 "$bz" sites list --help

# ---- broken configurations: file:line and what is wrong --------------------------------------
cp demo/bizoope.yaml broken.yaml
sed -i 's/^shard_size: 64MiB$/shard_size: 64 megabytes/' broken.yaml
line=$(grep -n '^shard_size:' broken.yaml | cut -d: -f1)
expect 1 "$bz" sites list --config broken.yaml
has err.txt "bizoope sites list: broken.yaml:$line: shard_size: unknown unit in '64 megabytes'"
expect 1 "$bz" sites add kobe --config broken.yaml
has err.txt "broken.yaml:$line: shard_size:"

printf 'version: 1\nsites:\n  - a\nwarehouse:\n  backend: sqlite\n  size: 1G\n' >typo.yaml
expect 1 "$bz" sites list --config typo.yaml
has err.txt "typo.yaml:6: unknown key 'size' in warehouse (valid keys: backend, path, cache, project, dataset, work_dataset, location, work_table_expiration, key_file, bigquery_api, storage_write_api, token_uri, metadata_url)"

printf 'version: 1\nsites: [a, b]\n' >flow.yaml
expect 1 "$bz" sites add c --config flow.yaml
has err.txt "flow.yaml:2: cannot add 'c' safely: the site list is written as a flow list"
expect 1 "$bz" sites list --config missing.yaml
has err.txt "missing.yaml: cannot open: No such file or directory"

# ---- --json on the commands that report --------------------------------------------------------
expect 0 "$bz" init jsoninst --site a --json
[ "$(python3 -c 'import json,sys; o=json.load(open("out.txt")); print(o["config"].endswith("jsoninst/bizoope.yaml"), len(o["created"]), o["kept"], o["next"].startswith("bizoope run --config "))')" = "True 10 [] True" ] \
    || { cat out.txt >&2; fail "init --json"; }
expect 1 "$bz" init jsoninst --site a --json
has out.txt '"error":"'
has out.txt 'already exists; not overwriting it'
expect 0 "$bz" sites add b --config jsoninst/bizoope.yaml --json
has out.txt '{"added":"b","config":"jsoninst/bizoope.yaml","created":["'
expect 1 "$bz" sites add b --config jsoninst/bizoope.yaml --json
has out.txt '"added":null'
has out.txt "site 'b' is already listed"
expect 0 "$bz" archive --config jsoninst/bizoope.yaml --json
has out.txt '{"archived":0,"error":null}'

# ---- bash completion (deploy/completion/bizoope.bash) reads the commands and options from --help
got=$(PATH="$(dirname "$bz"):$PATH" bash -c '. "$1/deploy/completion/bizoope.bash"
    COMP_WORDS=(bizoope va); COMP_CWORD=1; _bizoope; echo "${COMPREPLY[*]}"
    COMP_WORDS=(bizoope validate --enc); COMP_CWORD=2; _bizoope; echo "${COMPREPLY[*]}"
    COMP_WORDS=(bizoope-worker --ver); COMP_CWORD=1; _bizoope; echo "${COMPREPLY[*]}"' _ "$src")
[ "$got" = "$(printf 'validate\n--encoding\n--version')" ] || { echo "$got" >&2; fail "completion"; }

echo "init_sites: ok"
