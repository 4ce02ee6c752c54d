"""IFEval responses from transformers, for the parity check against our engine
(`make check-ifeval-m0`): a GGUF dequantized to f32 by transformers, each prompt through the
model's own chat template (transformers' tokenizer), greedy, left-padded batches, stopping at
the tokenizer's EOS. Writes Google's response format (`prompt`, `response` per line).

usage: ifeval_transformers.py GGUF PROMPTS LIMIT MAX_NEW_TOKENS BATCH OUT.jsonl"""
import json, os, sys, time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, prompts_file, limit, max_new, batch, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
d, f = os.path.split(os.path.abspath(gguf))
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
tok.padding_side = "left"
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
prompts = [json.loads(l)["prompt"] for l in open(prompts_file) if l.strip()]
if limit > 0:
    prompts = prompts[:limit]
pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
rows, t0, new_tokens = [], time.time(), 0
with torch.no_grad():
    for i in range(0, len(prompts), batch):
        chunk = prompts[i : i + batch]
        texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True) for p in chunk]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        out_ids = model.generate(**enc, max_new_tokens=max_new, do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=pad)
        for p, ids in zip(chunk, out_ids[:, enc["input_ids"].shape[1] :].tolist()):
            ids = ids[: ids.index(tok.eos_token_id)] if tok.eos_token_id in ids else ids
            new_tokens += len(ids)
            rows.append({"prompt": p, "response": tok.decode(ids, skip_special_tokens=True).strip()})
        print(f"{len(rows)}/{len(prompts)} prompts, {new_tokens / (time.time() - t0):.1f} new tokens/s", file=sys.stderr, flush=True)
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out + ".tmp", "w") as fh:
    for r in rows:
        fh.write(json.dumps(r) + "\n")
os.replace(out + ".tmp", out)
