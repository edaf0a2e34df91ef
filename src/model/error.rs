//! Errors of the model phase: reading and writing weight files, encoding
//! inputs, running the forward pass.
//!
//! Every variant has a stable code `rasp::model::...`. Errors about one tensor
//! carry that tensor's header entry as their source code, with a label on the
//! part that is wrong (its dtype or its shape), so a bad file reads like this:
//!
//! ```text
//! rasp::model::wrong_shape
//!   × tensor `blocks.0.attn.W_Q` has shape [2, 4, 3], expected [2, 4, 4]
//!    ╭────
//!  1 │ "blocks.0.attn.W_Q": {"dtype": "F32", "shape": [2, 4, 3]}
//!    ·                                                ────┬────
//!    ·                                                    ╰── expected [2, 4, 4]
//! ```

use miette::{Diagnostic, SourceSpan};

use super::Dtype;

/// Everything that can go wrong in [`crate::model`].
#[derive(Debug, Clone, PartialEq, thiserror::Error, Diagnostic)]
pub enum ModelError {
    /// The file cannot be opened, read or written.
    #[error("cannot {action} `{path}`: {reason}")]
    #[diagnostic(code(rasp::model::io))]
    Io {
        action: &'static str,
        path: String,
        reason: String,
    },

    /// Fewer than 8 bytes, or a first 8 bytes that declare an absurd header
    /// (random bytes, a PyTorch pickle; text is told apart first).
    #[error("not a safetensors file: {reason}")]
    #[diagnostic(
        code(rasp::model::not_safetensors),
        help("a safetensors file starts with the header's length as 8 little-endian bytes, then the JSON header")
    )]
    NotSafetensors { reason: String },

    /// A RASP program where a weight file belongs: `rasp exec prog.rasp`.
    #[error("{} is a RASP program, not a compiled model", subject(path))]
    #[diagnostic(
        code(rasp::model::program_not_model),
        help("use `rasp run` to run a program, or compile it first with `rasp compile` and give `rasp exec` the weight file it writes")
    )]
    ProgramNotModel {
        /// The file, when it was read from one; empty otherwise.
        path: String,
    },

    /// Other text where a weight file belongs: a README, a JSON file.
    #[error("{} is a text file, not a compiled model", subject(path))]
    #[diagnostic(
        code(rasp::model::text_not_model),
        help("a compiled model is the binary `.safetensors` file that `rasp compile` writes")
    )]
    TextNotModel {
        /// The file, when it was read from one; empty otherwise.
        path: String,
    },

    /// The header length points past the end of the file.
    #[error("the file ends inside its header: the header needs {needed} bytes but only {available} follow")]
    #[diagnostic(
        code(rasp::model::truncated_header),
        help("the file was probably cut short while copying or downloading; write it again")
    )]
    TruncatedHeader { needed: u64, available: usize },

    /// The header is not UTF-8, not JSON, or not a map of tensor entries.
    #[error("the safetensors header is invalid: {reason}")]
    #[diagnostic(code(rasp::model::invalid_header))]
    InvalidHeader { reason: String },

    /// The tensors' data does not end where the file does: truncated data
    /// (`declared > available`) or trailing bytes.
    #[error("the header declares {declared} bytes of tensor data but the file holds {available}")]
    #[diagnostic(
        code(rasp::model::data_out_of_range),
        help("a shorter file was cut short; a longer one has bytes after the last tensor")
    )]
    DataOutOfRange { declared: u64, available: u64 },

    /// Offsets that overlap or leave gaps, or a byte range that does not match
    /// the shape and dtype.
    #[error("the tensor layout in the header is invalid: {reason}")]
    #[diagnostic(code(rasp::model::bad_tensor_layout))]
    BadTensorLayout { reason: String },

    /// A safetensors file without this project's `rasp` metadata.
    #[error("this safetensors file is not a rasp model: it has no `rasp` metadata")]
    #[diagnostic(
        code(rasp::model::not_a_rasp_model),
        help("{found}; rasp model files are written by `rasp compile`")
    )]
    NotARaspModel { found: String },

    /// A metadata key that a rasp model file must have.
    #[error("the metadata key `{key}` is missing")]
    #[diagnostic(code(rasp::model::missing_metadata))]
    MissingMetadata { key: &'static str },

    /// A version 2 file whose tensor data or record changed after it was
    /// written.
    #[error("the file's checksum does not match its contents (it states {stated}, its contents give {computed})")]
    #[diagnostic(
        code(rasp::model::checksum),
        help(
            "the tensor data or the record was changed after the file was written (a damaged \
             copy, or an edit); compile the program again, or copy the file again"
        )
    )]
    ChecksumMismatch { stated: String, computed: String },

    /// A forward pass whose logits were infinite or NaN.
    #[error("the forward pass overflowed: a logit at position {position} is not finite")]
    #[diagnostic(
        code(rasp::model::overflow),
        help(
            "the weights are finite but the activations exceed the model's float type; a \
             compiled model never does this on its inputs, so the file was likely changed \
             (`rasp inspect` shows its record)"
        )
    )]
    NonFiniteOutput { position: usize },

    /// A metadata value that is not the expected JSON.
    #[error("the metadata key `{key}` is malformed: {reason}")]
    #[diagnostic(code(rasp::model::malformed_metadata))]
    MalformedMetadata { key: &'static str, reason: String },

    /// A `format_version` this build does not read.
    #[error("unsupported weight file format version {found}")]
    #[diagnostic(
        code(rasp::model::unsupported_version),
        help(
            "this build reads versions 1 to {supported}; compile the program again with this build"
        )
    )]
    UnsupportedVersion { found: u64, supported: u32 },

    /// A config setting that this runtime does not implement, e.g. `act_fn: "gelu"`.
    #[error("the config sets `{field}` to {found}, but rasp models need {expected}")]
    #[diagnostic(code(rasp::model::unsupported_config))]
    UnsupportedConfig {
        field: &'static str,
        found: String,
        expected: &'static str,
    },

    /// Sizes that contradict each other, e.g. `n_ctx != max_len + 1`.
    #[error("inconsistent sizes: {0}")]
    #[diagnostic(code(rasp::model::inconsistent_sizes))]
    InconsistentSizes(String),

    /// A tensor the config requires is absent.
    #[error("tensor `{name}` is missing")]
    #[diagnostic(code(rasp::model::missing_tensor))]
    MissingTensor { name: String },

    /// A tensor that no rasp model has, e.g. `blocks.3.attn.W_Q` in a 2-layer model.
    #[error("unexpected tensor `{name}`")]
    #[diagnostic(
        code(rasp::model::unexpected_tensor),
        help("the config declares {n_layers} layer(s); rasp models hold only TransformerLens' embed, pos_embed, blocks.{{l}}.attn, blocks.{{l}}.mlp and unembed weights")
    )]
    UnexpectedTensor { name: String, n_layers: usize },

    /// A tensor stored as anything but the dtype the metadata declares.
    #[error("tensor `{name}` has dtype {found}, expected {expected}")]
    #[diagnostic(
        code(rasp::model::wrong_dtype),
        help("the metadata declares {expected} weights (the `dtype` of the `rasp` and `config` metadata; F32 when neither has one), and every tensor must have that dtype")
    )]
    WrongDtype {
        name: String,
        found: String,
        expected: Dtype,
        #[source_code]
        entry: String,
        #[label("expected {expected}")]
        at: SourceSpan,
    },

    /// The `config` and `rasp` metadata declare different dtypes.
    #[error("the `config` metadata declares dtype {} but the `rasp` metadata declares {rasp}", config.torch_name())]
    #[diagnostic(
        code(rasp::model::dtype_conflict),
        help("both name the dtype of every tensor, so they must agree; `rasp compile` writes them so")
    )]
    DtypeConflict { config: Dtype, rasp: Dtype },

    /// A finite weight that the model's dtype cannot hold (beyond f32's range).
    #[error("tensor `{name}` holds {value:e} at flat index {index}, beyond the range of {dtype}")]
    #[diagnostic(
        code(rasp::model::weight_out_of_range),
        help("an F32 model holds weights up to about 3.4e38; use an F64 model (`--dtype f64`)")
    )]
    WeightOutOfRange {
        name: String,
        index: usize,
        value: f64,
        dtype: Dtype,
    },

    /// A tensor whose shape differs from the one the config implies.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    #[diagnostic(
        code(rasp::model::wrong_shape),
        help("expected shapes follow from the `config` metadata (n_layers, d_model, n_heads, d_head, d_mlp, n_ctx, d_vocab, d_vocab_out)")
    )]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
        #[source_code]
        entry: String,
        #[label("expected {expected:?}")]
        at: SourceSpan,
    },

    /// A NaN or infinite weight.
    #[error("tensor `{name}` holds a non-finite value ({value}) at flat index {index}")]
    #[diagnostic(
        code(rasp::model::non_finite_weight),
        help("compiled weights are always finite; the file is corrupt or was edited")
    )]
    NonFiniteWeight {
        name: String,
        index: usize,
        value: f64,
    },

    /// A token the model was not compiled for.
    #[error("token {token} at position {position} is not in the model's vocabulary")]
    #[diagnostic(code(rasp::model::unknown_token), help("the vocabulary is {vocab}"))]
    UnknownToken {
        token: String,
        position: usize,
        vocab: String,
    },

    /// An input longer than the model's `max_len`.
    #[error("the input has {len} tokens, but the model was compiled for at most {max_len}")]
    #[diagnostic(
        code(rasp::model::input_too_long),
        help("compile the program again with a larger max_len")
    )]
    InputTooLong { len: usize, max_len: usize },

    /// An empty input: RASP programs have no output to decode on it.
    #[error("the input is empty")]
    #[diagnostic(
        code(rasp::model::empty_input),
        help("a compiled model runs on inputs of 1 to max_len tokens")
    )]
    EmptyInput,

    /// A forward pass whose buffers would pass the memory budget.
    #[error("running this batch needs about {needed} MiB for activations, {exceeded}")]
    #[diagnostic(
        code(rasp::model::memory),
        help("run fewer inputs at once, or raise the budget with `--memory MIB`")
    )]
    Memory {
        needed: usize,
        exceeded: crate::memory::Exceeded,
    },

    /// A token id sequence handed to the forward pass that breaks its contract.
    #[error("batch item {item}: {reason}")]
    #[diagnostic(
        code(rasp::model::bad_token_ids),
        help("each sequence is BOS (id 0) followed by 0 to max_len ids below d_vocab; `Model::encode` builds one")
    )]
    BadTokenIds { item: usize, reason: String },
}

/// What a message says of a file: its path, or "this" for bytes.
fn subject(path: &str) -> String {
    if path.is_empty() {
        "this".to_string()
    } else {
        format!("`{path}`")
    }
}

/// A [`ModelError::WrongShape`] for tensor `name`.
pub fn wrong_shape(name: &str, dtype: &str, expected: Vec<usize>, found: &[usize]) -> ModelError {
    let (entry, _, at) = header_entry(name, dtype, found);
    ModelError::WrongShape {
        name: name.to_string(),
        expected,
        found: found.to_vec(),
        entry,
        at,
    }
}

/// A [`ModelError::WrongDtype`] for tensor `name`, stored as `dtype`.
pub fn wrong_dtype(name: &str, dtype: &str, expected: Dtype, shape: &[usize]) -> ModelError {
    let (entry, at, _) = header_entry(name, dtype, shape);
    ModelError::WrongDtype {
        name: name.to_string(),
        found: dtype.to_string(),
        expected,
        entry,
        at,
    }
}

/// A tensor's header entry as the diagnostic's source code, with the spans of
/// its dtype and its shape.
fn header_entry(name: &str, dtype: &str, shape: &[usize]) -> (String, SourceSpan, SourceSpan) {
    let head = format!("{name:?}: {{\"dtype\": ");
    let dtype_text = format!("{dtype:?}");
    let middle = ", \"shape\": ";
    let shape_text = format!("{shape:?}");
    let dtype_at = SourceSpan::from((head.len(), dtype_text.len()));
    let shape_start = head.len() + dtype_text.len() + middle.len();
    let shape_at = SourceSpan::from((shape_start, shape_text.len()));
    let entry = format!("{head}{dtype_text}{middle}{shape_text}}}");
    (entry, dtype_at, shape_at)
}

impl ModelError {
    /// The stable diagnostic code, e.g. `rasp::model::wrong_shape`.
    pub fn code_name(&self) -> String {
        Diagnostic::code(self)
            .map(|c| c.to_string())
            .unwrap_or_default()
    }
}
