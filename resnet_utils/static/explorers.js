/*
 * The book's explorers in the browser: the rendered book has no kernel, so
 * each explorer's HTML twin (resnet_utils/widgets.py) embeds its data and this
 * file, which draws the controls and computes the output on the page.
 *
 * Plain ES2017, no imports, nothing loaded from the network. The same file runs
 * under node for the unit tests (tests/test_widgets_js.py): the computing
 * functions below touch no DOM, and each mirrors a Python reference:
 *
 *   conv2d, outputSize          torch.nn.functional.conv2d, ops.conv_output_size
 *   sampleAugmentParams         the distributions of RandomCrop, RandomHorizontalFlip,
 *                               RandomAffine and ColorJitter (its own seeded generator)
 *   augment                     widgets.augment (torchvision.transforms.v2.functional)
 *   thresholdStats              sklearn.metrics.confusion_matrix at one threshold
 *   pyFixed                     Python's f"{x:.{d}f}"
 *
 * Each drawn explorer keeps its current state and numbers in root.resnetExplorer
 * (and the augmentation's sampled parameters in each canvas's data-params), where
 * the browser test reads them back.
 */
(function (factory) {
  "use strict";
  var lib = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = lib;
  }
  if (typeof window !== "undefined" && !window.ResnetExplorers) {
    window.ResnetExplorers = lib;
  }
})(function () {
  "use strict";

  // ---------------------------------------------------------------- data

  /** Decode base64 little-endian bytes into a typed array ("float32", "float64", "int32"). */
  function decode(b64, dtype) {
    var binary = typeof atob === "function" ? atob(b64) : Buffer.from(b64, "base64").toString("binary");
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var types = { float32: Float32Array, float64: Float64Array, int32: Int32Array };
    if (!types[dtype]) throw new Error("decode: unknown dtype " + dtype);
    return new types[dtype](bytes.buffer);
  }

  /** Python's f"{x:.{digits}f}": round half to even on the exact binary value; "nan" for NaN. */
  function pyFixed(x, digits) {
    if (Number.isNaN(x)) return "nan";
    var rounded = x.toFixed(digits); // exact, but a tie goes away from zero
    var exact = Math.abs(x).toFixed(100); // every digit of x (ties end within 100 digits)
    var point = exact.indexOf(".");
    var tail = exact.slice(point + 1 + digits);
    if (/^50*$/.test(tail)) {
      var kept = exact.slice(0, digits ? point + 1 + digits : point);
      if (Number(kept[kept.length - 1]) % 2 === 0) return (x < 0 ? "-" : "") + kept;
    }
    return rounded;
  }

  /** A seeded uniform generator in [0, 1) (mulberry32): the same seed, the same draws. */
  function generator(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // ---------------------------------------------------------------- convolution (chapter 1)

  /** Output length along one side: floor((size + 2p - k) / s) + 1 (no dilation). */
  function outputSize(size, kernel, stride, padding) {
    return Math.floor((size + 2 * padding - kernel) / stride) + 1;
  }

  /**
   * One channel, one 3x3 kernel: x is (h, w) row-major, weight 9 values row-major.
   * Zero padding, no bias, cross-correlation as in F.conv2d. Returns {data, height, width}.
   */
  function conv2d(x, h, w, weight, stride, padding) {
    var oh = outputSize(h, 3, stride, padding);
    var ow = outputSize(w, 3, stride, padding);
    if (oh < 1 || ow < 1) return { data: new Float64Array(0), height: Math.max(oh, 0), width: Math.max(ow, 0) };
    var out = new Float64Array(oh * ow);
    for (var i = 0; i < oh; i++) {
      for (var j = 0; j < ow; j++) {
        var sum = 0;
        for (var a = 0; a < 3; a++) {
          var r = i * stride - padding + a;
          if (r < 0 || r >= h) continue; // a padded row: zeros
          for (var b = 0; b < 3; b++) {
            var c = j * stride - padding + b;
            if (c < 0 || c >= w) continue;
            sum += weight[a * 3 + b] * x[r * w + c];
          }
        }
        out[i * ow + j] = sum;
      }
    }
    return { data: out, height: oh, width: ow };
  }

  /** The size label ConvExplorer shows (its size_text, with the arrow as a character). */
  function convText(h, w, stride, padding) {
    return "input " + h + "x" + w + ", kernel 3x3, stride " + stride + ", padding " + padding +
      " \u2192 output " + outputSize(h, 3, stride, padding) + "x" + outputSize(w, 3, stride, padding);
  }

  // ---------------------------------------------------------------- augmentation (chapter 5)

  /**
   * Parameters for n samples, drawn as the torchvision transforms draw them:
   * crop offsets in 0..2p, a flip with p = 0.5, an angle in [-deg, deg], a shift
   * rounded to whole pixels within +-translate of the side, a scale in
   * [1 - s, 1 + s], a brightness factor in [max(0, 1 - b), 1 + b].
   */
  function sampleAugmentParams(settings, height, width, n, seed) {
    var u = generator(seed);
    var uniform = function (lo, hi) { return lo + (hi - lo) * u(); };
    var all = [];
    for (var k = 0; k < n; k++) {
      var p = settings.crop_padding;
      var params = { padding: p, top: p, left: p, flip: false, angle: 0, translate: [0, 0], scale: 1, brightness: 1 };
      if (p) {
        params.top = Math.floor(u() * (2 * p + 1));
        params.left = Math.floor(u() * (2 * p + 1));
      }
      if (settings.flip) params.flip = u() < 0.5;
      if (settings.degrees || settings.translate || settings.scale) {
        params.angle = uniform(-settings.degrees, settings.degrees);
        var dx = settings.translate * width, dy = settings.translate * height;
        params.translate = [Math.round(uniform(-dx, dx)), Math.round(uniform(-dy, dy))];
        params.scale = uniform(1 - settings.scale, 1 + settings.scale);
      }
      if (settings.brightness) {
        params.brightness = uniform(Math.max(0, 1 - settings.brightness), 1 + settings.brightness);
      }
      all.push(params);
    }
    return all;
  }

  /** torchvision's inverse affine matrix (center 0, no shear): output pixel -> input pixel. */
  function inverseAffine(angle, translate, scale) {
    var rot = (angle * Math.PI) / 180;
    var a = Math.cos(rot), b = -Math.sin(rot), c = Math.sin(rot), d = Math.cos(rot);
    var m = [d / scale, -b / scale, 0, -c / scale, a / scale, 0];
    m[2] += m[0] * -translate[0] + m[1] * -translate[1];
    m[5] += m[3] * -translate[0] + m[4] * -translate[1];
    return m;
  }

  /** Bilinear sample of one channel at (x, y) in pixel units, zeros outside (grid_sample). */
  function bilinear(plane, h, w, x, y) {
    var x0 = Math.floor(x), y0 = Math.floor(y);
    var fx = x - x0, fy = y - y0, v = 0;
    var corners = [[y0, x0, (1 - fy) * (1 - fx)], [y0, x0 + 1, (1 - fy) * fx],
      [y0 + 1, x0, fy * (1 - fx)], [y0 + 1, x0 + 1, fy * fx]];
    for (var k = 0; k < 4; k++) {
      var r = corners[k][0], c = corners[k][1];
      if (r >= 0 && r < h && c >= 0 && c < w) v += corners[k][2] * (plane ? plane[r * w + c] : 1);
    }
    return v;
  }

  /**
   * One augmented sample: image (c, h, w) row-major in [0, 1] -> a new Float32Array.
   * The steps and their order are widgets.augment's: pad with zeros and crop back,
   * flip, affine (bilinear, fill 0: the sampled image times the sampled mask of
   * ones, as torchvision does), brightness (multiply, clamp to [0, 1]).
   */
  function augment(image, c, h, w, params) {
    var x = Float32Array.from(image);
    var n = h * w, i, j, ch;
    if (params.padding) {
      var cropped = new Float32Array(c * n);
      for (ch = 0; ch < c; ch++) {
        for (i = 0; i < h; i++) {
          for (j = 0; j < w; j++) {
            var r = i + params.top - params.padding, q = j + params.left - params.padding;
            cropped[ch * n + i * w + j] = r >= 0 && r < h && q >= 0 && q < w ? x[ch * n + r * w + q] : 0;
          }
        }
      }
      x = cropped;
    }
    if (params.flip) {
      var flipped = new Float32Array(c * n);
      for (ch = 0; ch < c; ch++) {
        for (i = 0; i < h; i++) {
          for (j = 0; j < w; j++) flipped[ch * n + i * w + j] = x[ch * n + i * w + (w - 1 - j)];
        }
      }
      x = flipped;
    }
    if (params.angle !== 0 || params.translate[0] !== 0 || params.translate[1] !== 0 || params.scale !== 1) {
      var m = inverseAffine(params.angle, params.translate, params.scale);
      var moved = new Float32Array(c * n);
      for (i = 0; i < h; i++) {
        for (j = 0; j < w; j++) {
          var xb = j - w / 2 + 0.5, yb = i - h / 2 + 0.5; // pixel centres, origin at the image centre
          var sx = m[0] * xb + m[1] * yb + m[2] + w / 2 - 0.5;
          var sy = m[3] * xb + m[4] * yb + m[5] + h / 2 - 0.5;
          var mask = bilinear(null, h, w, sx, sy);
          for (ch = 0; ch < c; ch++) {
            moved[ch * n + i * w + j] = mask * bilinear(x.subarray(ch * n, (ch + 1) * n), h, w, sx, sy);
          }
        }
      }
      x = moved;
    }
    if (params.brightness !== 1) {
      for (i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i] * params.brightness));
    }
    return x;
  }

  // ---------------------------------------------------------------- threshold (chapter 7)

  /**
   * One class against the rest at threshold t: an example is predicted positive
   * when probs[i, cls] >= t. Returns the counts and the rates (NaN when undefined).
   */
  function thresholdStats(labels, probs, numClasses, cls, t) {
    var tp = 0, fp = 0, fn = 0, tn = 0;
    for (var i = 0; i < labels.length; i++) {
      var actual = labels[i] === cls, predicted = probs[i * numClasses + cls] >= t;
      if (predicted && actual) tp++;
      else if (predicted) fp++;
      else if (actual) fn++;
      else tn++;
    }
    return {
      tp: tp, fp: fp, fn: fn, tn: tn,
      tpr: tp + fn ? tp / (tp + fn) : NaN,
      fpr: fp + tn ? fp / (fp + tn) : NaN,
      precision: tp + fp ? tp / (tp + fp) : NaN,
    };
  }

  /** The label ThresholdExplorer shows (Python's f-string, character for character). */
  function thresholdText(t, s) {
    return "threshold " + pyFixed(t, 2) + ": TP " + s.tp + ", FP " + s.fp + ", FN " + s.fn + ", TN " + s.tn +
      " \u2014 TPR (recall) " + pyFixed(s.tpr, 3) + ", FPR " + pyFixed(s.fpr, 4) + ", precision " + pyFixed(s.precision, 3);
  }

  // ---------------------------------------------------------------- drawing

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function setChildren(node, children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    children.forEach(function (child) { node.appendChild(child); });
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  /** A range input with its value printed beside it; onInput gets the number. */
  function slider(label, min, max, step, value, format, onInput) {
    var input = el("input", { type: "range", min: min, max: max, step: step, "aria-label": label });
    input.value = String(value);
    var readout = el("output", { text: format(value) });
    input.addEventListener("input", function () {
      var v = Number(input.value);
      readout.textContent = format(v);
      onInput(v);
    });
    return { input: input, row: el("label", { class: "rx-row" }, [el("span", { text: label }), input, readout]) };
  }

  /** Draw a grey image on a canvas: values mapped linearly from [lo, hi] to black..white (or reversed). */
  function drawGrey(canvas, data, h, w, lo, hi, reversed) {
    canvas.width = Math.max(w, 1);
    canvas.height = Math.max(h, 1);
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(canvas.width, canvas.height);
    for (var k = 0; k < h * w; k++) {
      var g = hi > lo ? (data[k] - lo) / (hi - lo) : 0;
      g = Math.round(255 * Math.min(1, Math.max(0, reversed ? 1 - g : g)));
      img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = g;
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function drawRGB(canvas, data, h, w) {
    canvas.width = w;
    canvas.height = h;
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(w, h), n = h * w;
    for (var k = 0; k < n; k++) {
      for (var ch = 0; ch < 3; ch++) img.data[4 * k + ch] = Math.round(255 * Math.min(1, Math.max(0, data[ch * n + k])));
      img.data[4 * k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function minMax(data) {
    var lo = Infinity, hi = -Infinity;
    for (var k = 0; k < data.length; k++) {
      if (data[k] < lo) lo = data[k];
      if (data[k] > hi) hi = data[k];
    }
    return [lo, hi];
  }

  /** Red for positive, blue for negative weights (matplotlib's RdBu_r, roughly), in [-2, 2]. */
  function weightColour(v) {
    var t = Math.max(-1, Math.min(1, v / 2));
    var end = t > 0 ? [178, 24, 43] : [33, 102, 172], a = Math.abs(t);
    return "rgb(" + end.map(function (e) { return Math.round(255 + (e - 255) * a); }).join(",") + ")";
  }

  // Black or white, whichever reads better on weightColour(v) (WCAG contrast, at least 4.5:1
  // for both ends of the scale: black on the light middle, white on the dark ends).
  function weightInk(v) {
    var rgb = weightColour(v).match(/\d+/g).map(function (c) {
      c = Number(c) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff";
  }

  function shortNumber(v) {
    return String(Number(v.toPrecision(4)));
  }

  // ---------------------------------------------------------------- the three explorers

  function mountConv(root, d) {
    var h = d.height, w = d.width, image = decode(d.image, "float32");
    var state = { kernel: d.kernel, weight: d.weight.slice(), stride: d.stride, padding: d.padding };
    var select = el("select", { "aria-label": "kernel" });
    d.kernel_names.concat(["custom"]).forEach(function (name) {
      select.appendChild(el("option", { value: name, text: name }));
    });
    select.value = state.kernel;
    var cells = [];
    for (var k = 0; k < 9; k++) {
      cells.push(el("input", { type: "number", step: "any", class: "rx-cell", "aria-label": "kernel value " + (k + 1) }));
    }
    var stride = slider("stride", 1, 4, 1, state.stride, String, function (v) { state.stride = v; update(); });
    var padding = slider("padding", 0, 3, 1, state.padding, String, function (v) { state.padding = v; update(); });
    var inCanvas = el("canvas", { class: "rx-pixels", "data-role": "input" });
    var outCanvas = el("canvas", { class: "rx-pixels", "data-role": "output" });
    var inCaption = el("div", { class: "rx-caption" }), outCaption = el("div", { class: "rx-caption" });
    var size = el("div", { class: "rx-label", "data-role": "size" });
    var scale = Math.max(1, Math.min(4, Math.floor(280 / Math.max(h, w))));

    function fillCells() {
      cells.forEach(function (cell, k) {
        cell.value = shortNumber(state.weight[k]);
        cell.style.background = weightColour(state.weight[k]);
        cell.style.color = weightInk(state.weight[k]);
      });
    }
    select.addEventListener("change", function () {
      state.kernel = select.value;
      if (state.kernel !== "custom") state.weight = d.kernels[state.kernel].slice();
      fillCells();
      update();
    });
    cells.forEach(function (cell, k) {
      cell.addEventListener("input", function () {
        var v = Number(cell.value);
        if (cell.value.trim() === "" || !Number.isFinite(v)) return; // half-typed: keep the last value
        state.weight[k] = v;
        cell.style.background = weightColour(v);
        cell.style.color = weightInk(v);
        var named = d.kernels[state.kernel];
        if (named && named.some(function (x, i) { return x !== state.weight[i]; })) {
          state.kernel = "custom";
          select.value = "custom";
        }
        update();
      });
    });

    function update() {
      var s = state.stride, p = state.padding;
      var result = conv2d(image, h, w, state.weight, s, p);
      var text = convText(h, w, s, p);
      size.textContent = text;
      var range = minMax(result.data);
      drawGrey(outCanvas, result.data, result.height, result.width, range[0], range[1], false);
      outCanvas.style.width = result.width * scale + "px";
      outCaption.textContent = "output " + result.height + "x" + result.width;
      root.resnetExplorer = { state: JSON.parse(JSON.stringify(state)), result: result, text: text };
      root.setAttribute("data-output-size", result.height + "x" + result.width);
    }

    var range = minMax(image);
    drawGrey(inCanvas, image, h, w, range[0], range[1], false);
    inCanvas.style.width = w * scale + "px";
    inCaption.textContent = "input " + h + "x" + w;
    var grid = el("div", { class: "rx-grid" }, cells);
    var controls = el("div", { class: "rx-controls" }, [
      el("div", {}, [el("label", { class: "rx-row" }, [el("span", { text: "kernel" }), select]), stride.row, padding.row]),
      grid,
    ]);
    var pictures = el("div", { class: "rx-pictures" }, [
      el("figure", {}, [inCanvas, inCaption]),
      el("figure", {}, [outCanvas, outCaption]),
    ]);
    setChildren(root.querySelector(".rx-body"), [controls, pictures, size]);
    fillCells();
    update();
  }

  function mountAugment(root, d) {
    var c = d.channels, h = d.height, w = d.width, image = decode(d.image, "float32");
    var settings = Object.assign({}, d.settings);
    var canvases = [];
    for (var k = 0; k < d.num_samples; k++) canvases.push(el("canvas", { class: "rx-pixels rx-sample", "data-index": k }));
    var pct = function (v) { return Number(v.toFixed(2)).toString(); };
    var controls = [
      slider("rotation (deg)", 0, 180, 5, settings.degrees, String, function (v) { settings.degrees = v; update(); }),
      slider("shift (frac)", 0, 0.3, 0.05, settings.translate, pct, function (v) { settings.translate = v; update(); }),
      slider("scale (+-)", 0, 0.5, 0.05, settings.scale, pct, function (v) { settings.scale = v; update(); }),
      slider("crop padding", 0, 8, 1, settings.crop_padding, String, function (v) { settings.crop_padding = v; update(); }),
      slider("brightness", 0, 0.8, 0.1, settings.brightness, pct, function (v) { settings.brightness = v; update(); }),
    ];
    var flip = el("input", { type: "checkbox", "aria-label": "horizontal flip (p=0.5)" });
    flip.checked = settings.flip;
    flip.addEventListener("change", function () { settings.flip = flip.checked; update(); });
    var rows = controls.map(function (s) { return s.row; });
    rows.splice(3, 0, el("label", { class: "rx-row" }, [el("span", { text: "horizontal flip (p=0.5)" }), flip]));
    var px = Math.max(2, Math.round(80 / Math.max(h, w)));

    function update() {
      var all = sampleAugmentParams(settings, h, w, d.num_samples, d.seed);
      var samples = all.map(function (params, k) {
        var x = augment(image, c, h, w, params);
        if (c === 1) drawGrey(canvases[k], x, h, w, 0, 1, true);
        else drawRGB(canvases[k], x, h, w);
        canvases[k].style.width = w * px + "px";
        canvases[k].setAttribute("data-params", JSON.stringify(params));
        canvases[k].title = "angle " + params.angle.toFixed(1) + "\u00b0, shift (" + params.translate.join(", ") +
          "), scale " + params.scale.toFixed(2) + (params.flip ? ", flipped" : "") +
          (params.padding ? ", crop at (" + params.top + ", " + params.left + ")" : "") +
          (params.brightness !== 1 ? ", brightness x" + params.brightness.toFixed(2) : "");
        return Array.from(x);
      });
      root.resnetExplorer = { settings: Object.assign({}, settings), params: all, samples: samples };
    }

    var grid = el("div", { class: "rx-samples" }, canvases);
    grid.style.gridTemplateColumns = "repeat(" + Math.min(d.num_samples, 4) + ", max-content)";
    setChildren(root.querySelector(".rx-body"), [el("div", { class: "rx-controls rx-column" }, rows), grid]);
    update();
  }

  /** A square plot in SVG: axes 0..1 with ticks, lines, one marker; colours follow the text. */
  function plot(svg, spec) {
    var W = 300, H = 250, left = 46, right = 10, top = 22, bottom = 40;
    var pw = W - left - right, ph = H - top - bottom;
    var sx = function (x) { return left + pw * (x - spec.xlim[0]) / (spec.xlim[1] - spec.xlim[0]); };
    var sy = function (y) { return top + ph * (1 - (y - spec.ylim[0]) / (spec.ylim[1] - spec.ylim[0])); };
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.appendChild(svgEl("rect", { x: left, y: top, width: pw, height: ph, fill: "none", stroke: "currentColor", "stroke-width": 0.8 }));
    [0, 0.5, 1].forEach(function (v) {
      svg.appendChild(svgEl("text", { x: sx(v), y: top + ph + 14, "text-anchor": "middle", text: String(v) }));
      svg.appendChild(svgEl("text", { x: left - 5, y: sy(v) + 4, "text-anchor": "end", text: String(v) }));
    });
    svg.appendChild(svgEl("text", { x: left + pw / 2, y: H - 6, "text-anchor": "middle", text: spec.xlabel }));
    svg.appendChild(svgEl("text", { x: 12, y: top + ph / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (top + ph / 2) + ")", text: spec.ylabel }));
    svg.appendChild(svgEl("text", { x: left + pw / 2, y: 14, "text-anchor": "middle", class: "rx-title", text: spec.title }));
    spec.lines.forEach(function (line) {
      var points = [];
      for (var k = 0; k < line.x.length; k++) {
        if (Number.isFinite(line.x[k]) && Number.isFinite(line.y[k])) points.push(sx(line.x[k]).toFixed(2) + "," + sy(line.y[k]).toFixed(2));
      }
      svg.appendChild(svgEl("polyline", { points: points.join(" "), fill: "none", stroke: line.colour || "#1f77b4", "stroke-width": 1.5, "stroke-dasharray": line.dash || "" }));
    });
    var m = spec.marker;
    if (m && Number.isFinite(m.x) && Number.isFinite(m.y)) {
      svg.appendChild(svgEl("circle", { cx: sx(m.x), cy: sy(m.y), r: 5, fill: "red", class: "rx-marker", "data-x": m.x, "data-y": m.y }));
    }
  }

  function mountThreshold(root, d) {
    var labels = decode(d.labels, "int32"), probs = decode(d.probs, "float64"), k = d.num_classes;
    var curves = d.curves.map(function (cv) {
      return { fpr: decode(cv.fpr, "float32"), tpr: decode(cv.tpr, "float32"), recall: decode(cv.recall, "float32"), precision: decode(cv.precision, "float32") };
    });
    var state = { cls: d.positive_class, threshold: d.threshold };
    var select = el("select", { "aria-label": "class" });
    d.class_names.forEach(function (name, i) { select.appendChild(el("option", { value: i, text: name })); });
    select.value = String(state.cls);
    select.addEventListener("change", function () { state.cls = Number(select.value); update(); });
    // An integer slider in hundredths: k / 100 is the double nearest to 0.kk, as Python's slider value
    var threshold = slider("threshold", 0, 100, 1, Math.round(100 * state.threshold), function (v) { return pyFixed(v / 100, 2); },
      function (v) { state.threshold = v / 100; update(); });
    var label = el("div", { class: "rx-label", "data-role": "stats" });
    var roc = svgEl("svg", { class: "rx-plot", "data-role": "roc" }), pr = svgEl("svg", { class: "rx-plot", "data-role": "pr" });

    function update() {
      var s = thresholdStats(labels, probs, k, state.cls, state.threshold), cv = curves[state.cls];
      label.textContent = thresholdText(state.threshold, s);
      plot(roc, {
        title: "ROC, class " + d.class_names[state.cls] + " vs rest", xlabel: "false-positive rate", ylabel: "true-positive rate",
        xlim: [-0.02, 1.02], ylim: [-0.02, 1.02],
        lines: [{ x: cv.fpr, y: cv.tpr }, { x: [0, 1], y: [0, 1], colour: "gray", dash: "2 3" }],
        marker: { x: s.fpr, y: s.tpr },
      });
      plot(pr, {
        title: "precision-recall", xlabel: "recall", ylabel: "precision", xlim: [-0.02, 1.02], ylim: [0, 1.02],
        lines: [{ x: cv.recall, y: cv.precision }],
        marker: s.tp + s.fp ? { x: s.tpr, y: s.precision } : null,
      });
      root.resnetExplorer = { state: Object.assign({}, state), stats: s, text: label.textContent };
    }

    setChildren(root.querySelector(".rx-body"), [
      el("div", { class: "rx-controls" }, [el("label", { class: "rx-row" }, [el("span", { text: "class" }), select]), threshold.row]),
      label,
      el("div", { class: "rx-pictures" }, [roc, pr]),
    ]);
    update();
  }

  var MOUNT = { conv: mountConv, augment: mountAugment, threshold: mountThreshold };

  /** Draw every explorer twin on the page that is not drawn yet. */
  function mountAll(doc) {
    doc = doc || document;
    Array.prototype.forEach.call(doc.querySelectorAll(".resnet-explorer:not([data-mounted])"), function (root) {
      root.setAttribute("data-mounted", "");
      var kind = root.getAttribute("data-explorer");
      var data = JSON.parse(root.querySelector("script.rx-data").textContent);
      MOUNT[kind](root, data);
      root.setAttribute("data-ready", "");
    });
  }

  return {
    decode: decode, pyFixed: pyFixed, generator: generator,
    outputSize: outputSize, conv2d: conv2d, convText: convText,
    sampleAugmentParams: sampleAugmentParams, inverseAffine: inverseAffine, augment: augment,
    thresholdStats: thresholdStats, thresholdText: thresholdText,
    mountAll: mountAll,
  };
});
