"""DPO by TRL for the self-rewarding loop (`dpo.backend = { type = "trl" }`).

The loop (trainer/src/dpo_trl.rs) writes `job.json` and runs `python trl_dpo.py job.json`; this
script trains M_{t+1} from M_t with TRL's DPOTrainer and writes, into the job's `work` folder:

  best/           the weights of the lowest validation loss (a Hugging Face folder with M_t's
                  tokenizer files), what the loop reads back as M_{t+1};
  progress.json   the curves in the loop's own format: {step, train: [[step, metrics]], valid:
                  [[step, metrics]], best: [step, loss]};
  hf/             TRL's resumable checkpoints: a rerun after a kill resumes from the last one.

What the job fixes, so that TRL trains what the local backend would: the pairs as token ids (TRL's
tokenization is skipped), the batch of each step (its sampler is replaced), the learning rate of each
step (warmup + cosine, as ours), the loss (TRL's `loss_type` and `loss_weights`, β), AdamW's weight
decay, gradient clipping and the seed. TRL precomputes its own reference log-probs from M_t. Extra
`DPOConfig` arguments (`job["args"]`) pass through, e.g. bf16, gradient_checkpointing, deepspeed.
Under `accelerate launch` each step's batch is split across the processes (split_batches).
"""
import json, os, shutil, sys

os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import torch
from datasets import Dataset
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]


def write_json(path, value):
    """Atomically: a temporary file, fsync, rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Batches:
    """The job's batches, one per step, in order (a batch sampler; `batch_size` is what
    accelerate splits across processes)."""

    def __init__(self, job):
        self.batches, self.batch_size = job["batches"], job["batch_size"]

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class LoopDPOTrainer(DPOTrainer):
    """DPOTrainer on the job's token ids, batches and learning rates, keeping the weights of the
    lowest validation loss in `best/` and the curves in `progress.json` as it goes."""

    def __init__(self, *a, job, progress, **kw):
        self.job, self.progress = job, progress
        super().__init__(*a, **kw)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset  # already prompt_ids / chosen_ids / rejected_ids

    def get_train_dataloader(self):
        dl = DataLoader(self.train_dataset, batch_sampler=Batches(self.job), collate_fn=self.data_collator)
        return self.accelerator.prepare(dl)

    def create_scheduler(self, num_training_steps, optimizer=None):
        if self.lr_scheduler is None:
            lrs, peak = self.job["lrs"], self.args.learning_rate
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, lambda s: lrs[min(s, len(lrs) - 1)] / peak)
        return self.lr_scheduler

    def log(self, logs, start_time=None):
        super().log(logs, start_time)  # TRL adds its rewards/* and logps/* to `logs`
        step, p = self.state.global_step, self.progress
        if "eval_loss" in logs:
            metrics = {k[len("eval_"):]: v for k, v in logs.items() if k.startswith("eval_") and isinstance(v, (int, float))}
            metrics = {k: v for k, v in metrics.items() if k not in ("runtime", "samples_per_second", "steps_per_second")}
            p["valid"] = [e for e in p["valid"] if e[0] != step] + [[step, metrics]]
            if p["best"] is None or metrics["loss"] < p["best"][1]:
                self.save_best()
                p["best"] = [step, metrics["loss"]]
        elif "loss" in logs:
            metrics = {("lr" if k == "learning_rate" else k): v for k, v in logs.items() if isinstance(v, (int, float)) and k != "epoch"}
            p["train"] = [e for e in p["train"] if e[0] != step - 1] + [[step - 1, metrics]]
            p["step"] = step
        if self.accelerator.is_main_process:
            write_json(os.path.join(self.job["work"], "progress.json"), p)

    def save_best(self):
        work = self.job["work"]
        best, tmp, old = (os.path.join(work, n) for n in ("best", "best.tmp", "best.old"))
        shutil.rmtree(tmp, ignore_errors=True)
        self.save_model(tmp)
        if self.accelerator.is_main_process:
            for f in TOKENIZER_FILES:
                if os.path.exists(os.path.join(self.job["model"], f)):
                    shutil.copy(os.path.join(self.job["model"], f), os.path.join(tmp, f))
            shutil.rmtree(old, ignore_errors=True)
            if os.path.exists(best):
                os.replace(best, old)
            os.replace(tmp, best)
            shutil.rmtree(old, ignore_errors=True)
        self.accelerator.wait_for_everyone()


def evaluate_at(every, last):
    """A callback that evaluates every `every` steps and after the last."""
    from transformers import TrainerCallback

    class EvalAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step % every == 0 or state.global_step == last:
                control.should_evaluate = True
            return control

    return EvalAt()


def last_checkpoint(hf):
    """The newest complete checkpoint in `hf` (Trainer writes `trainer_state.json` last); one a
    kill cut short is deleted."""
    if not os.path.isdir(hf):
        return None
    ckpts = sorted((d for d in os.listdir(hf) if d.startswith("checkpoint-")), key=lambda d: int(d.split("-")[1]))
    for d in reversed(ckpts):
        try:
            json.load(open(os.path.join(hf, d, "trainer_state.json")))
            return os.path.join(hf, d)
        except (OSError, ValueError):
            print(f"trl_dpo: {d} is incomplete (a kill cut it short); deleting it", file=sys.stderr)
            shutil.rmtree(os.path.join(hf, d))
    return None


def main():
    job = json.load(open(sys.argv[1]))
    work, steps = job["work"], len(job["lrs"])
    torch.set_num_threads(job["threads"])
    # A folder swap cut short by a kill: the previous best is the one to keep.
    best, old = os.path.join(work, "best"), os.path.join(work, "best.old")
    if not os.path.exists(best) and os.path.exists(old):
        os.replace(old, best)
    progress_path = os.path.join(work, "progress.json")
    progress = json.load(open(progress_path)) if os.path.exists(progress_path) else {"step": 0, "train": [], "valid": [], "best": None}
    if progress["step"] >= steps and progress["best"] is not None and os.path.exists(best):
        print(f"trl_dpo: {work} already holds the trained model", file=sys.stderr)
        return

    model = AutoModelForCausalLM.from_pretrained(job["model"], dtype=torch.float32)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(job["model"], "tokenizer.json"))
    tok.pad_token = tok.convert_ids_to_tokens(job["pad_id"])
    args = DPOConfig(
        output_dir=os.path.join(work, "hf"),
        max_steps=steps,
        per_device_train_batch_size=job["batch_size"],
        per_device_eval_batch_size=job["batch_size"],
        learning_rate=max(job["lrs"]),
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=job["weight_decay"],
        max_grad_norm=job["max_grad_norm"],
        optim="adamw_torch",
        adam_beta1=0.9,
        adam_beta2=0.999,
        adam_epsilon=1e-8,
        beta=job["beta"],
        loss_type=job["loss_type"],
        loss_weights=job["loss_weights"],
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=job["batch_size"],
        max_length=None,  # the pairs are cut as the local backend cuts them
        disable_dropout=True,
        eval_strategy="no",  # EvalAt decides
        logging_steps=1,
        save_strategy="steps",
        save_steps=job["ckpt_every"],
        save_total_limit=1,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        accelerator_config={"split_batches": True},
        seed=job["seed"],
        **{"bf16": False, "fp16": False, "use_cpu": not torch.cuda.is_available(), **job["args"]},
    )
    trainer = LoopDPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(job["train"]),
        eval_dataset=Dataset.from_list(job["valid"]),
        processing_class=tok,
        callbacks=[evaluate_at(job["eval_every"], steps)],
        job=job,
        progress=progress,
    )
    resume = last_checkpoint(args.output_dir)
    if resume:
        done = int(resume.rsplit("-", 1)[1])
        progress["train"] = [e for e in progress["train"] if e[0] < done]
        progress["step"] = done
        print(f"trl_dpo: resuming from {resume}", file=sys.stderr)
    trainer.train(resume_from_checkpoint=resume)
    progress["step"] = steps
    if trainer.accelerator.is_main_process:
        write_json(progress_path, progress)


if __name__ == "__main__":
    main()
