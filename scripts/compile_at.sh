#!/usr/bin/env bash
# Compiles the library tasks at one max_len (default 64), median of 3 runs of
# the whole `rasp compile` process, and verifies each on 200 samples (seed 7).
# With a second binary (another build), both are run alternately and its
# time and parameters are shown in parentheses.
#   usage: scripts/compile_at.sh [N] [OTHER_RASP]   (after `cargo build --release`)
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-64}
other=${2:-}
rasp=target/release/rasp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ints=$(python3 -c "print('[' + ', '.join(str(i) for i in range(1, $N + 1)) + ']')")
median() { printf "%s\n" "$@" | sort -n | sed -n 2p; }
timed() { # binary file vocab -> "ms|first line"
  local start end out
  start=$(date +%s%N)
  out=$("$1" compile "$2" --vocab "$3" --max-len "$N" -o "$tmp/m.safetensors" 2>&1 | head -1)
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 ))|$out"
}
row() {
  local name=$1 vocab=$2 expr=$3 file="$tmp/$1.rasp"
  echo "task = $expr;" > "$file"
  local mine=() theirs=() line size other_size=""
  for _ in 1 2 3; do
    line=$(timed "$rasp" "$file" "$vocab"); mine+=("${line%%|*}"); size=${line#*|}
    if [ -n "$other" ]; then
      line=$(timed "$other" "$file" "$vocab"); theirs+=("${line%%|*}"); other_size=${line#*|}
    fi
  done
  local agree
  agree=$("$rasp" verify "$file" --vocab "$vocab" --max-len "$N" --samples 200 --seed 7 2>&1 |
    grep -o "[0-9]* agree.*disagree" || echo refused)
  local t="$(median "${mine[@]}") ms" s=${size#task: }
  if [ -n "$other" ]; then
    t="$t ($(median "${theirs[@]}") ms)"
    s="$s ($(echo "$other_size" | grep -o '[0-9]* parameters' || echo refused))"
  fi
  echo "| $name | $t | $s | $agree |"
}
echo "| task | time | model | 200 samples |"
echo "|---|---|---|---|"
row histogram a,b,c "histogram(tokens)"
row shift_by a,b,c 'shift_by(tokens,1,"_")'
row frac_prevs a,b,c 'frac_prevs(tokens,"a")'
row pair_balance a,b,c 'pair_balance(tokens,"a","b")'
row detect_pattern a,b,c 'detect_pattern(tokens,["a","b","c"])'
row sort_unique "$ints" "sort_unique(tokens_asis,tokens_asis)"
row count_less_freq a,b,c "count_less_freq(tokens,2)"
row double_histogram a,b,c "double_histogram(tokens)"
row sort "[1,2,3,4,5]" "sort(tokens_asis,tokens_asis)"
row most_frequent a,b,c 'most_frequent(tokens,"_")'
row sort_freq "[1,2,3,4,5]" "sort_freq(tokens_asis)"
row shuffle_dyck1 "(,)" "shuffle_dyck1(tokens)"
row combine3 a,b,c "combine3(tokens,reverse(tokens),tokens)"
row reverse a,b,c "reverse(tokens)"
row shuffle_dyck2 "(,),{,}" "shuffle_dyck2(tokens)"
row dyck1 "(,)" "dyck1(tokens)"
row dyck2 "(,),{,}" "dyck2(tokens)"
