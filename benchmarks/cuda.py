"""make bench-cuda: our engine against PyTorch/transformers on one CUDA GPU, in one run.

The same rows as make bench's SmolLM2-135M-shape rows, on the GPU: train step (forward,
cross-entropy, backward, AdamW), forward, and sampled generation at batch 1 and 16, in f32
and bf16. Each row is timed after warm-up with the GPU synchronised on both sides; a row
that fails on one side is reported with its error and left out of the ratios.

Needs a build of ours with CUDA (`cargo build --release -p benchmarks --features
engine/cuda`, or BENCH_BIN) and a PyTorch that sees the GPU. Writes BENCH_SUMMARY
(default target/bench/cuda.json): {"machine", "rows": [{"name", "unit", "ours", "peer",
"ratio"}], "errors"}.
"""
import argparse, json, os, platform, sys, traceback

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import model_args, ours, torch_generate, torch_train  # noqa: E402

SUMMARY = os.environ.get("BENCH_SUMMARY", os.path.join("target", "bench", "cuda.json"))
SMOL = dict(hidden=576, layers=30, heads=9, kv_heads=3, intermediate=1536, vocab=49152, tied=True)
TORCH_DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtypes", default="f32,bf16", help="comma-separated: f32, bf16")
    ap.add_argument("--steps", type=int, default=10, help="timed train steps (after 2 warm-up steps)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--new-tokens", type=int, default=128)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench-cuda: PyTorch sees no CUDA GPU")
    machine = f"{torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, {platform.processor() or platform.machine()}"
    print(f"{'benchmark (SmolLM2-135M shape, CUDA)':52} {'ours':>10} {'pytorch':>10}  ratio   ({machine})", flush=True)
    rows, errors = [], []

    def row(name, unit, o, p):
        rows.append(dict(name=name, unit=unit, ours=o, peer=p, ratio=o / p))
        print(f"{name:52} {o:10.1f} {p:10.1f}  x{o / p:.2f}", flush=True)

    def attempt(what, fn):
        try:
            return fn()
        except Exception as e:  # one failed row must not lose the others
            msg = f"{what}: {e}"
            errors.append(msg)
            print(f"FAILED {msg}", flush=True)
            traceback.print_exc()
            return None

    smol = model_args(SMOL)
    for dt in a.dtypes.split(","):
        place = ["--device", "cuda", "--dtype", dt]
        o = attempt(f"ours train {dt}", lambda: ours("train", *smol, *place, "--batch", str(a.batch), "--seq", str(a.seq), "--steps", str(a.steps)))
        p = attempt(f"pytorch train {dt}", lambda: torch_train(SMOL, a.batch, a.seq, a.steps, "cuda", TORCH_DTYPES[dt]))
        if o and p:
            row(f"train step {dt} b{a.batch} t{a.seq} (tokens/s)", "tokens/s", o["train_tokens_per_s"], p[0])
            row(f"forward {dt} b{a.batch} t{a.seq} (tokens/s)", "tokens/s", o["forward_tokens_per_s"], p[1])
        torch.cuda.empty_cache()
        for b in (1, 16):
            o = attempt(f"ours generate {dt} b{b}", lambda: ours("generate", *smol, *place, "--batch", str(b), "--new-tokens", str(a.new_tokens), "--repeats", "2"))
            p = attempt(f"pytorch generate {dt} b{b}", lambda: torch_generate(SMOL, b, 16, a.new_tokens, 2, "cuda", TORCH_DTYPES[dt]))
            if o and p:
                row(f"sampled generation {dt} batch {b} (tokens/s)", "tokens/s", o["generate_tokens_per_s"], p)
            torch.cuda.empty_cache()
    os.makedirs(os.path.dirname(SUMMARY) or ".", exist_ok=True)
    tmp = SUMMARY + ".tmp"
    with open(tmp, "w") as f:
        json.dump(dict(machine=machine, rows=rows, errors=errors), f, indent=1)
    os.replace(tmp, SUMMARY)
    print(f"wrote {SUMMARY}")


if __name__ == "__main__":
    main()
