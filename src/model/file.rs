//! The weight file: one `.safetensors` file that standard tools load.
//!
//! Tensors are all F32 or all F64 (the model's [`Dtype`]), little-endian,
//! named and shaped as TransformerLens' `HookedTransformer` state dict
//! (`embed.W_E`, `blocks.{l}.attn.W_Q`, ...; see [`ModelConfig::tensor_shape`]).
//! The header's `__metadata__` map holds:
//! - `config`: JSON in `HookedTransformerConfig` terms (ReLU, no normalization,
//!   bidirectional attention, standard positional embeddings, the sizes, and
//!   `dtype`: `"float32"` or `"float64"`), so
//!   `HookedTransformer(HookedTransformerConfig(**config))` builds the
//!   architecture (with `dtype` turned into the `torch` dtype it names) and
//!   `load_state_dict` fills it;
//! - `rasp`: JSON of [`ModelMeta`] and the dtype (`"dtype": "F32"` or
//!   `"F64"`); atoms are JSON values of their own type (`"a"`, `3`, `2.5`,
//!   `true`), non-finite floats `{"float": "inf"}`;
//! - `format`: `"pt"`, which Hugging Face loaders expect.
//!
//! Files written before dtypes were recorded have neither `dtype`; they are
//! F32. When both are present they must agree, and every tensor must have
//! the declared dtype.
//!
//! Attention scores are divided by `sqrt(d_head)` (TransformerLens'
//! `use_attn_scale: true`, the default everywhere), so the file holds ordinary
//! weights; a compiler wanting score `s` folds `sqrt(d_head)` into `W_Q`.
//!
//! Loading trusts nothing: the safetensors crate checks the header and that
//! every tensor's byte range lies inside the file *before* anything is
//! allocated for it (a header declaring a terabyte tensor fails on a small
//! file), then names, dtypes (the declared one), shapes (derived from the
//! config), metadata and finiteness are checked here.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use ndarray::{Array, Array1, Array2, ArrayD, Axis, Dimension, IxDyn};
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype as TensorDtype, SafeTensorError, SafeTensors};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{wrong_dtype, wrong_shape};
use super::{
    check_consistency, Attention, Dtype, FloatType, HeadRecord, Layer, Mlp, MlpPart, Model,
    ModelConfig, ModelError, ModelMeta, NumberKind, OutputDecoding, FORMAT_VERSION, LAYER_TENSORS,
    NUMERICAL_LOGITS,
};
use crate::eval::atom::Atom;

impl Model {
    /// Writes the model to `path` as a `.safetensors` file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let bytes = self.to_bytes()?;
        let path = path.as_ref();
        std::fs::write(path, bytes).map_err(|e| io_error("write", path, &e))
    }

    /// The `config` metadata the file holds: `HookedTransformerConfig`
    /// fields as JSON text, the dtype by name.
    pub fn config_json(&self) -> String {
        config_json(&self.config, &self.meta.sop, self.dtype)
    }

    /// The `rasp` metadata the file holds (format version
    /// [`FORMAT_VERSION`]) as JSON text: vocabulary, input conventions,
    /// output decoding, residual labels, program.
    pub fn record_json(&self) -> String {
        meta_json(&self.meta, self.dtype)
    }

    /// Reads and validates a `.safetensors` model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model, ModelError> {
        let path = path.as_ref();
        let bytes = crate::files::read_capped(path, crate::files::MAX_MODEL_BYTES)
            .map_err(|e| io_error("read", path, &e))?;
        Model::from_bytes(&bytes).map_err(|error| match error {
            ModelError::ProgramNotModel { .. } => ModelError::ProgramNotModel {
                path: path.display().to_string(),
            },
            ModelError::TextNotModel { .. } => ModelError::TextNotModel {
                path: path.display().to_string(),
            },
            other => other,
        })
    }

    /// The `.safetensors` bytes of the model, after checking its shapes,
    /// sizes and that every weight is finite. The tensors have the model's
    /// dtype; an F32 model's weights are rounded to the nearest `f32`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        self.check_shapes()?;
        check_consistency(&self.config, &self.meta)?;
        // Written by hand rather than by `safetensors::serialize`, whose
        // metadata is a `HashMap`: its random order would make two saves of one
        // model differ. Here the header lists the metadata, then the tensors
        // in TransformerLens order, so a model always gives the same bytes.
        let mut entries = serde_json::Map::new();
        let config = self.config_json();
        let rasp = self.record_json();
        // The metadata comes first. Its checksum, of the data that follows,
        // has a fixed length: the header is written with zeros in its place,
        // then the data after it, then the checksum over the zeros.
        entries.insert(
            "__metadata__".into(),
            serde_json::json!({
                "config": config,
                "rasp": rasp,
                "format": "pt",
                "checksum": UNSEALED,
            }),
        );
        // Each tensor's values in standard order, borrowed when already so.
        let tensors: Vec<(String, Vec<usize>, Cow<'_, [f64]>)> = self
            .tensors()
            .into_iter()
            .map(|(name, view)| {
                let shape = view.shape().to_vec();
                let values = match view.to_slice() {
                    Some(values) => Cow::Borrowed(values),
                    None => Cow::Owned(view.iter().copied().collect()),
                };
                (name, shape, values)
            })
            .collect();
        let dtype = self.dtype;
        let size = dtype.size();
        let mut offset = 0;
        for (name, shape, values) in &tensors {
            for (index, &value) in values.iter().enumerate() {
                if !value.is_finite() {
                    return Err(ModelError::NonFiniteWeight {
                        name: name.clone(),
                        index,
                        value,
                    });
                }
                if !dtype.round(value).is_finite() {
                    return Err(ModelError::WeightOutOfRange {
                        name: name.clone(),
                        index,
                        value,
                        dtype,
                    });
                }
            }
            let entry = serde_json::json!({
                "dtype": dtype.name(),
                "shape": shape,
                "data_offsets": [offset, offset + size * values.len()],
            });
            offset += size * values.len();
            entries.insert(name.clone(), entry);
        }
        let mut header = Value::Object(entries).to_string().into_bytes();
        // Pad with spaces so the data starts 8-byte aligned, as safetensors does.
        header.resize(header.len().next_multiple_of(8), b' ');
        // Inside the JSON strings of the record every quote is escaped, so
        // this key with its quotes occurs once: the metadata's own.
        let key = format!("\"checksum\":\"{UNSEALED}\"");
        let at = header
            .windows(key.len())
            .position(|w| w == key.as_bytes())
            .map(|p| 8 + p + "\"checksum\":\"".len())
            .ok_or(ModelError::MissingMetadata { key: "checksum" })?;
        let mut bytes = Vec::with_capacity(8 + header.len() + offset);
        bytes.extend((header.len() as u64).to_le_bytes());
        bytes.extend(header);
        let data_start = bytes.len();
        for (_, _, values) in &tensors {
            match dtype {
                Dtype::F32 => {
                    for &w in values.iter() {
                        bytes.extend_from_slice(&(w as f32).to_le_bytes());
                    }
                }
                Dtype::F64 => {
                    for w in values.iter() {
                        bytes.extend_from_slice(&w.to_le_bytes());
                    }
                }
            }
        }
        let sealed = checksum(&bytes[data_start..], &config, &rasp);
        bytes[at..at + sealed.len()].copy_from_slice(sealed.as_bytes());
        Ok(bytes)
    }

    /// Parses and validates the bytes of a `.safetensors` model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if let Some(error) = super::sniff::text_file_error(bytes) {
            return Err(error);
        }
        let (header_len, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| structure_error(e, bytes))?;
        let data = bytes.get(8 + header_len..).unwrap_or_default();
        let metadata = header.metadata().clone().unwrap_or_default();
        let Some(rasp) = metadata.get("rasp") else {
            return Err(ModelError::NotARaspModel {
                found: describe_tensors(&header),
            });
        };
        let (meta, rasp_dtype) = parse_meta(rasp)?;
        let config_text = metadata
            .get("config")
            .ok_or(ModelError::MissingMetadata { key: "config" })?;
        // Version 2 seals the tensor data and the record with a checksum.
        if meta.format_version >= 2 {
            let stated = metadata
                .get("checksum")
                .ok_or(ModelError::MissingMetadata { key: "checksum" })?;
            let computed = checksum(data, config_text, rasp);
            if *stated != computed {
                return Err(ModelError::ChecksumMismatch {
                    stated: stated.clone(),
                    computed,
                });
            }
        }
        let (mut config, config_dtype) = parse_config(config_text)?;
        // The compiler's longest input: a file cannot ask for buffers
        // beyond what any compiled model uses.
        let most = crate::compile::MAX_LEN_LIMIT + 1;
        if config.n_ctx > most {
            return Err(ModelError::UnsupportedConfig {
                field: "n_ctx",
                found: config.n_ctx.to_string(),
                expected: "at most 513 (a max_len of at most 512, as the compiler allows)",
            });
        }
        // Version 1 wrote a numerical output as one logit: it is read into
        // the two of version 2, `[x, -x]`.
        let file_config = config.clone();
        let numerical = matches!(meta.output, OutputDecoding::Numerical { .. });
        let widen = meta.format_version == 1 && numerical;
        if widen {
            if config.d_vocab_out != 1 {
                return Err(ModelError::InconsistentSizes(format!(
                    "d_vocab_out = {} but a version 1 numerical output has 1 logit",
                    config.d_vocab_out
                )));
            }
            config.d_vocab_out = NUMERICAL_LOGITS;
        }
        check_consistency(&config, &meta)?;
        let dtype = match (config_dtype, rasp_dtype) {
            (Some(config), Some(rasp)) if config != rasp => {
                return Err(ModelError::DtypeConflict { config, rasp })
            }
            (config, rasp) => rasp.or(config).unwrap_or(Dtype::F32),
        };

        let mut reader = Reader {
            header: &header,
            data,
            config: &file_config,
            dtype,
            used: HashSet::new(),
        };
        let embed = reader.take("embed.W_E".into())?;
        let pos_embed = reader.take("pos_embed.W_pos".into())?;
        // No capacity from the config: n_layers is only trusted once every
        // layer's tensors have been found in the file.
        let mut layers = Vec::new();
        for l in 0..config.n_layers {
            let [q, k, v, o, bq, bk, bv, bo, w_in, b_in, w_out, b_out] =
                LAYER_TENSORS.map(|t| format!("blocks.{l}.{t}"));
            let attn = Attention {
                w_q: reader.take(q)?,
                w_k: reader.take(k)?,
                w_v: reader.take(v)?,
                w_o: reader.take(o)?,
                b_q: reader.take(bq)?,
                b_k: reader.take(bk)?,
                b_v: reader.take(bv)?,
                b_o: reader.take(bo)?,
            };
            let mlp = Mlp {
                w_in: reader.take(w_in)?,
                b_in: reader.take(b_in)?,
                w_out: reader.take(w_out)?,
                b_out: reader.take(b_out)?,
            };
            layers.push(Layer { attn, mlp });
        }
        let mut unembed: Array2<f64> = reader.take("unembed.W_U".into())?;
        let mut unembed_bias: Array1<f64> = reader.take("unembed.b_U".into())?;
        reader.check_no_others()?;
        if widen {
            unembed = ndarray::concatenate![Axis(1), unembed, unembed.mapv(|w| -w)];
            unembed_bias = ndarray::concatenate![Axis(0), unembed_bias, unembed_bias.mapv(|w| -w)];
        } else if numerical {
            let negated = |a: f64, b: f64| a == -b;
            let columns = unembed
                .rows()
                .into_iter()
                .all(|row| negated(row[1], row[0]));
            if !(columns && negated(unembed_bias[1], unembed_bias[0])) {
                return Err(ModelError::BadTensorLayout {
                    reason: "a numerical output's second logit must be minus the first: \
                             `unembed.W_U[:, 1]` = -`unembed.W_U[:, 0]` and `unembed.b_U[1]` = -`unembed.b_U[0]`"
                        .into(),
                });
            }
        }
        Ok(Model {
            config,
            meta,
            dtype,
            embed,
            pos_embed,
            layers,
            unembed,
            unembed_bias,
        })
    }
}

/// Reads tensors out of a validated safetensors buffer, remembering which.
struct Reader<'a> {
    header: &'a Metadata,
    data: &'a [u8],
    config: &'a ModelConfig,
    /// The dtype the metadata declares, which every tensor must have.
    dtype: Dtype,
    used: HashSet<String>,
}

impl Reader<'_> {
    /// The tensor `name`, checked for presence, dtype, shape and finiteness.
    fn take<D: Dimension>(&mut self, name: String) -> Result<Array<f64, D>, ModelError> {
        let info: &TensorInfo = self
            .header
            .info(&name)
            .ok_or_else(|| ModelError::MissingTensor { name: name.clone() })?;
        let dtype = format!("{:?}", info.dtype);
        let expected_dtype = match self.dtype {
            Dtype::F32 => TensorDtype::F32,
            Dtype::F64 => TensorDtype::F64,
        };
        if info.dtype != expected_dtype {
            return Err(wrong_dtype(&name, &dtype, self.dtype, &info.shape));
        }
        let expected = self.config.tensor_shape(&name).unwrap_or_default();
        if info.shape != expected {
            return Err(wrong_shape(&name, &dtype, expected, &info.shape));
        }
        let (start, end) = info.data_offsets;
        let bytes = self
            .data
            .get(start..end)
            .ok_or(ModelError::DataOutOfRange {
                declared: end as u64,
                available: self.data.len() as u64,
            })?;
        let size = self.dtype.size();
        let mut values = Vec::with_capacity(bytes.len() / size);
        for (index, chunk) in bytes.chunks_exact(size).enumerate() {
            let value = match *chunk {
                [a, b, c, d] => f64::from(f32::from_le_bytes([a, b, c, d])),
                [a, b, c, d, e, f, g, h] => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
                _ => unreachable!("chunks of 4 or 8 bytes"),
            };
            if !value.is_finite() {
                return Err(ModelError::NonFiniteWeight { name, index, value });
            }
            values.push(value);
        }
        let array = ArrayD::from_shape_vec(IxDyn(&expected), values)
            .and_then(|a| a.into_dimensionality::<D>())
            .map_err(|e| ModelError::BadTensorLayout {
                reason: format!("tensor `{name}`: {e}"),
            })?;
        self.used.insert(name);
        Ok(array)
    }

    /// Fails on the first tensor (in file order) that was not taken.
    fn check_no_others(&self) -> Result<(), ModelError> {
        match self
            .header
            .offset_keys()
            .into_iter()
            .find(|name| !self.used.contains(name))
        {
            Some(name) => Err(ModelError::UnexpectedTensor {
                name,
                n_layers: self.config.n_layers,
            }),
            None => Ok(()),
        }
    }
}

/// A safetensors structure error as one of ours, with the numbers that
/// explain it.
fn structure_error(error: SafeTensorError, bytes: &[u8]) -> ModelError {
    let declared_header = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes);
    let after_length = bytes.len().saturating_sub(8);
    let layout = |reason: String| ModelError::BadTensorLayout { reason };
    match error {
        SafeTensorError::HeaderTooSmall => ModelError::NotSafetensors {
            reason: format!("the file has {} bytes, fewer than the 8 that give the header's length", bytes.len()),
        },
        SafeTensorError::HeaderTooLarge => ModelError::NotSafetensors {
            reason: format!("the first 8 bytes declare a header of {declared_header} bytes, more than the 100 MB safetensors allows"),
        },
        SafeTensorError::InvalidHeaderLength => ModelError::TruncatedHeader {
            needed: declared_header,
            available: after_length,
        },
        SafeTensorError::InvalidHeader(e) => ModelError::InvalidHeader {
            reason: format!("it is not UTF-8 ({e})"),
        },
        SafeTensorError::InvalidHeaderDeserialization(e) | SafeTensorError::JsonError(e) => {
            ModelError::InvalidHeader {
                reason: e.to_string(),
            }
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            // The header parsed (the check that failed comes after), so its
            // declared data length is available from a second parse.
            let header_end = usize::try_from(declared_header)
                .ok()
                .and_then(|n| n.checked_add(8));
            let declared = header_end
                .and_then(|end| bytes.get(8..end))
                .and_then(|h| serde_json::from_slice::<Metadata>(h).ok())
                .map_or(0, |m| m.data_len() as u64);
            ModelError::DataOutOfRange {
                declared,
                available: (after_length as u64).saturating_sub(declared_header),
            }
        }
        SafeTensorError::InvalidOffset(name) => layout(format!(
            "the data offsets of tensor `{name}` overlap another tensor or leave a gap"
        )),
        SafeTensorError::TensorInvalidInfo => {
            layout("a tensor's byte range does not match its shape and dtype".into())
        }
        SafeTensorError::ValidationOverflow => {
            layout("a tensor's declared size overflows".into())
        }
        SafeTensorError::MisalignedSlice => {
            layout("a tensor's size is not a whole number of bytes".into())
        }
        other => ModelError::InvalidHeader {
            reason: other.to_string(),
        },
    }
}

/// "it holds 2 tensors: `a`, `b`" (at most 5 named).
fn describe_tensors(header: &Metadata) -> String {
    let names = header.offset_keys();
    if names.is_empty() {
        return "it holds no tensors".to_string();
    }
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 5 { ", ..." } else { "" };
    format!(
        "it holds {} tensor(s): {}{more}",
        names.len(),
        shown.join(", ")
    )
}

fn io_error(action: &'static str, path: &Path, error: &std::io::Error) -> ModelError {
    ModelError::Io {
        action,
        path: path.display().to_string(),
        reason: error.to_string().to_lowercase(),
    }
}

/// The `config` metadata: `HookedTransformerConfig` fields, nothing else, so
/// that `HookedTransformerConfig(**config)` accepts it.
#[derive(Serialize, Deserialize)]
struct TlConfig {
    n_layers: usize,
    d_model: usize,
    n_ctx: usize,
    d_head: usize,
    n_heads: usize,
    d_mlp: usize,
    d_vocab: usize,
    d_vocab_out: usize,
    act_fn: String,
    normalization_type: Option<String>,
    attention_dir: String,
    positional_embedding_type: String,
    #[serde(default = "yes")]
    use_attn_scale: bool,
    #[serde(default)]
    attn_only: bool,
    #[serde(default)]
    parallel_attn_mlp: bool,
    #[serde(default)]
    gated_mlp: bool,
    #[serde(default)]
    original_architecture: Option<String>,
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    default_prepend_bos: bool,
    /// `"float32"` or `"float64"`; absent in files written before dtypes
    /// were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dtype: Option<String>,
}

fn yes() -> bool {
    true
}

fn config_json(c: &ModelConfig, sop: &str, dtype: Dtype) -> String {
    let tl = TlConfig {
        n_layers: c.n_layers,
        d_model: c.d_model,
        n_ctx: c.n_ctx,
        d_head: c.d_head,
        n_heads: c.n_heads,
        d_mlp: c.d_mlp,
        d_vocab: c.d_vocab,
        d_vocab_out: c.d_vocab_out,
        act_fn: "relu".into(),
        normalization_type: None,
        attention_dir: "bidirectional".into(),
        positional_embedding_type: "standard".into(),
        use_attn_scale: true,
        attn_only: false,
        parallel_attn_mlp: false,
        gated_mlp: false,
        original_architecture: Some("rasp".into()),
        model_name: Some(format!("rasp-{sop}")),
        default_prepend_bos: true,
        dtype: Some(dtype.torch_name().into()),
    };
    serde_json::to_string(&tl).unwrap_or_default()
}

/// The config, and the dtype it declares if it declares one.
fn parse_config(text: &str) -> Result<(ModelConfig, Option<Dtype>), ModelError> {
    let tl: TlConfig = serde_json::from_str(text).map_err(|e| ModelError::MalformedMetadata {
        key: "config",
        reason: e.to_string(),
    })?;
    let unsupported = |field, found: String, expected| {
        Err(ModelError::UnsupportedConfig {
            field,
            found,
            expected,
        })
    };
    if tl.act_fn != "relu" {
        return unsupported("act_fn", format!("{:?}", tl.act_fn), "\"relu\"");
    }
    if let Some(norm) = tl.normalization_type {
        return unsupported("normalization_type", format!("{norm:?}"), "null");
    }
    if tl.attention_dir != "bidirectional" {
        return unsupported(
            "attention_dir",
            format!("{:?}", tl.attention_dir),
            "\"bidirectional\"",
        );
    }
    if tl.positional_embedding_type != "standard" {
        let found = format!("{:?}", tl.positional_embedding_type);
        return unsupported("positional_embedding_type", found, "\"standard\"");
    }
    for (field, value, expected) in [
        ("use_attn_scale", tl.use_attn_scale, true),
        ("attn_only", tl.attn_only, false),
        ("parallel_attn_mlp", tl.parallel_attn_mlp, false),
        ("gated_mlp", tl.gated_mlp, false),
    ] {
        if value != expected {
            let expected = if expected { "true" } else { "false" };
            return unsupported(field, value.to_string(), expected);
        }
    }
    let dtype = match &tl.dtype {
        None => None,
        Some(name) => match Dtype::from_torch_name(name) {
            Some(dtype) => Some(dtype),
            None => {
                let found = format!("{name:?}");
                return unsupported("dtype", found, "\"float32\" or \"float64\"");
            }
        },
    };
    let config = ModelConfig {
        n_layers: tl.n_layers,
        d_model: tl.d_model,
        n_heads: tl.n_heads,
        d_head: tl.d_head,
        d_mlp: tl.d_mlp,
        n_ctx: tl.n_ctx,
        d_vocab: tl.d_vocab,
        d_vocab_out: tl.d_vocab_out,
    };
    Ok((config, dtype))
}

/// A checksum's place before it is computed: as long as every checksum.
const UNSEALED: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The checksum a version 2 file states: `sha256:` and the hex SHA-256 of
/// the tensor data (every byte after the header), a zero byte, the `config`
/// metadata text, a zero byte and the `rasp` metadata text.
pub fn checksum(data: &[u8], config: &str, rasp: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(data);
    hash.update([0]);
    hash.update(config.as_bytes());
    hash.update([0]);
    hash.update(rasp.as_bytes());
    let digest = hash.finalize();
    let mut text = String::with_capacity(UNSEALED.len());
    text.push_str("sha256:");
    for byte in digest {
        use std::fmt::Write;
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// [`ModelMeta`] as stored: atoms as JSON values. Version 2 adds the
/// conventions a loader would otherwise guess (token ids, BOS, padding,
/// decoding, safe float types, the TransformerLens recipe); they are written
/// from the model and, when read, must say what this build assumes.
#[derive(Serialize, Deserialize)]
struct MetaJson {
    format_version: u32,
    /// Absent in files written before dtypes were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dtype: Option<Dtype>,
    bos_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bos_id: Option<u64>,
    vocab: Vec<Value>,
    /// The id of each vocabulary token, in `vocab` order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vocab_ids: Option<Vec<u64>>,
    /// Every input must start with BOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prepend_bos: Option<bool>,
    max_len: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Value>,
    output: OutputJson,
    /// The float types the compiler proved the model exact in, narrowest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    safe_dtypes: Option<Vec<String>>,
    /// The first of `safe_dtypes` with the fewest bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_dtype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transformer_lens: Option<Value>,
    residual_labels: Vec<String>,
    /// What each head computes, per layer (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heads: Option<Vec<Vec<HeadRecord>>>,
    /// Which s-ops each MLP's units are for, per layer (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mlps: Option<Vec<Vec<MlpPart>>>,
    source: String,
    sop: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum OutputJson {
    Categorical {
        values: Vec<Value>,
        /// `"argmax"` (version 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    Numerical {
        #[serde(default)]
        values: Vec<Value>,
        /// A raw number's proven error bound.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bound: Option<f64>,
        /// `"nearest"` or `"raw"` (version 2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decode: Option<String>,
        /// The logit that holds the number (version 2: 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        logit: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Per position after BOS: `"int"`, `"float"` or `"either"`, the
        /// type of the program's number there (format 2, optional).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kinds: Option<Vec<String>>,
    },
}

/// How a loader decodes the output, as the record says it: the `decode`
/// name and the rule in words.
pub(crate) fn decode_rule(output: &OutputDecoding) -> (&'static str, &'static str) {
    match output {
        OutputDecoding::Categorical { .. } => (
            "argmax",
            "drop position 0 (BOS); at each later position the output is values[argmax(logits)], the first index on ties",
        ),
        OutputDecoding::Numerical { values, .. } if !values.is_empty() => (
            "nearest",
            "drop position 0 (BOS); at each later position the output is the value nearest to logits[0] (the lower on ties); logits[1] is -logits[0]",
        ),
        OutputDecoding::Numerical { .. } => (
            "raw",
            "drop position 0 (BOS); at each later position the output is logits[0], within `bound` of the program's value; logits[1] is -logits[0]",
        ),
    }
}

/// The input conventions of a version 2 record.
pub(crate) fn input_json(meta: &ModelMeta) -> Value {
    serde_json::json!({
        "bos_position": 0,
        "first_token_position": 1,
        "lengths": format!("1 to {} tokens after BOS", meta.max_len),
        "padding": "right",
        "pad_id": 0,
        "attention_mask": "needed when a batch mixes lengths: 1 for BOS and the tokens, 0 for padding; padded keys must get no attention (scores set to -inf before the softmax); outputs at padded positions are meaningless",
    })
}

/// The TransformerLens recipe of a version 2 record.
pub(crate) fn transformer_lens_json() -> Value {
    serde_json::json!({
        "config": "HookedTransformerConfig(**config) with dtype=getattr(torch, config['dtype'])",
        "load": "load_state_dict(safetensors.torch.load_file(path), strict=False): the file holds every parameter; only the buffers blocks.{l}.attn.mask and blocks.{l}.attn.IGNORE, which TransformerLens builds itself, are missing, and nothing else may be",
        "weight_processing": "not needed; when applied (process_weights, TransformerBridge compatibility mode) the outputs are unchanged: there is no LayerNorm to fold, and logit centring keeps both output kinds",
        "batches_3x": "HookedTransformer ignores attention_mask when attention is bidirectional: give one input length per batch, or mask padded keys with a hook on blocks.{l}.attn.hook_attn_scores",
        "batches_4x": "TransformerBridge applies attention_mask: pad on the right and pass it",
        "docs": "docs/FORMAT.md in the rasp repository",
    })
}

fn meta_json(meta: &ModelMeta, dtype: Dtype) -> String {
    let (decode, rule) = decode_rule(&meta.output);
    let safe: Option<Vec<String>> = meta
        .safe_dtypes
        .as_ref()
        .map(|types| types.iter().map(|t| t.name().to_string()).collect());
    let json = MetaJson {
        format_version: FORMAT_VERSION,
        dtype: Some(dtype),
        bos_token: meta.bos_token.clone(),
        bos_id: Some(0),
        vocab: meta.vocab.iter().map(atom_to_json).collect(),
        vocab_ids: Some((1..=meta.vocab.len() as u64).collect()),
        prepend_bos: Some(true),
        max_len: meta.max_len,
        input: Some(input_json(meta)),
        output: match &meta.output {
            OutputDecoding::Categorical { values } => OutputJson::Categorical {
                values: values.iter().map(atom_to_json).collect(),
                decode: Some(decode.into()),
                rule: Some(rule.into()),
            },
            OutputDecoding::Numerical {
                values,
                bound,
                kinds,
            } => OutputJson::Numerical {
                values: values.iter().map(atom_to_json).collect(),
                bound: *bound,
                decode: Some(decode.into()),
                logit: Some(0),
                rule: Some(rule.into()),
                kinds: (!kinds.is_empty())
                    .then(|| kinds.iter().map(|k| k.name().to_string()).collect()),
            },
        },
        min_dtype: meta
            .safe_dtypes
            .as_deref()
            .and_then(min_dtype)
            .map(|t| t.name().to_string()),
        safe_dtypes: safe,
        transformer_lens: Some(transformer_lens_json()),
        residual_labels: meta.residual_labels.clone(),
        heads: meta.heads.clone(),
        mlps: meta.mlps.clone(),
        source: meta.source.clone(),
        sop: meta.sop.clone(),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

/// The safe type with the fewest bits (float16 before bfloat16, which keeps
/// fewer mantissa bits).
pub fn min_dtype(safe: &[FloatType]) -> Option<FloatType> {
    let order = [
        FloatType::Float16,
        FloatType::Bfloat16,
        FloatType::Float32,
        FloatType::Float64,
    ];
    order.into_iter().find(|t| safe.contains(t))
}

/// The record, and the dtype it declares if it declares one.
fn parse_meta(text: &str) -> Result<(ModelMeta, Option<Dtype>), ModelError> {
    let malformed = |reason: String| ModelError::MalformedMetadata {
        key: "rasp",
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    match value.get("format_version").map(Value::as_u64) {
        None => return Err(malformed("missing field `format_version`".into())),
        Some(None) => return Err(malformed("`format_version` is not a whole number".into())),
        Some(Some(v)) if v == 0 || v > u64::from(FORMAT_VERSION) => {
            return Err(ModelError::UnsupportedVersion {
                found: v,
                supported: FORMAT_VERSION,
            })
        }
        Some(Some(_)) => {}
    }
    let json: MetaJson = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
    let atoms = |field: &str, values: &[Value]| -> Result<Vec<Atom>, ModelError> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| atom_from_json(v).map_err(|e| malformed(format!("`{field}[{i}]`: {e}"))))
            .collect()
    };
    // What version 2 states must be what this build does.
    if json.format_version >= 2 {
        if json.bos_id != Some(0) {
            return Err(malformed("`bos_id` must be 0".into()));
        }
        let expected: Vec<u64> = (1..=json.vocab.len() as u64).collect();
        if json.vocab_ids.as_ref() != Some(&expected) {
            return Err(malformed(
                "`vocab_ids` must number the vocabulary 1, 2, ... in order".into(),
            ));
        }
        if json.prepend_bos != Some(true) {
            return Err(malformed("`prepend_bos` must be true".into()));
        }
    }
    let output = match json.output {
        OutputJson::Categorical { values, .. } => OutputDecoding::Categorical {
            values: atoms("output.values", &values)?,
        },
        OutputJson::Numerical {
            values,
            bound,
            logit,
            kinds,
            ..
        } => {
            let kinds = match kinds {
                None => Vec::new(),
                Some(names) if names.len() == json.max_len => names
                    .iter()
                    .map(|n| {
                        NumberKind::from_name(n).ok_or_else(|| {
                            malformed(format!(
                                "`output.kinds` holds {n:?}, not \"int\", \"float\" or \"either\""
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(names) => {
                    return Err(malformed(format!(
                        "`output.kinds` has {} entries, not max_len = {}",
                        names.len(),
                        json.max_len
                    )))
                }
            };
            if json.format_version >= 2 && logit != Some(0) {
                return Err(malformed("`output.logit` must be 0".into()));
            }
            OutputDecoding::Numerical {
                values: atoms("output.values", &values)?,
                bound: match bound {
                    Some(b) if !(b.is_finite() && b >= 0.0) => {
                        return Err(malformed(format!(
                            "`output.bound` must be a finite number at least 0, not {b}"
                        )))
                    }
                    b => b,
                },
                kinds,
            }
        }
    };
    let safe_dtypes = match &json.safe_dtypes {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|name| {
                    FloatType::from_name(name).ok_or_else(|| {
                        malformed(format!(
                            "`safe_dtypes` names {name:?}, not bfloat16, float16, float32 or float64"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let meta = ModelMeta {
        format_version: json.format_version,
        bos_token: json.bos_token,
        vocab: atoms("vocab", &json.vocab)?,
        max_len: json.max_len,
        output,
        residual_labels: json.residual_labels,
        source: json.source,
        sop: json.sop,
        safe_dtypes,
        heads: json.heads,
        mlps: json.mlps,
    };
    Ok((meta, json.dtype))
}

/// An atom as the JSON value of its own type; non-finite floats, which JSON
/// lacks, as `{"float": "inf" | "-inf" | "nan"}`.
pub(crate) fn atom_to_json(atom: &Atom) -> Value {
    crate::eval::print::atom_json(atom)
}

fn atom_from_json(value: &Value) -> Result<Atom, String> {
    match value {
        Value::Bool(b) => Ok(Atom::Bool(*b)),
        Value::String(s) => Ok(Atom::str(s)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if !n.is_f64() => Ok(Atom::Int(i)),
            (_, Some(x)) if n.is_f64() => Ok(Atom::Float(x)),
            _ => Err(format!("{n} does not fit in a 64-bit integer")),
        },
        Value::Object(map) if map.len() == 1 => match map.get("float").and_then(Value::as_str) {
            Some("inf") => Ok(Atom::Float(f64::INFINITY)),
            Some("-inf") => Ok(Atom::Float(f64::NEG_INFINITY)),
            Some("nan") => Ok(Atom::Float(f64::NAN)),
            _ => Err(format!("{value} is not a value")),
        },
        other => Err(format!("{other} is not a value")),
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
