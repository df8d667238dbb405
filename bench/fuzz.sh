#!/usr/bin/env bash
# Runs every cargo-fuzz target for a set time and prints a table of what it did:
# executions, executions per second, coverage (libFuzzer's "cov" edges) and corpus size.
# Not a test: CI runs a short smoke of the same targets (scripts/test.sh, stage fuzz).
#
#   bash bench/fuzz.sh              # 300 s per target
#   SECONDS_PER_TARGET=60 bash bench/fuzz.sh decode_client
#
# Needs the nightly toolchain and cargo-fuzz (scripts/install-test-deps.sh installs them).
# The corpus grows in fuzz/corpus/<target> (gitignored); crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
per=${SECONDS_PER_TARGET:-300}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_client hub turn)

for t in "${targets[@]}"; do cargo +nightly fuzz build -O "$t" >/dev/null; done
rows=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  echo "fuzzing $t for ${per} s ..." >&2
  if ! cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$per" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    echo "$t FAILED: see $log" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  corpus=$(find "corpus/$t" -type f | wc -l)
  rows+=("$(printf '| %-14s | %6s | %12s | %10s | %6s | %7s |' "$t" "$per" "$execs" \
    "$((execs / per))" "${cov:-?}" "$corpus")")
  rm -f "$log"
done
echo
echo "| target         | secs   | executions   | execs/s    | cov    | corpus  |"
echo "| ---            | ---    | ---          | ---        | ---    | ---     |"
printf '%s\n' "${rows[@]}"
echo "no crashes (cargo fuzz exits non-zero on a crash, with the input in fuzz/artifacts/)"
