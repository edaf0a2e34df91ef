#!/usr/bin/env bash
# Compiles the library tasks with the settings of the tracr comparison in
# BENCHMARKS.md and prints one row per task: layers, d_model at max_len 5 and
# 16, parameters (non-zero) at 16, compile time at 16, and exact/200 random
# inputs at max_len 5 / 10 / 16.
#   usage: scripts/model_sizes.sh            (after `cargo build --release`)
set -euo pipefail
cd "$(dirname "$0")/.."
rasp=target/release/rasp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
row() {
  local name=$1 vocab5=$2 vocab16=$3 expr=$4
  echo "task = $expr;" > "$tmp/$name.rasp"
  "$rasp" compile "$tmp/$name.rasp" --vocab "$vocab5" --max-len 5 -o "$tmp/m5.safetensors" > "$tmp/s5"
  local start end
  start=$(date +%s%N)
  "$rasp" compile "$tmp/$name.rasp" --vocab "$vocab16" --max-len 16 -o "$tmp/m16.safetensors" > "$tmp/s16"
  end=$(date +%s%N)
  local layers d5 d16 params nonzero
  layers=$(sed -n '1s/.*: \([0-9]*\) layer.*/\1/p' "$tmp/s16")
  d5=$(sed -n '1s/.*d_model \([0-9]*\),.*/\1/p' "$tmp/s5")
  d16=$(sed -n '1s/.*d_model \([0-9]*\),.*/\1/p' "$tmp/s16")
  params=$(sed -n '1s/.*, \([0-9]*\) parameters.*/\1/p' "$tmp/s16")
  nonzero=$(sed -n '1s/.*(\([0-9]*\) non-zero).*/\1/p' "$tmp/s16")
  local exact=""
  for n in 5 10 16; do
    local v=$vocab16
    [ "$n" = 5 ] && v=$vocab5
    local ok
    ok=$("$rasp" verify "$tmp/$name.rasp" --vocab "$v" --max-len "$n" --samples 200 --seed 7 \
      | sed -n 's/.* \([0-9]*\) agree.*/\1/p')
    local total
    total=$("$rasp" verify "$tmp/$name.rasp" --vocab "$v" --max-len "$n" --samples 200 --seed 7 \
      | sed -n 's/.*: \([0-9]*\) inputs, .*/\1/p')
    exact="$exact${exact:+/}$ok of $total"
  done
  printf '| %s | %s | %s/%s | %s (%s) | %s ms | %s |\n' "$name" "$layers" "$d5" "$d16" "$params" "$nonzero" \
    "$(( (end - start) / 1000000 ))" "$exact"
}
echo "| program | layers | d_model N=5/16 | params N=16 (non-zero) | compile N=16 | exact N=5/10/16 |"
echo "|---|---|---|---|---|---|"
row length a,b,c a,b,c 'length'
row reverse a,b,c a,b,c 'reverse(tokens)'
row hist a,b,c a,b,c 'histogram(tokens)'
row sort_unique "[1,2,3,4,5]" "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]" 'sort_unique(tokens_asis, tokens_asis)'
row sort "[1,2,3,4,5]" "[1,2,3,4,5]" 'sort(tokens_asis, tokens_asis)'
row sort_freq "[1,2,3,4,5]" "[1,2,3,4,5]" 'sort_freq(tokens_asis)'
row frac_prevs a,b,c a,b,c 'frac_prevs(tokens, "a")'
row pair_balance a,b,c a,b,c 'pair_balance(tokens, "a", "b")'
row shuffle_dyck1 "(,)" "(,)" 'shuffle_dyck1(tokens)'
row shuffle_dyck2 "(,),{,}" "(,),{,}" 'shuffle_dyck2(tokens)'
row "shift_by(1)" a,b,c a,b,c 'shift_by(tokens, 1, "_")'
row detect_pattern a,b,c a,b,c 'detect_pattern(tokens, ["a", "b", "c"])'
row "count_less_freq(2)" a,b,c a,b,c 'count_less_freq(tokens, 2)'
row count a,b,c a,b,c 'count(tokens, "a")'
row nary_sequencemap a,b,c a,b,c 'combine3(tokens, reverse(tokens), tokens)'
row most_frequent a,b,c a,b,c 'most_frequent(tokens, "_")'
row dyck1 "(,)" "(,)" 'dyck1(tokens)'
row dyck2 "(,),{,}" "(,),{,}" 'dyck2(tokens)'
