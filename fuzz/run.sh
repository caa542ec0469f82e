#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, one after another.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo-fuzz builds with
# -Zsanitizer=address, so on a stable toolchain it runs with
# RUSTC_BOOTSTRAP=1. Exits non-zero if any target crashed; crashing inputs
# land in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(frame_decode hpack_decode proto_recv priority_field)
fi
status=0
for t in "${targets[@]}"; do
    echo "== $t for ${secs}s"
    mkdir -p "corpus/$t"
    dict=()
    if [ -f "$t.dict" ]; then dict=("-dict=$t.dict"); fi
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 "${dict[@]}"; then
        echo "!! $t crashed: see fuzz/artifacts/$t/"
        status=1
    fi
done
exit $status
