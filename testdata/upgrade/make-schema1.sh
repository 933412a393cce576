#!/bin/sh
# Writes schema1.tar.gz: a small pimvault data directory as pimvault 0.1.0
# wrote it (store.db schema 1, journal format 1, IDENTITY format 1), with a
# user, a few contacts and an event, one verified snapshot and the journal
# after it, and schema1.status: the store id, head and state hash that
# pimvault printed for it. cmd/pimvault's upgrade test unpacks it, upgrades
# it and checks the state hash stays the one in schema1.status.
#
# usage: make-schema1.sh PIMVAULT-0.1.0-BINARY OUT.tar.gz
#
# The binary must write schema 1: build it from the last commit before
# store.db schema 2, e.g.
#   git worktree add /tmp/pv-0.1 e185861 && (cd /tmp/pv-0.1 && go build -o /tmp/pimvault-0.1 ./cmd/pimvault)
#   sh testdata/upgrade/make-schema1.sh /tmp/pimvault-0.1 testdata/upgrade/schema1.tar.gz
set -eu
bin=$1
out=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
d=$tmp/data
pid=
"$bin" serve --data "$d" --addr 127.0.0.1:0 --user admin >"$tmp/serve.out" 2>&1 &
pid=$!
i=0
until grep -q 'msg=serving' "$tmp/serve.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 200 ]; then cat "$tmp/serve.out" >&2; exit 1; fi
	sleep 0.05
done
kill -TERM "$pid"
wait "$pid" || true
pid=
echo 'alice-password-1' | "$bin" user add alice --password-stdin --data "$d"
for n in 1 2 3 4 5 6; do
	printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:fixture-%s\r\nFN:Fixture Person %s\r\nTEL:+4930000%s\r\nEND:VCARD\r\n' $n $n $n
done >"$tmp/contacts.vcf"
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fixture//EN\r\nBEGIN:VEVENT\r\nUID:fixture-event-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:Fixture meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$tmp/calendar.ics"
"$bin" import --user alice --data "$d" "$tmp/contacts.vcf"
"$bin" backup --data "$d"
"$bin" import --user alice --data "$d" "$tmp/calendar.ics"
"$bin" verify --data "$d"
"$bin" status --data "$d" | grep -E '^(store id|head sequence|state hash):' >"${out%.tar.gz}.status"
tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$out" data
ls -l "$out"
