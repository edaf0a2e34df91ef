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
# tracr (deepmind/tracr) is run too when TRACR_PYTHON names a Python that can
# `import tracr`; otherwise that part is skipped with a message. tracr takes
# programs in its own Python dialect, not RASP source, so
# scripts/tracr_peer.py builds histogram, sort with unique keys and reverse
# with tracr's `rasp` module, at the settings of the tracr comparison in
# BENCHMARKS.md (max_len 16; vocab {a,b,c}, {1..16} for sort). For each task
# it times tracr's `compile_rasp_to_model` (3 runs in one process: the median,
# and the first, most of which is XLA compiling haiku's parameter initialisers
# for the model's shapes, which the later runs reuse; the first task's also
# includes JAX's set-up) and
# `model.apply` (un-jitted, one input per call, median over TRACR_INPUTS
# random inputs of length 16, default 20), and counts the outputs that agree
# with a plain Python computation of the task. The same tasks (the library's
# `histogram(tokens)`, `sort_unique(tokens_asis, tokens_asis)`,
# `reverse(tokens)`) go through `rasp compile` (the whole process, median of
# 3) and `rasp exec` on one thread: once on the same inputs (the whole process
# divided by their count, start-up included) and once on 10,000 random inputs
# of length 16, divided by 10,000 (`rasp exec` batches its inputs). Its outputs
# are checked the same way. The ratios are tracr's time over `rasp`'s.
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
have_tracr=no
if [ -n "${TRACR_PYTHON:-}" ] && "$TRACR_PYTHON" -c 'import tracr' 2>/dev/null; then
  have_tracr=yes
elif [ -n "${TRACR_PYTHON:-}" ]; then
  echo "tracr not importable with TRACR_PYTHON=$TRACR_PYTHON: skipped"
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

[ "$have_tracr" = yes ] || exit 0

# tracr side by side: name | rasp program | rasp vocab
tracr_inputs=${TRACR_INPUTS:-20}
tracr_tasks=(
  "histogram|y = histogram(tokens);|a,b,c"
  "sort_unique|y = sort_unique(tokens_asis, tokens_asis);|[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]"
  "reverse|y = reverse(tokens);|a,b,c"
)

# random_inputs NAME COUNT SEED: inputs of length 16 in `rasp exec` syntax.
random_inputs() {
  python3 - "$@" <<'PY'
import random, sys
name, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
for _ in range(count):
    if name == "sort_unique":
        print("[" + ", ".join(map(str, rng.sample(range(1, 17), 16))) + "]")
    else:
        print("".join(rng.choice("abc") for _ in range(16)))
PY
}
# agreeing NAME INPUTS OUTPUTS: how many outputs are the task's answer.
agreeing() {
  python3 - "$@" <<'PY'
import sys
name, inputs, outputs = sys.argv[1:]
def parse(line):
    line = line.strip()
    return [int(x) for x in line[1:-1].split(",")] if line.startswith("[") else list(line)
def show(xs):
    return "[" + ", ".join(map(str, xs)) + "]"
agree = 0
with open(inputs) as f, open(outputs) as g:
    for line, out in zip(f, g):
        xs = parse(line)
        want = {"histogram": [xs.count(x) for x in xs], "sort_unique": sorted(xs),
                "reverse": xs[::-1]}[name]
        agree += out.strip() == show(want)
print(agree)
PY
}

echo
echo "tracr: $("$TRACR_PYTHON" -c 'import jax, haiku; print("jax", jax.__version__, "haiku", haiku.__version__)'), max_len 16, $tracr_inputs inputs per task"
mkdir -p "$tmp/tracr"
"$TRACR_PYTHON" scripts/tracr_peer.py --inputs "$tracr_inputs" --write-inputs "$tmp/tracr" > "$tmp/tracr.tsv"
printf '%-12s %10s %10s %10s %8s %8s %10s %10s %10s %8s %8s %7s %7s\n' task tracr_1st tracr_comp rasp_comp ratio_1st ratio \
  tracr_in rasp_in rasp_in10k ratio ratio10k tr_ok rasp_ok
for task in "${tracr_tasks[@]}"; do
  IFS='|' read -r name program vocab <<< "$task"
  tracr_total=
  IFS=$'\t' read -r _ _ _ tracr_compile tracr_first tracr_apply tracr_agree tracr_total \
    < <(awk -F'\t' -v t="$name" '$1 == t' "$tmp/tracr.tsv") || true
  [ -n "${tracr_total:-}" ] || { echo "scripts/tracr_peer.py printed no row for $name" >&2; exit 1; }
  echo "$program" > "$tmp/$name.rasp"
  compile_times=()
  for _ in 1 2 3; do
    start=$(now)
    "$rasp" compile "$tmp/$name.rasp" --vocab "$vocab" --max-len 16 -o "$tmp/$name.safetensors" > /dev/null
    end=$(now)
    compile_times+=("$(echo "$end - $start" | bc -l)")
  done
  rasp_compile=$(printf '%s\n' "${compile_times[@]}" | median)
  inputs="$tmp/tracr/$name.in"
  count=$(wc -l < "$inputs")
  start=$(now)
  RAYON_NUM_THREADS=1 "$rasp" exec "$tmp/$name.safetensors" < "$inputs" > "$tmp/$name.exec"
  end=$(now)
  rasp_in=$(echo "($end - $start) / $count" | bc -l)
  rasp_agree=$(agreeing "$name" "$inputs" "$tmp/$name.exec")
  random_inputs "$name" 10000 7 > "$tmp/$name.10k"
  start=$(now)
  RAYON_NUM_THREADS=1 "$rasp" exec "$tmp/$name.safetensors" < "$tmp/$name.10k" > "$tmp/$name.exec10k"
  end=$(now)
  rasp_in10k=$(echo "($end - $start) / 10000" | bc -l)
  rasp_agree10k=$(agreeing "$name" "$tmp/$name.10k" "$tmp/$name.exec10k")
  printf '%-12s %10.4f %10.4f %10.4f %8.0f %8.0f %10.6f %10.6f %10.7f %8.0f %8.0f %7s %7s\n' "$name" \
    "$tracr_first" "$tracr_compile" "$rasp_compile" "$(echo "$tracr_first / $rasp_compile" | bc -l)" \
    "$(echo "$tracr_compile / $rasp_compile" | bc -l)" \
    "$tracr_apply" "$rasp_in" "$rasp_in10k" "$(echo "$tracr_apply / $rasp_in" | bc -l)" \
    "$(echo "$tracr_apply / $rasp_in10k" | bc -l)" "$tracr_agree/$tracr_total" \
    "$rasp_agree/$count,$rasp_agree10k/10000"
done
echo "(seconds. tracr_1st: the task's first tracr compile in the driver's process, mostly XLA compiling"
echo " haiku's initialisers for the model's shapes (the first task's also has JAX's set-up); tracr_comp:"
echo " median of 3 compiles, the later ones reusing those; rasp_comp: median of 3 rasp compile processes;"
echo " tracr_in: median model.apply of one input; rasp_in: rasp exec of the same inputs per input,"
echo " start-up included; rasp_in10k: rasp exec of 10,000 inputs per input; ratio_1st, ratio: tracr_1st"
echo " and tracr_comp over rasp_comp; then tracr_in over rasp_in and over rasp_in10k;"
echo " tr_ok, rasp_ok: outputs equal to the task's answer, rasp's on both input sets)"
