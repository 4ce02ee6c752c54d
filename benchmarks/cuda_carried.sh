#!/bin/bash
# Runs benchmarks/cuda.py with a CUDA build of `bench` made on another machine and carried
# here (a GPU machine without Rust), where the CUDA libraries come with PyTorch's wheels.
#
#   bash benchmarks/cuda_carried.sh BENCH [OUT_DIR] [cuda.py args...]
#
# BENCH: the binary, or it xz-compressed (`.xz`; the 75 MB build packs to ~11 MB). It is
# linked against libcuda.so.1, libcublas(Lt).so.13, libcurand.so.10 and libcudart.so.13: the
# driver's and those in PyTorch's `nvidia/` packages or /usr/local/cuda, put on
# LD_LIBRARY_PATH here. A tiny train step and generation run first so a broken build fails in
# seconds. Writes OUT_DIR (default target/bench)/cuda.json and the log beside it.
set -euo pipefail
bin=${1:?usage: cuda_carried.sh BENCH [OUT_DIR] [cuda.py args...]}
out=${2:-target/bench}
shift $(($# < 2 ? $# : 2))
mkdir -p "$out"
if [[ $bin == *.xz ]]; then
    python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$bin" /tmp/bench-cuda
    bin=/tmp/bench-cuda
fi
chmod +x "$bin"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
libs=$(python3 - <<'PY'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
dirs = []
for pat in (site + "/nvidia/**/lib*.so*", "/usr/local/cuda*/lib64/lib*.so*", "/usr/local/cuda*/targets/*/lib/lib*.so*"):
    for f in glob.glob(pat, recursive=True):
        if os.path.dirname(f) not in dirs:
            dirs.append(os.path.dirname(f))
print(":".join(dirs))
PY
)
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ldd "$bin" | grep "not found"; then
    echo "cuda_carried.sh: $bin needs libraries not found here (above)" >&2
    exit 1
fi
tiny=(--hidden 64 --layers 2 --heads 2 --intermediate 128 --vocab 512 --device cuda)
timeout 120 "$bin" train "${tiny[@]}" --batch 2 --seq 32 --steps 2
timeout 120 "$bin" generate "${tiny[@]}" --dtype bf16 --batch 2 --new-tokens 8 --repeats 1
BENCH_BIN=$bin BENCH_SUMMARY=$out/cuda.json PYTHONUNBUFFERED=1 python3 benchmarks/cuda.py "$@" 2>&1 | tee "$out/cuda.log"
