"""make check-transformers: a checkpoint written by the engine loads in transformers'
LlamaForCausalLM and gives the same logits as the engine."""
import json, subprocess, sys, tempfile

import torch
from transformers import LlamaForCausalLM

with tempfile.TemporaryDirectory() as d:
    subprocess.run(["target/release/bench", "write-checkpoint", "--hidden", "64", "--layers", "2", "--heads", "4",
                    "--intermediate", "128", "--vocab", "512", "--out", d], check=True)
    ref = json.load(open(f"{d}/reference_logits.json"))
    model = LlamaForCausalLM.from_pretrained(d).float().eval()
    ids = torch.tensor(ref["ids"]).reshape(ref["shape"][0], ref["shape"][1])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    ours = torch.tensor(ref["logits"]).reshape(*ref["shape"])
    diff = (logits - ours).abs().max().item()
    print(f"max |transformers - ours| = {diff:.2e}")
    sys.exit(0 if diff < 1e-4 else 1)
