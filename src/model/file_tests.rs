//! Tests of the weight file: round trips, and one error per way a file can be
//! wrong, each checked by its code.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, View};

use crate::model::Dtype as ModelDtype;
use serde_json::Value;

use super::{atom_from_json, atom_to_json};
use crate::eval::atom::Atom;
use crate::model::forward::tests::{previous_token_model, pseudo_random};
use crate::model::{Model, ModelError};

/// Any tensor, for writing files the model would never write.
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

type Tensors = Vec<(String, RawTensor)>;
type Metadata = HashMap<String, String>;
type MetadataEdit = Box<dyn FnOnce(&mut Metadata)>;

/// The test model's file after `edit` changed its tensors and metadata.
fn edited_file(edit: impl FnOnce(&mut Tensors, &mut Metadata)) -> Vec<u8> {
    edited_file_of(previous_token_model(), edit)
}

/// A tensor's values as the bytes of `dtype`.
fn tensor_bytes(values: impl Iterator<Item = f64>, dtype: ModelDtype) -> Vec<u8> {
    match dtype {
        ModelDtype::F32 => values.flat_map(|w| (w as f32).to_le_bytes()).collect(),
        ModelDtype::F64 => values.flat_map(f64::to_le_bytes).collect(),
    }
}

/// `model`'s file after `edit` changed its tensors and metadata.
fn edited_file_of(model: Model, edit: impl FnOnce(&mut Tensors, &mut Metadata)) -> Vec<u8> {
    let dtype = match model.dtype {
        ModelDtype::F32 => Dtype::F32,
        ModelDtype::F64 => Dtype::F64,
    };
    let mut tensors: Tensors = model
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = tensor_bytes(view.iter().copied(), model.dtype);
            let shape = view.shape().to_vec();
            (name, RawTensor { dtype, shape, data })
        })
        .collect();
    let bytes = model.to_bytes().unwrap();
    let header = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1;
    let mut metadata = header.metadata().clone().unwrap();
    edit(&mut tensors, &mut metadata);
    safetensors::serialize(tensors, Some(metadata)).unwrap()
}

fn load_error(bytes: &[u8]) -> ModelError {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("the file loaded"),
        Err(e) => e,
    }
}

fn code(bytes: &[u8]) -> String {
    load_error(bytes).code_name()
}

/// Rewrites one field of a JSON metadata value.
fn set_json(metadata: &mut Metadata, key: &str, field: &str, value: Value) {
    let mut json: Value = serde_json::from_str(&metadata[key]).unwrap();
    json[field] = value;
    metadata.insert(key.into(), json.to_string());
}

#[test]
fn save_then_load_round_trips_bit_exactly() {
    let model = previous_token_model();
    let bytes = model.to_bytes().unwrap();
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert!(loaded.to_bytes().unwrap() == bytes, "a second save differs");
    assert_eq!(loaded.config, model.config);
    for ((name, a), (_, b)) in model.tensors().iter().zip(loaded.tensors()) {
        let bits =
            |t: &ndarray::ArrayViewD<'_, f64>| t.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(&b), "{name}");
    }
    assert_eq!(loaded.meta.residual_labels, model.meta.residual_labels);
    assert_eq!(loaded.meta.source, model.meta.source);
    let batch = vec![vec![0, 2, 1, 3]];
    assert_eq!(
        model.forward(&batch, false).unwrap().logits,
        loaded.forward(&batch, false).unwrap().logits
    );

    let path = std::env::temp_dir().join(format!(
        "rasp-model-test-{}.safetensors",
        std::process::id()
    ));
    model.save(&path).unwrap();
    let from_disk = Model::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        from_disk.to_bytes().unwrap() == bytes,
        "the saved file differs"
    );
}

#[test]
fn the_header_speaks_transformer_lens() {
    let bytes = previous_token_model().to_bytes().unwrap();
    let header = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1;
    let metadata = header.metadata().clone().unwrap();
    let config: Value = serde_json::from_str(&metadata["config"]).unwrap();
    assert_eq!(config["act_fn"], "relu");
    assert_eq!(config["normalization_type"], Value::Null);
    assert_eq!(config["attention_dir"], "bidirectional");
    assert_eq!(config["n_ctx"], 5);
    assert_eq!(config["d_vocab_out"], 4);
    assert_eq!(config["dtype"], "float32");
    let rasp: Value = serde_json::from_str(&metadata["rasp"]).unwrap();
    assert_eq!(rasp["vocab"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(rasp["output"]["kind"], "categorical");
    assert_eq!(rasp["dtype"], "F32");
    assert_eq!(header.info("embed.W_E").unwrap().dtype, Dtype::F32);
    assert_eq!(header.info("blocks.0.attn.W_O").unwrap().shape, [2, 5, 15]);
}

#[test]
fn atoms_keep_their_types_in_json() {
    let atoms = [
        Atom::Int(-3),
        Atom::Float(2.0),
        Atom::Float(0.5),
        Atom::Bool(true),
        Atom::str("x"),
        Atom::Float(f64::NEG_INFINITY),
    ];
    let json: Vec<Value> = atoms.iter().map(atom_to_json).collect();
    assert_eq!(
        Value::Array(json.clone()).to_string(),
        r#"[-3,2.0,0.5,true,"x",{"float":"-inf"}]"#
    );
    for (atom, value) in atoms.iter().zip(&json) {
        let back = atom_from_json(value).unwrap();
        assert_eq!(
            (back.type_name(), back.repr()),
            (atom.type_name(), atom.repr())
        );
    }
    // Floats survive the text exactly (serde_json's `float_roundtrip`):
    // a nearest-value table of an F64 model needs its last bits.
    for text in [
        "1000000.0249999999",
        "1000000.0066666667",
        "0.30000000000000004",
    ] {
        let value: Value = serde_json::from_str(text).unwrap();
        let Ok(Atom::Float(x)) = atom_from_json(&value) else {
            panic!("{text} is a float");
        };
        assert_eq!(
            x.to_bits(),
            text.parse::<f64>().unwrap().to_bits(),
            "{text}"
        );
        assert_eq!(atom_to_json(&Atom::Float(x)).to_string(), text);
    }
    assert!(atom_from_json(&Value::Null).is_err());
    assert!(atom_from_json(&serde_json::json!(18446744073709551615u64)).is_err());
}

#[test]
fn a_truncated_file_is_reported_by_where_it_ends() {
    let bytes = previous_token_model().to_bytes().unwrap();
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let cuts = [
        (0, "not_safetensors"),
        (5, "not_safetensors"),
        (8, "truncated_header"),
        (40, "truncated_header"),
        (header_end - 1, "truncated_header"),
        (header_end, "data_out_of_range"),
        (header_end + 100, "data_out_of_range"),
        (bytes.len() - 1, "data_out_of_range"),
    ];
    for (cut, expected) in cuts {
        assert_eq!(
            code(&bytes[..cut]),
            format!("rasp::model::{expected}"),
            "cut at {cut}"
        );
    }
    let err = load_error(&bytes[..bytes.len() - 1]);
    let available = (bytes.len() - header_end - 1) as u64;
    assert_eq!(
        err,
        ModelError::DataOutOfRange {
            declared: available + 1,
            available
        }
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(code(&longer), "rasp::model::data_out_of_range");
}

#[test]
fn random_bytes_are_not_a_safetensors_file() {
    let mut seed = 99;
    let noise: Vec<u8> = (0..4096)
        .map(|_| (pseudo_random(&mut seed) * 256.0) as i32 as u8)
        .collect();
    assert_eq!(code(&noise), "rasp::model::not_safetensors");
    // A plausible length followed by garbage.
    let mut garbage = 64u64.to_le_bytes().to_vec();
    garbage.extend(&noise[..64]);
    assert_eq!(code(&garbage), "rasp::model::invalid_header");
    let mut not_json = 4u64.to_le_bytes().to_vec();
    not_json.extend(b"{{{{");
    assert_eq!(code(&not_json), "rasp::model::invalid_header");
}

#[test]
fn a_foreign_safetensors_file_is_not_a_rasp_model() {
    let tensor = |shape: Vec<usize>| {
        let data = vec![0; shape.iter().product::<usize>() * 4];
        RawTensor {
            dtype: Dtype::F32,
            shape,
            data,
        }
    };
    let foreign = vec![
        ("fc.weight".to_string(), tensor(vec![3, 2])),
        ("fc.bias".to_string(), tensor(vec![3])),
    ];
    let bytes = safetensors::serialize(foreign, None).unwrap();
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::not_a_rasp_model");
    let help = miette::Diagnostic::help(&err).unwrap().to_string();
    assert!(
        help.contains("2 tensor(s): `fc.bias`, `fc.weight`"),
        "{help}"
    );

    // Our metadata on someone else's tensors.
    let bytes = edited_file(|tensors, _| {
        tensors.retain(|(name, _)| name != "embed.W_E");
        tensors.push(("fc.weight".to_string(), tensor(vec![3, 2])));
    });
    let err = load_error(&bytes);
    assert_eq!(
        err,
        ModelError::MissingTensor {
            name: "embed.W_E".into()
        }
    );
}

#[test]
fn wrong_shape_names_both_shapes_and_points_at_the_shape() {
    let bytes = edited_file(|tensors, _| {
        let (_, w_q) = tensors
            .iter_mut()
            .find(|(n, _)| n == "blocks.0.attn.W_Q")
            .unwrap();
        w_q.shape = vec![2, 5, 15];
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::wrong_shape");
    assert_eq!(
        err.to_string(),
        "tensor `blocks.0.attn.W_Q` has shape [2, 5, 15], expected [2, 15, 5]"
    );
    let rendered = crate::diagnostics::render(&err, false);
    assert!(
        rendered.contains(r#""blocks.0.attn.W_Q": {"dtype": "F32", "shape": [2, 5, 15]}"#),
        "{rendered}"
    );
    assert!(rendered.contains("expected [2, 15, 5]"), "{rendered}");
}

#[test]
fn wrong_dtype_is_reported() {
    let bytes = edited_file(|tensors, _| {
        let (_, b_u) = tensors
            .iter_mut()
            .find(|(n, _)| n == "unembed.b_U")
            .unwrap();
        b_u.dtype = Dtype::F64;
        b_u.data = [0.0_f64; 4].iter().flat_map(|x| x.to_le_bytes()).collect();
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::wrong_dtype");
    assert_eq!(
        err.to_string(),
        "tensor `unembed.b_U` has dtype F64, expected F32"
    );
}

#[test]
fn missing_and_unexpected_tensors_are_named() {
    let bytes = edited_file(|tensors, _| tensors.retain(|(n, _)| n != "blocks.0.mlp.W_in"));
    assert_eq!(
        load_error(&bytes),
        ModelError::MissingTensor {
            name: "blocks.0.mlp.W_in".into()
        }
    );
    let bytes = edited_file(|tensors, _| {
        let extra = RawTensor {
            dtype: Dtype::F32,
            shape: vec![15],
            data: vec![0; 60],
        };
        tensors.push(("blocks.1.attn.b_O".into(), extra));
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::unexpected_tensor");
    assert_eq!(err.to_string(), "unexpected tensor `blocks.1.attn.b_O`");
}

#[test]
fn metadata_problems_name_the_key() {
    let cases: Vec<(MetadataEdit, &str)> = vec![
        (Box::new(|m| drop(m.remove("rasp"))), "not_a_rasp_model"),
        (Box::new(|m| drop(m.remove("config"))), "missing_metadata"),
        (
            Box::new(|m| drop(m.insert("rasp".into(), "{".into()))),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "max_len", "four".into())),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "vocab", serde_json::json!([null]))),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "config", "d_model", Value::Null)),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "format_version", 2.into())),
            "unsupported_version",
        ),
        (
            Box::new(|m| set_json(m, "config", "act_fn", "gelu".into())),
            "unsupported_config",
        ),
        (
            Box::new(|m| set_json(m, "config", "normalization_type", "LN".into())),
            "unsupported_config",
        ),
        (
            Box::new(|m| set_json(m, "config", "attention_dir", "causal".into())),
            "unsupported_config",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "max_len", 5.into())),
            "inconsistent_sizes",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "vocab", serde_json::json!(["a"]))),
            "inconsistent_sizes",
        ),
        (
            Box::new(|m| {
                set_json(
                    m,
                    "rasp",
                    "output",
                    serde_json::json!({"kind": "numerical"}),
                )
            }),
            "inconsistent_sizes",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "residual_labels", serde_json::json!([]))),
            "inconsistent_sizes",
        ),
    ];
    for (index, (edit, expected)) in cases.into_iter().enumerate() {
        let bytes = edited_file(|_, metadata| edit(metadata));
        assert_eq!(
            code(&bytes),
            format!("rasp::model::{expected}"),
            "case {index}"
        );
    }
    let bytes = edited_file(|_, m| drop(m.remove("config")));
    assert_eq!(
        load_error(&bytes).to_string(),
        "the metadata key `config` is missing"
    );
    let bytes = edited_file(|_, m| set_json(m, "rasp", "format_version", 2.into()));
    assert_eq!(
        load_error(&bytes),
        ModelError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
}

#[test]
fn a_huge_declared_tensor_in_a_small_file_is_never_allocated() {
    let header = r#"{"embed.W_E":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend([0; 16]);
    assert_eq!(
        load_error(&bytes),
        ModelError::DataOutOfRange {
            declared: 4_000_000_000_000,
            available: 16
        }
    );
    // A config promising a billion layers fails on the first missing one.
    let bytes = edited_file(|_, m| set_json(m, "config", "n_layers", 1_000_000_000.into()));
    assert_eq!(
        load_error(&bytes),
        ModelError::MissingTensor {
            name: "blocks.1.attn.W_Q".into()
        }
    );
}

#[test]
fn non_finite_weights_are_refused_both_ways() {
    let bytes = edited_file(|tensors, _| {
        let (_, w_e) = tensors.iter_mut().find(|(n, _)| n == "embed.W_E").unwrap();
        w_e.data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::non_finite_weight");
    assert!(err.to_string().contains("flat index 2"), "{err}");
    let mut model = previous_token_model();
    model.unembed[[0, 0]] = f64::INFINITY;
    assert_eq!(
        model.to_bytes().unwrap_err().code_name(),
        "rasp::model::non_finite_weight"
    );
    // An F64 file's NaN is found too.
    let bytes = edited_file_of(f64_model(), |tensors, _| {
        let (_, b_u) = tensors
            .iter_mut()
            .find(|(n, _)| n == "unembed.b_U")
            .unwrap();
        b_u.data[8..16].copy_from_slice(&f64::NAN.to_le_bytes());
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::non_finite_weight");
    assert!(err.to_string().contains("flat index 1"), "{err}");
}

/// The test model as an F64 model whose weights f32 cannot hold: each
/// non-zero weight moved by a relative 1e-12.
fn f64_model() -> Model {
    let mut model = previous_token_model().with_dtype(ModelDtype::F64);
    let nudge = |w: f64| w * (1.0 + 1e-12);
    model.embed.mapv_inplace(nudge);
    model.layers[0] = model.layers[0].map(nudge);
    model.unembed.mapv_inplace(nudge);
    model.unembed_bias = ndarray::arr1(&[0.1, -0.2, 0.3, 1.0 / 3.0]);
    model
}

#[test]
fn an_f64_model_round_trips_bit_exactly() {
    let model = f64_model();
    assert!(
        model
            .tensors()
            .iter()
            .any(|(_, t)| t.iter().any(|&w| f64::from(w as f32) != w)),
        "some weight needs f64"
    );
    let bytes = model.to_bytes().unwrap();
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.dtype, ModelDtype::F64);
    assert!(loaded.to_bytes().unwrap() == bytes, "a second save differs");
    for ((name, a), (_, b)) in model.tensors().iter().zip(loaded.tensors()) {
        let bits: Vec<u64> = a.iter().map(|w| w.to_bits()).collect();
        assert_eq!(
            bits,
            b.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
            "{name}"
        );
    }
    let header = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1;
    assert_eq!(header.info("embed.W_E").unwrap().dtype, Dtype::F64);
    let metadata = header.metadata().clone().unwrap();
    let config: Value = serde_json::from_str(&metadata["config"]).unwrap();
    assert_eq!(config["dtype"], "float64");
    let rasp: Value = serde_json::from_str(&metadata["rasp"]).unwrap();
    assert_eq!(rasp["dtype"], "F64");
    let batch = vec![vec![0, 2, 1, 3]];
    assert_eq!(
        model.forward(&batch, true).unwrap().logits,
        loaded.forward(&batch, true).unwrap().logits
    );
    // The same file is twice the F32 one's data.
    let f32_bytes = previous_token_model().to_bytes().unwrap();
    let data = |b: &[u8]| b.len() - 8 - u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    assert_eq!(data(&bytes), 2 * data(&f32_bytes));
}

#[test]
fn an_f32_model_is_written_rounded_to_f32() {
    let mut model = previous_token_model();
    model.unembed_bias[1] = 0.1;
    model.unembed_bias[2] = 1.0e300;
    let err = model.to_bytes().unwrap_err();
    assert_eq!(err.code_name(), "rasp::model::weight_out_of_range");
    assert_eq!(
        err.to_string(),
        "tensor `unembed.b_U` holds 1e300 at flat index 2, beyond the range of F32"
    );
    model.unembed_bias[2] = 0.0;
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.dtype, ModelDtype::F32);
    assert_eq!(loaded.unembed_bias[1], f64::from(0.1_f32));
    assert_ne!(loaded.unembed_bias[1], 0.1);
    // Both run the same: the runtime rounds to f32 as the file does.
    let batch = vec![vec![0, 2, 1, 3]];
    assert_eq!(
        model.forward(&batch, false).unwrap().logits,
        loaded.forward(&batch, false).unwrap().logits
    );
    // `with_dtype` rounds too.
    let rounded = model.clone().with_dtype(ModelDtype::F32);
    assert_eq!(rounded.unembed_bias[1], f64::from(0.1_f32));
}

#[test]
fn a_tensor_of_another_dtype_than_the_metadata_declares_is_refused() {
    // F64 metadata, F32 tensors.
    let bytes = edited_file_of(f64_model(), |tensors, _| {
        for (_, t) in tensors.iter_mut() {
            let values: Vec<f64> = t
                .data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            t.dtype = Dtype::F32;
            t.data = tensor_bytes(values.into_iter(), ModelDtype::F32);
        }
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::wrong_dtype");
    assert_eq!(
        err.to_string(),
        "tensor `embed.W_E` has dtype F32, expected F64"
    );
    let rendered = crate::diagnostics::render(&err, false);
    assert!(
        rendered.contains(r#""embed.W_E": {"dtype": "F32", "shape": [4, 15]}"#),
        "{rendered}"
    );
    assert!(rendered.contains("metadata declares F64"), "{rendered}");
    // F64 tensors in a file without a dtype (as written before dtypes were
    // recorded): F32 is expected.
    let bytes = edited_file_of(f64_model(), |_, metadata| {
        for key in ["rasp", "config"] {
            let mut json: Value = serde_json::from_str(&metadata[key]).unwrap();
            json.as_object_mut().unwrap().remove("dtype");
            metadata.insert(key.into(), json.to_string());
        }
    });
    assert_eq!(
        load_error(&bytes).to_string(),
        "tensor `embed.W_E` has dtype F64, expected F32"
    );
}

#[test]
fn a_file_without_a_dtype_is_f32() {
    let bytes = edited_file(|_, metadata| {
        for key in ["rasp", "config"] {
            let mut json: Value = serde_json::from_str(&metadata[key]).unwrap();
            assert!(json.as_object_mut().unwrap().remove("dtype").is_some());
            metadata.insert(key.into(), json.to_string());
        }
    });
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.dtype, ModelDtype::F32);
    // Either dtype alone is enough.
    for (key, value) in [("rasp", "F64"), ("config", "float64")] {
        let bytes = edited_file_of(f64_model(), |_, metadata| {
            let other = if key == "rasp" { "config" } else { "rasp" };
            let mut json: Value = serde_json::from_str(&metadata[other]).unwrap();
            json.as_object_mut().unwrap().remove("dtype");
            metadata.insert(other.into(), json.to_string());
            set_json(metadata, key, "dtype", value.into());
        });
        assert_eq!(
            Model::from_bytes(&bytes).unwrap().dtype,
            ModelDtype::F64,
            "{key}"
        );
    }
}

#[test]
fn dtype_metadata_problems_are_named() {
    let bytes = edited_file(|_, m| set_json(m, "config", "dtype", "float64".into()));
    let err = load_error(&bytes);
    assert_eq!(
        err,
        ModelError::DtypeConflict {
            config: ModelDtype::F64,
            rasp: ModelDtype::F32
        }
    );
    assert_eq!(
        err.to_string(),
        "the `config` metadata declares dtype float64 but the `rasp` metadata declares F32"
    );
    let bytes = edited_file(|_, m| set_json(m, "config", "dtype", "bfloat16".into()));
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::unsupported_config");
    assert_eq!(
        err.to_string(),
        "the config sets `dtype` to \"bfloat16\", but rasp models need \"float32\" or \"float64\""
    );
    let bytes = edited_file(|_, m| set_json(m, "rasp", "dtype", "BF16".into()));
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::malformed_metadata");
    assert!(err.to_string().contains("BF16"), "{err}");
}

#[test]
fn unreadable_paths_are_io_errors() {
    let err = Model::load("/nonexistent/model.safetensors").unwrap_err();
    assert_eq!(err.code_name(), "rasp::model::io");
}
