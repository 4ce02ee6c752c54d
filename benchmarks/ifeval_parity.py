"""`make check-ifeval-m0`'s verdict: our engine's IFEval figures against transformers' on the
same GGUF, prompts and settings (each folder holds `summary.json` and `responses.jsonl` as
`srlm-eval ifeval` writes them); counts identical responses; writes parity.json beside them and
exits 1 when a headline figure differs by more than 2 points (the issue's bound).

usage: ifeval_parity.py OURS_DIR TRANSFORMERS_DIR"""
import json, os, sys

ours, theirs = sys.argv[1], sys.argv[2]
load = lambda d: json.load(open(os.path.join(d, "summary.json")))
rows = lambda d: [json.loads(l)["response"] for l in open(os.path.join(d, "responses.jsonl")) if l.strip()]
a, b = load(ours), load(theirs)
ra, rb = rows(ours), rows(theirs)
keys = ["prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose"]
diff = {k: a[k] - b[k] for k in keys}
result = {
    "prompts": len(ra),
    "ours": {k: a[k] for k in keys},
    "transformers": {k: b[k] for k in keys},
    "difference": diff,
    "identical_responses": sum(x == y for x, y in zip(ra, rb)),
    "identical_first_100_chars": sum(x[:100] == y[:100] for x, y in zip(ra, rb)),
}
json.dump(result, open(os.path.join(os.path.dirname(os.path.abspath(ours)), "m0_parity.json"), "w"), indent=2)
print(json.dumps(result, indent=2))
sys.exit(0 if all(abs(v) <= 2.0 for v in diff.values()) else 1)
