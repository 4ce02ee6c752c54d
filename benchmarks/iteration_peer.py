"""One self-rewarding iteration with transformers' `generate` and TRL's `DPOTrainer`: the peer of
`bench iteration` (benchmarks/src/iteration.rs), on the same model, prompts and settings.

Usage: iteration_peer.py MODEL DIR THREADS [--candidates 4] [--max-new 64] [--judge-max-new 64]
                         [--batch 32] [--dpo-batch 4]
MODEL is a .gguf file or a checkpoint folder (ours, Hugging Face layout); DIR is `bench
iteration`'s --out, whose prompts.json holds the prompt token ids (our chat template) and the
judge template. Stages, each timed: candidates (sampled, T 0.7, top-p 0.9, fixed length, the
prompts of a batch left-padded, `num_return_sequences` candidates each), self-judging (one
sampled judgment of fixed length per candidate, the template under the model's chat template,
`Score: N` parsed), pairs (best against worst where the judge separated them, else the first
two candidates), DPO (sigmoid loss, β 0.1, lr 5e-6 constant, one epoch, reference log-probs
precomputed, AdamW, f32 on the CPU). Prints one JSON line.
"""
import argparse, json, os, re, tempfile, time

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

SCORE = re.compile(r"Score:\s*([0-5])")


def load(model):
    if model.endswith(".gguf"):
        d, f = os.path.split(model)
        tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
        m = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
        # The GGUF's weights arrive dequantized to f32, but the model stays marked as quantized,
        # which the Trainer refuses to fine-tune: the same weights in a plain model.
        cfg = m.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        plain = type(m)(cfg)
        plain.load_state_dict(m.state_dict())
        m = plain.float()
    else:
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model, "tokenizer.json"))
        m = LlamaForCausalLM.from_pretrained(model, torch_dtype=torch.float32)
    if tok.eos_token is None and m.config.eos_token_id is not None:
        tok.eos_token = tok.convert_ids_to_tokens(m.config.eos_token_id)
    if tok.pad_token is None:
        tok.pad_token = tok.convert_ids_to_tokens(m.config.pad_token_id or 0)
    return m.eval(), tok


def sample(model, tok, prompts, n, new, batch):
    """`n` fixed-length samples of each prompt (lists of ids), `batch` rows per call."""
    out, per = [], max(1, batch // n)
    pad = tok.pad_token_id
    for i in range(0, len(prompts), per):
        chunk = prompts[i:i + per]
        width = max(map(len, chunk))
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        with torch.no_grad():
            g = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.7, top_p=0.9,
                               max_new_tokens=new, min_new_tokens=new, num_return_sequences=n, pad_token_id=pad)
        out += [tok.decode(r[width:], skip_special_tokens=True).strip() for r in g]
    return out


def chat(tok, text):
    if tok.chat_template:
        text = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False)
        return tok.encode(text, add_special_tokens=False)
    return tok.encode(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("dir")
    ap.add_argument("threads", type=int)
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--max-new", type=int, default=64)
    ap.add_argument("--judge-max-new", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dpo-batch", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    spec = json.load(open(os.path.join(a.dir, "prompts.json")))
    model, tok = load(a.model)
    n = a.candidates
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    cands = sample(model, tok, spec["ids"], n, a.max_new, a.batch)
    candidates_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    judge_ids = [chat(tok, spec["judge_template"].replace("{instruction}", ins).replace("{response}", c))
                 for k, ins in enumerate(spec["instructions"]) for c in cands[k * n:(k + 1) * n]]
    judgments = sample(model, tok, judge_ids, 1, a.judge_max_new, a.batch)
    scores = [int(m.group(1)) if (m := SCORE.search(j)) else None for j in judgments]
    judge_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    rows = []
    for k, ids in enumerate(spec["ids"]):
        c, s = cands[k * n:(k + 1) * n], scores[k * n:(k + 1) * n]
        ok = [i for i in range(n) if s[i] is not None]
        best = max(ok, key=lambda i: s[i], default=0)
        worst = min(ok, key=lambda i: s[i], default=1)
        if not ok or s[best] == s[worst]:
            best, worst = 0, 1
        rows.append({"prompt": tok.decode(ids), "chosen": c[best], "rejected": c[worst]})
    with tempfile.TemporaryDirectory() as out_dir:
        args = DPOConfig(output_dir=out_dir, per_device_train_batch_size=a.dpo_batch, num_train_epochs=1,
                         learning_rate=5e-6, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
                         optim="adamw_torch", max_grad_norm=1.0, beta=0.1, loss_type="sigmoid",
                         precompute_ref_log_probs=True, precompute_ref_batch_size=a.dpo_batch, max_length=None,
                         disable_dropout=True, logging_steps=1000, save_strategy="no", report_to=[], use_cpu=True,
                         bf16=False, fp16=False, dataloader_num_workers=0, seed=0)
        model.train()
        trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
        trainer.train()
    dpo_s = time.perf_counter() - t0
    print(json.dumps({"candidates_s": candidates_s, "judge_s": judge_s, "dpo_s": dpo_s,
                      "total_s": time.perf_counter() - t_all, "candidates": len(cands),
                      "judgments_parsed": sum(s is not None for s in scores), "pairs": len(rows),
                      "mean_judge_prompt_tokens": sum(map(len, judge_ids)) / len(judge_ids)}))


if __name__ == "__main__":
    main()
