#!/usr/bin/env bash
# run-bench.sh: the server benchmark over HTTP (make bench-server).
#
# Builds bin/pimvault and bin/pvload, starts `pimvault serve` on a temporary
# data directory and a free loopback port, creates the account "bench"
# through the admin socket, runs pvload (all scenarios, with the server's pid
# for its memory), stops the server with SIGTERM and removes the directory.
#
# Settings (environment): CONTACTS (10000), CONCURRENCY (8),
# SIZES (1000,10000,50000), SCENARIOS (all,calendar: the CardDAV scenarios
# and the CalDAV one), TIMEOUT (10m), JSON_OUT (also write the
# JSON report to this file). Extra arguments are passed to pvload.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
CONTACTS=${CONTACTS:-10000}
CONCURRENCY=${CONCURRENCY:-8}
SIZES=${SIZES:-1000,10000,50000}
SCENARIOS=${SCENARIOS:-all,calendar}
TIMEOUT=${TIMEOUT:-10m}
JSON_OUT=${JSON_OUT:-}

# shellcheck source=cmd/pvload/serve-lib.sh
. cmd/pvload/serve-lib.sh
bench_setup run-bench
start_server

# The account, through the admin socket of the running server.
umask 077
head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$tmp/password"
echo >>"$tmp/password"
"$PV" user add bench --password-stdin --data "$tmp/data" <"$tmp/password" >/dev/null

echo "run-bench: pimvault (pid $server_pid) on http://$addr, data in $tmp/data" >&2
echo "run-bench: $(machine_line)" >&2
args=(--url "http://$addr" --user bench --password-file "$tmp/password" --scenario "$SCENARIOS"
	--contacts "$CONTACTS" --concurrency "$CONCURRENCY" --sizes "$SIZES" --timeout "$TIMEOUT" --pid "$server_pid")
echo "run-bench: bin/pvload ${args[*]} $*" >&2
if [ -n "$JSON_OUT" ]; then
	bin/pvload "${args[@]}" --json "$@" >"$JSON_OUT"
else
	bin/pvload "${args[@]}" "$@"
fi
stop_server
check_server_log
