// The viewer's renderer (inlined into the page by src/view/page.rs). It reads
// the JSON in #rasp-data and builds the page with DOM calls only: every text
// that comes from the data is set as text, never parsed as markup.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("rasp-data").textContent);
  var app = document.getElementById("app");
  var tooltip = document.getElementById("tooltip");
  var state = {
    input: 0,
    layer: -1,
    head: -1,
    stage: data.stages.length - 1,
    scale: "row",
    change: false
  };

  // ----- small helpers ------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var key;
    for (key in attrs || {}) {
      if (key === "className") {
        node.className = attrs[key];
      } else if (key === "text") {
        node.textContent = attrs[key];
      } else {
        node.setAttribute(key, attrs[key]);
      }
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  // A number in a few characters: at most `digits` decimals, no trailing zeros.
  function fmt(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) {
      return "nan";
    }
    var d = digits === undefined ? 3 : digits;
    var a = Math.abs(x);
    var text = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(Math.min(d, 1)) : x.toFixed(d);
    if (text.indexOf(".") >= 0) {
      text = text.replace(/0+$/, "").replace(/\.$/, "");
    }
    return text === "-0" ? "0" : text;
  }

  // `text` cut to `max` characters, with an ellipsis when cut.
  function cut(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  var STOPS = [[5, 113, 176], [146, 197, 222], [247, 247, 247], [244, 165, 130], [202, 0, 32]];

  // Blue (-1), white (0), red (+1): ColorBrewer's RdBu, as the PNG plots.
  function diverging(t) {
    if (!isFinite(t)) {
      t = 0;
    }
    t = Math.max(-1, Math.min(1, t));
    var at = (t + 1) * 2;
    var i = Math.min(3, Math.floor(at));
    var f = at - i;
    return [0, 1, 2].map(function (k) {
      return Math.round(STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f);
    });
  }

  // White (0) to dark purple (1), as the PNG plots.
  function sequential(w) {
    w = isFinite(w) ? Math.max(0, Math.min(1, w)) : 0;
    return [Math.round(255 - 150 * w), Math.round(255 - 215 * w), Math.round(255 - 120 * w)];
  }

  function css(rgb) {
    return "rgb(" + rgb[0] + "," + rgb[1] + "," + rgb[2] + ")";
  }

  function ink(rgb) {
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140 ? "#fff" : "#000";
  }

  function input() {
    return data.inputs[state.input];
  }

  // "2:n (position 3)": a position's label and where it is in the model.
  function where(p) {
    return input().positions[p] + " (position " + p + ")";
  }

  function beta(record) {
    return record && record.kind === "count" ? record.beta : null;
  }

  // A counting head's weights without BOS, renormalised (null for BOS's row
  // and for a query that selects no key), as src/view/analysis.rs computes.
  function selectedKeys(pattern, b) {
    var least = 0.5 / (1 + b);
    return pattern.map(function (row, q) {
      var keys = row.slice(1);
      var mass = keys.reduce(function (s, w) { return s + (w || 0); }, 0);
      if (q === 0 || !(mass >= least)) {
        return null;
      }
      return keys.map(function (w) { return (w || 0) / mass; });
    });
  }

  function pattern(layer, j) {
    return input().patterns[layer][j];
  }

  function codeText(b) {
    return fmt(b, 6) + "/(w+" + fmt(b, 6) + ")";
  }

  // ----- tooltip --------------------------------------------------------

  function showTip(event, lines) {
    tooltip.textContent = lines.join("\n");
    tooltip.hidden = false;
    moveTip(event);
  }

  function moveTip(event) {
    if (tooltip.hidden) {
      return;
    }
    var x = (event.clientX || 0) + 14;
    var y = (event.clientY || 0) + 14;
    var w = tooltip.offsetWidth;
    var h = tooltip.offsetHeight;
    if (x + w > window.innerWidth - 4) {
      x = Math.max(4, (event.clientX || 0) - w - 10);
    }
    if (y + h > window.innerHeight - 4) {
      y = Math.max(4, (event.clientY || 0) - h - 10);
    }
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }

  function hideTip() {
    tooltip.hidden = true;
  }

  // Hover handling for a grid: `describe(cell)` gives the tooltip's lines.
  function hoverable(table, describe) {
    var last = null;
    function clear() {
      if (last) {
        table.querySelectorAll(".hover").forEach(function (n) { n.classList.remove("hover"); });
        last = null;
      }
    }
    table.addEventListener("mouseover", function (event) {
      var cell = event.target.closest ? event.target.closest("td[data-r]") : null;
      if (!cell || !table.contains(cell)) {
        return;
      }
      clear();
      last = cell;
      cell.classList.add("hover");
      var r = Number(cell.getAttribute("data-r"));
      var c = Number(cell.getAttribute("data-c"));
      var rowHead = table.querySelector("th.row[data-r='" + r + "']");
      var colHead = table.querySelector("th.col[data-c='" + c + "']");
      [rowHead, colHead].forEach(function (n) { if (n) { n.classList.add("hover"); } });
      showTip(event, describe(r, c));
    });
    table.addEventListener("mousemove", moveTip);
    table.addEventListener("mouseleave", function () {
      clear();
      hideTip();
    });
  }

  // ----- grids ------------------------------------------------------------

  function cellSize(n) {
    return Math.max(14, Math.min(40, Math.floor(600 / Math.max(1, n))));
  }

  function columnHeads(labels, size, offset) {
    var up = labels.some(function (l) { return l.length * 7 + 4 > size; });
    return labels.map(function (label, i) {
      return el("th", { className: "col" + (up ? " up" : ""), "data-c": String(i + offset) }, [
        el("span", { text: label })
      ]);
    });
  }

  // A query × key grid of weights; `values[q][k]` (null: undefined, grey).
  function weightGrid(values, rowLabels, colLabels, kind, describe) {
    var size = cellSize(rowLabels.length);
    var table = el("table", { className: "grid attention", "data-kind": kind });
    table.style.setProperty("--cell", size + "px");
    var corner = el("th", { className: "corner", text: "query \\ key" });
    table.appendChild(el("thead", {}, [el("tr", {}, [corner].concat(columnHeads(colLabels, size, 0)))]));
    var body = el("tbody");
    rowLabels.forEach(function (label, q) {
      var row = el("tr", {}, [el("th", { className: "row", "data-r": String(q), text: label })]);
      colLabels.forEach(function (unused, k) {
        var w = values[q] ? values[q][k] : null;
        var cell = el("td", { "data-r": String(q), "data-c": String(k) });
        if (w === null || w === undefined) {
          cell.className = "none";
        } else {
          var colour = sequential(w);
          cell.style.background = css(colour);
          cell.style.color = ink(colour);
          if (size >= 30 && w >= 0.005) {
            cell.textContent = w > 0.995 ? "1" : w.toFixed(2).replace(/^0/, "");
          }
        }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    table.appendChild(body);
    hoverable(table, describe);
    return el("div", { className: "scroll" }, [table]);
  }

  // ----- the heads overview ----------------------------------------------

  // A small picture of a grid of weights (null rows and cells grey).
  function thumbnail(values) {
    var n = values.length;
    var cols = values.reduce(function (m, row) { return Math.max(m, row ? row.length : 0); }, 1);
    var canvas = el("canvas", { width: String(cols), height: String(n) });
    var ctx = canvas.getContext && canvas.getContext("2d");
    if (!ctx) {
      return canvas;
    }
    values.forEach(function (row, q) {
      (row || []).forEach(function (w, k) {
        ctx.fillStyle = row === null || w === null ? "#ececec" : css(sequential(w));
        ctx.fillRect(k, q, 1, 1);
      });
      if (row === null) {
        ctx.fillStyle = "#ececec";
        ctx.fillRect(0, q, cols, 1);
      }
    });
    return canvas;
  }

  function renderOverview(root) {
    root.textContent = "";
    root.appendChild(el("h2", { text: "Attention heads" }));
    root.appendChild(el("p", {
      className: "muted",
      text: "Pick a head. Thumbnails show the attention on the chosen input; a counting head's shows its weights without BOS, renormalised."
    }));
    var layers = el("div", { className: "layers" });
    data.layers.forEach(function (layer, l) {
      var row = el("div", { className: "layer-row" }, [el("span", { className: "layer-name", text: "layer " + (l + 1) })]);
      if (layer.heads.length === 0) {
        row.appendChild(el("span", { className: "muted", text: "no heads" }));
      }
      layer.heads.forEach(function (head, j) {
        var rec = head.record;
        var b = beta(rec);
        var p = pattern(l, j);
        var shown = b === null ? p : selectedKeys(p, b);
        var kind = rec ? (rec.kind === "count" ? "count" : rec.sops.map(function (s) { return s.role; }).join(", ")) : "head";
        var title = rec ? rec.sops.map(function (s) { return s.role + " " + s.name; }).join(", ") : "";
        var button = el("button", {
          type: "button",
          className: "head-button" + (state.layer === l && state.head === j ? " selected" : ""),
          "data-layer": String(l + 1),
          "data-head": String(head.index + 1),
          "data-kind": rec ? rec.kind : "unknown",
          title: title
        }, [thumbnail(shown), el("span", { text: "H" + (head.index + 1) }), el("span", { className: "kind", text: kind })]);
        button.addEventListener("click", function () {
          state.layer = l;
          state.head = j;
          render();
        });
        row.appendChild(button);
      });
      var parts = layer.mlp;
      var mlpText = "MLP: " + layer.mlp_units + " units" + (parts && parts.length ? ", for " + parts.map(function (part) {
        return part.sop + " (" + part.units + ")";
      }).join(", ") : "");
      row.appendChild(el("span", { className: "mlp-note", text: mlpText }));
      layers.appendChild(row);
    });
    root.appendChild(layers);
  }

  // ----- the selected head -------------------------------------------------

  function renderHead(root) {
    root.textContent = "";
    if (state.layer < 0) {
      root.appendChild(el("p", { className: "muted", text: "This model has no attention heads." }));
      return;
    }
    var head = data.layers[state.layer].heads[state.head];
    var rec = head.record;
    var b = beta(rec);
    var p = pattern(state.layer, state.head);
    var positions = input().positions;
    root.appendChild(el("h2", { id: "head-title", text: "Layer " + (state.layer + 1) + ", head " + (head.index + 1) }));
    var facts = el("dl", { className: "facts" });
    function fact(name, value) {
      facts.appendChild(el("dt", { text: name }));
      facts.appendChild(el("dd", {}, [value]));
    }
    if (rec) {
      fact("kind", b !== null
        ? "counting head (selector_width): BOS takes " + codeText(b) + " of each row and each of the w selected keys 1/(w+" + fmt(b, 6) + "); an MLP reads the count from BOS's weight"
        : "aggregate head: attends to the keys its selector selects; a query that selects none attends to BOS, which carries the default");
      fact("selector", el("code", { className: "selector", text: (rec.selector_name ? rec.selector_name + " = " : "") + rec.selector }));
      var list = el("div");
      rec.sops.forEach(function (s) {
        list.appendChild(el("div", {}, [
          el("span", { className: "muted", text: s.role + " " }),
          el("code", { className: "sop", text: s.name + (s.source ? " = " + s.source : "") })
        ]));
      });
      fact("computes", list);
    } else {
      fact("kind", "not stated: the weight file was written without head records");
    }
    root.appendChild(facts);
    var figures = el("div", { className: "figures" });
    figures.appendChild(el("figure", {}, [
      el("figcaption", { text: "Attention weights: rows are queries, columns keys (index:token; BOS at position 0)." }),
      weightGrid(p, positions, positions, "raw", function (q, k) {
        var lines = ["weight " + fmt(p[q][k], 4), "query " + where(q), "key " + where(k)];
        if (b !== null && k === 0) {
          lines.push("BOS's weight is the count's code " + codeText(b));
        }
        return lines;
      })
    ]));
    if (b !== null) {
      var keys = selectedKeys(p, b);
      figures.appendChild(el("figure", {}, [
        el("figcaption", {
          text: "The same weights without BOS, renormalised: 1/w on each of the w keys the selector selects. Grey rows: BOS, or a query that selects no key."
        }),
        weightGrid(keys, positions, positions.slice(1), "selected", function (q, k) {
          var row = keys[q];
          var lines = row
            ? ["selected-key weight " + fmt(row[k], 4) + " (without BOS, renormalised)", "raw weight " + fmt(p[q][k + 1], 4)]
            : [q === 0 ? "BOS's own row" : "this query selects no key"];
          return lines.concat(["query " + where(q), "key " + where(k + 1)]);
        })
      ]));
    }
    root.appendChild(figures);
  }

  // ----- the residual stream -----------------------------------------------

  function residualValues(stage) {
    var now = input().residuals[stage];
    if (!state.change || stage === 0) {
      return now;
    }
    var before = input().residuals[stage - 1];
    return now.map(function (row, p) {
      return row.map(function (x, d) {
        return x === null || before[p][d] === null ? null : x - before[p][d];
      });
    });
  }

  function rowsOfHead() {
    if (state.layer < 0) {
      return [];
    }
    var rec = data.layers[state.layer].heads[state.head].record;
    return rec ? rec.sops.map(function (s) { return s.name; }) : [];
  }

  function decodeCount(label, value) {
    var m = /:([0-9.]+)\/\(w\+([0-9.]+)\)$/.exec(label);
    if (!m || !(value > 0)) {
      return null;
    }
    var b = Number(m[2]);
    return b * (1 - value) / value;
  }

  function renderResidual(root) {
    root.textContent = "";
    root.appendChild(el("h2", { text: "Residual stream" }));
    var stages = el("div", { className: "stages" });
    data.stages.forEach(function (stage, s) {
      var button = el("button", {
        type: "button",
        className: s === state.stage ? "selected" : "",
        "data-stage": String(s),
        title: stage.hook,
        text: stage.name
      });
      button.addEventListener("click", function () {
        state.stage = s;
        renderResidual(root);
      });
      stages.appendChild(button);
    });
    var scale = el("select", { id: "scale" }, [
      el("option", { value: "row", text: "each row by its largest |value|" }),
      el("option", { value: "global", text: "one scale: the largest |value|" }),
      el("option", { value: "symlog", text: "symmetric log" })
    ]);
    scale.value = state.scale;
    scale.addEventListener("change", function () {
      state.scale = scale.value;
      renderResidual(root);
    });
    var show = el("select", { id: "show" }, [
      el("option", { value: "value", text: "the values after this sub-layer" }),
      el("option", { value: "change", text: "what this sub-layer added" })
    ]);
    show.value = state.change ? "change" : "value";
    show.addEventListener("change", function () {
      state.change = show.value === "change";
      renderResidual(root);
    });
    root.appendChild(el("div", { className: "controls" }, [el("label", { text: "after" }), stages]));
    root.appendChild(el("div", { className: "controls" }, [
      el("label", { text: "colour" }), scale, el("label", { text: "show" }), show
    ]));

    var values = residualValues(state.stage);
    var labels = data.labels;
    var positions = input().positions;
    var rowMax = labels.map(function (unused, d) {
      return values.reduce(function (m, row) { return row[d] === null ? m : Math.max(m, Math.abs(row[d])); }, 0);
    });
    var all = rowMax.reduce(function (m, x) { return Math.max(m, x); }, 0);
    var LINEAR = 0.1;
    function colourOf(x, d) {
      if (x === null) {
        return 0;
      }
      if (state.scale === "row") {
        return rowMax[d] > 0 ? x / rowMax[d] : 0;
      }
      if (state.scale === "global") {
        return all > 0 ? x / all : 0;
      }
      var top = Math.log(1 + all / LINEAR);
      return top > 0 ? Math.sign(x) * Math.log(1 + Math.abs(x) / LINEAR) / top : 0;
    }

    var ramp = el("div", { className: "ramp" });
    ramp.style.background = "linear-gradient(to right, " + STOPS.map(css).join(", ") + ")";
    var ticks = state.scale === "row" ? ["-max", "0", "+max"] : ["-" + fmt(all), "0", "+" + fmt(all)];
    var explain = {
      row: "Diverging colour scale centred at 0, each row divided by its own largest |value| (the scale column at its right), so rows of small and of large numbers show alike.",
      global: "Diverging colour scale centred at 0, every value divided by the largest |value| in this view (" + fmt(all) + ").",
      symlog: "Diverging colour scale centred at 0 on a symmetric log: sign(x)·log(1+|x|/" + LINEAR + "), linear below " + LINEAR + ", the largest |value| (" + fmt(all) + ") at full colour."
    }[state.scale];
    root.appendChild(el("div", { className: "legend", id: "legend" }, [
      el("div", { className: "bar" }, [ramp, el("div", { className: "ticks" }, ticks.map(function (t) { return el("span", { text: t }); }))]),
      el("p", { text: explain + " Blue negative, red positive; values are written in rows that are not all 0 or 1." +
        (rowsOfHead().length ? " Highlighted: the rows of the s-ops the selected head computes." : "") })
    ]));

    var mine = rowsOfHead();
    var table = el("table", { className: "grid residual", id: "residual-table" });
    var corner = el("th", { className: "corner", text: "label \\ position" });
    var headRow = el("tr", {}, [corner].concat(columnHeads(positions, 44, 0)));
    if (state.scale === "row") {
      headRow.appendChild(el("th", { className: "corner", text: "scale" }));
    }
    table.appendChild(el("thead", {}, [headRow]));
    var body = el("tbody");
    labels.forEach(function (label, d) {
      var ownRow = mine.some(function (name) { return label === name || label.indexOf(name + ":") === 0; });
      var row = el("tr", { className: ownRow ? "mine" : "" }, [el("th", { className: "row", "data-r": String(d), title: label, text: label })]);
      var binary = values.every(function (r) {
        return r[d] === null || Math.abs(r[d]) < 1e-3 || Math.abs(r[d] - 1) < 1e-3;
      });
      positions.forEach(function (unused, p) {
        var x = values[p][d];
        var colour = diverging(colourOf(x, d));
        var cell = el("td", { "data-r": String(d), "data-c": String(p) });
        cell.style.background = css(colour);
        cell.style.color = ink(colour);
        if (!binary) {
          cell.textContent = fmt(x);
        }
        row.appendChild(cell);
      });
      if (state.scale === "row") {
        row.appendChild(el("td", { className: "scale", text: fmt(rowMax[d]) }));
      }
      body.appendChild(row);
    });
    table.appendChild(body);
    hoverable(table, function (d, p) {
      var x = values[p][d];
      var stage = data.stages[state.stage];
      var lines = [
        labels[d],
        "at " + where(p),
        (state.change && state.stage > 0 ? "added by " + stage.name + ": " : "value after " + stage.name + ": ") + fmt(x, 4),
        "hook " + stage.hook
      ];
      var full = input().residuals[state.stage][p][d];
      var w = decodeCount(labels[d], full);
      if (w !== null) {
        lines.push("a count's code: w = " + fmt(w, 2));
      }
      return lines;
    });
    root.appendChild(el("div", { className: "scroll" }, [table]));
  }

  // ----- the page -------------------------------------------------------------

  var header = el("header");
  var overview = el("section", { id: "overview" });
  var headPanel = el("section", { id: "head" });
  var residualPanel = el("section", { id: "residual" });

  function renderHeader() {
    header.textContent = "";
    var s = data.summary;
    header.appendChild(el("h1", { text: data.sop }));
    header.appendChild(el("p", {
      className: "muted",
      text: s.n_layers + " layer" + (s.n_layers === 1 ? "" : "s") + ", d_model " + s.d_model + ", " +
        s.heads + " head" + (s.heads === 1 ? "" : "s") + " in use, max_len " + s.max_len + ", " + s.dtype +
        "; vocabulary " + data.vocab.join(" ")
    }));
    var picker = el("select", { id: "input-select" });
    data.inputs.forEach(function (item, i) {
      var full = item.text + "  \u2192  [" + item.output.join(", ") + "]";
      picker.appendChild(el("option", { value: String(i), title: full, text: cut(item.text, 40) + "  \u2192  " + cut("[" + item.output.join(", ") + "]", 40) }));
    });
    picker.value = String(state.input);
    picker.addEventListener("change", function () {
      state.input = Number(picker.value);
      render();
    });
    header.appendChild(el("div", { className: "controls" }, [el("label", { "for": "input-select", text: "input" }), picker]));
    header.appendChild(el("p", { className: "output", id: "output" }, [
      el("span", { className: "muted", text: "output: " }),
      el("code", { text: "[" + input().output.join(", ") + "]" })
    ]));
  }

  function render() {
    renderHeader();
    renderOverview(overview);
    renderHead(headPanel);
    renderResidual(residualPanel);
    hideTip();
  }

  data.layers.some(function (layer, l) {
    if (layer.heads.length) {
      state.layer = l;
      state.head = 0;
      return true;
    }
    return false;
  });
  app.appendChild(header);
  app.appendChild(overview);
  app.appendChild(headPanel);
  app.appendChild(residualPanel);
  var program = el("details", { id: "program" }, [
    el("summary", { text: "program (s-op " + data.sop + ")" }),
    el("pre", { text: data.source })
  ]);
  app.appendChild(el("section", {}, [program]));
  render();
  document.body.setAttribute("data-ready", "true");
})();
