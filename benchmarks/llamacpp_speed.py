"""llama.cpp's decoding speed on a GGUF file, the figures `bench decode-gguf` measures for ours.

Usage: llamacpp_speed.py MODEL.gguf THREADS [--prefill 128] [--prompt 16] [--new 64]
                         [--batches 1,4,8,16,32] [--repeats 2]
Prints one JSON line: prefill tokens/s (one prompt of --prefill tokens in one batch) and
greedy decode tokens/s per batch size (one sequence per row, --new tokens after a --prompt
token prefill, the prefill's time left out), best of --repeats after a warm-up. Token ids
are `benchmarks/src/common.rs::ids`, so both engines see the same prompts. Runs llama.cpp
through llama-cpp-python's bindings of its C API (llama_decode on a multi-sequence batch),
with the same thread count for prompt and generation.
"""
import argparse, json, time

import llama_cpp
import numpy as np


def ids(b, t, v):
    return [[((r * t + i) * 7919 + 13) % (v - 8) + 4 for i in range(t)] for r in range(b)]


class Engine:
    def __init__(self, path, threads, max_seqs, n_ctx):
        llama_cpp.llama_backend_init()
        mp = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(path.encode(), mp)
        cp = llama_cpp.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_ctx, 512, 512, max_seqs
        cp.n_threads, cp.n_threads_batch = threads, threads
        self.ctx = llama_cpp.llama_init_from_model(self.model, cp)
        self.vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(self.model))
        self.batch = llama_cpp.llama_batch_init(512, 0, max_seqs)

    def clear(self):
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    def decode(self, items):
        """items: (seq, pos, token) with logits for each; returns the argmax per item."""
        b = self.batch
        b.n_tokens = len(items)
        for i, (s, p, t, want) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = t, p, 1, want
            b.seq_id[i][0] = s
        rc = llama_cpp.llama_decode(self.ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        out = []
        for i, it in enumerate(items):
            if it[3]:
                row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, i), shape=(self.vocab,))
                out.append(int(row.argmax()))
        return out

    def greedy(self, prompts, new):
        """Prefill every prompt (one batch), then `new` one-token steps: (prefill s, decode s)."""
        self.clear()
        l = len(prompts[0])
        t0 = time.perf_counter()
        nxt = self.decode([(s, i, t, i == l - 1) for s, p in enumerate(prompts) for i, t in enumerate(p)])
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for k in range(new):
            nxt = self.decode([(s, l + k, t, True) for s, t in enumerate(nxt)])
        return prefill, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("threads", type=int)
    ap.add_argument("--prefill", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--batches", default="1,4,8,16,32")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    per_seq = max(a.prefill, a.prompt + a.new + 1)
    e = Engine(a.model, a.threads, max(batches), per_seq * max(batches))
    long = ids(1, a.prefill, e.vocab)
    e.greedy(long, 0)
    prefill = min(e.greedy(long, 0)[0] for _ in range(a.repeats))
    decode = {}
    for b in batches:
        p = ids(b, a.prompt, e.vocab)
        e.greedy(p, 4)
        best = min(e.greedy(p, a.new)[1] for _ in range(a.repeats))
        decode[str(b)] = b * a.new / best
    print(json.dumps({"prefill_tokens_per_s": a.prefill / prefill, "decode_tokens_per_s": decode,
                      "best_batched_tokens_per_s": max(decode.values()), "threads": a.threads,
                      "llama_cpp_python": llama_cpp.__version__}))


if __name__ == "__main__":
    main()
