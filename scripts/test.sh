#!/usr/bin/env bash
# confab's whole test suite. Run as root on Debian 12: `bash scripts/test.sh`.
# It installs what it needs first (scripts/install-test-deps.sh), then runs:
#   lint        cargo fmt --check, cargo clippy -D warnings, tsc --checkJs: the web client
#               alone (tsconfig.json), then with its unit tests, the e2e library and
#               the e2e tests (tsconfig.node.json)
#   rust        unit, property, scenario and integration tests (cargo test)
#   web         the web client's unit tests (node --test), sharing fixtures with Rust
#   fuzz        a short smoke run of every fuzz target (FUZZ_SECONDS each, default 20)
#   e2e         real Chromium browsers in network namespaces against a real confab
# Set SKIP_INSTALL=1 to skip the installer, STAGES="rust web" to run some stages only.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGES=${STAGES:-"lint rust web fuzz e2e"}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

[ "${SKIP_INSTALL:-0}" = 1 ] || bash scripts/install-test-deps.sh

declare -a results=()
passed=0 failed=0
run_stage() {
  local name=$1; shift
  echo
  echo "=================== $name"
  local t0=$SECONDS
  if "$@"; then
    results+=("ok    $name ($((SECONDS - t0)) s)"); passed=$((passed + 1))
  else
    results+=("FAIL  $name ($((SECONDS - t0)) s)"); failed=$((failed + 1))
  fi
}

lint() {
  cargo fmt --all -- --check &&
    cargo clippy --workspace --all-targets --quiet -- -D warnings &&
    npx tsc -p tsconfig.json &&
    npx tsc -p tsconfig.node.json
}
rust() { CONFAB_REQUIRE_INTEROP=1 cargo test --workspace; }
web() { node --test web/test/*.test.js; }
fuzz() {
  local t
  for t in decode_client hub turn sfu_demux sfu_offer sfu_shard record cluster_envelope; do
    mkdir -p "fuzz/corpus/$t"
    (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$FUZZ_SECONDS" -max_len=4096 -print_final_stats=1 -print_funcs=0) || return 1
  done
}
e2e() {
  # The browser tests build network namespaces: they need root, and must not skip here.
  if [ "$(id -u)" != 0 ]; then echo "e2e: run as root (network namespaces)" >&2; return 1; fi
  cargo build --quiet -p confab-server &&
    CONFAB_BIN="$PWD/target/debug/confab" node --test --test-concurrency=1 e2e/tests/
}

for s in $STAGES; do run_stage "$s" "$s"; done

echo
echo "=================== summary"
printf '%s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
