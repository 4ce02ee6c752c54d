#!/usr/bin/env bash
# Executes every notebook headless (called by `make notebooks`, from the workspace root).
# Reads runs/$RUN; when it has no evaluation yet, makes and evaluates a smoke run instead.
set -euo pipefail
root=$(pwd)
out="$root/target/notebooks"
run="$root/runs/${RUN:-default}"
if [ ! -f "$run/eval/summary.json" ]; then
    echo "notebooks: $run has no evaluation (run \`make iterate && make eval\`); using a smoke run" >&2
    target/release/srlm --profile smoke --name notebooks-smoke --iters 1 iterate
    target/release/srlm-eval run --name notebooks-smoke
    run="$root/runs/notebooks-smoke"
fi
mkdir -p "$out/jupyter/kernels/rust" "$out/evcxr" "$out/cache"
# A kernel spec of our own, so nothing is installed into the user's Jupyter folders.
cat > "$out/jupyter/kernels/rust/kernel.json" <<JSON
{"argv": ["$root/.tools/bin/evcxr_jupyter", "--control_file", "{connection_file}"],
 "display_name": "Rust", "language": "rust", "interrupt_mode": "message"}
JSON
export JUPYTER_PATH="$out/jupyter" SRLM_RUN="$run" SRLM_NOTEBOOK_OUT="$out"
# evcxr builds the notebooks' crates here (kept between runs, so only the first run is slow).
export EVCXR_TMPDIR="$out/evcxr" XDG_CACHE_HOME="$out/cache"
# Show whole tables in the executed notebooks.
export POLARS_FMT_MAX_COLS=40 POLARS_FMT_MAX_ROWS=30 POLARS_FMT_STR_LEN=40 POLARS_TABLE_WIDTH=220
for nb in notebooks/*.ipynb; do
    echo "notebooks: executing $nb against $run" >&2
    start=$(date +%s)
    .nbvenv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=-1 \
        --ExecutePreprocessor.kernel_name=rust --output-dir "$out" "$nb"
    echo "notebooks: $nb took $(( $(date +%s) - start )) s" >&2
    # evcxr prints an error returned by `?` on stderr and goes on with the next cell,
    # so nbconvert alone would not notice: any stderr output fails the run.
    .nbvenv/bin/python - "$out/$(basename "$nb")" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
bad = [(i + 1, "".join(o.get("text", "")) or o.get("evalue", ""))
       for i, c in enumerate(nb["cells"]) for o in c.get("outputs", [])
       if o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")]
for cell, text in bad:
    print(f"{sys.argv[1]}: cell {cell}: {text.strip()}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
done
echo "notebooks: executed copies and PNGs in $out" >&2
