"""make bench: our engine and PyTorch/transformers side by side, in one run, same threads.

Writes target/bench/summary.json: a list of {"name", "unit", "ours", "peer", "ratio"}
(ratio > 1 means we are faster) and prints a table.
"""
import argparse, json, os, platform, subprocess, time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

BENCH = os.path.join("target", "release", "bench")


def ours(*args):
    out = subprocess.run([BENCH, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def model_args(m):
    return ["--hidden", str(m["hidden"]), "--layers", str(m["layers"]), "--heads", str(m["heads"]),
            "--intermediate", str(m["intermediate"]), "--vocab", str(m["vocab"])]


def torch_model(m):
    cfg = LlamaConfig(hidden_size=m["hidden"], num_hidden_layers=m["layers"], num_attention_heads=m["heads"],
                      num_key_value_heads=m["heads"], intermediate_size=m["intermediate"], vocab_size=m["vocab"],
                      max_position_embeddings=1024, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).float()


def torch_train(m, b, t, steps):
    model = torch_model(m)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(4, m["vocab"] - 4, (b, t + 1))
    def step():
        out = model(input_ids=x[:, :-1], labels=x[:, 1:].contiguous())
        # labels are shifted inside; this is the same work as ours: forward, CE, backward, AdamW
        opt.zero_grad(); out.loss.backward(); opt.step()
    step(); step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    train = b * t * steps / (time.perf_counter() - t0)
    with torch.no_grad():
        model(input_ids=x[:, :-1])
        t0 = time.perf_counter()
        for _ in range(steps):
            model(input_ids=x[:, :-1])
        fwd = b * t * steps / (time.perf_counter() - t0)
    return train, fwd


def torch_generate(m, b, prompt, new, repeats):
    model = torch_model(m).eval()
    x = torch.randint(4, m["vocab"] - 4, (b, prompt))
    kw = dict(do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=new, min_new_tokens=new, pad_token_id=0)
    with torch.no_grad():
        model.generate(x, **kw)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model.generate(x, **kw)
    return b * new * repeats / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    small = dict(hidden=256, layers=4, heads=4, intermediate=688, vocab=512)
    rows = []
    def add(name, unit, o, p):
        rows.append(dict(name=name, unit=unit, ours=o, peer=p, ratio=o / p))
        print(f"{name:44} {o:10.0f} {p:10.0f}  x{o / p:.2f}", flush=True)
    print(f"{'benchmark':44} {'ours':>10} {'pytorch':>10}  ratio   ({a.threads} thread(s), {platform.processor() or platform.machine()})")
    o = ours("train", *model_args(small), "--batch", "8", "--seq", "256", "--steps", str(a.steps))
    tt, tf = torch_train(small, 8, 256, a.steps)
    add("train step 3.4M b8 t256 (tokens/s)", "tokens/s", o["train_tokens_per_s"], tt)
    add("forward 3.4M b8 t256 (tokens/s)", "tokens/s", o["forward_tokens_per_s"], tf)
    for b in (1, 8):
        o = ours("generate", *model_args(small), "--batch", str(b), "--new-tokens", "128")
        add(f"sampled generation 3.4M batch {b} (tokens/s)", "tokens/s", o["generate_tokens_per_s"], torch_generate(small, b, 16, 128, 3))
    # Our own two KV caches at the judge-scoring shape (96 rows, 120-token prompt, 40 new):
    # here the peer column is our concatenating cache, not PyTorch.
    o = ours("kv-cache", *model_args(small))
    add("decode b96 p120 +40: prealloc vs concat KV", "tokens/s", o["preallocated_tokens_per_s"], o["concatenated_tokens_per_s"])
    os.makedirs("target/bench", exist_ok=True)
    with open("target/bench/summary.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("wrote target/bench/summary.json")


if __name__ == "__main__":
    main()
