#!/bin/bash
# Sets up a CUDA 13.0 toolkit from PyPI's NVIDIA wheels in $1 (default .cuda-toolkit), enough
# to build the engine with `--features engine/cuda` on a machine without one (no GPU or
# driver needed to build), and prints the environment to build with:
#
#   eval "$(bash benchmarks/cuda_toolkit.sh)"
#   cargo build --release -p benchmarks --features engine/cuda
#
# nvcc, cicc, the headers (CCCL's too) and the libraries cudarc links (cuBLAS, cuBLASLt,
# cuRAND, NVRTC, the runtime). Without a driver on this machine it links against a stub
# libcuda.so.1 made of the driver symbols cudarc declares; the real driver replaces it
# where the program runs. CUDA_COMPUTE_CAP (default 90, Hopper) picks the kernels' target.
# Takes 1.2 GB of disk (0.7 GB downloaded); a cold `make bench-cuda` build then takes 15
# minutes on 2 cores, most of it candle's kernels.
set -euo pipefail
dir=$(realpath -m "${1:-.cuda-toolkit}")
root=$dir/nvidia/cu13
if [ ! -e "$dir/.ok" ]; then
    mkdir -p "$dir/wheels"
    python3 -m pip download -q --no-deps -d "$dir/wheels" \
        "nvidia-cuda-nvcc==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" \
        "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
        "nvidia-cublas==13.0.*" "nvidia-curand==10.4.*" >&2
    for w in "$dir"/wheels/*.whl; do python3 -m zipfile -e "$w" "$dir" >&2; done
    rm -rf "$dir/wheels"
    chmod +x "$root"/bin/* "$root"/nvvm/bin/*
    (cd "$root/lib" && for l in cudart nvrtc curand cublas cublasLt; do ln -sf "$(ls lib$l.so.* | head -1)" lib$l.so; done)
    ln -sfn lib "$root/lib64"
    if ! ldconfig -p 2>/dev/null | grep -q "libcuda.so.1 "; then
        src=$(find "${CARGO_HOME:-$HOME/.cargo}"/registry/src -path "*cudarc-*/src/driver/sys/mod.rs" | sort | tail -1)
        if [ -z "$src" ]; then
            echo "cuda_toolkit.sh: cudarc's sources are not fetched yet: run \`cargo fetch\` first" >&2
            exit 1
        fi
        mkdir -p "$root/lib/stubs"
        grep -o "fn cu[A-Za-z0-9_]*(" "$src" | sed 's/fn //; s/(//' | sort -u | awk '{print "void "$1"(void){}"}' >"$root/lib/stubs/cuda.c"
        cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" "$root/lib/stubs/cuda.c"
    fi
    touch "$dir/.ok"
fi
echo "export PATH=$root/bin:\$PATH CUDA_ROOT=$root CUDA_PATH=$root CUDA_HOME=$root NVCC=$root/bin/nvcc"
echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90} LIBRARY_PATH=$root/lib/stubs:$root/lib\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
