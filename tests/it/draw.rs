//! Drawings, model reports, plots and completions, end to end: `rasp draw`,
//! `draw(...)` in programs and the REPL, `:draw` and `:compile`, `rasp
//! inspect`, `rasp exec --plot` (every picture decoded: nothing cut off at
//! the right, a colour bar on each, a counting head's second panel) and
//! `rasp completions`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{rasp, rasp_in};

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh empty directory for one test, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

pub(crate) fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("rasp-draw-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    Scratch(dir)
}

fn manifest(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

pub(crate) fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The SVG's text contents, after checking that it is well-formed XML.
fn svg_texts(svg: &str) -> (Vec<String>, usize) {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    let selected = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("selected"))
        .count();
    (texts, selected)
}

/// The row that follows `label` in reading order: its values.
fn values_after(texts: &[String], label: &str, n: usize) -> Vec<String> {
    let at = texts
        .iter()
        .rposition(|t| t == label)
        .unwrap_or_else(|| panic!("`{label}` in {texts:?}"));
    texts[at + 1..at + 1 + n].to_vec()
}

#[test]
fn sort_on_banana_shows_layers_heads_matrices_and_values() {
    let dir = scratch("sort");
    let svg = dir.join("sort.svg");
    let out = rasp(
        &[
            "draw",
            "examples/sort.rasp",
            "--input",
            "banana",
            "-o",
            &svg.display().to_string(),
        ],
        None,
    );
    ok(&out);
    assert!(text(&out.stdout).contains("2 layers, 3 heads"));
    let (texts, selected) = svg_texts(&std::fs::read_to_string(&svg).expect("written"));
    for label in [
        "input",
        "layer 1: 2 heads",
        "layer 2: 1 head",
        "head 1: select(tokens_asis, tokens_asis, <)",
        "head 1: select(place, indices, ==)",
        "key < query",
        "key == query",
        "element-wise steps (MLP)",
        "place",
    ] {
        assert!(texts.iter().any(|t| t == label), "`{label}` in {texts:?}");
    }
    assert_eq!(
        values_after(&texts, "sorted", 6),
        ["a", "a", "a", "b", "n", "n"]
    );
    // Selected cells: how many smaller tokens each has (3+0+4+0+4+0), how
    // many equal earlier ones (0+0+0+1+1+2), and one per position to place.
    assert_eq!(selected, 11 + 4 + 6);
    // Nodes made inside the library are named by what they compute, never
    // by an internal number; a long head title wraps onto lines that hold
    // all of it.
    assert!(
        !texts.iter().any(|t| t.contains('#')),
        "an internal name in {texts:?}"
    );
    assert!(texts
        .iter()
        .any(|t| t.starts_with("selector_width(select(key,key,==) and")));
    let at = texts
        .iter()
        .position(|t| t.starts_with("head 2: "))
        .expect("head 2");
    let title = format!("{} {}", texts[at], texts[at + 1]);
    assert_eq!(
        title,
        "head 2: (select(tokens_asis, tokens_asis, ==) and select(indices, indices, <))"
    );
}

#[test]
fn dot_shows_heads_in_order_and_no_empty_cells() {
    let out = rasp(
        &[
            "draw",
            "examples/sort.rasp",
            "--input",
            "banana",
            "--format",
            "dot",
            "-o",
            "-",
        ],
        None,
    );
    ok(&out);
    let dot = text(&out.stdout);
    assert!(
        dot.contains("{ rank=same; l1_head1 -> l1_head2 [style=invis]; }"),
        "{dot}"
    );
    let cells = dot.split("<td").skip(1);
    for cell in cells {
        let content = cell.split_once('>').map_or("", |(_, c)| c);
        let content = content.split("</td>").next().unwrap_or("");
        assert!(!content.is_empty(), "an empty cell: <td{cell}");
    }
    assert!(dot.contains("<i>key &lt; query</i>"));
}

#[test]
fn dyck2_shows_three_layers() {
    let dir = scratch("dyck2");
    let out = rasp_in(
        &dir,
        &["draw", &manifest("examples/dyck2.rasp"), "--input", "({)}"],
        None,
    );
    ok(&out);
    let svg = std::fs::read_to_string(dir.join("flags.svg")).expect("flags.svg by default");
    let (texts, selected) = svg_texts(&svg);
    for label in [
        "layer 1: 1 head",
        "layer 2: 1 head",
        "layer 3: 1 head",
        "head 1: prefix",
        "combined",
    ] {
        assert!(texts.iter().any(|t| t == label), "`{label}` in {texts:?}");
    }
    assert_eq!(values_after(&texts, "flags", 4), ["P", "P", "F", "F"]);
    // Two prefix heads (1+2+3+4 each) and the level-matching head.
    assert!(selected > 20, "{selected} selected cells");
}

#[test]
fn dot_goes_to_standard_output() {
    let out = rasp(
        &[
            "draw",
            "examples/reverse.rasp",
            "--input",
            "abc",
            "--format",
            "dot",
            "-o",
            "-",
        ],
        None,
    );
    ok(&out);
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph flow {"), "{dot}");
    assert!(dot.contains("subgraph cluster_layer2"));
    assert!(dot.contains(" -> "));
}

#[test]
fn draw_statements_in_programs() {
    let dir = scratch("run");
    let program = dir.join("p.rasp");
    std::fs::write(
        &program,
        "r = reverse(tokens);\ndraw(r);\ndraw(r, \"xy\");\n",
    )
    .expect("write");
    let program = program.display().to_string();
    let out = rasp_in(&dir, &["run", &program, "--input", "abc"], None);
    ok(&out);
    assert_eq!(text(&out.stdout), "[c, b, a]\n");
    assert_eq!(text(&out.stderr), "drawn to r.svg\ndrawn to r.svg\n");
    let svg = std::fs::read_to_string(dir.join("r.svg")).expect("r.svg");
    let (texts, _) = svg_texts(&svg);
    // The second drawing, on its own input, is the one left.
    assert_eq!(values_after(&texts, "r", 2), ["y", "x"]);
    // Without an input there is nothing to draw on.
    let out = rasp_in(&dir, &["run", &program], Some("abc\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("rasp::draw::no_input"),
        "{}",
        text(&out.stderr)
    );
    // `set example` gives the drawings after it their input, before the
    // first `--input`, as the REPL's running example does.
    std::fs::write(
        dir.join("e.rasp"),
        "r = reverse(tokens);\nset example \"pq\"\ndraw(r);\n",
    )
    .expect("write");
    let example = dir.join("e.rasp").display().to_string();
    for args in [
        vec!["run", &example],
        vec!["run", &example, "--input", "abc"],
    ] {
        let out = rasp_in(&dir, &args, Some("abc\n"));
        ok(&out);
        let svg = std::fs::read_to_string(dir.join("r.svg")).expect("r.svg");
        let (texts, _) = svg_texts(&svg);
        assert_eq!(values_after(&texts, "r", 2), ["q", "p"]);
    }
    // A drawing that cannot be written is an error, not a crash.
    std::fs::create_dir_all(dir.join("r.svg.d")).expect("dir");
    std::fs::write(dir.join("q.rasp"), "draw(tokens, \"ab\");\n").expect("write");
    let blocked = scratch("blocked");
    std::fs::create_dir_all(blocked.join("tokens.svg")).expect("a directory where the file goes");
    let out = rasp_in(
        &blocked,
        &[
            "run",
            &dir.join("q.rasp").display().to_string(),
            "--input",
            "ab",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("rasp::draw::write"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn repl_draws_and_compiles() {
    let dir = scratch("repl");
    let input = "set example \"banana\"\ns = sort(tokens, tokens);\nbad = nothere;\n:draw s\n:draw s flow.dot\ndraw(reverse(tokens), \"ab\");\n:draw 3\n:compile s a,b,n 5 s.safetensors\n:compile s a,b,n\nx = 1;\n";
    let out = rasp_in(&dir, &[], Some(input));
    // Piped input is a script, and some of its statements fail.
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for line in [
        "drawn to s.svg: s on \"banana\", 2 layers, 3 heads",
        "drawn to flow.dot: s on \"banana\", 2 layers, 3 heads",
        "drawn to reverse_tokens.svg",
        "rasp::repl::not_an_sop",
        "  written to s.safetensors",
        "rasp::repl::usage",
        "     value: x = 1",
    ] {
        assert!(stdout.contains(line), "`{line}` in:\n{stdout}");
    }
    assert!(
        stdout.contains("s: ") && stdout.contains("layer 1: 2 heads"),
        "{stdout}"
    );
    svg_texts(&std::fs::read_to_string(dir.join("s.svg")).expect("s.svg"));
    assert!(std::fs::read_to_string(dir.join("flow.dot"))
        .expect("dot")
        .starts_with("digraph"));
    // The model records the session's program and runs like the s-op.
    let model = dir.join("s.safetensors").display().to_string();
    let out = rasp(&["exec", &model, "--input", "nab"], None);
    ok(&out);
    assert_eq!(text(&out.stdout), "[a, b, n]\n");
    let out = rasp(&["inspect", &model, "--json"], None);
    ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // What ran, without what failed.
    assert_eq!(
        report["source"],
        "s = sort(tokens, tokens);\ndraw(reverse(tokens), \"ab\");\n"
    );
}

/// Compiles `program` into `dir`, returning the model's path.
pub(crate) fn compiled(dir: &Path, program: &str, vocab: &str) -> String {
    let model = dir.join("m.safetensors").display().to_string();
    let out = rasp(
        &[
            "compile",
            program,
            "--vocab",
            vocab,
            "--max-len",
            "6",
            "-o",
            &model,
        ],
        None,
    );
    ok(&out);
    model
}

#[test]
fn inspect_reports_the_model() {
    let dir = scratch("inspect");
    let model = compiled(&dir, "examples/reverse.rasp", "a,b,c");
    let out = rasp(&["inspect", &model, "--json"], None);
    ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let d_model = report["d_model"].as_u64().expect("d_model") as usize;
    let labels = report["residual_labels"].as_array().expect("labels");
    assert_eq!(labels.len(), d_model);
    assert!(labels.iter().any(|l| l == "tokens_str:a"), "{labels:?}");
    assert_eq!(report["vocab"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(report["max_len"], 6);
    let layers = report["layers"].as_array().expect("layers");
    assert_eq!(
        layers.len() as u64,
        report["n_layers"].as_u64().expect("n_layers")
    );
    assert!(report["nonzero_parameters"].as_u64() < report["parameters"].as_u64());
    assert!(report["source"]
        .as_str()
        .expect("source")
        .contains("reverse"));
    let out = rasp(&["inspect", &model], None);
    ok(&out);
    let shown = text(&out.stdout);
    for part in [
        "residual stream (",
        "tokens_str:a",
        "vocabulary (3 tokens",
        "program (s-op `reversed`)",
        "layer 1:",
    ] {
        assert!(shown.contains(part), "`{part}` in:\n{shown}");
    }
    // Not a model: a diagnostic, exit 1.
    let out = rasp(&["inspect", "examples/reverse.rasp"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("rasp::model::"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exec_plots_heads_and_residual_streams() {
    let dir = scratch("plot");
    let model = compiled(&dir, "examples/sort.rasp", "a,b,n");
    let plots = dir.join("plots");
    let out = rasp(
        &[
            "exec",
            &model,
            "--input",
            "banana",
            "--plot",
            &plots.display().to_string(),
        ],
        None,
    );
    ok(&out);
    assert_eq!(text(&out.stdout), "[a, a, a, b, n, n]\n");
    let report: serde_json::Value =
        serde_json::from_slice(&rasp(&["inspect", &model, "--json"], None).stdout).expect("JSON");
    let heads: u64 = report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["heads"].as_u64().expect("heads"))
        .sum();
    let layers = report["n_layers"].as_u64().expect("layers");
    let index = std::fs::read_to_string(plots.join("index.html")).expect("index.html");
    let mut pngs: Vec<String> = std::fs::read_dir(&plots)
        .expect("plots")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    pngs.sort();
    let head_pngs = pngs.iter().filter(|n| n.contains("_head")).count() as u64;
    let residual_pngs = pngs.iter().filter(|n| n.ends_with("_residual.png")).count() as u64;
    assert_eq!(head_pngs, heads, "{pngs:?}");
    assert_eq!(residual_pngs, layers, "{pngs:?}");
    // Which heads count (`selector_width`): the record says.
    let kinds: Vec<(String, bool)> = report["heads"]
        .as_array()
        .expect("head records")
        .iter()
        .enumerate()
        .flat_map(|(l, heads)| {
            let heads = heads.as_array().cloned().unwrap_or_default();
            heads.into_iter().enumerate().map(move |(h, head)| {
                (
                    format!("input1_layer{}_head{}.png", l + 1, h + 1),
                    head["kind"] == "count",
                )
            })
        })
        .collect();
    assert_eq!(kinds.iter().filter(|(_, count)| *count).count(), 2);
    for png in &pngs {
        let bytes = std::fs::read(plots.join(png)).expect("png");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{png} is a PNG");
        assert!(
            index.contains(&format!("src=\"{png}\"")),
            "index shows {png}"
        );
        let picture = Picture::decode(&bytes);
        assert!(picture.right_margin_is_blank(), "{png}: nothing cut off");
        if png.ends_with("_residual.png") || png.ends_with("_embedding.png") {
            // Blue to red through white, beneath the grid.
            let ramp = picture.find_run([5, 113, 176], [202, 0, 32]);
            assert!(ramp.is_some(), "{png}: a colour bar");
        } else {
            let counting = kinds.iter().any(|(file, count)| file == png && *count);
            // A counting head's second panel: its weights without BOS,
            // renormalised, BOS's row undefined (grey).
            assert_eq!(picture.count([236, 236, 236]) > 200, counting, "{png}");
            assert!(
                picture.find_run([255, 255, 255], [105, 40, 135]).is_some(),
                "{png}: a colour bar"
            );
        }
    }
    assert!(
        index.contains("href=\"view.html\""),
        "the index links the viewer"
    );
    let page = std::fs::read_to_string(plots.join("view.html")).expect("view.html");
    let data = crate::view::page_data(&page);
    assert_eq!(data["inputs"][0]["text"], "banana");
    // A directory that cannot be made: a diagnostic, exit 1.
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").expect("write");
    let out = rasp(
        &[
            "exec",
            &model,
            "--input",
            "ab",
            "--plot",
            &blocker.join("sub").display().to_string(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("rasp::plot::write"),
        "{}",
        text(&out.stderr)
    );
}

/// A decoded RGB picture.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn decode(bytes: &[u8]) -> Picture {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .expect("a PNG header");
        let mut rgb = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut rgb).expect("a PNG frame");
        assert_eq!(frame.color_type, png::ColorType::Rgb);
        Picture {
            width: frame.width as usize,
            height: frame.height as usize,
            rgb,
        }
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// No ink in the 6 rightmost columns: no title or label runs off.
    fn right_margin_is_blank(&self) -> bool {
        (0..self.height).all(|y| (self.width - 6..self.width).all(|x| self.at(x, y) == [255; 3]))
    }

    fn count(&self, colour: [u8; 3]) -> usize {
        self.rgb.chunks(3).filter(|c| *c == colour).count()
    }

    /// A horizontal run from `from` to `to` (a colour bar's ends, 220
    /// pixels apart), its place.
    fn find_run(&self, from: [u8; 3], to: [u8; 3]) -> Option<(usize, usize)> {
        (0..self.height).find_map(|y| {
            (0..self.width.saturating_sub(219))
                .find(|&x| self.at(x, y) == from && self.at(x + 219, y) == to)
                .map(|x| (x, y))
        })
    }
}

#[test]
fn completions_come_from_the_cli() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = rasp(&["completions", shell], None);
        ok(&out);
        let script = text(&out.stdout);
        for command in ["inspect", "draw", "completions", "plot"] {
            assert!(script.contains(command), "{shell}: `{command}`");
        }
    }
    let out = rasp(&["completions", "tcsh"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compile_and_verify_print_json() {
    let dir = scratch("json");
    let model = dir.join("r.safetensors").display().to_string();
    let target = ["examples/reverse.rasp", "--vocab", "a,b", "--max-len", "4"];
    let mut args = vec!["compile"];
    args.extend(target);
    args.extend(["-o", &model, "--json"]);
    let out = rasp(&args, None);
    ok(&out);
    let compiled: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(compiled["written_to"], model.as_str());
    assert_eq!(compiled["sop"], "reversed");
    assert!(Path::new(&model).exists());
    let mut args = vec!["verify"];
    args.extend(target);
    args.push("--json");
    let out = rasp(&args, None);
    ok(&out);
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // Every input over {a, b} of length 1 to 4: 2 + 4 + 8 + 16.
    assert_eq!(verified["inputs"], 30);
    assert_eq!(verified["agree"], 30);
    assert_eq!(verified["disagree"], 0);
    assert_eq!(verified["checked"], "every input");
    assert_eq!(verified["n_layers"], compiled["n_layers"]);
}
