"""make check-smollm2: SmolLM2-135M-Instruct from its GGUF, ours against transformers
(which dequantizes the same file to f32): every position's logits on 20 AlpacaEval
instructions under the chat template, greedy 64-token continuations, and the token ids
of all 805 instructions. Writes target/smollm2/parity.json; exits 1 on a failed check."""
import json, os, re, sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf = sys.argv[1]
ours_dir = sys.argv[2]
d, f = os.path.split(os.path.abspath(gguf))
tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
ours = json.load(open(os.path.join(ours_dir, "ours.json")))

# Token ids of every instruction (no special tokens added).
mismatch, digit_runs = [], 0
for text, ids in zip(ours["texts"], ours["tokenized"]):
    theirs = tok(text, add_special_tokens=False)["input_ids"]
    if theirs != ids:
        # llama.cpp's `smollm` pre-tokenizer (and SmolLM2's own tokenizer.json) isolate each
        # digit before GPT-2's split; transformers' GGUF conversion does not, so a run of
        # whitespace before a digit ("\n\n5") is one token for us, one per character there.
        documented = re.search(r"\s{2,}\d", text) is not None
        digit_runs += documented
        mismatch.append({"text": text[:80], "whitespace_run_before_digit": documented})

max_abs, greedy_same, greedy_rows = 0.0, 0, []
with torch.no_grad():
    for i, p in enumerate(ours["prompts"]):
        ids = torch.tensor([p["ids"]])
        logits = model(input_ids=ids).logits[0].numpy()
        mine = np.fromfile(os.path.join(ours_dir, f"logits_{i}.f32"), dtype="<f4").reshape(logits.shape)
        max_abs = max(max_abs, float(np.abs(logits - mine).max()))
        out = model.generate(ids, max_new_tokens=len(p["greedy"]) + 1, do_sample=False, eos_token_id=ours["eos_ids"], pad_token_id=ours["eos_ids"][0])
        theirs = [t for t in out[0, ids.shape[1]:].tolist() if t not in ours["eos_ids"]][: len(p["greedy"])]
        same = theirs == p["greedy"]
        greedy_same += same
        if not same:
            k = next((j for j, (a, b) in enumerate(zip(theirs, p["greedy"])) if a != b), min(len(theirs), len(p["greedy"])))
            greedy_rows.append({"prompt": i, "first_difference_at": k})

result = {
    "transformers": __import__("transformers").__version__,
    "logits_prompts": len(ours["prompts"]),
    "logits_max_abs_diff": max_abs,
    "greedy_identical": greedy_same,
    "greedy_differences": greedy_rows,
    "instructions_tokenized": len(ours["texts"]),
    "token_id_mismatches": len(mismatch),
    "token_id_mismatches_whitespace_before_digit": digit_runs,
    "mismatch_examples": mismatch[:10],
}
os.makedirs("target/smollm2", exist_ok=True)
json.dump(result, open("target/smollm2/parity.json", "w"), indent=2)
print(json.dumps({k: v for k, v in result.items() if k != "mismatch_examples"}, indent=2))
ok = max_abs < 1e-3 and greedy_same == len(ours["prompts"]) and len(mismatch) == digit_runs
sys.exit(0 if ok else 1)
