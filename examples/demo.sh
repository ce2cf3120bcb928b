#!/usr/bin/env bash
# `make demo`: the seed's bug tracker on one node, first through the C++
# embedding API (bug_tracker), then through the `blazedb` CLI.
set -euo pipefail
build=${1:-build}
cli="$build/examples/blazedb"
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
