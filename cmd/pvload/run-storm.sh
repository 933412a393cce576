#!/usr/bin/env bash
# run-storm.sh: the reconnect storm (make bench-storm).
#
# Builds bin/pimvault and bin/pvload, starts `pimvault serve` on a temporary
# data directory, creates ACCOUNTS accounts through the admin socket, gives
# each 40 contacts, the sync-token a phone would hold, and 10 more contacts
# (pvload storm setup), restarts the server with SIGTERM (so no credential
# is cached), then starts CLIENTS phones at once (pvload storm run): each
# does PROPFIND Depth 1, sync-collection with its old token and a multiget
# of the changes, honouring 503/429 Retry-After with jitter.
#
# Settings (environment): ACCOUNTS (200), CLIENTS (10000), DEADLINE (10m),
# SERVE_FLAGS (extra flags for pimvault serve). Extra arguments go to
# pvload storm run.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
ACCOUNTS=${ACCOUNTS:-200}
CLIENTS=${CLIENTS:-10000}
DEADLINE=${DEADLINE:-10m}
SERVE_FLAGS=${SERVE_FLAGS:-}

"$GO" build -o bin/pimvault ./cmd/pimvault
"$GO" build -o bin/pvload ./cmd/pvload

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pimvault-storm.XXXXXX")
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

start_server() {
	# shellcheck disable=SC2086
	bin/pimvault serve --init --addr "127.0.0.1:${port:-0}" --data "$tmp/data" --user admin --access-log=false $SERVE_FLAGS \
		>"$tmp/serve.out" 2>"$tmp/serve.log" &
	server_pid=$!
	addr=""
	for _ in $(seq 1 300); do
		addr=$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$tmp/serve.log" | head -n1)
		[ -n "$addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "run-storm: the server did not start" >&2; exit 1; }
		sleep 0.1
	done
	[ -n "$addr" ] || { echo "run-storm: the server did not listen within 30 s" >&2; exit 1; }
	port=${addr##*:}
}

stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid" || { cat "$tmp/serve.log" >&2; echo "run-storm: unclean exit after SIGTERM" >&2; exit 1; }
	server_pid=""
}

start_server
umask 077
echo "run-storm: creating $ACCOUNTS accounts" >&2
{
	echo "["
	for i in $(seq 1 "$ACCOUNTS"); do
		name=$(printf 'phone%04d' "$i")
		pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
		printf '%s\n' "$pw" | bin/pimvault user add "$name" --password-stdin --data "$tmp/data" >/dev/null
		sep=","; [ "$i" = "$ACCOUNTS" ] && sep=""
		printf '{"name":"%s","password":"%s"}%s\n' "$name" "$pw" "$sep"
	done
	echo "]"
} >"$tmp/accounts.json"
bin/pvload storm setup --url "http://$addr" --accounts "$tmp/accounts.json"
stop_server

start_server
echo "run-storm: pimvault (pid $server_pid) on http://$addr restarted; $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $("$GO" version)" >&2
echo "run-storm: load before: $(uptime)" >&2
echo "run-storm: bin/pvload storm run --url http://$addr --accounts … --clients $CLIENTS --pid $server_pid $*" >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bin/pvload storm run --url "http://$addr" --accounts "$tmp/accounts.json" --clients "$CLIENTS" --deadline "$DEADLINE" --pid "$server_pid" "$@"
echo "run-storm: load after: $(uptime)" >&2
stop_server
if grep -q 'level=ERROR' "$tmp/serve.log"; then
	grep 'level=ERROR' "$tmp/serve.log" | head -n 20 >&2
	echo "run-storm: the server logged errors" >&2
	exit 1
fi
echo "run-storm: server stopped cleanly" >&2
