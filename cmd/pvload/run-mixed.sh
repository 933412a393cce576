#!/usr/bin/env bash
# run-mixed.sh: the steady mixed load (make bench-mixed).
#
# Builds bin/pimvault and bin/pvload, starts `pimvault serve` on a temporary
# data directory, creates ACCOUNTS accounts with `pimvault user add`, then
# runs pvload mixed: each account gets CONTACTS contacts and EVENTS events,
# then CLIENTS phones loop for DURATION over PROPFIND Depth 1,
# sync-collection, PUT, addressbook-multiget and a one-month
# calendar-query. The server's VmRSS/VmHWM are read after the prefill and
# after the run.
#
# Settings (environment): ACCOUNTS (50), CLIENTS (32), DURATION (30s),
# CONTACTS (200), EVENTS (50), PAUSE (0s: each phone's wait between two
# sync cycles; 0 is back to back, a saturating load), SERVE_FLAGS (extra flags for pimvault serve).
# Extra arguments go to pvload mixed.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
ACCOUNTS=${ACCOUNTS:-50}
CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-30s}
CONTACTS=${CONTACTS:-200}
EVENTS=${EVENTS:-50}
PAUSE=${PAUSE:-0s}
SERVE_FLAGS=${SERVE_FLAGS:-}

"$GO" build -o bin/pimvault ./cmd/pimvault
"$GO" build -o bin/pvload ./cmd/pvload

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pimvault-mixed.XXXXXX")
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

# shellcheck disable=SC2086
bin/pimvault serve --init --addr 127.0.0.1:0 --data "$tmp/data" --user admin --access-log=false $SERVE_FLAGS \
	>"$tmp/serve.out" 2>"$tmp/serve.log" &
server_pid=$!
addr=""
for _ in $(seq 1 300); do
	addr=$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$tmp/serve.log" | head -n1)
	[ -n "$addr" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "run-mixed: the server did not start" >&2; exit 1; }
	sleep 0.1
done
[ -n "$addr" ] || { echo "run-mixed: the server did not listen within 30 s" >&2; exit 1; }

umask 077
echo "run-mixed: creating $ACCOUNTS accounts" >&2
{
	echo "["
	for i in $(seq 1 "$ACCOUNTS"); do
		name=$(printf 'mixed%04d' "$i")
		pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
		printf '%s\n' "$pw" | bin/pimvault user add "$name" --password-stdin --data "$tmp/data" >/dev/null
		sep=","; [ "$i" = "$ACCOUNTS" ] && sep=""
		printf '{"name":"%s","password":"%s"}%s\n' "$name" "$pw" "$sep"
	done
	echo "]"
} >"$tmp/accounts.json"

echo "run-mixed: pimvault (pid $server_pid) on http://$addr; $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $("$GO" version)" >&2
echo "run-mixed: load before: $(uptime)" >&2
echo "run-mixed: bin/pvload mixed --url http://$addr --accounts … --clients $CLIENTS --duration $DURATION --contacts $CONTACTS --events $EVENTS --pause $PAUSE --pid $server_pid $*" >&2
bin/pvload mixed --url "http://$addr" --accounts "$tmp/accounts.json" --clients "$CLIENTS" --duration "$DURATION" \
	--contacts "$CONTACTS" --events "$EVENTS" --pause "$PAUSE" --pid "$server_pid" "$@"
echo "run-mixed: load after: $(uptime)" >&2
kill -TERM "$server_pid"
wait "$server_pid" || { cat "$tmp/serve.log" >&2; echo "run-mixed: unclean exit after SIGTERM" >&2; exit 1; }
server_pid=""
if grep -q 'level=ERROR' "$tmp/serve.log"; then
	grep 'level=ERROR' "$tmp/serve.log" | head -n 20 >&2
	echo "run-mixed: the server logged errors" >&2
	exit 1
fi
echo "run-mixed: server stopped cleanly" >&2
