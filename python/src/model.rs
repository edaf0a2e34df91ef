//! `rasp.Model`: a compiled transformer, run by the library's runtime, its
//! weights handed to NumPy and PyTorch.
//!
//! Arrays cross as bytes in the model's dtype, made into NumPy arrays (and
//! torch tensors) by `rasp._arrays`, which imports NumPy only when an array
//! is asked for.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyTuple};
use rayon::prelude::*;

use rasp::compile::verify::{checks, report_json, verify_parallel};
use rasp::eval::atom::Atom;
use rasp::eval::batch::PARALLEL_MIN;
use rasp::eval::sop::SOp;
use rasp::model::decode::{Decoder, Prediction};
use rasp::model::forward::{Forward, Runner};
use rasp::model::{Dtype, Model, ModelError, NumberKind, OutputDecoding};

use crate::convert::{self, atom_to_py, chars, json_to_py, Input};
use crate::errors;
use crate::program::Program;
use crate::runs::{free_later, Errors, PausedGc, BLOCK};
use crate::work::{interruptible, Cancel};

/// `"f32"` or `"f64"` (also `"float32"`, `"float64"`).
pub fn parse_dtype(text: &str) -> PyResult<Dtype> {
    match text {
        "f32" | "float32" | "F32" => Ok(Dtype::F32),
        "f64" | "float64" | "F64" => Ok(Dtype::F64),
        other => Err(PyValueError::new_err(format!(
            "dtype is \"f32\" or \"f64\", not {other:?}"
        ))),
    }
}

/// A compiled RASP model.
#[pyclass(frozen, module = "rasp", name = "Model")]
pub struct PyModel {
    model: Model,
    /// The weights prepared for the forward pass, once.
    runner: OnceLock<Result<Runner, ModelError>>,
    /// Token ids of the one-character string tokens, for inputs given as
    /// text (the first entry wins, as in [`Model::encode`]).
    char_ids: HashMap<char, u32>,
    /// The s-op it was compiled from, when compiled in this process.
    sop: Option<SOp>,
}

/// One input's predictions, or why it has none.
type Outcome = Result<Vec<Prediction>, ModelError>;

impl PyModel {
    pub fn new(model: Model, sop: Option<SOp>) -> PyModel {
        let mut char_ids = HashMap::new();
        for (i, token) in model.meta.vocab.iter().enumerate() {
            if let Atom::Str(s) = token {
                let mut letters = s.chars();
                if let (Some(c), None) = (letters.next(), letters.next()) {
                    char_ids.entry(c).or_insert(i as u32 + 1);
                }
            }
        }
        PyModel {
            model,
            runner: OnceLock::new(),
            char_ids,
            sop,
        }
    }

    fn runner(&self) -> Result<&Runner, ModelError> {
        self.runner
            .get_or_init(|| Runner::new(&self.model))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The token ids of an input (BOS first).
    fn encode_input(&self, input: &Input) -> Result<Vec<u32>, ModelError> {
        if let Input::Text(text) = input {
            let mut ids = Vec::with_capacity(text.len() + 1);
            ids.push(0);
            let known = text.chars().all(|c| match self.char_ids.get(&c) {
                Some(&id) => {
                    ids.push(id);
                    true
                }
                None => false,
            });
            if known && ids.len() > 1 && ids.len() <= self.model.meta.max_len + 1 {
                return Ok(ids);
            }
            return self.model.encode(&chars(text));
        }
        self.model.encode(&input.atoms())
    }

    /// Every input's predictions, in blocks on all cores.
    fn predict(&self, inputs: &[Input], cancel: &Cancel) -> Vec<Outcome> {
        let runner = match self.runner() {
            Ok(r) => r,
            Err(e) => return inputs.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut outcomes = Vec::with_capacity(inputs.len());
        for block in inputs.chunks(BLOCK) {
            if cancel.is_set() {
                break;
            }
            // A few inputs run on this thread: handing them to the pool
            // costs more than they do.
            let few = block.len() < PARALLEL_MIN;
            let encoded: Vec<Result<Vec<u32>, ModelError>> = if few {
                block.iter().map(|i| self.encode_input(i)).collect()
            } else {
                block.par_iter().map(|i| self.encode_input(i)).collect()
            };
            let mut batch = Vec::with_capacity(block.len());
            let failures: Vec<Option<ModelError>> = encoded
                .into_iter()
                .map(|ids| match ids {
                    Ok(ids) => {
                        batch.push(ids);
                        None
                    }
                    Err(e) => Some(e),
                })
                .collect();
            let predictions = if few {
                // Encoded here, so every item is BOS and ids below
                // `d_vocab`, at most `n_ctx` long.
                Ok(runner.predict_checked(&batch))
            } else {
                self.model.predict(runner, &batch)
            };
            let mut predicted = match predictions {
                Ok(p) => p.into_iter(),
                Err(e) => {
                    outcomes.extend(block.iter().map(|_| Err(e.clone())));
                    continue;
                }
            };
            for failure in failures {
                outcomes.push(match failure {
                    Some(e) => Err(e),
                    None => {
                        let outputs = predicted.next().unwrap_or_default();
                        match outputs.iter().position(|p| *p == Prediction::NonFinite) {
                            Some(at) => Err(ModelError::NonFiniteOutput { position: at + 1 }),
                            None => Ok(outputs),
                        }
                    }
                });
            }
        }
        outcomes
    }

    /// The s-op to verify against: the one compiled, or the model's own
    /// program run again.
    fn sop_for_verify(&self, py: Python<'_>, program: Option<&Program>) -> PyResult<SOp> {
        let meta = &self.model.meta;
        match (program, &self.sop) {
            (Some(program), _) => program.sop_named(py, &meta.sop),
            (None, Some(sop)) => Ok(sop.clone()),
            (None, None) => Program::from_source(py, &meta.source)?.sop_named(py, &meta.sop),
        }
    }

    /// One input's token ids, or its error raised with `index`.
    fn ids(&self, py: Python<'_>, inputs: &[Input]) -> PyResult<Vec<Vec<u32>>> {
        let encoded: Vec<_> =
            py.detach(|| inputs.par_iter().map(|i| self.encode_input(i)).collect());
        encoded
            .into_iter()
            .enumerate()
            .map(|(index, ids)| {
                ids.map_err(|e| {
                    let error = errors::model_error(py, &e);
                    let _ = error.value(py).setattr("index", index);
                    error
                })
            })
            .collect()
    }

    /// One input's recorded forward pass and its tokens (BOS first).
    fn recorded<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<(Forward, Bound<'py, PyList>)> {
        let input = convert::input(input)?;
        let ids = self.ids(py, std::slice::from_ref(&input))?;
        let model = &self.model;
        let forward = interruptible(py, |_| model.forward(&ids, true))?
            .map_err(|e| errors::model_error(py, &e))?;
        let tokens = PyList::new(py, [self.model.meta.bos_token.as_str()])?;
        for atom in input.atoms() {
            tokens.append(atom_to_py(py, &atom)?)?;
        }
        Ok((forward, tokens))
    }

    /// A NumPy array of the model's dtype from `f64` values.
    fn array<'py>(
        &self,
        py: Python<'py>,
        values: impl Iterator<Item = f64>,
        shape: &[usize],
    ) -> PyResult<Bound<'py, PyAny>> {
        let (bytes, dtype) = self.bytes(values);
        array(py, &bytes, dtype, shape)
    }

    /// Values as little-endian bytes of the model's dtype, with its NumPy name.
    fn bytes(&self, values: impl Iterator<Item = f64>) -> (Vec<u8>, &'static str) {
        match self.model.dtype {
            Dtype::F32 => (
                values.flat_map(|v| (v as f32).to_le_bytes()).collect(),
                "<f4",
            ),
            Dtype::F64 => (values.flat_map(f64::to_le_bytes).collect(), "<f8"),
        }
    }
}

/// `rasp._arrays.array`: a NumPy array of `dtype` over a copy of `bytes`.
fn array<'py>(
    py: Python<'py>,
    bytes: &[u8],
    dtype: &str,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let buffer = PyByteArray::new(py, bytes);
    py.import("rasp._arrays")?
        .getattr("array")?
        .call1((buffer, dtype, PyTuple::new(py, shape)?))
}

/// Predictions as Python values, each distinct value made once.
struct Values<'py, 'm> {
    model: &'m Model,
    /// Per output value, the Python object for each number kind.
    made: Vec<[Option<Bound<'py, PyAny>>; 3]>,
}

impl<'py, 'm> Values<'py, 'm> {
    fn new(model: &'m Model) -> Self {
        let count = match &model.meta.output {
            OutputDecoding::Categorical { values } | OutputDecoding::Numerical { values, .. } => {
                values.len()
            }
        };
        Values {
            model,
            made: vec![[None, None, None]; count],
        }
    }

    fn list(&mut self, py: Python<'py>, outputs: &[Prediction]) -> PyResult<Bound<'py, PyList>> {
        let items = outputs
            .iter()
            .enumerate()
            .map(|(position, &p)| self.value(py, p, position))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn value(
        &mut self,
        py: Python<'py>,
        prediction: Prediction,
        position: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = match self.model.meta.output.kind_at(position) {
            NumberKind::Int => 0,
            NumberKind::Float => 1,
            NumberKind::Either => 2,
        };
        if let Prediction::Value(i) = prediction {
            if let Some(Some(made)) = self.made.get(i as usize).map(|m| &m[kind]) {
                return Ok(made.clone());
            }
        }
        let made = atom_to_py(py, &self.model.prediction_value(prediction, position))?;
        if let Prediction::Value(i) = prediction {
            if let Some(slot) = self.made.get_mut(i as usize) {
                slot[kind] = Some(made.clone());
            }
        }
        Ok(made)
    }
}

#[pymethods]
impl PyModel {
    /// A model read from a `.safetensors` file of `rasp compile`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let model = py
            .detach(|| Model::load(&path))
            .map_err(|e| errors::model_error(py, &e))?;
        Ok(PyModel::new(model, None))
    }

    /// Writes the model as a `.safetensors` file.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let model = &self.model;
        py.detach(|| model.save(&path))
            .map_err(|e| errors::model_error(py, &e))
    }

    /// The outputs on every input, as `rasp exec` gives them.
    #[pyo3(signature = (inputs, errors = "raise"))]
    fn exec<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let errors = Errors::parse(errors)?;
        let inputs = convert::inputs(inputs)?;
        let outcomes = interruptible(py, move |cancel| self.predict(&inputs, cancel))?;
        let mut values = Values::new(&self.model);
        let mut items = Vec::with_capacity(outcomes.len());
        let paused = PausedGc::new(py, outcomes.len())?;
        for (index, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Ok(outputs) => items.push(values.list(py, outputs)?.into_any()),
                Err(e) => {
                    let error = errors::model_error(py, e);
                    error.value(py).setattr("index", index)?;
                    match errors {
                        Errors::Raise => return Err(error),
                        Errors::Return => items.push(error.value(py).clone().into_any()),
                    }
                }
            }
        }
        drop(paused);
        free_later(outcomes);
        PyList::new(py, items)
    }

    /// Compares the model with the interpreter, as `rasp verify` does.
    #[pyo3(signature = (samples = 10_000, seed = 1, program = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        samples: usize,
        seed: u64,
        program: Option<PyRef<'py, Program>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        const MAX_SAMPLES: usize = 100_000_000;
        if !(1..=MAX_SAMPLES).contains(&samples) {
            return Err(PyValueError::new_err(format!(
                "samples is between 1 and {MAX_SAMPLES}, not {samples}"
            )));
        }
        let sop = self.sop_for_verify(py, program.as_deref())?;
        let model = &self.model;
        let (vocab, max_len) = (&model.meta.vocab, model.meta.max_len);
        let json = interruptible(py, |cancel| {
            let started = std::time::Instant::now();
            let checks = checks(vocab, max_len, samples, seed);
            let inputs = checks.inputs.take_while(|_| !cancel.is_set());
            let report = verify_parallel(model, &sop, inputs, |_| {});
            let seconds = started.elapsed().as_secs_f64();
            let mut json = report_json(model, &report, &checks.mode, max_len, seconds);
            let always_undefined = report.total > 0 && report.undefined == report.total;
            json["always_undefined"] = always_undefined.into();
            json["ok"] = (report.mismatch_count == 0 && !always_undefined).into();
            json
        })?;
        json_to_py(py, &json)
    }

    /// The report of `rasp inspect --json`.
    fn inspect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &rasp::model::inspect::inspect_json(&self.model))
    }

    /// The viewer's page (as `rasp view` writes it) of the model on
    /// `inputs` (a list of inputs, as `exec` takes them, or one string): a
    /// `rasp.View`, shown in a notebook and written by `.save(path)`.
    fn view<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let inputs = if inputs.is_instance_of::<pyo3::types::PyString>() {
            vec![convert::input(inputs)?]
        } else {
            convert::inputs(inputs)?
        };
        let shown: Vec<(String, Vec<rasp::eval::atom::Atom>)> =
            inputs.iter().map(|i| (i.shown(), i.atoms())).collect();
        let model = &self.model;
        let page = interruptible(py, |_| rasp::view::page(model, &shown))?;
        let page = page.map_err(|e| match &e {
            rasp::view::ViewError::Model(m) => errors::model_error(py, m),
            other => errors::raise(py, errors::Class::Model, other),
        })?;
        let file = rasp::view::default_path(&model.meta.sop);
        let view = py.import("rasp._display")?.getattr("View")?;
        view.call1((page, &model.meta.sop, file))
    }

    /// The summary `rasp compile` prints.
    fn summary(&self) -> String {
        rasp::model::inspect::summary(&self.model)
    }

    /// The TransformerLens config (`HookedTransformerConfig` fields, the
    /// dtype by name).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        metadata(py, &self.model.config_json())
    }

    /// The weight file's `rasp` record.
    #[getter]
    fn record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        metadata(py, &self.model.record_json())
    }

    #[getter]
    fn vocab<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        convert::atoms_to_py(py, &self.model.meta.vocab)
    }

    #[getter]
    fn max_len(&self) -> usize {
        self.model.meta.max_len
    }

    /// `"float32"` or `"float64"`.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.model.dtype.torch_name()
    }

    /// The name of the compiled s-op.
    #[getter]
    fn sop(&self) -> &str {
        &self.model.meta.sop
    }

    /// The program it was compiled from.
    #[getter]
    fn source(&self) -> &str {
        &self.model.meta.source
    }

    #[getter]
    fn residual_labels(&self) -> Vec<String> {
        self.model.meta.residual_labels.clone()
    }

    /// Token ids (BOS first, padded on the right with 0) and the attention
    /// mask (1 for BOS and the tokens), NumPy `int64` arrays of shape
    /// `[len(inputs), longest + 1]` (or `pad_to` positions).
    #[pyo3(signature = (inputs, pad_to = None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        pad_to: Option<usize>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let inputs = convert::inputs(inputs)?;
        let ids = self.ids(py, &inputs)?;
        let longest = ids.iter().map(Vec::len).max().unwrap_or(1);
        let width = match pad_to {
            Some(n) if n < longest => {
                return Err(PyValueError::new_err(format!(
                    "pad_to is {n}, but an input needs {longest} positions (BOS included)"
                )))
            }
            Some(n) => n,
            None => longest,
        };
        let (mut tokens, mut mask) = (Vec::new(), Vec::new());
        for row in &ids {
            for position in 0..width {
                let id = row.get(position).map_or(0, |&id| i64::from(id));
                tokens.extend(id.to_le_bytes());
                mask.extend(i64::from(position < row.len()).to_le_bytes());
            }
        }
        let shape = [ids.len(), width];
        let tokens = array(py, &tokens, "<i8", &shape)?;
        let mask = array(py, &mask, "<i8", &shape)?;
        PyTuple::new(py, [tokens, mask])
    }

    /// The outputs of logits `[batch, positions, d_vocab_out]` (or one
    /// item's `[positions, d_vocab_out]`), BOS at position 0, as `exec`
    /// gives them; `mask` (as `encode` gives it) drops padding.
    #[pyo3(signature = (logits, mask = None))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        logits: &Bound<'py, PyAny>,
        mask: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = py
            .import("rasp._arrays")?
            .getattr("logits_for_decode")?
            .call1((logits, mask))?;
        let (data, batch, positions, width, lengths, single): (
            Bound<'py, PyBytes>,
            usize,
            usize,
            usize,
            Vec<usize>,
            bool,
        ) = prepared.extract()?;
        let expected = self.model.config.d_vocab_out;
        if width != expected {
            return Err(PyValueError::new_err(format!(
                "the logits have {width} per position; this model has {expected}"
            )));
        }
        let size = [batch, positions, width, 8]
            .iter()
            .try_fold(1usize, |n, &m| n.checked_mul(m));
        if size != Some(data.as_bytes().len()) || lengths.len() != batch {
            return Err(errors::internal(
                py,
                "the logits' bytes do not match their shape",
            ));
        }
        let logits: Vec<f64> = data
            .as_bytes()
            .chunks_exact(8)
            .map(|b| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(b);
                f64::from_le_bytes(bytes)
            })
            .collect();
        let decoder = Decoder::new(&self.model.meta.output);
        let logit = |b: usize, p: usize, i: usize| {
            let at = (b * positions + p) * width + i;
            logits.get(at).copied().unwrap_or(f64::NAN)
        };
        let mut values = Values::new(&self.model);
        let mut items = Vec::with_capacity(batch);
        for (b, &length) in lengths.iter().enumerate() {
            let outputs: Vec<Prediction> = (1..length.min(positions))
                .map(|p| decoder.predict((0..width).map(|i| logit(b, p, i))))
                .collect();
            if let Some(at) = outputs.iter().position(|p| *p == Prediction::NonFinite) {
                let error = ModelError::NonFiniteOutput { position: at + 1 };
                let error = errors::model_error(py, &error);
                error.value(py).setattr("index", b)?;
                return Err(error);
            }
            items.push(values.list(py, &outputs)?);
        }
        match (single, items.pop()) {
            (true, Some(item)) if items.is_empty() => Ok(item.into_any()),
            (_, last) => {
                items.extend(last);
                Ok(PyList::new(py, items)?.into_any())
            }
        }
    }

    /// Every tensor as `(name, bytes, NumPy dtype, shape)`, for `state_dict`.
    fn _tensors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .model
            .tensors()
            .into_iter()
            .map(|(name, tensor)| {
                let (bytes, dtype) = self.bytes(tensor.iter().copied());
                (
                    name,
                    PyByteArray::new(py, &bytes),
                    dtype,
                    tensor.shape().to_vec(),
                )
            })
            .collect::<Vec<_>>();
        PyList::new(py, items)
    }

    /// The weights in TransformerLens' names: torch tensors when torch can
    /// be imported (or `torch=True`), else NumPy arrays.
    #[pyo3(signature = (torch = None))]
    fn state_dict<'py>(slf: &Bound<'py, Self>, torch: Option<bool>) -> PyResult<Bound<'py, PyAny>> {
        let tensors = slf.call_method0("_tensors")?;
        slf.py()
            .import("rasp._arrays")?
            .getattr("state_dict")?
            .call1((tensors, torch))
    }

    /// The model in TransformerLens: a `HookedTransformer` (3.x) or a
    /// `TransformerBridge` (4.x), the weights loaded strictly.
    #[pyo3(signature = (process_weights = false))]
    fn to_transformer_lens<'py>(
        slf: &Bound<'py, Self>,
        process_weights: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("rasp.transformer_lens")?
            .getattr("load")?
            .call1((slf, process_weights))
    }

    /// Every head's attention pattern on one input: `tokens` (BOS first)
    /// and `patterns`, `[n_layers, n_heads, len, len]` (query by key).
    fn attention<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (forward, tokens) = self.recorded(py, input)?;
        let c = &self.model.config;
        let len = forward.lengths.first().copied().unwrap_or(0);
        let values = forward
            .patterns
            .first()
            .into_iter()
            .flatten()
            .flat_map(|layer| layer.iter().copied());
        let patterns = self.array(py, values, &[c.n_layers, c.n_heads, len, len])?;
        py.import("rasp._arrays")?
            .getattr("AttentionPatterns")?
            .call1((tokens, patterns))
    }

    /// The residual stream on one input after the embedding and after each
    /// attention and MLP sub-layer: `tokens`, `labels` (one per dimension),
    /// `hooks` (TransformerLens' hook names) and `values`,
    /// `[1 + 2 * n_layers, len, d_model]`.
    fn residual<'py>(
        &self,
        py: Python<'py>,
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (forward, tokens) = self.recorded(py, input)?;
        let len = forward.lengths.first().copied().unwrap_or(0);
        let stages = forward.residuals.len();
        let hooks: Vec<String> = (0..stages).map(Forward::residual_name).collect();
        let values = forward.residuals.iter().flat_map(|r| r.iter().copied());
        let values = self.array(py, values, &[stages, len, self.model.config.d_model])?;
        py.import("rasp._arrays")?
            .getattr("ResidualStream")?
            .call1((tokens, self.residual_labels(), hooks, values))
    }

    fn __repr__(&self) -> String {
        format!("<rasp.Model {}>", self.summary().trim_end())
    }
}

/// Metadata JSON text as Python values.
fn metadata<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| errors::internal(py, &e.to_string()))?;
    json_to_py(py, &json)
}
