//! The transformer that compiled RASP programs become: its weights, its
//! forward pass ([`forward`]), and its weight file ([`file`]).
//!
//! The architecture is the plainest one there is: token plus position
//! embeddings, then layers of bidirectional multi-head attention and a ReLU MLP,
//! each added to the residual stream, then an unembedding. No layer norm, no
//! causal mask. Shapes and names are TransformerLens' (`W_E`, `W_Q`, ...), so the
//! weight file loads into a `HookedTransformer` as it is.
//!
//! # The residual stream and BOS
//!
//! Every compiled input starts with a beginning-of-sequence token: token id 0 at
//! position 0. The user's tokens follow at positions `1..=len`, token id `i + 1`
//! standing for `meta.vocab[i]`; RASP's `indices` count from the first user
//! token, so the value at residual position `p` belongs to index `p - 1`. Hence
//! `n_ctx = max_len + 1` and `d_vocab = vocab.len() + 1`.
//!
//! BOS exists for attention. A softmax always puts its weight somewhere; a RASP
//! `aggregate` whose selector selects nothing must still produce its default.
//! The compiler therefore lets every query score BOS a little (half as much as a
//! selected key): with any key selected BOS loses, with none it takes all the
//! weight, and BOS's value vector carries the default. The same trick makes
//! `selector_width` readable: attending to BOS plus `w` selected keys leaves
//! `1/(w + 1)` on BOS. BOS's own output is never decoded.
//!
//! The residual stream is a set of named directions, one label per dimension in
//! `meta.residual_labels`: a constant `one` (the MLPs' bias input), `bos` (set
//! only at position 0), then each live s-op's dimensions, `name:value` for
//! categorical ones (one-hot) and `name` for numerical ones. The compiler owns
//! that layout; this module only carries the labels for plots and checks.
//!
//! # What the runtime guarantees
//!
//! [`Model::forward`] computes exactly what TransformerLens computes for the
//! same weights (attention scores divided by `sqrt(d_head)`), on batches whose
//! items may have different lengths; padding never changes a result, because
//! items never share an attention matrix (see [`forward`]). It runs in the
//! model's [`Dtype`]: an F32 model in `f32`, as a TransformerLens model of
//! dtype `float32` does, an F64 model in `f64` ([`dtype`]).

pub mod decode;
pub mod dtype;
pub mod error;
pub mod file;
pub mod forward;
pub mod inspect;
pub mod record;
pub mod sniff;

use ndarray::{Array1, Array2, Array3};

use crate::eval::atom::Atom;
pub use dtype::{Dtype, FloatType, Real};
pub use error::ModelError;
pub use forward::{relu, softmax, Forward};
pub use record::{HeadKind, HeadRecord, HeadSOp, MlpPart, SOpRole};

/// The weight file format version this build writes. It reads every
/// version from 1 up to this one (see [`file`] for what changed).
pub const FORMAT_VERSION: u32 = 2;

/// The model's sizes, in TransformerLens' names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelConfig {
    pub n_layers: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Heads per layer (layers are zero-padded to a common count).
    pub n_heads: usize,
    /// Width of each head's query/key/value space.
    pub d_head: usize,
    /// Hidden units per MLP.
    pub d_mlp: usize,
    /// Positions: `max_len + 1` (BOS at position 0).
    pub n_ctx: usize,
    /// Input token ids: `vocab.len() + 1` (BOS is id 0).
    pub d_vocab: usize,
    /// Output logits per position: the number of categorical output values, or 1.
    pub d_vocab_out: usize,
}

/// This project's record of what a model computes and how to talk to it.
#[derive(Clone, Debug)]
pub struct ModelMeta {
    /// The format version of the file the model was read from
    /// ([`FORMAT_VERSION`] when compiled). Whatever it is, the model in
    /// memory has the layout of the current version, and is written in it.
    pub format_version: u32,
    /// How BOS is shown (it is token id 0 whatever this says), e.g. `"BOS"`.
    pub bos_token: String,
    /// The input values: token id `i + 1` is `vocab[i]`.
    pub vocab: Vec<Atom>,
    /// The longest input the model is exact on; `n_ctx = max_len + 1`.
    pub max_len: usize,
    /// How logits become values.
    pub output: OutputDecoding,
    /// One label per residual dimension, e.g. `one`, `bos`, `tokens:a`, `frac_prevs`.
    pub residual_labels: Vec<String>,
    /// The RASP program text.
    pub source: String,
    /// The name of the compiled s-op.
    pub sop: String,
    /// The float types the compiler proved the forward pass exact in (the
    /// weights rounded to the type, every operation in it), narrowest
    /// first; `None` when the file does not say (written before format 2).
    pub safe_dtypes: Option<Vec<FloatType>>,
    /// What each head computes, per layer, in head order (a layer may list
    /// fewer heads than `n_heads`: the rest are padding); `None` when the
    /// file does not say.
    pub heads: Option<Vec<Vec<HeadRecord>>>,
    /// Which s-ops each layer's MLP units are for, in unit order; `None`
    /// when the file does not say.
    pub mlps: Option<Vec<Vec<MlpPart>>>,
}

/// How the logits at one position become the output value there.
#[derive(Clone, Debug)]
pub enum OutputDecoding {
    /// One logit per value (`d_vocab_out = values.len()`); the output is
    /// `values[argmax]`, the first on ties.
    Categorical { values: Vec<Atom> },
    /// Two logits (`d_vocab_out = 2`): the number itself, then its
    /// negation (the unembedding's second column is minus the first, so
    /// subtracting the mean logit, as TransformerLens' weight processing
    /// does, changes nothing). Decoding reads logit 0. With
    /// `values` (the numbers it can be, ascending), the output is the nearest
    /// of them; without, the logit as a float, within `bound` of the
    /// program's value where the compiler proved one (a mean of means has
    /// too many values to list).
    Numerical {
        values: Vec<Atom>,
        bound: Option<f64>,
        /// Per position (BOS excluded), whether the program's number there
        /// is always an int, always a float, or either: the interpreter
        /// gives `1` for a mean over one key and `1.0` over two, which the
        /// model holds as one value. Empty when the file does not say.
        kinds: Vec<NumberKind>,
    },
}

/// What type the program's number at one position has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberKind {
    Int,
    Float,
    /// Either, depending on the input (or not known).
    Either,
}

impl NumberKind {
    /// The kind of every value in `values` (ints and floats; bools count
    /// as ints).
    pub fn of<'a>(values: impl IntoIterator<Item = &'a Atom>) -> NumberKind {
        let (mut ints, mut floats) = (false, false);
        for v in values {
            match v {
                Atom::Float(_) => floats = true,
                _ => ints = true,
            }
        }
        match (ints, floats) {
            (true, false) => NumberKind::Int,
            (false, true) => NumberKind::Float,
            _ => NumberKind::Either,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NumberKind::Int => "int",
            NumberKind::Float => "float",
            NumberKind::Either => "either",
        }
    }

    pub fn from_name(name: &str) -> Option<NumberKind> {
        match name {
            "int" => Some(NumberKind::Int),
            "float" => Some(NumberKind::Float),
            "either" => Some(NumberKind::Either),
            _ => None,
        }
    }

    /// `value` as this kind prints it: a whole float as an int where the
    /// position holds ints, an int as a float where it holds floats.
    pub fn apply(self, value: Atom) -> Atom {
        match (self, &value) {
            (NumberKind::Float, Atom::Int(i)) => Atom::Float(*i as f64),
            (NumberKind::Int, Atom::Float(x))
                if x.fract() == 0.0 && x.abs() < 9.007_199_254_740_992e15 =>
            {
                Atom::Int(*x as i64)
            }
            _ => value,
        }
    }
}

impl OutputDecoding {
    /// The kind of the number at user position `position` (0 the first
    /// token), when the output is numerical and the file says.
    pub fn kind_at(&self, position: usize) -> NumberKind {
        match self {
            OutputDecoding::Numerical { kinds, .. } => {
                kinds.get(position).copied().unwrap_or(NumberKind::Either)
            }
            OutputDecoding::Categorical { .. } => NumberKind::Either,
        }
    }
}

/// A transformer: embeddings, layers, unembedding.
///
/// Every weight is kept as `f64`; `dtype` says how the model is written and
/// run (see [`dtype`]): an [`Dtype::F32`] model's weights are `f32` values,
/// rounded to them if they are not, and its forward pass runs in `f32`.
#[derive(Clone, Debug)]
pub struct Model {
    pub config: ModelConfig,
    pub meta: ModelMeta,
    /// The element type of the weight file and of the forward pass.
    pub dtype: Dtype,
    /// `embed.W_E`: `[d_vocab, d_model]`.
    pub embed: Array2<f64>,
    /// `pos_embed.W_pos`: `[n_ctx, d_model]`.
    pub pos_embed: Array2<f64>,
    /// Each an attention sub-layer, then an MLP sub-layer.
    pub layers: Vec<Layer>,
    /// `unembed.W_U`: `[d_model, d_vocab_out]`.
    pub unembed: Array2<f64>,
    /// `unembed.b_U`: `[d_vocab_out]`.
    pub unembed_bias: Array1<f64>,
}

/// One transformer block, its weights of type `T` (`f64` in a [`Model`];
/// the runtime converts them to the type it runs in).
#[derive(Clone, Debug)]
pub struct Layer<T = f64> {
    pub attn: Attention<T>,
    pub mlp: Mlp<T>,
}

/// Multi-head bidirectional attention. The scores are divided by
/// `sqrt(d_head)` as in every standard implementation, so a compiler that
/// wants score `s` must fold `sqrt(d_head)` into `w_q` (and `b_q`).
#[derive(Clone, Debug)]
pub struct Attention<T = f64> {
    /// `[n_heads, d_model, d_head]`.
    pub w_q: Array3<T>,
    /// `[n_heads, d_model, d_head]`.
    pub w_k: Array3<T>,
    /// `[n_heads, d_model, d_head]`.
    pub w_v: Array3<T>,
    /// `[n_heads, d_head, d_model]`.
    pub w_o: Array3<T>,
    /// `[n_heads, d_head]`.
    pub b_q: Array2<T>,
    /// `[n_heads, d_head]`.
    pub b_k: Array2<T>,
    /// `[n_heads, d_head]`.
    pub b_v: Array2<T>,
    /// `[d_model]`.
    pub b_o: Array1<T>,
}

/// A two-layer ReLU MLP.
#[derive(Clone, Debug)]
pub struct Mlp<T = f64> {
    /// `[d_model, d_mlp]`.
    pub w_in: Array2<T>,
    /// `[d_mlp]`.
    pub b_in: Array1<T>,
    /// `[d_mlp, d_model]`.
    pub w_out: Array2<T>,
    /// `[d_model]`.
    pub b_out: Array1<T>,
}

impl Model {
    /// Token ids for one input: BOS (0), then `i + 1` for each token equal to
    /// `vocab[i]` (Python equality of keys, so `1`, `1.0` and `True` match the
    /// same entry).
    pub fn encode(&self, input: &[Atom]) -> Result<Vec<u32>, ModelError> {
        if input.is_empty() {
            return Err(ModelError::EmptyInput);
        }
        if input.len() > self.meta.max_len {
            return Err(ModelError::InputTooLong {
                len: input.len(),
                max_len: self.meta.max_len,
            });
        }
        let mut ids = Vec::with_capacity(input.len() + 1);
        ids.push(0);
        for (position, token) in input.iter().enumerate() {
            let index = self.meta.vocab.iter().position(|v| v.same_key(token));
            match index.and_then(|i| u32::try_from(i + 1).ok()) {
                Some(id) => ids.push(id),
                None => {
                    return Err(ModelError::UnknownToken {
                        token: token.repr(),
                        position,
                        vocab: preview(&self.meta.vocab),
                    })
                }
            }
        }
        Ok(ids)
    }

    /// The outputs of each batch item at positions `1..len` (BOS excluded):
    /// `values[argmax(logits)]` for a categorical output, the logit as
    /// [`Atom::Float`] for a numerical one.
    pub fn decode(&self, fwd: &Forward) -> Vec<Vec<Atom>> {
        (0..fwd.len())
            .map(|item| {
                let logits = fwd.logits_of(item);
                logits
                    .rows()
                    .into_iter()
                    .skip(1)
                    .enumerate()
                    .map(|(position, row)| match &self.meta.output {
                        OutputDecoding::Categorical { values } => {
                            let best = argmax(row.iter().copied());
                            values.get(best).cloned().unwrap_or(Atom::Float(f64::NAN))
                        }
                        OutputDecoding::Numerical { values, .. } => {
                            let x = row.first().copied().unwrap_or(f64::NAN);
                            match nearest(values, x) {
                                Some(v) => self.meta.output.kind_at(position).apply(v),
                                None => Atom::Float(x),
                            }
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The model with dtype `dtype`: for [`Dtype::F32`] every weight is
    /// rounded to the nearest `f32` (huge ones become infinite, which
    /// [`Model::to_bytes`] refuses); for [`Dtype::F64`] the weights stay as
    /// they are.
    pub fn with_dtype(mut self, dtype: Dtype) -> Model {
        self.dtype = dtype;
        if dtype == Dtype::F32 {
            let round = |x: f64| dtype.round(x);
            self.embed.mapv_inplace(round);
            self.pos_embed.mapv_inplace(round);
            for layer in &mut self.layers {
                *layer = layer.map(round);
            }
            self.unembed.mapv_inplace(round);
            self.unembed_bias.mapv_inplace(round);
        }
        self
    }

    /// Every weight, zeros included.
    pub fn parameter_count(&self) -> usize {
        self.tensors().iter().map(|(_, t)| t.len()).sum()
    }

    /// The weights that are not zero (the ones a compiler actually chose).
    pub fn nonzero_parameter_count(&self) -> usize {
        self.tensors()
            .iter()
            .map(|(_, t)| t.iter().filter(|&&w| w != 0.0).count())
            .sum()
    }

    /// Every tensor with its TransformerLens state-dict name, in file order.
    pub fn tensors(&self) -> Vec<(String, ndarray::ArrayViewD<'_, f64>)> {
        let mut out = vec![
            ("embed.W_E".to_string(), self.embed.view().into_dyn()),
            (
                "pos_embed.W_pos".to_string(),
                self.pos_embed.view().into_dyn(),
            ),
        ];
        for (l, layer) in self.layers.iter().enumerate() {
            let (a, m) = (&layer.attn, &layer.mlp);
            let views = [
                a.w_q.view().into_dyn(),
                a.w_k.view().into_dyn(),
                a.w_v.view().into_dyn(),
                a.w_o.view().into_dyn(),
                a.b_q.view().into_dyn(),
                a.b_k.view().into_dyn(),
                a.b_v.view().into_dyn(),
                a.b_o.view().into_dyn(),
                m.w_in.view().into_dyn(),
                m.b_in.view().into_dyn(),
                m.w_out.view().into_dyn(),
                m.b_out.view().into_dyn(),
            ];
            let names = LAYER_TENSORS.iter().map(|n| format!("blocks.{l}.{n}"));
            out.extend(names.zip(views));
        }
        out.push(("unembed.W_U".to_string(), self.unembed.view().into_dyn()));
        out.push((
            "unembed.b_U".to_string(),
            self.unembed_bias.view().into_dyn(),
        ));
        out
    }
}

impl<T: Copy> Layer<T> {
    /// The layer with `f` applied to every weight.
    pub fn map<U>(&self, f: impl Fn(T) -> U + Copy) -> Layer<U> {
        let a = &self.attn;
        let m = &self.mlp;
        Layer {
            attn: Attention {
                w_q: a.w_q.mapv(f),
                w_k: a.w_k.mapv(f),
                w_v: a.w_v.mapv(f),
                w_o: a.w_o.mapv(f),
                b_q: a.b_q.mapv(f),
                b_k: a.b_k.mapv(f),
                b_v: a.b_v.mapv(f),
                b_o: a.b_o.mapv(f),
            },
            mlp: Mlp {
                w_in: m.w_in.mapv(f),
                b_in: m.b_in.mapv(f),
                w_out: m.w_out.mapv(f),
                b_out: m.b_out.mapv(f),
            },
        }
    }
}

/// The tensors of one block, in file order, after the `blocks.{l}.` prefix.
pub const LAYER_TENSORS: [&str; 12] = [
    "attn.W_Q",
    "attn.W_K",
    "attn.W_V",
    "attn.W_O",
    "attn.b_Q",
    "attn.b_K",
    "attn.b_V",
    "attn.b_O",
    "mlp.W_in",
    "mlp.b_in",
    "mlp.W_out",
    "mlp.b_out",
];

impl ModelConfig {
    /// The shape the tensor `name` must have, or `None` if a model with this
    /// config has no such tensor (a foreign name, or a layer beyond `n_layers`).
    pub fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        let c = self;
        let shape = match name {
            "embed.W_E" => vec![c.d_vocab, c.d_model],
            "pos_embed.W_pos" => vec![c.n_ctx, c.d_model],
            "unembed.W_U" => vec![c.d_model, c.d_vocab_out],
            "unembed.b_U" => vec![c.d_vocab_out],
            _ => {
                let rest = name.strip_prefix("blocks.")?;
                let (digits, tensor) = rest.split_once('.')?;
                let layer: usize = digits.parse().ok()?;
                if layer >= c.n_layers || layer.to_string() != digits {
                    return None;
                }
                match tensor {
                    "attn.W_Q" | "attn.W_K" | "attn.W_V" => vec![c.n_heads, c.d_model, c.d_head],
                    "attn.W_O" => vec![c.n_heads, c.d_head, c.d_model],
                    "attn.b_Q" | "attn.b_K" | "attn.b_V" => vec![c.n_heads, c.d_head],
                    "attn.b_O" | "mlp.b_out" => vec![c.d_model],
                    "mlp.W_in" => vec![c.d_model, c.d_mlp],
                    "mlp.b_in" => vec![c.d_mlp],
                    "mlp.W_out" => vec![c.d_mlp, c.d_model],
                    _ => return None,
                }
            }
        };
        Some(shape)
    }
}

impl Model {
    /// Checks that there are `n_layers` layers and every tensor has the shape
    /// the config implies; the forward pass and [`Model::to_bytes`] rely on it.
    pub fn check_shapes(&self) -> Result<(), ModelError> {
        if self.layers.len() != self.config.n_layers {
            return Err(ModelError::InconsistentSizes(format!(
                "the config declares n_layers = {} but the model has {} layers",
                self.config.n_layers,
                self.layers.len()
            )));
        }
        for (name, tensor) in self.tensors() {
            let expected = self.config.tensor_shape(&name).unwrap_or_default();
            if tensor.shape() != expected.as_slice() {
                let dtype = self.dtype.name();
                return Err(error::wrong_shape(&name, dtype, expected, tensor.shape()));
            }
        }
        Ok(())
    }
}

/// Logits of a numerical output: `[x, -x]`.
pub const NUMERICAL_LOGITS: usize = 2;

/// Checks the record against the sizes: `n_ctx = max_len + 1`,
/// `d_vocab = vocab.len() + 1`, `d_vocab_out` matches the output decoding, one
/// residual label per dimension, `d_head > 0` when there are heads, and
/// the head and MLP records fit the layers.
pub fn check_consistency(config: &ModelConfig, meta: &ModelMeta) -> Result<(), ModelError> {
    let out_width = match &meta.output {
        OutputDecoding::Categorical { values } => values.len(),
        OutputDecoding::Numerical { .. } => NUMERICAL_LOGITS,
    };
    let problem = if Some(config.n_ctx) != meta.max_len.checked_add(1) {
        format!(
            "n_ctx = {} but max_len = {} (n_ctx must be max_len + 1, for BOS)",
            config.n_ctx, meta.max_len
        )
    } else if Some(config.d_vocab) != meta.vocab.len().checked_add(1) {
        format!(
            "d_vocab = {} but the vocabulary has {} tokens (d_vocab must be one more, for BOS)",
            config.d_vocab,
            meta.vocab.len()
        )
    } else if config.d_vocab_out != out_width {
        format!(
            "d_vocab_out = {} but the output decoding needs {out_width}",
            config.d_vocab_out
        )
    } else if config.d_model != meta.residual_labels.len() {
        format!(
            "d_model = {} but there are {} residual labels",
            config.d_model,
            meta.residual_labels.len()
        )
    } else if config.n_heads > 0 && config.d_head == 0 {
        format!("n_heads = {} but d_head = 0", config.n_heads)
    } else {
        return record::check(
            meta.heads.as_deref(),
            meta.mlps.as_deref(),
            config.n_layers,
            config.n_heads,
            config.d_mlp,
        )
        .map_err(ModelError::InconsistentSizes);
    };
    Err(ModelError::InconsistentSizes(problem))
}

/// The index of the largest value, the first on ties; NaNs never win.
fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// `{'a', 'b', 'c'}`, at most 10 values shown.
fn preview(values: &[Atom]) -> String {
    const SHOWN: usize = 10;
    let mut parts: Vec<String> = values.iter().take(SHOWN).map(Atom::repr).collect();
    if values.len() > SHOWN {
        parts.push(format!("... ({} values)", values.len()));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The value among `values` (numbers in ascending order) nearest to `x`.
fn nearest(values: &[Atom], x: f64) -> Option<Atom> {
    let number = |a: &Atom| match a {
        Atom::Int(i) => *i as f64,
        Atom::Float(f) => *f,
        Atom::Bool(b) => f64::from(u8::from(*b)),
        Atom::Str(_) => f64::NAN,
    };
    let i = values.partition_point(|a| number(a) < x);
    let candidates = [i.checked_sub(1), Some(i)];
    candidates
        .into_iter()
        .flatten()
        .filter_map(|j| values.get(j))
        .min_by(|a, b| (number(a) - x).abs().total_cmp(&(number(b) - x).abs()))
        .cloned()
}
