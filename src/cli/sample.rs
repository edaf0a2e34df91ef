//! `rasp sample --count N --vocab V --max-len L [--layers A..B] [--seed S] -o DIR`:
//! a corpus of random programs, each compiled and verified ([`crate::sample`]).
//!
//! `DIR` holds `settings.json` (what every program shares),
//! `programs/ID.rasp`, `models/ID.safetensors`, `manifest.jsonl` (one JSON
//! line per kept program) and `dropped.json` (how many attempts were dropped
//! and why). An existing `DIR` of the same settings is extended: attempts go
//! on after the last one its manifest records, until it holds `--count`
//! programs; so an interrupted run is resumed by running it again.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rayon::prelude::*;

use super::compile::DtypeArg;
use super::progress::{progress_bar, show_progress};
use super::run::report;
use super::{EXIT_FAILURE, EXIT_USAGE};
use crate::eval::print::atom_json;
use crate::sample::{attempt, sizes_json, Dropped, Kept, Settings, Tokens};
use crate::Interpreter;

/// Arguments of `rasp sample`.
#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// How many programs the corpus holds when done (an existing corpus
    /// is extended to this many).
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// The tokens, as for `rasp compile`: `a,b,c`, or a list such as
    /// `[0, 1, 2]` (a vocabulary of numbers is read with `tokens_int`).
    #[arg(long)]
    pub vocab: String,
    /// The longest input each model is built and verified for.
    #[arg(long = "max-len", value_name = "N")]
    pub max_len: usize,
    /// Keep only models of this many layers: `3`, `2..4` (both ends
    /// included), `2..` or `..4`.
    #[arg(long, value_name = "A..B")]
    pub layers: Option<String>,
    /// The corpus's seed: each attempt's program seed is derived from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The models' float type.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    pub dtype: DtypeArg,
    /// Print the program of this program seed (as the manifest records it)
    /// and stop, instead of building a corpus.
    #[arg(long, value_name = "SEED", conflicts_with = "output")]
    pub program_seed: Option<u64>,
    /// The corpus directory.
    #[arg(
        short,
        long,
        value_name = "DIR",
        required_unless_present = "program_seed"
    )]
    pub output: Option<PathBuf>,
}

/// What `rasp sample` reports.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
enum SampleError {
    #[error("`--layers {0}` is not a range of layer counts")]
    #[diagnostic(
        code(rasp::cli::sample_layers),
        help("write one count (`3`), or a range with both ends included: `2..4`, `2..`, `..4`")
    )]
    Layers(String),
    #[error("the vocabulary has no token a generated program can read")]
    #[diagnostic(
        code(rasp::cli::sample_vocab),
        help("give numbers (`0,1,2`) or strings without `\"` (`a,b,c`)")
    )]
    Vocab,
    #[error("`{dir}` holds a corpus of other settings: {difference}")]
    #[diagnostic(
        code(rasp::cli::sample_settings),
        help("extend it with the same --vocab, --max-len, --layers, --seed and --dtype, or give another directory")
    )]
    Settings { dir: String, difference: String },
    #[error("cannot {action} `{path}`: {reason}")]
    #[diagnostic(code(rasp::cli::sample_io))]
    Io {
        action: &'static str,
        path: String,
        reason: String,
    },
    #[error("`{path}` is not a manifest this command wrote: line {line}: {reason}")]
    #[diagnostic(
        code(rasp::cli::sample_manifest),
        help("remove or repair the line, or give another directory")
    )]
    Manifest {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("only {kept} of {count} programs kept after {attempts} attempts")]
    #[diagnostic(
        code(rasp::cli::sample_exhausted),
        help("most attempts were dropped (see the counts above); widen --layers, or give another vocabulary or max_len")
    )]
    Exhausted {
        kept: usize,
        count: usize,
        attempts: u64,
    },
}

/// Attempts without a single kept program past this many per program asked
/// for end the run.
const ATTEMPTS_PER_PROGRAM: u64 = 200;

/// Runs `rasp sample`.
pub fn run_sample(args: &SampleArgs) -> ExitCode {
    match sample(args) {
        Ok(code) => code,
        Err((e, code)) => {
            report(&*e);
            ExitCode::from(code)
        }
    }
}

type Failed = (Box<dyn miette::Diagnostic + Send + Sync>, u8);

fn usage(e: impl miette::Diagnostic + Send + Sync + 'static) -> Failed {
    (Box::new(e), EXIT_USAGE)
}

fn failure(e: impl miette::Diagnostic + Send + Sync + 'static) -> Failed {
    (Box::new(e), EXIT_FAILURE)
}

fn io(action: &'static str, path: &Path, e: impl std::fmt::Display) -> Failed {
    failure(SampleError::Io {
        action,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn sample(args: &SampleArgs) -> Result<ExitCode, Failed> {
    let vocab = Interpreter::parse_vocab(&args.vocab).map_err(usage)?;
    let tokens = Tokens::of(&vocab).ok_or_else(|| usage(SampleError::Vocab))?;
    if let Some(seed) = args.program_seed {
        super::out::write(&crate::sample::generate::program_of_seed(seed, &tokens));
        return Ok(ExitCode::SUCCESS);
    }
    let layers = match &args.layers {
        None => (1, usize::MAX),
        Some(text) => parse_layers(text).ok_or_else(|| usage(SampleError::Layers(text.clone())))?,
    };
    let settings = Settings {
        vocab,
        max_len: args.max_len,
        layers,
        seed: args.seed,
        dtype: args.dtype.into(),
    };
    let Some(dir) = args.output.as_deref() else {
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let mut corpus = Corpus::open(dir, &settings)?;
    let bar = progress_bar(Some(args.count as u64), "programs kept");
    bar.set_position(corpus.kept.min(args.count) as u64);
    show_progress(&bar);
    let block = 4 * rayon::current_num_threads() as u64;
    let start_attempts = corpus.next_attempt;
    let most = start_attempts
        + ATTEMPTS_PER_PROGRAM * (args.count.saturating_sub(corpus.kept) as u64).max(1);
    while corpus.kept < args.count && corpus.next_attempt < most {
        let first = corpus.next_attempt;
        let results: Vec<(u64, Result<Kept, Dropped>)> = (first..first + block)
            .into_par_iter()
            .map(|n| (n, attempt(&settings, &tokens, n)))
            .collect();
        for (n, result) in results {
            if corpus.kept >= args.count {
                break;
            }
            corpus.next_attempt = n + 1;
            match result {
                Ok(kept) => {
                    if corpus.add(&kept, &settings)? {
                        bar.inc(1);
                    }
                }
                Err(dropped) => {
                    if let Dropped::Disagrees(first) = &dropped {
                        let seed = settings.program_seed(n);
                        bar.suspend(|| {
                            eprintln!(
                                "warning: the model of attempt {n} (program seed {seed}) disagrees with the interpreter ({first}); \
                                 it is not kept (`rasp sample --vocab ... --program-seed {seed}` prints it)"
                            )
                        });
                    }
                    *corpus.dropped.entry(dropped.reason()).or_insert(0) += 1;
                }
            }
        }
        corpus.flush()?;
    }
    bar.finish_and_clear();
    corpus.flush()?;
    let attempts = corpus.next_attempt - start_attempts;
    let mut text = format!(
        "{} programs in {} ({} new from {attempts} attempts)\n",
        corpus.kept,
        dir.display(),
        corpus.added
    );
    for (reason, n) in &corpus.dropped {
        text.push_str(&format!("  dropped {n}: {reason}\n"));
    }
    super::out::write(&text);
    if corpus.kept < args.count {
        return Err(failure(SampleError::Exhausted {
            kept: corpus.kept,
            count: args.count,
            attempts: corpus.next_attempt,
        }));
    }
    Ok(ExitCode::SUCCESS)
}

/// `3`, `2..4`, `2..`, `..4` (both ends included).
fn parse_layers(text: &str) -> Option<(usize, usize)> {
    let text = text.trim();
    let range = match text.split_once("..") {
        None => {
            let n = text.parse().ok()?;
            (n, n)
        }
        Some((low, high)) => {
            let high = high.strip_prefix('=').unwrap_or(high);
            let low = if low.is_empty() { 1 } else { low.parse().ok()? };
            let high = if high.is_empty() {
                usize::MAX
            } else {
                high.parse().ok()?
            };
            (low, high)
        }
    };
    (range.0 >= 1 && range.0 <= range.1).then_some(range)
}

/// A corpus directory being extended.
struct Corpus {
    dir: PathBuf,
    manifest: std::io::BufWriter<std::fs::File>,
    /// Programs held, and added by this run.
    kept: usize,
    added: usize,
    next_attempt: u64,
    /// The sources held (a program drawn twice is kept once).
    sources: HashSet<String>,
    dropped: BTreeMap<String, u64>,
}

impl Corpus {
    /// Opens `dir` (made if missing), checking its settings against
    /// `settings` and reading how far its manifest got.
    fn open(dir: &Path, settings: &Settings) -> Result<Corpus, Failed> {
        for sub in ["programs", "models"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(|e| io("make", &path, e))?;
        }
        let wanted = settings_json(settings);
        let settings_path = dir.join("settings.json");
        match std::fs::read_to_string(&settings_path) {
            Ok(text) => {
                let found: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| io("read the settings in", &settings_path, e))?;
                if let Some(difference) = differs(&found, &wanted) {
                    return Err(usage(SampleError::Settings {
                        dir: dir.display().to_string(),
                        difference,
                    }));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = format!("{wanted:#}\n");
                std::fs::write(&settings_path, text).map_err(|e| io("write", &settings_path, e))?;
            }
            Err(e) => return Err(io("read", &settings_path, e)),
        }
        let manifest_path = dir.join("manifest.jsonl");
        let (mut kept, mut next_attempt, mut sources) = (0, 0, HashSet::new());
        match std::fs::read_to_string(&manifest_path) {
            Ok(text) => {
                for (i, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let bad = |reason: String| {
                        failure(SampleError::Manifest {
                            path: manifest_path.display().to_string(),
                            line: i + 1,
                            reason,
                        })
                    };
                    let entry: serde_json::Value =
                        serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
                    let attempt = entry["attempt"]
                        .as_u64()
                        .ok_or_else(|| bad("no `attempt`".into()))?;
                    let source = entry["source"]
                        .as_str()
                        .ok_or_else(|| bad("no `source`".into()))?;
                    next_attempt = next_attempt.max(attempt + 1);
                    sources.insert(source.to_string());
                    kept += 1;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("read", &manifest_path, e)),
        }
        let dropped = std::fs::read_to_string(dir.join("dropped.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<BTreeMap<String, u64>>(&t).ok())
            .unwrap_or_default();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&manifest_path)
            .map_err(|e| io("open", &manifest_path, e))?;
        Ok(Corpus {
            dir: dir.to_path_buf(),
            manifest: std::io::BufWriter::new(file),
            kept,
            added: 0,
            next_attempt,
            sources,
            dropped,
        })
    }

    /// Writes a kept program, its model and its manifest line; false for a
    /// program the corpus holds already.
    fn add(&mut self, kept: &Kept, settings: &Settings) -> Result<bool, Failed> {
        if !self.sources.insert(kept.source.clone()) {
            *self.dropped.entry("drawn before".into()).or_insert(0) += 1;
            return Ok(false);
        }
        let id = format!("p{:06}", self.kept + 1);
        let program = PathBuf::from("programs").join(format!("{id}.rasp"));
        let model = PathBuf::from("models").join(format!("{id}.safetensors"));
        let program_path = self.dir.join(&program);
        std::fs::write(&program_path, &kept.source).map_err(|e| io("write", &program_path, e))?;
        let model_path = self.dir.join(&model);
        kept.model.save(&model_path).map_err(|e| failure(e))?;
        let mut line = serde_json::json!({
            "id": id,
            "attempt": kept.attempt,
            "seed": kept.seed,
            "program": program.to_string_lossy(),
            "model": model.to_string_lossy(),
            "sop": kept.sop,
            "source": kept.source,
            "vocab": settings.vocab.iter().map(atom_json).collect::<Vec<_>>(),
            "max_len": settings.max_len,
            "verify": {
                "inputs": kept.checked,
                "defined": kept.defined,
                "agree": kept.defined,
                "exhaustive": kept.exhaustive,
            },
        });
        if let (Some(line), serde_json::Value::Object(sizes)) =
            (line.as_object_mut(), sizes_json(&kept.model))
        {
            line.extend(sizes);
        }
        writeln!(self.manifest, "{line}")
            .map_err(|e| io("write", &self.dir.join("manifest.jsonl"), e))?;
        self.kept += 1;
        self.added += 1;
        Ok(true)
    }

    /// Makes what was written so far durable: the manifest and the counts.
    fn flush(&mut self) -> Result<(), Failed> {
        let manifest = self.dir.join("manifest.jsonl");
        self.manifest
            .flush()
            .map_err(|e| io("write", &manifest, e))?;
        let dropped = self.dir.join("dropped.json");
        let text = format!("{:#}\n", serde_json::json!(self.dropped));
        std::fs::write(&dropped, text).map_err(|e| io("write", &dropped, e))
    }
}

fn settings_json(settings: &Settings) -> serde_json::Value {
    serde_json::json!({
        "vocab": settings.vocab.iter().map(atom_json).collect::<Vec<_>>(),
        "max_len": settings.max_len,
        "layers": [settings.layers.0, if settings.layers.1 == usize::MAX { serde_json::Value::Null } else { serde_json::json!(settings.layers.1) }],
        "seed": settings.seed,
        "dtype": settings.dtype.name(),
        "generator": crate::sample::GENERATOR_VERSION,
    })
}

/// The first setting in which `found` differs from `wanted`, in words.
fn differs(found: &serde_json::Value, wanted: &serde_json::Value) -> Option<String> {
    let wanted = wanted.as_object()?;
    wanted.iter().find_map(|(key, value)| {
        let there = &found[key.as_str()];
        (there != value).then(|| format!("its {key} is {there}, not {value}"))
    })
}
