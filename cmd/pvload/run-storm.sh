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

# shellcheck source=cmd/pvload/serve-lib.sh
. cmd/pvload/serve-lib.sh
bench_setup run-storm

# shellcheck disable=SC2086
start_server --access-log=false $SERVE_FLAGS
make_accounts phone "$ACCOUNTS"
bin/pvload storm setup --url "http://$addr" --accounts "$tmp/accounts.json"
stop_server

# shellcheck disable=SC2086
start_server --access-log=false $SERVE_FLAGS
echo "run-storm: pimvault (pid $server_pid) on http://$addr restarted; $(machine_line)" >&2
echo "run-storm: load before: $(uptime)" >&2
echo "run-storm: bin/pvload storm run --url http://$addr --accounts … --clients $CLIENTS --pid $server_pid $*" >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bin/pvload storm run --url "http://$addr" --accounts "$tmp/accounts.json" --clients "$CLIENTS" --deadline "$DEADLINE" --pid "$server_pid" "$@"
echo "run-storm: load after: $(uptime)" >&2
stop_server
check_server_log
