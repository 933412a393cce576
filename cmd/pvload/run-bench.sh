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

"$GO" build -o bin/pimvault ./cmd/pimvault
"$GO" build -o bin/pvload ./cmd/pvload

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pimvault-bench.XXXXXX")
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: the server picks one (:0) and logs it.
bin/pimvault serve --init --addr 127.0.0.1:0 --data "$tmp/data" --user admin >"$tmp/serve.out" 2>"$tmp/serve.log" &
server_pid=$!
addr=""
for _ in $(seq 1 300); do
	addr=$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$tmp/serve.log" | head -n1)
	[ -n "$addr" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "run-bench: the server did not start" >&2; exit 1; }
	sleep 0.1
done
[ -n "$addr" ] || { cat "$tmp/serve.log" >&2; echo "run-bench: the server did not listen within 30 s" >&2; exit 1; }

# The account, through the admin socket of the running server.
umask 077
head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$tmp/password"
echo >>"$tmp/password"
bin/pimvault user add bench --password-stdin --data "$tmp/data" <"$tmp/password" >/dev/null

echo "run-bench: pimvault (pid $server_pid) on http://$addr, data in $tmp/data" >&2
echo "run-bench: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $("$GO" version)" >&2
args=(--url "http://$addr" --user bench --password-file "$tmp/password" --scenario "$SCENARIOS"
	--contacts "$CONTACTS" --concurrency "$CONCURRENCY" --sizes "$SIZES" --timeout "$TIMEOUT" --pid "$server_pid")
echo "run-bench: bin/pvload ${args[*]} $*" >&2
if [ -n "$JSON_OUT" ]; then
	bin/pvload "${args[@]}" --json "$@" >"$JSON_OUT"
else
	bin/pvload "${args[@]}" "$@"
fi

# Stop it as an operator would; a clean exit means everything acknowledged
# is on disk.
kill -TERM "$server_pid"
if ! wait "$server_pid"; then
	cat "$tmp/serve.log" >&2
	echo "run-bench: the server did not exit cleanly after SIGTERM" >&2
	exit 1
fi
server_pid=""
if grep -q 'level=ERROR' "$tmp/serve.log"; then
	grep 'level=ERROR' "$tmp/serve.log" | head -n 20 >&2
	echo "run-bench: the server logged errors" >&2
	exit 1
fi
echo "run-bench: server stopped cleanly" >&2
