#!/usr/bin/env bash
# `make demo`: the seed's multi-device scenario across real processes (a
# relay and three devices, examples/devices: the phone owns `bugs`, sealed,
# and shares it; the tablet and the laptop join it), then the bug tracker
# through the C++ embedding API (bug_tracker: two nodes in one process) and
# the `blazedb` CLI (a database it creates is owned by the node and sealed).
set -euo pipefail
build=${1:-build}
cli="$build/examples/blazedb"
echo "=== three devices and a relay, each its own process, syncing over TCP ==="
"$build/examples/devices/devices" demo --blazedb "$cli"

echo
echo "=== two nodes in one process, synced by hand (the embedding API) ==="
"$build/examples/bug_tracker/bug_tracker"

echo
echo "--- the same through the blazedb CLI ---"
data=$(mktemp -d /tmp/blazedb-demo.XXXXXX)
trap 'rm -rf "$data"' EXIT
run() { echo "\$ blazedb $*" >&2; "$cli" --data "$data" --db bugs "$@"; }
id=$(run put bugs title='"Login fails"' status=open priority=1)
echo "$id"
run put bugs title='Crash on empty cart' status=open priority=2 >/dev/null
run inc bugs "$id" votes 3
run add bugs "$id" tags '"auth"'
run put bugs --id "$id" status=in-progress
run index bugs priority
run query bugs --where-op priority:le:1 --order priority --explain
run get bugs "$id"
run del bugs "$id"
run get bugs "$id" || echo "(exit $? : deleted records are gone)"
run status
