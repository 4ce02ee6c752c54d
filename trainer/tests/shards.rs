//! Data parallelism does not change the objective: a batch split into 1, 2 or 3 shards of
//! unequal token counts gives the same loss and gradients (each shard weighted by its
//! response tokens), and the thread count changes nothing at all.
use candle_core::Device;
use engine::logprob::{sft_loss, SeqBatch};
use engine::{Checkpoint, Config, Tokenizer};
use trainer::train::{data_parallel_step, Metrics};

#[test]
fn one_two_and_three_shards_give_the_same_loss_and_gradients() {
    let corpus: Vec<String> = (0..200).map(|i| format!("name {} animals: bat, bee, cow, dog number {i}", i % 7)).collect();
    let tok = Tokenizer::train(corpus.iter(), 300).unwrap();
    let cfg = Config::llama(tok.vocab_size(), 32, 64, 2, 4, 2, 64);
    let ck = Checkpoint::init(&cfg, tok.clone(), 3, &Device::Cpu).unwrap();
    // Responses of very different lengths, so equal weights per shard would be wrong.
    let data: Vec<(Vec<u32>, Vec<u32>)> = (0..7)
        .map(|i| tok.encode_pair(&format!("name {i} animals"), &"bat, bee, cow, dog ".repeat(1 + 3 * (i % 3))).unwrap())
        .collect();
    let pad = tok.pad_id;
    let loss_fn = |m: &engine::Llama, track: engine::model::Track, idx: &[usize]| -> trainer::Result<(candle_core::Tensor, Metrics, f64)> {
        let rows: Vec<(Vec<u32>, Vec<u32>)> = idx.iter().map(|&i| data[i].clone()).collect();
        let b = SeqBatch::new(&rows, pad, 64, &Device::Cpu)?;
        Ok((sft_loss(m, &b, track)?, Metrics::new(), b.n_tokens as f64))
    };
    let vars = ck.varmap.all_vars();
    let idx: Vec<usize> = (0..7).collect();
    let (l1, _, g1) = data_parallel_step(&ck.model, &idx, 1, 1, &vars, &loss_fn).unwrap();
    for (shards, threads) in [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3)] {
        let (l, _, g) = data_parallel_step(&ck.model, &idx, shards, threads, &vars, &loss_fn).unwrap();
        assert!((l - l1).abs() < 1e-5, "{shards} shards: loss {l} vs {l1}");
        let mut worst = 0f32;
        for v in &vars {
            let a = g1.get(v).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let b = g.get(v).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(worst, f32::max);
        }
        assert!(worst < 1e-5, "{shards} shards on {threads} threads: gradients differ by {worst}");
    }
    // The same shard count on another thread count: bit for bit.
    let (la, _, ga) = data_parallel_step(&ck.model, &idx, 3, 1, &vars, &loss_fn).unwrap();
    let (lb, _, gb) = data_parallel_step(&ck.model, &idx, 3, 3, &vars, &loss_fn).unwrap();
    assert_eq!(la, lb);
    for v in &vars {
        assert_eq!(ga.get(v).unwrap().to_vec2::<f32>().ok(), gb.get(v).unwrap().to_vec2::<f32>().ok());
    }
}
