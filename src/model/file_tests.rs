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
#[derive(Clone)]
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
    reseal(tensors, metadata)
}

/// The file of `tensors` and `metadata`, its checksum computed again (as
/// if the edit had been written by the compiler), unless the edit removed
/// it.
fn reseal(tensors: Tensors, mut metadata: Metadata) -> Vec<u8> {
    let unsealed = safetensors::serialize(tensors.clone(), Some(metadata.clone())).unwrap();
    if metadata.contains_key("checksum") {
        let header_len = safetensors::SafeTensors::read_metadata(&unsealed)
            .unwrap()
            .0;
        let data = &unsealed[8 + header_len..];
        let config = metadata.get("config").cloned().unwrap_or_default();
        let rasp = metadata.get("rasp").cloned().unwrap_or_default();
        metadata.insert("checksum".into(), super::checksum(data, &config, &rasp));
    }
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

/// Removes one field of a JSON metadata value.
fn remove_json(metadata: &mut Metadata, key: &str, field: &str) -> Option<Value> {
    let mut json: Value = serde_json::from_str(&metadata[key]).unwrap();
    let removed = json.as_object_mut().unwrap().remove(field);
    metadata.insert(key.into(), json.to_string());
    removed
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
            Box::new(|m| set_json(m, "rasp", "format_version", 3.into())),
            "unsupported_version",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "format_version", 0.into())),
            "unsupported_version",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "bos_id", 1.into())),
            "malformed_metadata",
        ),
        (
            Box::new(|m| drop(remove_json(m, "rasp", "bos_id"))),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "vocab_ids", serde_json::json!([2, 1, 3]))),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "prepend_bos", false.into())),
            "malformed_metadata",
        ),
        (
            Box::new(|m| set_json(m, "rasp", "safe_dtypes", serde_json::json!(["float8"]))),
            "malformed_metadata",
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
            Box::new(|m| {
                set_json(m, "rasp", "vocab", serde_json::json!(["a"]));
                set_json(m, "rasp", "vocab_ids", serde_json::json!([1]));
            }),
            "inconsistent_sizes",
        ),
        (
            Box::new(|m| {
                set_json(
                    m,
                    "rasp",
                    "output",
                    serde_json::json!({"kind": "numerical", "logit": 0}),
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
    let bytes = edited_file(|_, m| set_json(m, "rasp", "format_version", 3.into()));
    assert_eq!(
        load_error(&bytes),
        ModelError::UnsupportedVersion {
            found: 3,
            supported: 2
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

/// The test model with a numerical output over `values`, read off the
/// scratch dimension, laid out as version 2 writes it.
fn numerical_model(values: Vec<Atom>) -> Model {
    let mut model = previous_token_model();
    let d_model = model.config.d_model;
    let scratch = d_model - 1;
    let mut unembed = ndarray::Array2::zeros((d_model, 2));
    unembed[[scratch, 0]] = 1.0;
    for d in 0..d_model {
        unembed[[d, 1]] = -unembed[[d, 0]];
    }
    model.unembed = unembed;
    model.unembed_bias = ndarray::arr1(&[0.125, -0.125]);
    model.config.d_vocab_out = 2;
    model.meta.output = crate::model::OutputDecoding::Numerical {
        values,
        bound: None,
        kinds: Vec::new(),
    };
    model
}

/// Floats that decimal printing gets wrong unless it round-trips: every
/// fraction p/q up to q = 64 (what means of up to 64 keys produce), their
/// negations, thirds and tenths, subnormals, extremes, and random bit
/// patterns.
fn hard_floats() -> Vec<f64> {
    let mut xs = Vec::new();
    for q in 1..=64u32 {
        for p in 0..=q {
            let x = f64::from(p) / f64::from(q);
            xs.extend([x, -x, x * 1e-3, x * 7.0 + 0.1]);
        }
    }
    xs.extend([
        0.1,
        0.2,
        0.30000000000000004,
        1.0 / 3.0,
        2.0 / 3.0,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 3.0,
        5e-324,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740993.0,
        -0.0,
    ]);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let x = f64::from_bits(seed);
        if x.is_finite() {
            xs.push(x);
        }
    }
    xs
}

fn bits_of(atoms: &[Atom]) -> Vec<String> {
    atoms
        .iter()
        .map(|a| match a {
            Atom::Float(x) => format!("float {:016x}", x.to_bits()),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn every_output_value_survives_a_write_and_a_read_bit_for_bit() {
    let mut xs = hard_floats();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| a.to_bits() == b.to_bits());
    let mut values: Vec<Atom> = xs.iter().map(|&x| Atom::Float(x)).collect();
    values.extend([i64::MIN, -1, 0, 1, 1 << 53, (1 << 53) + 1, i64::MAX].map(Atom::Int));
    values.extend([f64::INFINITY, f64::NEG_INFINITY].map(Atom::Float));
    let model = numerical_model(values.clone());
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let crate::model::OutputDecoding::Numerical { values: read, .. } = &loaded.meta.output else {
        panic!("the output kind changed");
    };
    assert_eq!(bits_of(read), bits_of(&values));
    // The same through `inspect --json`, which writes the record's atoms.
    let report = crate::model::inspect::inspect_json(&loaded);
    let text = serde_json::to_string(&report).unwrap();
    let reread: Value = serde_json::from_str(&text).unwrap();
    let from_report: Vec<Atom> = reread["output"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| atom_from_json(v).unwrap())
        .collect();
    assert_eq!(bits_of(&from_report), bits_of(&values));
    // Categorical labels and the vocabulary too.
    let mut model = previous_token_model();
    let labels: Vec<Atom> = xs.iter().take(200).map(|&x| Atom::Float(x)).collect();
    model.unembed = ndarray::Array2::zeros((model.config.d_model, labels.len()));
    model.unembed_bias = ndarray::Array1::zeros(labels.len());
    model.config.d_vocab_out = labels.len();
    model.meta.output = crate::model::OutputDecoding::Categorical {
        values: labels.clone(),
    };
    let vocab = [0.1, 1.0 / 3.0, f64::MIN_POSITIVE / 3.0]
        .map(Atom::Float)
        .to_vec();
    model.meta.vocab = vocab.clone();
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let crate::model::OutputDecoding::Categorical { values: read } = &loaded.meta.output else {
        panic!("the output kind changed");
    };
    assert_eq!(bits_of(read), bits_of(&labels));
    assert_eq!(bits_of(&loaded.meta.vocab), bits_of(&vocab));
}

/// `1/n, ..., 1/2, 1` as floats, ascending.
fn unit_fractions(n: u32) -> Vec<Atom> {
    (1..=n)
        .map(|q| Atom::Float(1.0 / f64::from(q)))
        .rev()
        .collect()
}

#[test]
fn a_numerical_output_decodes_logit_zero_to_its_exact_value() {
    let values = unit_fractions(40);
    let model = numerical_model(values.clone());
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    let fwd = loaded.forward(&[vec![0, 1, 2, 3, 1]], false).unwrap();
    let logits = fwd.logits_of(0);
    for row in logits.rows() {
        assert_eq!(row[1].to_bits(), (-row[0]).to_bits(), "logit 1 is -logit 0");
    }
    for atom in &loaded.decode(&fwd)[0] {
        assert!(
            values
                .iter()
                .any(|v| bits_of(std::slice::from_ref(v)) == bits_of(std::slice::from_ref(atom))),
            "{atom:?} is not one of the values, bit for bit"
        );
    }
}

#[test]
fn a_numerical_output_whose_second_logit_is_not_the_negation_is_refused() {
    let model = numerical_model(vec![Atom::Int(0), Atom::Int(1)]);
    let bytes = edited_file_of(model.clone(), |tensors, _| {
        let (_, w_u) = tensors
            .iter_mut()
            .find(|(n, _)| n == "unembed.W_U")
            .unwrap();
        // Row 0, column 1: 0 becomes 1.
        w_u.data[4..8].copy_from_slice(&1f32.to_le_bytes());
    });
    let err = load_error(&bytes);
    assert_eq!(err.code_name(), "rasp::model::bad_tensor_layout");
    assert!(err.to_string().contains("minus the first"), "{err}");
    let bytes = edited_file_of(model, |tensors, _| {
        let (_, b_u) = tensors
            .iter_mut()
            .find(|(n, _)| n == "unembed.b_U")
            .unwrap();
        b_u.data[4..8].copy_from_slice(&0.125f32.to_le_bytes());
    });
    assert_eq!(code(&bytes), "rasp::model::bad_tensor_layout");
}

/// A numerical model's file as version 1 wrote it: one logit, and none of
/// version 2's fields.
fn version_1_file(model: &Model) -> Vec<u8> {
    edited_file_of(model.clone(), |tensors, metadata| {
        for (name, tensor) in tensors.iter_mut() {
            let keep_first = |data: &[u8], width: usize| -> Vec<u8> {
                data.chunks_exact(4 * width)
                    .flat_map(|row| row[..4].to_vec())
                    .collect()
            };
            if name == "unembed.W_U" {
                tensor.data = keep_first(&tensor.data, 2);
                tensor.shape[1] = 1;
            } else if name == "unembed.b_U" {
                tensor.data = keep_first(&tensor.data, 2);
                tensor.shape[0] = 1;
            }
        }
        set_json(metadata, "rasp", "format_version", 1.into());
        for field in [
            "bos_id",
            "vocab_ids",
            "prepend_bos",
            "input",
            "safe_dtypes",
            "min_dtype",
            "transformer_lens",
        ] {
            remove_json(metadata, "rasp", field);
        }
        let mut rasp: Value = serde_json::from_str(&metadata["rasp"]).unwrap();
        for field in ["decode", "logit", "rule"] {
            rasp["output"].as_object_mut().unwrap().remove(field);
        }
        metadata.insert("rasp".into(), rasp.to_string());
        set_json(metadata, "config", "d_vocab_out", 1.into());
        set_json(metadata, "config", "default_prepend_bos", false.into());
    })
}

#[test]
fn a_version_1_numerical_file_reads_into_the_two_logit_layout() {
    let model = numerical_model(unit_fractions(20));
    let old = version_1_file(&model);
    let loaded = Model::from_bytes(&old).unwrap();
    assert_eq!(loaded.meta.format_version, 1);
    assert_eq!(loaded.config, model.config);
    assert_eq!(loaded.unembed, model.unembed);
    assert_eq!(loaded.unembed_bias, model.unembed_bias);
    let batch = vec![vec![0, 3, 1, 2], vec![0, 2]];
    let (a, b) = (
        model.forward(&batch, false).unwrap(),
        loaded.forward(&batch, false).unwrap(),
    );
    assert_eq!(
        bits_of(&model.decode(&a).concat()),
        bits_of(&loaded.decode(&b).concat())
    );
    // Saved again, it is a version 2 file, byte for byte the model's.
    assert!(loaded.to_bytes().unwrap() == model.to_bytes().unwrap());
    // A version 1 file whose numerical output has two logits is inconsistent.
    let two = edited_file_of(model, |_, m| {
        set_json(m, "rasp", "format_version", 1.into())
    });
    assert_eq!(code(&two), "rasp::model::inconsistent_sizes");
}

#[test]
fn the_record_states_what_a_loader_needs() {
    let mut model = numerical_model(vec![Atom::Int(0), Atom::Float(0.5)]);
    model.meta.safe_dtypes = Some(vec![
        crate::model::FloatType::Float16,
        crate::model::FloatType::Float32,
        crate::model::FloatType::Float64,
    ]);
    let bytes = model.to_bytes().unwrap();
    let header = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1;
    let metadata = header.metadata().clone().unwrap();
    let rasp: Value = serde_json::from_str(&metadata["rasp"]).unwrap();
    let config: Value = serde_json::from_str(&metadata["config"]).unwrap();
    assert_eq!(rasp["format_version"], 2);
    assert_eq!(rasp["bos_id"], 0);
    assert_eq!(rasp["vocab_ids"], serde_json::json!([1, 2, 3]));
    assert_eq!(rasp["prepend_bos"], true);
    assert_eq!(config["default_prepend_bos"], true);
    assert_eq!(rasp["input"]["padding"], "right");
    assert_eq!(rasp["input"]["bos_position"], 0);
    assert_eq!(rasp["output"]["decode"], "nearest");
    assert_eq!(rasp["output"]["logit"], 0);
    assert_eq!(config["d_vocab_out"], 2);
    assert_eq!(
        rasp["safe_dtypes"],
        serde_json::json!(["float16", "float32", "float64"])
    );
    assert_eq!(rasp["min_dtype"], "float16");
    for key in [
        "config",
        "load",
        "weight_processing",
        "batches_3x",
        "batches_4x",
    ] {
        assert!(
            rasp["transformer_lens"][key].is_string(),
            "transformer_lens.{key}"
        );
    }
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.meta.safe_dtypes, model.meta.safe_dtypes);
    let categorical = previous_token_model().to_bytes().unwrap();
    let header = safetensors::SafeTensors::read_metadata(&categorical)
        .unwrap()
        .1;
    let rasp: Value = serde_json::from_str(&header.metadata().clone().unwrap()["rasp"]).unwrap();
    assert_eq!(rasp["output"]["decode"], "argmax");
    assert!(
        rasp.get("safe_dtypes").is_none(),
        "unknown safe types are not written"
    );
}

#[test]
fn a_changed_byte_or_record_fails_the_checksum() {
    let model = previous_token_model();
    let bytes = model.to_bytes().unwrap();
    let header_len = safetensors::SafeTensors::read_metadata(&bytes).unwrap().0;
    // One bit of one weight flipped.
    let mut flipped = bytes.clone();
    let at = 8 + header_len + 5;
    flipped[at] ^= 0x10;
    let err = load_error(&flipped);
    assert!(
        matches!(err, ModelError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    let code = miette::Diagnostic::code(&err).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("rasp::model::checksum"));
    // The vocabulary swapped in the record, the checksum left as it was.
    let text = String::from_utf8_lossy(&bytes[8..8 + header_len]).into_owned();
    let header: Value = serde_json::from_str(text.trim_end()).unwrap();
    let rasp: Value =
        serde_json::from_str(header["__metadata__"]["rasp"].as_str().unwrap()).unwrap();
    let vocab = rasp["vocab"].as_array().unwrap().clone();
    assert!(vocab.len() >= 2, "{vocab:?}");
    let mut swapped = rasp.clone();
    swapped["vocab"][0] = vocab[1].clone();
    swapped["vocab"][1] = vocab[0].clone();
    // (Written without `reseal`: the stated checksum is the original one.)
    let h = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1;
    let mut metadata = h.metadata().clone().unwrap();
    metadata.insert("rasp".into(), swapped.to_string());
    let forged = safetensors::serialize(reread(&bytes, header_len, &h), Some(metadata)).unwrap();
    let err = load_error(&forged);
    assert!(
        matches!(err, ModelError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    // No checksum at all in a version 2 file.
    let file = edited_file(|_, metadata| {
        metadata.remove("checksum");
    });
    let err = load_error(&file);
    assert!(
        matches!(err, ModelError::MissingMetadata { key: "checksum" }),
        "{err:?}"
    );
    // The stated checksum is the documented one: SHA-256 of the data, 0,
    // config, 0, record.
    let sealed = header["__metadata__"]["checksum"].as_str().unwrap();
    let config = header["__metadata__"]["config"].as_str().unwrap();
    let record = header["__metadata__"]["rasp"].as_str().unwrap();
    assert_eq!(
        sealed,
        super::checksum(&bytes[8 + header_len..], config, record)
    );
    assert!(
        sealed.starts_with("sha256:") && sealed.len() == 7 + 64,
        "{sealed}"
    );
}

/// The tensors of a serialized file, as raw tensors again.
fn reread(file: &[u8], header_len: usize, header: &safetensors::tensor::Metadata) -> Tensors {
    let data = &file[8 + header_len..];
    header
        .tensors()
        .into_iter()
        .map(|(name, info)| {
            let (start, end) = info.data_offsets;
            let tensor = RawTensor {
                dtype: info.dtype,
                shape: info.shape.clone(),
                data: data[start..end].to_vec(),
            };
            (name, tensor)
        })
        .collect()
}

#[test]
fn a_context_longer_than_the_compiler_allows_is_refused() {
    let file = edited_file(|_, metadata| {
        set_json(metadata, "config", "n_ctx", serde_json::json!(200_001));
    });
    let err = load_error(&file);
    assert!(
        matches!(err, ModelError::UnsupportedConfig { field: "n_ctx", .. }),
        "{err:?}"
    );
}
