#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for SECONDS (default 60).
#
#     Scripts/fuzz.sh [SECONDS] [TARGET...]
#
# With no TARGET, runs every target in Fuzz/Corpus/. Each run reads the
# committed seeds in Fuzz/Corpus/<target>/, grows a working corpus in
# Fuzz/Findings/<target>/corpus/, and keeps any crashing input as
# Fuzz/Findings/<target>/crash-<sha1> (Fuzz/Findings is not committed). After a
# crash the target is restarted for the time that remains, at most three times.
# Prints one line per target: seconds, executions, exec/s, coverage (libFuzzer's
# cov: edges and ft: features) and crashes, and a table at the end.
#
# Real inputs are read in place from the reference data (CHORUS_SHARED_DATA,
# default ../shared/data; skipped when absent): FuzzHistory gets the first lines
# of Jepsen etcd and Porcupine histories behind each harness selector, written
# to Fuzz/Findings/<target>/real-seeds/ for the run; FuzzTrace gets a link to
# the friendsforever editing trace. Nothing of ../shared/data is committed here.
#
# Environment: FUZZ_RSS_LIMIT_MB (default 2048), FUZZ_NICE (default 10),
# FUZZ_SKIP_BUILD=1 to use the binaries already built.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/Fuzz"
rss_limit="${FUZZ_RSS_LIMIT_MB:-2048}"
niceness="${FUZZ_NICE:-10}"
data="${CHORUS_SHARED_DATA:-$root/../shared/data}"

# real_seeds TARGET DIR: fills DIR with seeds derived from the reference data.
real_seeds() {
    local target=$1 dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ -d "$data" ]] || return 0
    case "$target" in
        FuzzHistory)
            # FuzzHistory's mode byte (0 detect the format, 1 EDN, 2 Jepsen log), then a history's first lines
            local entry selector file lines
            for entry in "0 jepsen-etcd/etcd_002.log 11" "2 jepsen-etcd/etcd_000.log 12" \
                "1 porcupine-kv/c01-ok.edn 10" "0 porcupine-kv/c10-bad.edn 8"; do
                read -r selector file lines <<<"$entry"
                [[ -f "$data/$file" ]] || continue
                { printf "\\$(printf '%03o' "$selector")"; head -n "$lines" "$data/$file"; } \
                    > "$dir/real-${file//\//-}-$selector"
            done
            ;;
        FuzzTrace)
            [[ -f "$data/editing-traces/friendsforever.json.gz" ]] &&
                ln -s "$(cd "$data/editing-traces" && pwd)/friendsforever.json.gz" "$dir/real-friendsforever.json.gz"
            ;;
    esac
}

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    # -sanitize=fuzzer links libFuzzer and instruments every module for
    # coverage; address adds AddressSanitizer; -enable-testing lets a harness
    # reach an internal type (LogRecovery, SnapshotStore) with @testable import.
    nice -n "$niceness" swift build --package-path "$fuzz" -c debug \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing 2>&1 | grep -v "Cannot export local symbol" || true
fi
bin="$(swift build --package-path "$fuzz" -c debug --show-bin-path)"

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(ls "$fuzz/Corpus")
fi

# Swift's crash backtracer waits on a sanitized process; libFuzzer prints its own.
export SWIFT_BACKTRACE=enable=no
# Swift runtime caches look like leaks to LeakSanitizer at exit; leaks are not what these targets look for.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
summary=()
for target in "${targets[@]}"; do
    findings="$fuzz/Findings/$target"
    mkdir -p "$findings/corpus"
    real_seeds "$target" "$findings/real-seeds"
    log="$findings/fuzz.log"
    : > "$log"
    count_kept() { find "$findings" -maxdepth 1 \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l; }
    kept_before=$(count_kept)
    started=$(date +%s)
    executions=0
    runs=0
    while :; do
        elapsed=$(( $(date +%s) - started ))
        remaining=$(( seconds - elapsed ))
        (( remaining > 0 && runs < 4 )) || break
        runs=$((runs + 1))
        run_log="$findings/run-$runs.log"
        set +e
        nice -n "$niceness" "$bin/$target" -max_total_time="$remaining" -rss_limit_mb="$rss_limit" -timeout=20 \
            -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$findings/" \
            "$findings/corpus" "$fuzz/Corpus/$target" "$findings/real-seeds" > "$run_log" 2>&1
        status=$?
        set -e
        cat "$run_log" >> "$log"
        if (( status == 0 )); then
            run_executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$run_log" | tail -1 | grep -o '[0-9]*$' || true)
            executions=$((executions + ${run_executions:-0}))
            break
        fi
        # A crash: libFuzzer prints no final stats; count the run's last status line.
        last=$(grep -oE '^#[0-9]+' "$run_log" | tail -1 | tr -d '#' || true)
        executions=$((executions + ${last:-0}))
    done
    elapsed=$(( $(date +%s) - started ))
    status_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    coverage=$(grep -oE 'cov: [0-9]+' <<<"$status_line" | tail -1 | grep -oE '[0-9]+' || true)
    features=$(grep -oE 'ft: [0-9]+' <<<"$status_line" | tail -1 | grep -oE '[0-9]+' || true)
    total_crashes=$(count_kept)
    crashes=$((total_crashes - kept_before))
    rate=$(( elapsed > 0 ? executions / elapsed : 0 ))
    line=$(printf '%-18s %6ss %12s execs %8s exec/s  cov %6s  ft %7s  crashes %s (kept %s)' \
        "$target" "$elapsed" "$executions" "$rate" "$coverage" "$features" "$crashes" "$total_crashes")
    echo "$line"
    summary+=("$line")
done

echo
echo "target             seconds   executions     exec/s  coverage      features  crashes"
for line in "${summary[@]}"; do echo "$line"; done
