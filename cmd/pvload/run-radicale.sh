#!/usr/bin/env bash
# run-radicale.sh: the same load against Radicale 3 from Debian's radicale
# package, side by side with pimvault (make bench-radicale).
#
# Starts `radicale` on 127.0.0.1:5234 with a temporary configuration: storage
# multifilesystem in a temporary folder (Radicale's defaults otherwise,
# fsync included), htpasswd authentication with a file made here, rights
# owner_only. Creates the address book with an extended MKCOL, runs pvload
# (smaller sizes: Radicale is slow), stops Radicale with SIGTERM and removes
# the folder.
#
# Settings (environment): PORT (5234), CONTACTS (1000), CONCURRENCY (8),
# SIZES (1000), SYNC_REPEATS (50), FIRSTSYNC_REPEATS (3), TIMEOUT (30m),
# HTPASSWD_ENCRYPTION (md5: Debian's default and htpasswd's; or plain, or
# bcrypt when python3-bcrypt is installed), BIG (10000: the size of the
# second part, firstsync and sync on a book written as files; 0 skips it),
# BIG_PUTS (200: PUTs into that book afterwards), CAL_EVENTS (1000: the
# calendar scenario with that many events and CAL_REPEATS (20)
# reports of each kind; 0 skips it), JSON_OUT (also write the JSON reports
# to this file, *-big.json, *-bigput.json and *-calendar.json).
# Extra arguments are passed to pvload.
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
PORT=${PORT:-5234}
CONTACTS=${CONTACTS:-1000}
CONCURRENCY=${CONCURRENCY:-8}
SIZES=${SIZES:-1000}
SYNC_REPEATS=${SYNC_REPEATS:-50}
FIRSTSYNC_REPEATS=${FIRSTSYNC_REPEATS:-3}
TIMEOUT=${TIMEOUT:-30m}
HTPASSWD_ENCRYPTION=${HTPASSWD_ENCRYPTION:-md5}
JSON_OUT=${JSON_OUT:-}
BIG=${BIG:-10000}
BIG_PUTS=${BIG_PUTS:-200}
CAL_EVENTS=${CAL_EVENTS:-1000}
CAL_REPEATS=${CAL_REPEATS:-20}

if ! command -v radicale >/dev/null; then
	echo "run-radicale: radicale is not installed; on Debian: apt-get update && apt-get install -y radicale apache2-utils" >&2
	exit 1
fi
if ! command -v htpasswd >/dev/null && [ "$HTPASSWD_ENCRYPTION" != plain ]; then
	echo "run-radicale: htpasswd is missing (apt-get install -y apache2-utils), or use HTPASSWD_ENCRYPTION=plain" >&2
	exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	echo "run-radicale: 127.0.0.1:$PORT is in use; set PORT" >&2
	exit 1
fi

"$GO" build -o bin/pvload ./cmd/pvload

tmp=$(mktemp -d "${TMPDIR:-/tmp}/radicale-bench.XXXXXX")
radicale_pid=""
cleanup() {
	if [ -n "$radicale_pid" ] && kill -0 "$radicale_pid" 2>/dev/null; then
		kill -TERM "$radicale_pid" 2>/dev/null || true
		wait "$radicale_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

umask 077
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
printf '%s\n' "$password" >"$tmp/password"
case "$HTPASSWD_ENCRYPTION" in
plain) printf 'bench:%s\n' "$password" >"$tmp/users" ;;
md5) htpasswd -b -c -m "$tmp/users" bench "$password" 2>/dev/null ;;
bcrypt) htpasswd -b -c -B "$tmp/users" bench "$password" 2>/dev/null ;;
*)
	echo "run-radicale: HTPASSWD_ENCRYPTION must be md5, plain or bcrypt" >&2
	exit 1
	;;
esac

cat >"$tmp/config" <<EOF
[server]
hosts = 127.0.0.1:$PORT

[auth]
type = htpasswd
htpasswd_filename = $tmp/users
htpasswd_encryption = $HTPASSWD_ENCRYPTION

[rights]
type = owner_only

[storage]
type = multifilesystem
filesystem_folder = $tmp/collections

[web]
type = none

[logging]
level = warning
EOF

radicale --config "$tmp/config" >"$tmp/radicale.log" 2>&1 &
radicale_pid=$!
ready=""
for _ in $(seq 1 300); do
	if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
		ready=1
		break
	fi
	kill -0 "$radicale_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || { cat "$tmp/radicale.log" >&2; echo "run-radicale: radicale did not start" >&2; exit 1; }

# An address book, with an extended MKCOL (RFC 5689).
mkcol() {
	local code
	code=$(curl -s -o "$tmp/mkcol.out" -w '%{http_code}' --max-time 60 -u "bench:$password" -X MKCOL \
		-H 'Content-Type: application/xml; charset=utf-8' \
		--data '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Contacts</D:displayname></D:prop></D:set></D:mkcol>' \
		"http://127.0.0.1:$PORT$1")
	[ "$code" = 201 ] || { cat "$tmp/mkcol.out" "$tmp/radicale.log" >&2; echo "run-radicale: MKCOL $1 answered $code" >&2; exit 1; }
}
mkcol /bench/contacts/

echo "run-radicale: $(radicale --version 2>&1 | head -n1) (pid $radicale_pid) on http://127.0.0.1:$PORT, htpasswd $HTPASSWD_ENCRYPTION, storage in $tmp/collections" >&2
args=(--url "http://127.0.0.1:$PORT" --user bench --password-file "$tmp/password" --scenario all
	--contacts "$CONTACTS" --concurrency "$CONCURRENCY" --sizes "$SIZES" --sync-repeats "$SYNC_REPEATS"
	--firstsync-repeats "$FIRSTSYNC_REPEATS" --timeout "$TIMEOUT" --request-timeout 10m --pid "$radicale_pid")
echo "run-radicale: bin/pvload ${args[*]} $*" >&2
if [ -n "$JSON_OUT" ]; then
	bin/pvload "${args[@]}" --json "$@" >"$JSON_OUT"
else
	bin/pvload "${args[@]}" "$@"
fi

# Part 2: a book of BIG contacts. Radicale's PUTs slow down as the book
# grows, so 10,000 PUTs would take hours; the contacts are written as files
# into the collections' folders instead (multifilesystem keeps one file per
# contact, named by its href), and Radicale reads them on the first request
# (a cold first sync, then warm ones). Then firstsync, and sync at BIG.
if [ "$BIG" -gt 0 ]; then
	mkcol /bench/big/
	mkcol /bench/sync-big/
	root="$tmp/collections/collection-root/bench"
	[ -d "$root/big" ] && [ -d "$root/sync-big" ] || { echo "run-radicale: no collection folders under $root" >&2; exit 1; }
	bin/pvload --write-vcf "$root/big" --write-book main --contacts "$BIG"
	bin/pvload --write-vcf "$root/sync-big" --write-book sync --contacts "$BIG"
	args=(--url "http://127.0.0.1:$PORT" --user bench --password-file "$tmp/password" --scenario firstsync,sync
		--book /bench/big/ --sync-book /bench/sync-big/ --contacts "$BIG" --concurrency "$CONCURRENCY" --sizes "$BIG"
		--sync-repeats "$SYNC_REPEATS" --firstsync-repeats "$FIRSTSYNC_REPEATS" --timeout "$TIMEOUT"
		--request-timeout 10m --pid "$radicale_pid")
	echo "run-radicale: bin/pvload ${args[*]} $*" >&2
	if [ -n "$JSON_OUT" ]; then
		bin/pvload "${args[@]}" --json "$@" >"${JSON_OUT%.json}-big.json"
	else
		bin/pvload "${args[@]}" "$@"
	fi
	# Part 3: PUT rate into the book of BIG contacts (Radicale's PUT cost
	# grows with the size of the book).
	if [ "$BIG_PUTS" -gt 0 ]; then
		args=(--url "http://127.0.0.1:$PORT" --user bench --password-file "$tmp/password" --scenario put
			--book /bench/big/ --contacts "$BIG_PUTS" --concurrency "$CONCURRENCY" --timeout "$TIMEOUT"
			--request-timeout 10m --pid "$radicale_pid")
		echo "run-radicale: bin/pvload ${args[*]} $*" >&2
		if [ -n "$JSON_OUT" ]; then
			bin/pvload "${args[@]}" --json "$@" >"${JSON_OUT%.json}-bigput.json"
		else
			bin/pvload "${args[@]}" "$@"
		fi
	fi
fi

# Part 4: the calendar scenario (MKCALENDAR, PUT of events, one-month
# calendar-query, answers checked). Radicale 3.1 answers expand with the
# unexpanded object, so that half is skipped.
if [ "$CAL_EVENTS" -gt 0 ]; then
	args=(--url "http://127.0.0.1:$PORT" --user bench --password-file "$tmp/password" --scenario calendar
		--book /bench/contacts/ --events "$CAL_EVENTS" --query-repeats "$CAL_REPEATS" --no-expand --concurrency "$CONCURRENCY"
		--timeout "$TIMEOUT" --request-timeout 10m --pid "$radicale_pid")
	echo "run-radicale: bin/pvload ${args[*]} $*" >&2
	if [ -n "$JSON_OUT" ]; then
		bin/pvload "${args[@]}" --json "$@" >"${JSON_OUT%.json}-calendar.json"
	else
		bin/pvload "${args[@]}" "$@"
	fi
fi

kill -TERM "$radicale_pid"
wait "$radicale_pid" || true # Radicale's exit status after SIGTERM is not meaningful
radicale_pid=""
echo "run-radicale: radicale stopped" >&2
