# serve-lib.sh: what run-bench.sh, run-storm.sh and run-mixed.sh share, sourced
# by them from the repository root: build the binaries, serve a temporary data
# directory on a free loopback port, create accounts, stop the server cleanly.
# Sets tmp, server_pid, addr and port. PIMVAULT_BIN names another pimvault
# binary to serve (run-compare.sh's base build); then only pvload is built.

# bench_setup NAME: builds bin/pimvault and bin/pvload and makes the temporary
# directory, removed (with the server stopped) when the script exits.
bench_setup() {
	NAME=$1
	PV=${PIMVAULT_BIN:-bin/pimvault}
	[ -n "${PIMVAULT_BIN:-}" ] || "$GO" build -o bin/pimvault ./cmd/pimvault
	"$GO" build -o bin/pvload ./cmd/pvload
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pimvault-$NAME.XXXXXX")
	server_pid=""
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}

# start_server [SERVE FLAGS…]: serves $tmp/data (created with --init and the
# user admin the first time) on 127.0.0.1:$port (a free one until the first
# start picked it) and waits until it logs that it serves.
start_server() {
	# Builds before `serve --init` existed created a missing store unasked.
	# (The help is read whole first: with pipefail, grep -q leaving early
	# would fail the pipeline by the SIGPIPE it gives the writer.)
	local init=--init help
	help=$("$PV" serve --help 2>&1 || true)
	grep -q -- '-init$' <<<"$help" || init=
	# shellcheck disable=SC2086
	"$PV" serve $init --addr "127.0.0.1:${port:-0}" --data "$tmp/data" --user admin "$@" \
		>"$tmp/serve.out" 2>"$tmp/serve.log" &
	server_pid=$!
	addr=""
	for _ in $(seq 1 300); do
		addr=$(sed -n 's/.*msg=serving addr=\([^ ]*\).*/\1/p' "$tmp/serve.log" | head -n1)
		[ -n "$addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "$NAME: the server did not start" >&2; exit 1; }
		sleep 0.1
	done
	[ -n "$addr" ] || { cat "$tmp/serve.log" >&2; echo "$NAME: the server did not listen within 30 s" >&2; exit 1; }
	port=${addr##*:}
}

# stop_server: SIGTERM, as an operator would; a clean exit means everything
# acknowledged is on disk.
stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid" || { cat "$tmp/serve.log" >&2; echo "$NAME: unclean exit after SIGTERM" >&2; exit 1; }
	server_pid=""
}

# check_server_log: fails the run if the server logged an error.
check_server_log() {
	if grep -q 'level=ERROR' "$tmp/serve.log"; then
		grep 'level=ERROR' "$tmp/serve.log" | head -n 20 >&2
		echo "$NAME: the server logged errors" >&2
		exit 1
	fi
	echo "$NAME: server stopped cleanly" >&2
}

# make_accounts PREFIX COUNT: creates PREFIX0001… through the admin socket of
# the running server, with random passwords, listed as JSON in
# $tmp/accounts.json (pvload's --accounts).
make_accounts() {
	local prefix=$1 count=$2 i name pw sep
	umask 077
	echo "$NAME: creating $count accounts" >&2
	{
		echo "["
		for i in $(seq 1 "$count"); do
			name=$(printf '%s%04d' "$prefix" "$i")
			pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
			printf '%s\n' "$pw" | "$PV" user add "$name" --password-stdin --data "$tmp/data" >/dev/null
			sep=","; [ "$i" = "$count" ] && sep=""
			printf '{"name":"%s","password":"%s"}%s\n' "$name" "$pw" "$sep"
		done
		echo "]"
	} >"$tmp/accounts.json"
}

# machine_line: cores, CPU model and Go version, for the figures' context.
machine_line() {
	echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $("$GO" version)"
}
