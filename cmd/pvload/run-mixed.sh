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

# shellcheck source=cmd/pvload/serve-lib.sh
. cmd/pvload/serve-lib.sh
bench_setup run-mixed

# shellcheck disable=SC2086
start_server --access-log=false $SERVE_FLAGS
make_accounts mixed "$ACCOUNTS"

echo "run-mixed: pimvault (pid $server_pid) on http://$addr; $(machine_line)" >&2
echo "run-mixed: load before: $(uptime)" >&2
echo "run-mixed: bin/pvload mixed --url http://$addr --accounts … --clients $CLIENTS --duration $DURATION --contacts $CONTACTS --events $EVENTS --pause $PAUSE --pid $server_pid $*" >&2
bin/pvload mixed --url "http://$addr" --accounts "$tmp/accounts.json" --clients "$CLIENTS" --duration "$DURATION" \
	--contacts "$CONTACTS" --events "$EVENTS" --pause "$PAUSE" --pid "$server_pid" "$@"
echo "run-mixed: load after: $(uptime)" >&2
stop_server
check_server_log
