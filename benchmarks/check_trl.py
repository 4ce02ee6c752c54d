"""make check-trl: our DPO against TRL's DPOTrainer on the same model, pairs and hyperparameters.

Our side is `bench dpo-trace` (trainer::dpo::train_dpo, one shard, f32 on the CPU): it writes the
token ids of every pair, our reference log-probs, the batch of each step, the per-step metrics and
the final weights. TRL's side gets the same token ids (its tokenization is skipped), the same
batches in the same order (its sampler is replaced), the same per-step learning rates, AdamW
(torch's, betas 0.9/0.999, eps 1e-8), clipping and β; no dropout, f32 on the CPU, reference
log-probs precomputed by TRL itself from the same checkpoint. Compared per step: loss,
rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins (and, to locate a difference,
the reference and policy log-probs, the gradient norm and the learning rate); then the weights after
the last step. Writes target/trl/parity.json; exits 1 when a compared figure differs by more than
the tolerance (1e-4).

Weight decay is 0 by default: TRL (transformers' Trainer) exempts biases and norm weights from it,
ours decays every weight. `--f64-control` also runs TRL in f64 and ours with f64 weights, to tell
f32 rounding from a real difference.

    .venv/bin/python benchmarks/check_trl.py [--model DIR] [--pairs pairs.jsonl] [--loss sigmoid]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import torch
from datasets import Dataset
from safetensors.torch import load_file
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

COMPARED = ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"]
DIAGNOSTIC = ["logps/chosen", "logps/rejected", "grad_norm", "lr"]
BENCH = "target/release/bench"


def synthetic_pairs(n):
    """`n` short preference pairs (TRL's prompt/chosen/rejected plus our record fields), of
    varied lengths so the batches pad."""
    things = ["fox", "dog", "river", "clock", "garden", "letter", "bridge", "storm"]
    out = []
    for i in range(n):
        t = things[i % len(things)]
        out.append({"prompt_id": i, "prompt": f"Write {1 + i % 3} sentences about the {t}.",
                    "chosen": " ".join([f"The quick brown {t} jumps over word{i}."] * (1 + i % 3)),
                    "rejected": f"No {t}." + " word" * (i % 4),
                    "chosen_score": 5.0, "rejected_score": 1.0})
    return out


class ReplayDPOTrainer(DPOTrainer):
    """DPOTrainer fed our token ids, our batch order and our per-step learning rates; records
    each step's metrics as TRL computes them."""

    def __init__(self, *a, batches, lrs, **kw):
        self.batches, self.lrs, self.records, self.logs = batches, lrs, [], []
        super().__init__(*a, **kw)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already our prompt_ids / chosen_ids / rejected_ids

    def get_train_dataloader(self):
        return DataLoader(self.train_dataset, batch_sampler=self.batches, collate_fn=self.data_collator)

    def create_scheduler(self, num_training_steps, optimizer=None):
        if self.lr_scheduler is None:
            peak = self.args.learning_rate
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, lambda s: self.lrs[min(s, len(self.lrs) - 1)] / peak)
        return self.lr_scheduler

    def _compute_loss(self, model, inputs, return_outputs):
        out = super()._compute_loss(model, inputs, return_outputs)
        if model.training:
            loss = out[0] if return_outputs else out
            rec = {"loss": loss.item(), "lr": self.lr_scheduler.get_last_lr()[0]}
            rec.update({k: v[-1] for k, v in self._metrics["train"].items() if k.startswith(("rewards/", "logps/"))})
            self.records.append(rec)
        return out

    def log(self, logs, start_time=None):
        self.logs.append(dict(logs))
        super().log(logs, start_time)


def trl_losses(loss, alpha):
    return {"sigmoid": (["sigmoid"], None), "sigmoid-nll": (["sigmoid", "sft"], [1.0, alpha]), "ipo": (["ipo"], None)}[loss]


def weights_over(ours_w, theirs_w, names, trainer, tol):
    """The weight elements where ours and TRL's differ by more than `tol`: how many, and the largest
    root of TRL's bias-corrected Adam second moment among them (a root near the rounding noise of
    the gradients means Adam turned noise-level gradients into lr-sized steps)."""
    state = {n: trainer.optimizer.state.get(p, {}) for n, p in trainer.model.named_parameters()}
    out = {"elements": 0, "total": 0, "max_sqrt_v_hat": 0.0}
    for k in names:
        bad = ((ours_w[k].float() - theirs_w[k].float()).abs() > tol).flatten()
        out["total"] += bad.numel()
        if not bad.any():
            continue
        out["elements"] += int(bad.sum())
        st = state.get(k, {})
        if "exp_avg_sq" in st:
            bc2 = 1 - trainer.args.adam_beta2 ** float(st["step"])
            out["max_sqrt_v_hat"] = max(out["max_sqrt_v_hat"], (st["exp_avg_sq"].flatten()[bad] / bc2).sqrt().max().item())
    return out


def trace_cmd(a, model_dir, pairs_path, out):
    """`bench dpo-trace` with the check's hyperparameters."""
    return [BENCH, "dpo-trace", "--model", model_dir, "--pairs", pairs_path, "--out", out, "--loss", a.loss,
            "--beta", str(a.beta), "--alpha", str(a.alpha), "--steps", str(a.steps), "--batch", str(a.batch),
            "--lr", str(a.lr), "--grad-clip", str(a.grad_clip), "--warmup", str(a.warmup),
            "--min-lr-ratio", str(a.min_lr_ratio), "--weight-decay", str(a.weight_decay)]


def run_trl(a, trace, model_dir, out_dir, dtype):
    """TRL's DPOTrainer on our ids, batches and learning rates, in `dtype` on the CPU; returns the
    trained trainer (its `records` hold each step's metrics)."""
    cfg = trace["config"]
    torch.manual_seed(0)
    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager")
    tok = PreTrainedTokenizerFast(tokenizer_file=f"{model_dir}/tokenizer.json")
    tok.pad_token = tok.convert_ids_to_tokens(cfg["pad_id"])
    loss_type, loss_weights = trl_losses(a.loss, a.alpha)
    args = DPOConfig(output_dir=out_dir, per_device_train_batch_size=a.batch, max_steps=a.steps,
                     learning_rate=a.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=cfg["weight_decay"],
                     adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, optim="adamw_torch",
                     max_grad_norm=a.grad_clip, beta=a.beta, loss_type=loss_type, loss_weights=loss_weights,
                     precompute_ref_log_probs=True, precompute_ref_batch_size=a.batch, max_length=None,
                     disable_dropout=True, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                     bf16=False, fp16=False, dataloader_num_workers=0, remove_unused_columns=False, seed=0)
    lrs = [s["lr"] for s in trace["steps"]]
    trainer = ReplayDPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(trace["pairs"]),
                               processing_class=tok, batches=trace["batches"], lrs=lrs)
    trainer.train()
    return trainer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="checkpoint folder (default: a tiny random one from `bench write-checkpoint`)")
    ap.add_argument("--pairs", help="pairs.jsonl (default: 24 synthetic pairs)")
    ap.add_argument("--loss", default="sigmoid", choices=["sigmoid", "sigmoid-nll", "ipo"])
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--min-lr-ratio", type=float, default=1.0, help="cosine decay to this fraction; 1 is constant")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--f64-control", action="store_true",
                    help="also run TRL in float64, to measure how far f32 rounding alone moves the weights")
    ap.add_argument("--n-pairs", type=int, help="use only the first N pairs of --pairs")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--out", default="target/trl/parity.json")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (both sides' checkpoints and the trace)")
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    work = tempfile.mkdtemp(prefix="check_trl_")
    model_dir = a.model
    if model_dir is None:
        model_dir = f"{work}/start"
        subprocess.run([BENCH, "write-checkpoint", "--hidden", "64", "--layers", "2", "--heads", "4",
                        "--intermediate", "128", "--vocab", "384", "--out", model_dir], check=True)
    pairs_path = a.pairs
    if pairs_path is not None and a.n_pairs is not None:
        with open(pairs_path) as f:
            lines = [l for l in f if l.strip()][: a.n_pairs]
        pairs_path = f"{work}/pairs.jsonl"
        with open(pairs_path, "w") as f:
            f.writelines(lines)
    if pairs_path is None:
        pairs_path = f"{work}/pairs.jsonl"
        with open(pairs_path, "w") as f:
            f.writelines(json.dumps(p) + "\n" for p in synthetic_pairs(24))
    ours_dir = f"{work}/ours"
    subprocess.run(trace_cmd(a, model_dir, pairs_path, ours_dir), check=True)
    trace = json.load(open(f"{ours_dir}/trace.json"))
    cfg = trace["config"]

    trainer = run_trl(a, trace, model_dir, f"{work}/trl", torch.float32)
    trl_ref = [{"chosen": c, "rejected": r} for c, r in
               zip(trainer.train_dataset["ref_chosen_logps"], trainer.train_dataset["ref_rejected_logps"])]
    theirs = trainer.records
    grad_norms = [l["grad_norm"] for l in trainer.logs if "grad_norm" in l]
    for rec, g in zip(theirs, grad_norms):
        rec["grad_norm"] = g

    # Compare.
    ours = trace["steps"]
    diffs = {k: [abs(o[k] - t[k]) for o, t in zip(ours, theirs)] for k in COMPARED + DIAGNOSTIC if k in ours[0] and k in theirs[0]}
    ref_diff = max(max(abs(o["chosen"] - t["chosen"]), abs(o["rejected"] - t["rejected"])) for o, t in zip(trace["reference"], trl_ref))
    ours_w = load_file(f"{ours_dir}/model/model.safetensors")
    theirs_w = {k: v.detach() for k, v in trainer.model.state_dict().items()}
    start_w = load_file(f"{model_dir}/model.safetensors")
    common = sorted(set(ours_w) & set(theirs_w))
    weight_diff = {k: (ours_w[k].float() - theirs_w[k].float()).abs().max().item() for k in common}
    over = weights_over(ours_w, theirs_w, common, trainer, a.tol)
    control = None
    if a.f64_control:
        t64 = run_trl(a, trace, model_dir, f"{work}/trl64", torch.float64)
        w64 = {k: v.detach() for k, v in t64.model.state_dict().items()}
        ours64 = f"{work}/ours64"
        subprocess.run(trace_cmd(a, model_dir, pairs_path, ours64) + ["--dtype", "f64"], check=True)
        o64 = load_file(f"{ours64}/model/model.safetensors")
        steps64 = json.load(open(f"{ours64}/trace.json"))["steps"]
        control = {"max_abs_diff_ours_f64_vs_trl_f64": max((o64[k].double() - w64[k]).abs().max().item() for k in common),
                   "max_abs_diff_ours_f32_vs_f64": max((ours_w[k].double() - o64[k].double()).abs().max().item() for k in common),
                   "grad_norm": {"ours": [s["grad_norm"] for s in ours], "ours_f64": [s["grad_norm"] for s in steps64],
                                 "trl": [r.get("grad_norm") for r in theirs],
                                 "trl_f64": [l["grad_norm"] for l in t64.logs if "grad_norm" in l]},
"max_abs_diff_trl_f32_vs_f64": max((theirs_w[k].double() - w64[k]).abs().max().item() for k in common),
                   "max_abs_diff_ours_vs_trl_f64": max((ours_w[k].double() - w64[k]).abs().max().item() for k in common),
                   "elements_over_tol_trl_f32_vs_f64": sum(int(((theirs_w[k].double() - w64[k]).abs() > a.tol).sum()) for k in common),
                   "loss_max_abs_diff_ours_vs_trl_f64": max(abs(o["loss"] - t["loss"]) for o, t in zip(trace["steps"], t64.records))}
    moved = max((ours_w[k].float() - start_w[k].float()).abs().max().item() for k in common if k in start_w)
    max_diff = {k: max(v) for k, v in diffs.items()}
    failed = [k for k in COMPARED if max_diff.get(k, float("inf")) > a.tol]
    if max(weight_diff.values()) > a.tol:
        failed.append("weights")
    if len(theirs) != len(ours):
        failed.append(f"steps ({len(ours)} ours, {len(theirs)} TRL)")
    report = {
        "config": {**cfg, "loss_arg": a.loss, "trl_loss_type": trl_losses(a.loss, a.alpha)[0], "trl_loss_weights": trl_losses(a.loss, a.alpha)[1],
                   "pairs": len(trace["pairs"]), "pairs_file": a.pairs or "24 synthetic pairs", "model": a.model or "bench write-checkpoint (hidden 64, 2 layers, vocab 384)",
                   "tolerance": a.tol},
        "versions": {"trl": __import__("trl").__version__, "transformers": __import__("transformers").__version__,
                     "torch": torch.__version__},
        "steps": [{"step": i, "ours": {k: o.get(k) for k in COMPARED + DIAGNOSTIC},
                   "trl": {k: t.get(k) for k in COMPARED + DIAGNOSTIC}} for i, (o, t) in enumerate(zip(ours, theirs))],
        "max_abs_diff": {**max_diff, "reference_logps": ref_diff, "weights": max(weight_diff.values()),
                         "weights_moved_from_start": moved},
        "weight_diff_per_tensor": weight_diff,
        "weights_over_tolerance": over,
        "f64_control": control,
        "weights_only_ours": sorted(set(ours_w) - set(theirs_w)),
        "weights_only_trl": sorted(set(theirs_w) - set(ours_w)),
        "failed": failed,
        "pass": not failed,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"{'metric':<20} {'max |ours - TRL|':>18}")
    for k, v in report["max_abs_diff"].items():
        print(f"{k:<20} {v:>18.2e}")
    print(f"weights over tolerance: {over['elements']} of {over['total']}, max sqrt(v_hat) there {over['max_sqrt_v_hat']:.2e}")
    if control:
        for k, v in control.items():
            if not isinstance(v, dict):
                print(f"{k:<40} {v:.2e}")
    print(f"wrote {a.out}: {'pass' if not failed else 'FAIL (' + ', '.join(failed) + ')'}")
    if a.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if not failed else 1)


if __name__ == "__main__":
    main()
