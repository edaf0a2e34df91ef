//! The viewer and the records it reads, end to end: what each head and MLP
//! computes in the weight file (`rasp inspect`), `rasp view` and `:view`
//! pages checked as XML (well-formed, their JSON data parsed, user text
//! escaped), and the page in a headless Chromium: it loads without errors,
//! shows every head of sort and Dyck-2, and hovering a cell shows its
//! weight. Without Chromium (Debian's `chromium`, or `RASP_CHROMIUM`) the
//! browser test is skipped with a message, unless `RASP_REQUIRE_CHROMIUM`
//! is set, as `.ci/run` sets it. It leaves a screenshot of the sort page in
//! `target/view/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::draw::{compiled, ok, scratch, text};
use crate::{rasp, rasp_in};

/// The page's embedded data, after checking that the page is well-formed
/// XML with one data script, one renderer script and one style.
pub(crate) fn page_data(html: &str) -> Value {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(html, options)
        .expect("the page is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "html");
    let scripts: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("script"))
        .collect();
    assert_eq!(scripts.len(), 2, "a data script and the renderer");
    assert!(
        doc.descendants().all(|n| {
            !matches!(n.tag_name().name(), "link" | "img" | "iframe")
                && n.attribute("src").is_none()
                && n.attribute("href").is_none()
        }),
        "nothing is fetched"
    );
    let data = scripts
        .iter()
        .find(|n| n.attribute("type") == Some("application/json"))
        .and_then(|n| n.text())
        .expect("the data script");
    assert!(data.is_ascii() && !data.contains('<'));
    let renderer = scripts
        .iter()
        .find(|n| n.attribute("type").is_none())
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(renderer.contains("rasp-data"), "the renderer is inline");
    serde_json::from_str(data).expect("the data is JSON")
}

/// `rasp view MODEL --input ...` into `dir/name.html`; the page's text.
fn view(dir: &Path, model: &str, inputs: &[&str], name: &str) -> String {
    let page = dir.join(format!("{name}.html"));
    let mut args = vec!["view", model];
    for input in inputs {
        args.extend(["--input", input]);
    }
    let page_arg = page.display().to_string();
    args.extend(["-o", &page_arg]);
    let out = rasp(&args, None);
    ok(&out);
    assert!(text(&out.stdout).contains("written to"));
    std::fs::read_to_string(&page).expect("the page")
}

/// Each layer's heads in use, as `rasp inspect --json` counts them.
fn heads_in_use(model: &str) -> Vec<usize> {
    let out = rasp(&["inspect", model, "--json"], None);
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["heads"].as_u64().expect("heads") as usize)
        .collect()
}

#[test]
fn records_say_what_each_head_and_mlp_computes() {
    let dir = scratch("view-records");
    let sort = compiled(&dir, "examples/sort.rasp", "a,b,n");
    let out = rasp(&["inspect", &sort, "--json"], None);
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let heads = report["heads"].as_array().expect("heads");
    assert_eq!(heads.len() as u64, report["n_layers"].as_u64().expect("n"));
    // Layer 1 counts (the stable sort's two widths), layer 2 reads.
    let layer1: Vec<&str> = heads[0]
        .as_array()
        .expect("layer 1")
        .iter()
        .map(|h| h["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(layer1, ["count", "count"]);
    assert_eq!(heads[0][0]["selector"], "select(key,key,<)");
    assert!(heads[0][1]["beta"].as_f64().expect("beta") >= 1.0);
    // Not bound to a name: no `selector_name`, whatever its label.
    assert!(
        heads[0][1].get("selector_name").is_none(),
        "{}",
        heads[0][1]
    );
    assert_eq!(heads[1][0]["kind"], "aggregate");
    assert_eq!(heads[1][0]["sops"][0]["name"], "sorted");
    assert_eq!(heads[1][0]["sops"][0]["role"], "read");
    assert_eq!(report["mlps"][0][0]["sop"], "place");
    let shown = text(&rasp(&["inspect", &sort], None).stdout);
    assert!(
        shown.contains("layer 1 head 1: count selector_width(select(key,key,<)); selector select(key,key,<); BOS takes 1/(w+1)"),
        "{shown}"
    );
    assert!(shown.contains("layer 1 MLP: place ("), "{shown}");

    let dyck2 = compiled(&dir, "examples/dyck2.rasp", "(,),{,}");
    let out = rasp(&["inspect", &dyck2, "--json"], None);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = &report["heads"][0][0];
    assert_eq!(first["kind"], "aggregate");
    assert_eq!(first["selector_name"], "prefix");
    assert_eq!(first["selector"], "select(indices,indices,<=)");
    assert_eq!(first["sops"][0]["role"], "mean");
}

#[test]
fn a_model_without_records_still_loads_and_views() {
    let dir = scratch("view-older");
    let model = compiled(&dir, "examples/sort.rasp", "a,b,n");
    let mut loaded = rasp::model::Model::load(&model).expect("loads");
    loaded.meta.heads = None;
    loaded.meta.mlps = None;
    let older = dir.join("older.safetensors");
    loaded.save(&older).expect("saves");
    let older = older.display().to_string();
    let header = std::fs::read(&older).expect("read");
    assert!(!String::from_utf8_lossy(&header).contains("\\\"heads\\\""));
    let out = rasp(&["inspect", &older], None);
    ok(&out);
    assert!(text(&out.stdout).contains("what each head computes: not stated in the file"));
    let data = page_data(&view(&dir, &older, &["banana"], "older"));
    assert!(data["layers"][0]["heads"][0]["record"].is_null());
    assert_eq!(data["layers"][0]["heads"].as_array().map(Vec::len), Some(2));
}

#[test]
fn the_page_is_well_formed_and_escapes_what_the_user_typed() {
    let dir = scratch("view-escape");
    let model = dir.join("r.safetensors").display().to_string();
    let vocab = r#"["</script>", "a&b", "é\u2028"]"#;
    let out = rasp(
        &[
            "compile",
            "examples/reverse.rasp",
            "--vocab",
            vocab,
            "--max-len",
            "4",
            "-o",
            &model,
        ],
        None,
    );
    ok(&out);
    let page = view(&dir, &model, &[vocab, r#"["a&b"]"#], "escape");
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "only the two script ends"
    );
    let data = page_data(&page);
    assert_eq!(data["sop"], "reversed");
    assert_eq!(data["inputs"][0]["tokens"][0], "</script>");
    assert_eq!(data["inputs"][0]["positions"][1], "0:</scrip…");
    assert_eq!(data["inputs"][0]["output"][0], r"é\u2028");
    assert_eq!(data["inputs"].as_array().map(Vec::len), Some(2));
    let stages = data["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 2 * heads_in_use(&model).len() + 1);
    assert_eq!(stages[1]["hook"], "blocks.0.hook_resid_mid");
    // Each input: one pattern per head in use, each row a distribution;
    // one residual stream per stage, one row per position.
    let positions = 4;
    for (l, count) in heads_in_use(&model).iter().enumerate() {
        let patterns = data["inputs"][0]["patterns"][l].as_array().expect("layer");
        assert_eq!(patterns.len(), *count);
        for pattern in patterns {
            for row in pattern.as_array().expect("rows") {
                let sum: f64 = row
                    .as_array()
                    .expect("row")
                    .iter()
                    .filter_map(Value::as_f64)
                    .sum();
                assert!((sum - 1.0).abs() < 1e-4, "{sum}");
            }
        }
    }
    for residual in data["inputs"][0]["residuals"]
        .as_array()
        .expect("residuals")
    {
        assert_eq!(residual.as_array().map(Vec::len), Some(positions));
    }
}

#[test]
fn view_reports_inputs_it_cannot_take() {
    let dir = scratch("view-bad");
    let model = compiled(&dir, "examples/sort.rasp", "a,b,n");
    let page = dir.join("p.html").display().to_string();
    let out = rasp(
        &[
            "view", &model, "--input", "ab", "--input", "xyz", "-o", &page,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("rasp::model::unknown_token"));
    let data = page_data(&std::fs::read_to_string(&page).expect("the page"));
    assert_eq!(data["inputs"].as_array().map(Vec::len), Some(1));
    let out = rasp(&["view", &model, "--input", "xyz", "-o", &page], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("rasp::view::no_inputs"));
    // Standard input, one input per line; the default name is the s-op's.
    let out = rasp_in(&dir, &["view", &model], Some("ban\nnab\n"));
    ok(&out);
    let data = page_data(&std::fs::read_to_string(dir.join("sorted.html")).expect("page"));
    assert_eq!(data["inputs"][1]["text"], "nab");
}

#[test]
fn the_repl_writes_the_viewer_of_the_running_example() {
    let dir = scratch("view-repl");
    let out = rasp_in(
        &dir,
        &[],
        Some("set example \"abca\"\nr = reverse(tokens);\n:view r a,b,c 6\n:view r a,b 6\n"),
    );
    let shown = text(&out.stdout);
    assert!(
        shown.contains("viewer written to r.html: r on \"abca\", 2 layers, 2 heads"),
        "{shown}"
    );
    assert!(shown.contains("rasp::model::unknown_token"), "{shown}");
    let data = page_data(&std::fs::read_to_string(dir.join("r.html")).expect("page"));
    assert_eq!(
        data["inputs"][0]["output"],
        serde_json::json!(["a", "c", "b", "a"])
    );
}

/// Chromium, if installed (`RASP_CHROMIUM`, else `chromium` on the path).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RASP_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `extra` arguments; its standard
/// output and error. A browser that crashes on start (it happens, rarely)
/// is started again, twice at most.
fn headless(browser: &Path, profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let mut tries = 0;
    loop {
        tries += 1;
        let (ok, stdout, stderr) = headless_once(browser, profile, page, extra);
        if ok || tries == 3 {
            return (stdout, stderr);
        }
        eprintln!("chromium failed, starting it again: {stderr}");
    }
}

/// One run of [`headless`]: whether it exited with success, and its
/// output (through files, which never fill up as pipes do). Killed after
/// two minutes.
fn headless_once(
    browser: &Path,
    profile: &Path,
    page: &Path,
    extra: &[&str],
) -> (bool, String, String) {
    let stdout = profile.with_extension("out");
    let stderr = profile.with_extension("err");
    let file = |path: &Path| std::fs::File::create(path).expect("a log file");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(file(&stdout))
        .stderr(file(&stderr))
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| text(&std::fs::read(path).expect("a log file"));
    (status.success(), read(&stdout), read(&stderr))
}

/// Collects errors before the page's own scripts run.
const ERRORS: &str = r#"<script>//<![CDATA[
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
(function () { var original = console.error; console.error = function () {
  window.__errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); }; })();
//]]></script>"#;

/// After the page ran: selects every head, hovers one cell of each grid,
/// and of the residual stream, and writes what the tooltip said as JSON
/// into `#probe`.
const PROBE: &str = r##"<script>//<![CDATA[
(function () {
  function hover(cell) {
    var r = cell.getBoundingClientRect();
    ["mouseover", "mousemove"].forEach(function (type) {
      cell.dispatchEvent(new MouseEvent(type, { bubbles: true, clientX: r.left + 2, clientY: r.top + 2 }));
    });
    var tip = document.getElementById("tooltip");
    return { hidden: tip.hidden, text: tip.textContent, r: Number(cell.getAttribute("data-r")), c: Number(cell.getAttribute("data-c")) };
  }
  var report = { errors: window.__errors, ready: document.body.getAttribute("data-ready"), heads: [] };
  var buttons = document.querySelectorAll(".head-button");
  for (var i = 0; i < buttons.length; i++) {
    var button = document.querySelectorAll(".head-button")[i];
    var head = { layer: Number(button.getAttribute("data-layer")), head: Number(button.getAttribute("data-head")),
                 kind: button.getAttribute("data-kind"), grids: {} };
    button.click();
    head.title = document.getElementById("head-title").textContent;
    document.querySelectorAll("table.attention").forEach(function (grid) {
      head.grids[grid.getAttribute("data-kind")] = hover(grid.querySelector("tbody tr:last-child td:last-child"));
    });
    report.heads.push(head);
  }
  report.residual = hover(document.querySelector("#residual-table tbody tr:nth-child(2) td[data-c='1']"));
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
})();
//]]></script>"##;

#[test]
fn the_page_works_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("RASP_REQUIRE_CHROMIUM").is_none(),
            "RASP_REQUIRE_CHROMIUM is set but chromium was not found (install Debian's `chromium`, or set RASP_CHROMIUM)"
        );
        eprintln!("skipping the viewer's browser test: no chromium (RASP_CHROMIUM or `chromium` on the path)");
        return;
    };
    let dir = scratch("view-browser");
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../view");
    std::fs::create_dir_all(&artefacts).expect("target/view");
    // Sort and Dyck-2; sort from a file without head records (as older
    // files are); a model with no heads at all.
    let map = dir.join("map.rasp");
    std::fs::write(&map, "is_a = tokens == \"a\";\n").expect("write");
    let map = map.display().to_string();
    for (name, program, vocab, inputs, records) in [
        (
            "sort",
            "examples/sort.rasp",
            "a,b,n",
            ["banana", "nab"],
            true,
        ),
        (
            "dyck2",
            "examples/dyck2.rasp",
            "(,),{,}",
            ["({)}", "{}()"],
            true,
        ),
        (
            "older",
            "examples/sort.rasp",
            "a,b,n",
            ["banana", "nab"],
            false,
        ),
        ("map", map.as_str(), "a,b", ["ab", "ba"], true),
    ] {
        let model_dir = dir.join(name);
        std::fs::create_dir_all(&model_dir).expect("dir");
        let model = compiled(&model_dir, program, vocab);
        if !records {
            let mut older = rasp::model::Model::load(&model).expect("loads");
            older.meta.heads = None;
            older.meta.mlps = None;
            older.save(&model).expect("saves");
        }
        let page = view(&dir, &model, &inputs, name);
        let data = page_data(&page);
        let probed = page
            .replacen("<head>", &format!("<head>\n{ERRORS}"), 1)
            .replacen("</body>", &format!("{PROBE}\n</body>"), 1);
        let probe_path = dir.join(format!("{name}-probe.html"));
        std::fs::write(&probe_path, probed).expect("write probe");
        let profile = dir.join(format!("profile-{name}"));
        let (dom, log) = headless(&browser, &profile, &probe_path, &["--dump-dom"]);
        // The page writes nothing to the console: any message there (an
        // uncaught exception, `console.error`) is a fault.
        for line in log.lines() {
            assert!(
                !(line.contains("Uncaught") || line.contains(":CONSOLE")),
                "{name}: the console says: {line}"
            );
        }
        let json = dom
            .split_once("<pre id=\"probe\">")
            .and_then(|(_, rest)| rest.split_once("</pre>"))
            .map(|(json, _)| {
                json.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
            .unwrap_or_else(|| panic!("{name}: no probe in the DOM:\n{dom}\n{log}"));
        let report: Value = serde_json::from_str(&json).expect("the probe's JSON");
        assert_eq!(report["errors"], serde_json::json!([]), "{name}");
        assert_eq!(
            report["ready"], "true",
            "{name}: the renderer ran to its end"
        );
        // Every head in use is shown, and each one's grid answers a hover
        // with its weight and the query and key.
        let heads = report["heads"].as_array().expect("heads");
        assert_eq!(
            heads.len(),
            heads_in_use(&model).iter().sum::<usize>(),
            "{name}"
        );
        for (j, head) in heads.iter().enumerate() {
            let (l, h) = (
                head["layer"].as_u64().expect("layer"),
                head["head"].as_u64().expect("head"),
            );
            assert_eq!(head["title"], format!("Layer {l}, head {h}"));
            let layer = &data["layers"][(l - 1) as usize];
            let index = layer["heads"]
                .as_array()
                .and_then(|hs| hs.iter().position(|x| x["index"].as_u64() == Some(h - 1)))
                .expect("the head in the data");
            let raw = &head["grids"]["raw"];
            assert_eq!(raw["hidden"], false, "{name} head {j}");
            let (q, k) = (
                raw["r"].as_u64().expect("r") as usize,
                raw["c"].as_u64().expect("c") as usize,
            );
            let weight = data["inputs"][0]["patterns"][(l - 1) as usize][index][q][k]
                .as_f64()
                .expect("weight");
            let tip = raw["text"].as_str().expect("tooltip");
            let shown: f64 = tip
                .lines()
                .next()
                .and_then(|line| line.strip_prefix("weight "))
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("{name}: tooltip `{tip}`"));
            assert!((shown - weight).abs() < 1e-4, "{name}: {tip} vs {weight}");
            let positions = &data["inputs"][0]["positions"];
            let query = positions[q].as_str().expect("query");
            assert!(
                tip.contains(&format!("query {query} (position {q})")),
                "{tip}"
            );
            assert!(tip.contains("key "), "{tip}");
            let kind = head["kind"].as_str().expect("kind");
            let recorded = layer["heads"][index]["record"]["kind"].as_str();
            assert_eq!(kind, recorded.unwrap_or("unknown"));
            // A counting head also shows its selected keys.
            assert_eq!(
                head["grids"].get("selected").is_some(),
                kind == "count",
                "{name}: {kind}"
            );
        }
        let counts = heads.iter().filter(|h| h["kind"] == "count").count();
        assert_eq!(counts, if name == "sort" { 2 } else { 0 }, "{name}");
        assert_eq!(heads.is_empty(), name == "map");
        let residual = report["residual"]["text"]
            .as_str()
            .expect("residual tooltip");
        let label = data["labels"][1].as_str().expect("label");
        assert!(
            residual.starts_with(label) && residual.contains("value after"),
            "{residual}"
        );
        if name == "sort" {
            let shot = artefacts.join("sort.png");
            let shot_arg = format!("--screenshot={}", shot.display());
            let page_path = dir.join(format!("{name}.html"));
            headless(
                &browser,
                &profile,
                &page_path,
                &[&shot_arg, "--window-size=1280,1600"],
            );
            let bytes = std::fs::read(&shot).expect("the screenshot");
            assert!(bytes.starts_with(b"\x89PNG"));
        }
    }
}
