#!/bin/sh
# Runs every fuzz target in turn for SECONDS each (default 900), at low
# priority, one at a time, starting from the seed corpus in fuzz/corpus/.
# Needs nightly and cargo-fuzz: `cargo install cargo-fuzz`.
#
#   scripts/fuzz.sh 900            # all targets, 15 minutes each
#   scripts/fuzz.sh 60 eval parse  # some targets, a minute each
#
# New inputs libFuzzer finds go to fuzz/work/<target>/ (ignored by git), so
# the seeds in fuzz/corpus/ stay small; crashes go to fuzz/artifacts/<target>/.
set -eu
seconds=${1:-900}
[ $# -gt 0 ] && shift
targets=${*:-parse eval model_file exec_input}
cd "$(dirname "$0")/../fuzz"
for target in $targets; do
    echo "== $target: $seconds s"
    mkdir -p "work/$target"
    nice -n 19 cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
