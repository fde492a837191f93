#!/usr/bin/env bash
# Chorus's linearizability checker against the latest Porcupine, both on one
# core (taskset -c 0; GOMAXPROCS=1 for Go), on the same Jepsen etcd histories
# (and the kv ones). See Scripts/bench-porcupine.md for what is measured.
#
# Usage: Scripts/bench-porcupine.sh [RUNS=5]
#   PORCUPINE_CHECKOUT (default /tmp/porcupine-latest)  a git checkout of github.com/anishathalye/porcupine;
#                        the script adds one test file to it (our timing harness) and never copies Porcupine here
#   CHORUS_SHARED_DATA (default ../shared/data)         the 52 etcd histories and 4 kv histories
#   PORCUPINE_BENCH_C50=1                               also time Porcupine's two 50-client kv histories
#   PORCUPINE_BENCH_TIMEOUT (default 300)               the time bound on one checker process
# Needs: swift build -c release --product chorus; Debian's golang-go (installed when missing).
#
# Prints, per run and file set, one line per checker:
#   checker=porcupine|chorus set=NAME files=N run=I seconds=… [wall_seconds=…] verdicts=match
# (seconds = the sum of the per-file check times, parsing excluded), then the
# min–max per set and checker and the ratio range. It fails if any verdict
# differs from the known one.
set -euo pipefail
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/Scripts/peers/common.sh"
data=${CHORUS_SHARED_DATA:-$root/../shared/data}
checkout=${PORCUPINE_CHECKOUT:-/tmp/porcupine-latest}
limit=${PORCUPINE_BENCH_TIMEOUT:-300}
chorus=$root/.build/release/chorus
[ -x "$chorus" ] || { echo "build Chorus first: swift build -c release --product chorus" >&2; exit 2; }
[ -f "$checkout/porcupine_test.go" ] ||
  { echo "no Porcupine checkout at $checkout: git clone https://github.com/anishathalye/porcupine $checkout" >&2; exit 2; }
need_packages go golang-go
work=$(mktemp -d /tmp/chorus-bench-porcupine-XXXXXX)
trap 'rm -rf "$work"; rm -f "$checkout/zz_chorus_timing_test.go"' EXIT

# The timing harness: our code, compiled inside the checkout so that it calls
# Porcupine's own test parsers and models (parseJepsenLog + etcdModel,
# parseKvLog + kvModel) exactly as its tests do. Parsing is not timed.
cat >"$checkout/zz_chorus_timing_test.go" <<'GO'
package porcupine

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestChorusTiming(t *testing.T) {
	files := strings.Fields(os.Getenv("TIMING_FILES"))
	if len(files) == 0 {
		t.Skip("TIMING_FILES is empty")
	}
	var total time.Duration
	for _, file := range files {
		var events []Event
		var model Model
		switch os.Getenv("TIMING_MODEL") {
		case "etcd":
			events, model = parseJepsenLog(file), etcdModel
		case "kv":
			events, model = parseKvLog(file), kvModel
		default:
			t.Fatalf("TIMING_MODEL must be etcd or kv")
		}
		start := time.Now()
		ok := CheckEvents(model, events)
		elapsed := time.Since(start)
		total += elapsed
		verdict := "not-linearizable"
		if ok {
			verdict = "linearizable"
		}
		fmt.Printf("file=%s verdict=%s seconds=%.6f\n", file, verdict, elapsed.Seconds())
	}
	fmt.Printf("total files=%d seconds=%.6f\n", len(files), total.Seconds())
}
GO
(cd "$checkout" && GOFLAGS=-mod=mod GOCACHE="$work/gocache" go test -c -o "$work/porcupine.test" .)
echo "porcupine $(git -C "$checkout" log -1 --format='%H %cs') ($(go version | cut -d' ' -f3)); chorus $(git -C "$root" rev-parse --short HEAD)"

# File sets: NAME MODEL FORMAT, a file list and the known verdicts (basename verdict).
sets=(etcd52 etcd102 kv4)
ls "$data"/jepsen-etcd/*.log >"$work/etcd52.files"; cp "$data/jepsen-etcd/VERDICTS" "$work/etcd52.verdicts"
# Porcupine's tests: checkJepsen(t, N, correct); etcd_095.log is empty (its cluster never started) and has no test.
grep -o 'checkJepsen(t, [0-9]*, [a-z]*)' "$checkout/porcupine_test.go" |
  awk -F'[ ,)]+' '{printf "etcd_%03d.log %s\n", $2, ($3 == "true" ? "linearizable" : "not-linearizable")}' >"$work/etcd102.verdicts"
awk -v d="$checkout/test_data/jepsen" '{print d "/" $1}' "$work/etcd102.verdicts" >"$work/etcd102.files"
ls "$data"/porcupine-kv/*.edn >"$work/kv4.files"
sed 's/^\([^ ]*\) /\1.edn /' "$data/porcupine-kv/VERDICTS" >"$work/kv4.verdicts"
if [ "${PORCUPINE_BENCH_C50:-0}" = 1 ]; then
  sets+=(kv50)
  printf '%s\n' "$checkout/test_data/kv/c50-ok.txt" "$checkout/test_data/kv/c50-bad.txt" >"$work/kv50.files"
  printf 'c50-ok.txt linearizable\nc50-bad.txt not-linearizable\n' >"$work/kv50.verdicts"
fi
model_of() { case $1 in etcd*) echo etcd cas-register ;; *) echo kv kv ;; esac; }

# verdicts_match FILE_VERDICTS KNOWN: both "basename verdict", compared after sorting.
verdicts_match() {
  if diff <(sort "$1") <(sort "$2") >"$work/diff"; then echo match; else echo "MISMATCH" >&2; cat "$work/diff" >&2; return 1; fi
}

for run in $(seq 1 "$runs"); do
  for set in "${sets[@]}"; do
    read -r porcupine_model chorus_model < <(model_of "$set")
    files=$(cat "$work/$set.files"); count=$(wc -l <"$work/$set.files")
    TIMING_MODEL=$porcupine_model TIMING_FILES=$files GOMAXPROCS=1 bounded "$limit" taskset -c 0 \
      "$work/porcupine.test" -test.run '^TestChorusTiming$' -test.count=1 >"$work/porcupine.out"
    sed -n 's|^file=.*/\([^/ ]*\) verdict=\([a-z-]*\) .*|\1 \2|p' "$work/porcupine.out" >"$work/porcupine.verdicts"
    match=$(verdicts_match "$work/porcupine.verdicts" "$work/$set.verdicts")
    echo "checker=porcupine set=$set files=$count run=$run seconds=$(sed -n 's/^total files=[0-9]* seconds=//p' "$work/porcupine.out") verdicts=$match"
    start=$(date +%s.%N)
    # Exit status 1 means some history is not linearizable, which is expected here.
    bounded "$limit" taskset -c 0 "$chorus" check linearizable --model "$chorus_model" --format auto --json $files \
      >"$work/chorus.json" || [ $? = 1 ]
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    python3 -c 'import json, os, sys
report = json.load(open(sys.argv[1]))
for f in report["files"]:
    print(os.path.basename(f["file"]), f["summary"].replace(" ", "-"))
print("seconds", sum(f["seconds"] for f in report["files"]), file=sys.stderr)' "$work/chorus.json" \
      >"$work/chorus.verdicts" 2>"$work/chorus.seconds"
    match=$(verdicts_match "$work/chorus.verdicts" "$work/$set.verdicts")
    printf "checker=chorus set=%s files=%s run=%s seconds=%.6f wall_seconds=%.3f verdicts=%s\n" \
      "$set" "$count" "$run" "$(cut -d' ' -f2 "$work/chorus.seconds")" "$wall" "$match"
  done
done | tee "$work/results"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
# Per set and checker: min-max seconds; the ratio is taken run by run (the runs interleave the checkers).
awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); f[kv[1]] = kv[2]}
  set = f["set"]; checker = f["checker"]; s = f["seconds"] + 0; sets[set] = 1
  seconds[set, checker, f["run"]] = s; runs[f["run"]] = 1
  if (!((set, checker) in lo) || s < lo[set, checker]) lo[set, checker] = s
  if (!((set, checker) in hi) || s > hi[set, checker]) hi[set, checker] = s
} END {
  for (set in sets) {
    low = ""; high = ""
    for (run in runs) {
      r = seconds[set, "porcupine", run] / seconds[set, "chorus", run]
      if (low == "" || r < low) low = r
      if (high == "" || r > high) high = r
    }
    printf "set=%s porcupine_seconds=%.3f-%.3f chorus_seconds=%.3f-%.3f porcupine_over_chorus=%.1f-%.1fx\n",
      set, lo[set, "porcupine"], hi[set, "porcupine"], lo[set, "chorus"], hi[set, "chorus"], low, high
  }
}' "$work/results"
