#!/usr/bin/env bash
# Runs the same programs on the same inputs through the original RASP
# interpreter (tech-srl/RASP) and through `rasp`, and prints the ratio.
#
#   usage: scripts/bench_peers.sh [N]      (after `cargo build --release`)
#
# N is the number of tokens (default 1000), drawn from ten letters for sort
# and histogram and from "(){}" for Dyck-2 (fixed seeds). The original is
# found through RASP_REF (its repository, default /work/ref/RASP) and
# RASP_REF_PYTHON (a Python with its requirements, default
# /work/ref/venv/bin/python3); it is skipped, with a message, if absent.
# Each original run is timed twice, with and without the evaluation, and the
# difference taken (so its start-up is not counted); `rasp` evaluates the
# input 100 times on one thread (RAYON_NUM_THREADS=1) and the time per
# evaluation, start-up included, is taken. REPEAT (default 1) runs of each;
# the median is printed.
#
# tracr (deepmind/tracr) compiles programs in its own Python dialect, not
# RASP source; it is not run here. Set TRACR_PYTHON to a Python that can
# `import tracr` to have the script say so instead of skipping silently.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
repeat=${REPEAT:-1}
ref=${RASP_REF:-/work/ref/RASP}
ref_python=${RASP_REF_PYTHON:-/work/ref/venv/bin/python3}
rasp=target/release/rasp
[ -x "$rasp" ] || { echo "build first: cargo build --release" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tokens() { # tokens N ALPHABET SEED
  python3 -c "import random,sys; random.seed(int(sys.argv[3])); print(''.join(random.choice(sys.argv[2]) for _ in range(int(sys.argv[1]))))" "$@"
}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# name | rasp program | original program (its library; Dyck-2 from its paper
# examples; \n between statements) | alphabet
tasks=(
  "sort|y = sort(tokens, tokens);|y = sort(tokens, tokens);|abcdefghij"
  "histogram|y = histogram(tokens);|y = selector_width(select(tokens, tokens, ==));|abcdefghij"
  "dyck2|y = dyck2(tokens);|load \"paper_examples\";\\ny = dyck2_ptf;|(){}"
)

have_ref=yes
if [ ! -d "$ref/RASP_support" ] || [ ! -x "$ref_python" ]; then
  have_ref=no
  echo "original RASP interpreter not found (RASP_REF=$ref, RASP_REF_PYTHON=$ref_python): its column is skipped"
fi
if [ -n "${TRACR_PYTHON:-}" ] && "$TRACR_PYTHON" -c 'import tracr' 2>/dev/null; then
  echo "tracr is importable, but it takes programs in its own Python dialect, so this script does not run it"
else
  echo "tracr not installed (set TRACR_PYTHON): skipped"
fi

printf '%-10s %8s %16s %16s %10s\n' task tokens original_s rasp_s ratio
for task in "${tasks[@]}"; do
  IFS='|' read -r name program ref_program alphabet <<< "$task"
  input=$(tokens "$n" "$alphabet" 42)
  echo "$program" > "$tmp/$name.rasp"
  for _ in $(seq 100); do echo "$input"; done > "$tmp/$name.in"
  rasp_times=()
  for _ in $(seq "$repeat"); do
    start=$(now)
    RAYON_NUM_THREADS=1 "$rasp" run "$tmp/$name.rasp" < "$tmp/$name.in" > "$tmp/$name.out"
    end=$(now)
    rasp_times+=("$(echo "($end - $start) / 100" | bc -l)")
  done
  rasp_s=$(printf '%s\n' "${rasp_times[@]}" | median)
  ref_s=skipped
  ratio=-
  if [ "$have_ref" = yes ]; then
    ref_times=()
    for _ in $(seq "$repeat"); do
      # The original takes one statement per line.
      printf '%b\n' "$ref_program" > "$tmp/base.txt"
      printf '%b\ny("%s");\n' "$ref_program" "$input" > "$tmp/full.txt"
      start=$(now); (cd "$ref" && "$ref_python" -m RASP_support < "$tmp/base.txt" > /dev/null 2>&1); mid=$(now)
      (cd "$ref" && "$ref_python" -m RASP_support < "$tmp/full.txt" > "$tmp/ref.out" 2>&1); end=$(now)
      grep -q " =  \[" "$tmp/ref.out" || { echo "the original failed on $name:" >&2; tail -3 "$tmp/ref.out" >&2; exit 1; }
      ref_times+=("$(echo "($end - $mid) - ($mid - $start)" | bc -l)")
    done
    ref_s=$(printf '%s\n' "${ref_times[@]}" | median)
    ratio=$(echo "$ref_s / $rasp_s" | bc -l | xargs printf '%.0f')
  fi
  printf '%-10s %8s %16s %16.6f %10s\n' "$name" "$n" "$ref_s" "$rasp_s" "$ratio"
done
