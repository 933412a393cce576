#!/usr/bin/env bash
# run-compare.sh: the load tool's regression check (make bench-compare).
#
# Builds pimvault at BASE (a git revision, in a temporary worktree) and at
# the working tree, then runs the same load against each ROUNDS times,
# interleaved (base, head, head, base, …) so that a change in the machine's
# load hits both sides alike, and compares the medians with
# `pvload compare`. It fails when a figure got worse by more than
# TOLERANCE percent (GATE=steady: only the server's CPU per request and
# memory can fail it; latencies and rates are still shown. Use it when other
# work shares the machine, which moves latencies by tens of percent.)
#
# Settings (environment): BASE (required, e.g. a tag or the last landed
# commit), ROUNDS (2), TOLERANCE (25), KIND (server: run-bench.sh with
# CONTACTS 2000, SIZES 1000,10000, SCENARIOS all,calendar unless set;
# mixed: run-mixed.sh with DURATION 20s unless set), OUT (a folder to keep
# the JSON reports in; default a temporary one, removed).
set -euo pipefail
cd "$(dirname "$0")/../.."

GO=${GO:-go}
BASE=${BASE:?set BASE to the git revision to compare against, e.g. BASE=HEAD~5}
ROUNDS=${ROUNDS:-2}
TOLERANCE=${TOLERANCE:-25}
GATE=${GATE:-all}
KIND=${KIND:-server}
case "$KIND" in
server)
	script=cmd/pvload/run-bench.sh
	export CONTACTS=${CONTACTS:-2000} SIZES=${SIZES:-1000,10000} SCENARIOS=${SCENARIOS:-all,calendar} ;;
mixed)
	script=cmd/pvload/run-mixed.sh
	export DURATION=${DURATION:-20s} ;;
*) echo "run-compare: KIND must be server or mixed, not $KIND" >&2; exit 2 ;;
esac
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "run-compare: ROUNDS must be a positive number" >&2; exit 2 ;; esac

rev=$(git rev-parse --verify -q "$BASE^{commit}") || { echo "run-compare: $BASE is not a commit here" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pimvault-compare.XXXXXX")
out=${OUT:-$work/reports}
mkdir -p "$out"
cleanup() {
	git worktree remove --force "$work/base" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run-compare: base $BASE ($rev), head the working tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', with changes'))" >&2
git worktree add --detach -q "$work/base" "$rev"
(cd "$work/base" && "$GO" build -o "$work/pimvault-base" ./cmd/pimvault)
"$GO" build -o "$work/pimvault-head" ./cmd/pimvault

one() { # one SIDE ROUND
	local side=$1 r=$2
	echo "run-compare: round $r, $side; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	if [ "$KIND" = mixed ]; then
		PIMVAULT_BIN="$work/pimvault-$side" bash "$script" --json >"$out/$side-$r.json"
	else
		PIMVAULT_BIN="$work/pimvault-$side" JSON_OUT="$out/$side-$r.json" bash "$script" >/dev/null
	fi
}
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then one base "$r"; one head "$r"; else one head "$r"; one base "$r"; fi
done

list() { local side=$1; seq 1 "$ROUNDS" | sed "s|.*|$out/$side-&.json|" | paste -sd, -; }
"$GO" build -o bin/pvload ./cmd/pvload
bin/pvload compare --base "$(list base)" --head "$(list head)" --tolerance "$TOLERANCE" --gate "$GATE"
