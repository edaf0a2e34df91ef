#!/usr/bin/env bash
# The weight file's targets: frac_prevs at max_len 64 and every library task
# at 32, each on 1,000 random inputs: `rasp exec` = `rasp run` and the NumPy
# pass of docs/FORMAT.md = exec (scripts/numpy_check.py), then TransformerLens
# 3.x and 4.x = exec in padded batches, with and without weight processing
# (scripts/transformerlens_check.py).
#   usage: TL3_PYTHON=~/tl3/bin/python TL4_PYTHON=~/tl4/bin/python scripts/tl_targets.sh [SAMPLES]
# (after `cargo build --release`; each Python needs torch, transformer_lens
# 3.9.0 or 4.x, safetensors and numpy; a missing one skips its checks).
set -uo pipefail
cd "$(dirname "$0")/.."
samples=${1:-1000}
rasp=target/release/rasp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
numpy_python=${TL3_PYTHON:-${TL4_PYTHON:-python3}}
ints() { python3 -c "print('[' + ', '.join(str(i) for i in range(1, $1 + 1)) + ']')"; }
failed=0
task() { # name vocab expression max_len
  local name=$1 vocab=$2 expr=$3 n=$4 file="$tmp/$1.rasp" model="$tmp/$1-$4.safetensors"
  echo "task = $expr;" > "$file"
  if ! "$rasp" compile "$file" --vocab "$vocab" --max-len "$n" -o "$model" > /dev/null; then
    echo "$name at $n: refused"; failed=1; return
  fi
  "$numpy_python" scripts/numpy_check.py "$model" "$file" --samples "$samples" --rasp "$rasp" | tail -1 || failed=1
  for flags in "" "--process-weights"; do
    if [ -n "${TL3_PYTHON:-}" ]; then
      "$TL3_PYTHON" scripts/transformerlens_check.py "$model" --rasp "$rasp" --samples "$samples" $flags | tail -1 || failed=1
    fi
    if [ -n "${TL4_PYTHON:-}" ]; then
      "$TL4_PYTHON" scripts/transformerlens_check.py "$model" --rasp "$rasp" --samples "$samples" --bridge $flags | tail -1 || failed=1
    fi
  done
}
task frac_prevs a,b,c 'frac_prevs(tokens,"a")' 64
task histogram a,b,c "histogram(tokens)" 32
task shift_by a,b,c 'shift_by(tokens,1,"_")' 32
task frac_prevs a,b,c 'frac_prevs(tokens,"a")' 32
task pair_balance a,b,c 'pair_balance(tokens,"a","b")' 32
task detect_pattern a,b,c 'detect_pattern(tokens,["a","b","c"])' 32
task sort_unique "$(ints 32)" "sort_unique(tokens_asis,tokens_asis)" 32
task count_less_freq a,b,c "count_less_freq(tokens,2)" 32
task double_histogram a,b,c "double_histogram(tokens)" 32
task sort "[1,2,3,4,5]" "sort(tokens_asis,tokens_asis)" 32
task most_frequent a,b,c 'most_frequent(tokens,"_")' 32
task sort_freq "[1,2,3,4,5]" "sort_freq(tokens_asis)" 32
task shuffle_dyck1 "(,)" "shuffle_dyck1(tokens)" 32
task combine3 a,b,c "combine3(tokens,reverse(tokens),tokens)" 32
task reverse a,b,c "reverse(tokens)" 32
task shuffle_dyck2 "(,),{,}" "shuffle_dyck2(tokens)" 32
task dyck1 "(,)" "dyck1(tokens)" 32
task dyck2 "(,),{,}" "dyck2(tokens)" 32
exit $failed
