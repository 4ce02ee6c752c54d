//! How the training forward keeps what its backward pass needs.
//!
//! candle's `Tensor::backward` holds every node of the graph until it returns, so a
//! whole-model graph keeps every layer's activations alive through the backward pass,
//! alongside the gradients it builds. A [`Tape`] cuts the graph between layers instead:
//! each layer reads a fresh leaf copy of its input, and [`Tape::backward`] goes down the
//! layers one at a time (the loss first, then the top layer seeded with the gradient of
//! its output, and so on), dropping each layer's graph as soon as its gradients are out.
//! Activations are then freed as the backward pass goes, as in PyTorch, and the gradients
//! are the same numbers (the same operations in the same order; tested bit for bit). A layer
//! the fused kernels run is recorded instead of graphed ([`super::recorded`]): its segment
//! keeps what its written-out backward reads, and that backward gives the same bits.
use super::recorded::LayerRecord;
use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use std::cell::RefCell;

/// What a training forward records for the backward pass.
#[derive(Debug, Clone, Copy)]
pub enum Track<'a> {
    /// One candle graph through the whole model: `loss.backward()` gives every gradient.
    Graph,
    /// A graph (or a record) per layer, joined by [`Tape::backward`] (activations freed
    /// layer by layer).
    Layers(&'a Tape),
    /// No gradients (evaluation, reference log-probabilities): each layer's output is
    /// detached, so a layer's intermediates are freed while the next one runs.
    Off,
}

impl Track<'_> {
    /// The tensor a layer reads, given the previous layer's output `x`.
    pub(crate) fn cut(&self, x: Tensor) -> Result<Tensor> {
        match self {
            Track::Graph => Ok(x),
            Track::Off => Ok(x.detach()),
            Track::Layers(tape) => tape.cut(x),
        }
    }

    /// The tape, where layers may be recorded on it ([`super::recorded`]).
    pub(crate) fn tape(&self) -> Option<&Tape> {
        match self {
            Track::Layers(tape) => Some(tape),
            _ => None,
        }
    }

    /// Starts a new chain of layers at the embedding output `x`.
    pub(crate) fn start(&self, x: Tensor) -> Result<Tensor> {
        if let Track::Layers(tape) = self {
            tape.chains.borrow_mut().push(Chain::default());
        }
        self.cut(x)
    }
}

/// One forward pass through the layers: `outputs[j]` is the output of segment `j` (the
/// embedding for `j = 0`, else layer `j - 1`), and `inputs[j]` its leaf copy, what the
/// next segment (or the head and loss, for the last) reads.
#[derive(Default)]
struct Chain {
    outputs: Vec<Tensor>,
    inputs: Vec<Var>,
    /// `records[j]`: segment `j`'s record where it was a recorded layer (no graph).
    records: Vec<Option<LayerRecord>>,
}

/// The layer-by-layer graph of one or more forward passes (see the module docs). One per
/// loss; not shared between threads.
#[derive(Default)]
pub struct Tape {
    chains: RefCell<Vec<Chain>>,
}

impl std::fmt::Debug for Tape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tape({} chains)", self.chains.borrow().len())
    }
}

impl Tape {
    pub fn new() -> Self {
        Self::default()
    }

    fn cut(&self, x: Tensor) -> Result<Tensor> {
        self.cut_with(x, None)
    }

    /// Ends a recorded layer (output `x`, no graph) and starts the next segment at a leaf copy.
    pub(crate) fn cut_recorded(&self, x: Tensor, record: LayerRecord) -> Result<Tensor> {
        self.cut_with(x, Some(record))
    }

    fn cut_with(&self, x: Tensor, record: Option<LayerRecord>) -> Result<Tensor> {
        let mut chains = self.chains.borrow_mut();
        let chain = chains.last_mut().ok_or_else(|| candle_core::Error::Msg("tape: a layer before the embedding".into()))?;
        let leaf = Var::from_tensor(&x.detach())?;
        let out = leaf.as_tensor().clone();
        chain.outputs.push(x);
        chain.inputs.push(leaf);
        chain.records.push(record);
        Ok(out)
    }

    /// The gradients of `loss` (a scalar built on this tape's forward passes) with respect
    /// to every variable, as `loss.backward()` over the whole graph would give them.
    pub fn backward(self, loss: &Tensor) -> Result<GradStore> {
        let mut grads = loss.backward()?;
        let chains = self.chains.into_inner();
        for mut chain in chains.into_iter() {
            while let (Some(out), Some(input), Some(record)) = (chain.outputs.pop(), chain.inputs.pop(), chain.records.pop()) {
                let Some(g) = grads.remove(input.as_tensor()) else { continue };
                if let Some(record) = record {
                    // Each gradient added to what earlier chains gave, as `extend` adds them.
                    let leaf = record.input().clone();
                    let (dx, weights) = record.backward(&g)?;
                    for (t, g) in std::iter::once((leaf, dx)).chain(weights) {
                        let sum = match grads.remove(&t) {
                            Some(sum) => sum.add(&g)?,
                            None => g,
                        };
                        grads.insert(&t, sum);
                    }
                    continue;
                }
                // The segment's backward seeded with g, as that of sum(out · g) is (the same
                // numbers: one times g), without that product's passes where `Seed` runs.
                if out.device().is_cpu() {
                    grads.extend(out.apply_op1(Seed(g))?.backward()?)?;
                } else {
                    let mut layer = (&out * &g)?.sum_all()?.backward()?;
                    layer.remove(&g);
                    grads.extend(layer)?;
                }
            }
        }
        Ok(grads)
    }
}

/// A scalar node whose backward hands its input the gradient `g` (the root of a segment's
/// backward pass). Built from `sum(out · g)`, the seed cost a product, a sum and, backwards,
/// a broadcast and two products of the segment's output size, for the same `g`.
struct Seed(Tensor);

impl candle_core::CustomOp1 for Seed {
    fn name(&self) -> &'static str {
        "tape-seed"
    }

    fn cpu_fwd(&self, _: &candle_core::CpuStorage, _: &candle_core::Layout) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        // The value is never read: only the backward pass from this node is.
        Ok((candle_core::CpuStorage::F32(vec![0.0]), candle_core::Shape::from(())))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, _grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(self.0.clone()))
    }
}
