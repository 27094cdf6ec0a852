/* app.js: the drawing page's behaviour. Owns the strokes on the canvas
 * (Pointer Events), the requests (POST predict?input=1, or with "Show why"
 * v1/explain?input=1&layers=0,1 in its place, and v1/read when the answer
 * says several digits; at most one in flight, the latest drawing wins), the
 * result in words, chart, 28x28 view and digit boxes, the saliency heat map
 * and feature maps, uploads, and the error states. Talks only to the server
 * that served the page (relative URLs), uses no library, and stores nothing
 * but an API key the user typed (sessionStorage). */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $('canvas');
  const pad = $('pad');
  const resultBox = $('result');
  const predictionEl = $('prediction');
  const confidenceEl = $('confidence');
  const timingEl = $('timing');
  const inputView = $('input-view');
  const chart = $('chart');
  const announceEl = $('announce');
  const boxesEl = $('boxes');
  const statusBox = $('status');
  const statusText = $('status-text');
  const retryBtn = $('retry');
  const keyForm = $('key-form');
  const keyInput = $('api-key');
  const undoBtn = $('undo');
  const clearBtn = $('clear');
  const fileInput = $('file');
  const modelInfo = $('model-info');
  const whyToggle = $('why');
  const whyPanel = $('why-panel');
  const whyClass = $('why-class');
  const padWhy = $('pad-why');
  const inputWhy = $('input-why');
  const whyFor = $('why-for');
  const whyAgainst = $('why-against');

  // The PNG sent to the server: its size does not matter much, since the
  // server crops to the ink and scales it to 20x20 as MNIST was made.
  const EXPORT_SIDE = 280;
  // Stroke width as a fraction of the canvas side: a digit drawn across
  // most of the pad gets MNIST's proportions (a pen about 1/8 of its height).
  const LINE_WIDTH = 0.06;
  // Spacing of the predictions sent while the pen is still moving.
  const THROTTLE_MS = 120;
  const TIMEOUT_MS = 15000;
  // Quiet time after a settled answer before a screen reader hears it: a
  // digit drawn in two strokes (a 4) is announced once, not as a 1 first.
  const ANNOUNCE_DELAY_MS = 700;
  const KEY_STORE = 'mnist-api-key';

  const state = {
    strokes: [],      // each stroke: points [x, y] in 0..1 canvas units
    current: null,    // the stroke being drawn
    pointerId: null,  // the pointer drawing it (one pen at a time)
    upload: null,     // {blob, type, name, bitmap} when showing a file
    labels: null,     // class names when they are not the digits 0..9
    model: '',        // the model picked among several ('': the server's default)
    gen: 0,           // bumped when the picture is replaced: older answers are dropped
    dirty: false,     // the picture changed since the last request was sent
    inFlight: false,
    timer: 0,
    announceTimer: 0,
    lastFailed: false,
    askedAgain: false, // the same picture re-sent (Show why, Why not…?): its answer is not spoken twice
    why: null,         // {input, inkBox} of the last explained answer, to repaint its heat map
    feedback: null,    // GET v1/feedback/info when the server stores corrections
    shown: null,       // {body, type, answer} of the settled answer on screen, for a correction
  };

  /* ---------- drawing ---------- */

  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // A stroke as a quadratic spline through the midpoints of its samples:
  // smooth curves from jittery pointer input, exact at both ends.
  function traceStroke(ctx, pts, side) {
    const x = (i) => pts[i][0] * side;
    const y = (i) => pts[i][1] * side;
    ctx.beginPath();
    if (pts.length === 1) {
      ctx.arc(x(0), y(0), ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.moveTo(x(0), y(0));
    for (let i = 1; i < pts.length - 1; i++)
      ctx.quadraticCurveTo(x(i), y(i), (x(i) + x(i + 1)) / 2, (y(i) + y(i + 1)) / 2);
    ctx.lineTo(x(pts.length - 1), y(pts.length - 1));
    ctx.stroke();
  }

  function paintStrokes(ctx, side, ink) {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = LINE_WIDTH * side;
    ctx.strokeStyle = ink;
    ctx.fillStyle = ink;
    for (const s of state.strokes) traceStroke(ctx, s, side);
  }

  // Where a picture of w x h pixels sits in the pad, in 0..1 pad units:
  // whole and centred. Uploads are painted there, and the digit boxes of
  // v1/read (in pixels of the posted image) are placed through it.
  function fitFrame(w, h) {
    const scale = Math.min(1 / w, 1 / h);
    return { left: (1 - w * scale) / 2, top: (1 - h * scale) / 2, scale };
  }

  function paint() {
    const ctx = canvas.getContext('2d');
    const side = canvas.width;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, side, canvas.height);
    const up = state.upload;
    if (up && up.bitmap) {
      // The file as the user sees it, fitted into the pad.
      const w = up.bitmap.width;
      const h = up.bitmap.height;
      const f = fitFrame(w, h);
      // A small image (a 28x28 digit) is shown in crisp pixels, a photo smoothly.
      ctx.imageSmoothingEnabled = f.scale * side < 4;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(up.bitmap, f.left * side, f.top * side, w * f.scale * side, h * f.scale * side);
    }
    paintStrokes(ctx, side, cssVar('--ink') || '#000');
    pad.classList.toggle('has-ink', state.strokes.length > 0 || !!up);
  }

  let paintQueued = false;
  function schedulePaint() {
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(() => { paintQueued = false; paint(); });
  }

  // The backing store follows the pad's size and the screen's pixel ratio,
  // so strokes stay sharp; strokes are kept in 0..1 units and re-rendered.
  function fitCanvas() {
    const side = Math.max(1, Math.round(pad.clientWidth * (window.devicePixelRatio || 1)));
    if (canvas.width !== side || canvas.height !== side) {
      canvas.width = side;
      canvas.height = side;
    }
    if (padWhy.width !== side || padWhy.height !== side) {
      padWhy.width = side;
      padWhy.height = side;
      paintWhy();
    }
    paint();
  }

  // Black ink on white, opaque: the one reading every normaliser agrees on.
  const exportCanvas = document.createElement('canvas');
  exportCanvas.width = exportCanvas.height = EXPORT_SIDE;
  function drawingPng() {
    const ctx = exportCanvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, EXPORT_SIDE, EXPORT_SIDE);
    paintStrokes(ctx, EXPORT_SIDE, '#000000');
    return new Promise((resolve, reject) =>
      exportCanvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded'))),
        'image/png'));
  }

  function pointOf(e) {
    const r = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
  }

  function addPoint(p) {
    const pts = state.current;
    const last = pts[pts.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.002) return;
    pts.push(p);
  }

  function changed() {
    clearBoxes();
    hideCorrection(); // a correction is of the answer on screen, not of a new picture
    schedulePaint();
    updateControls();
    requestPrediction(false);
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (state.pointerId !== null) return;
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    e.preventDefault();
    try { canvas.setPointerCapture(e.pointerId); } catch (_) { /* capture is a nicety */ }
    quiet();
    if (state.upload) {
      // Drawing starts a new picture: the uploaded file goes.
      state.upload = null;
      state.gen++;
    }
    state.pointerId = e.pointerId;
    state.current = [pointOf(e)];
    state.strokes.push(state.current);
    changed();
  });

  canvas.addEventListener('pointermove', (e) => {
    if (e.pointerId !== state.pointerId || !state.current) return;
    const evs = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of evs.length ? evs : [e]) addPoint(pointOf(ev));
    changed();
  });

  function endStroke(e) {
    if (e.pointerId !== state.pointerId) return;
    state.pointerId = null;
    state.current = null;
    requestPrediction(true);
  }
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);
  canvas.addEventListener('lostpointercapture', endStroke);
  // Where capture is refused, the pen may be lifted outside the canvas.
  window.addEventListener('pointerup', endStroke);

  /* ---------- predictions ---------- */

  function apiKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (_) { return ''; }
  }
  function authHeaders() {
    const key = apiKey();
    return key ? { Authorization: 'Bearer ' + key } : {};
  }

  function setBusy() {
    const busy = state.dirty || state.inFlight || state.timer !== 0 || state.pointerId !== null;
    resultBox.setAttribute('aria-busy', String(busy));
  }

  // Asks for a prediction of the current picture: now (stroke end, upload,
  // undo) or within THROTTLE_MS (while drawing). One request at a time; a
  // change made meanwhile is sent when it returns, so the latest wins.
  function requestPrediction(now) {
    state.dirty = true;
    if (!state.inFlight) {
      if (now) {
        clearTimeout(state.timer);
        state.timer = 0;
        send();
      } else if (!state.timer) {
        state.timer = setTimeout(() => { state.timer = 0; send(); }, THROTTLE_MS);
      }
    }
    setBusy();
  }

  const networkOutcome = (err) =>
    ({ network: true, message: err && err.name === 'AbortError' ? 'no answer within ' + TIMEOUT_MS / 1000 + ' s' : '' });

  async function send() {
    if (state.inFlight || !state.dirty) { setBusy(); return; }
    if (!state.upload && state.strokes.length === 0) { state.dirty = false; setBusy(); return; }
    state.dirty = false;
    state.inFlight = true;
    setBusy();
    const gen = state.gen;
    let outcome;
    let read = null;
    try {
      const up = state.upload;
      // Where the ink of the picture being sent is on the pad, taken now:
      // the strokes may change while the answer is on its way.
      const inkBox = up ? up.inkBox : strokesBox();
      const body = up ? up.blob : await drawingPng();
      outcome = await post(predictUrl(), body, up ? up.type : 'image/png');
      outcome.inkBox = inkBox;
      outcome.body = body;
      outcome.type = up ? up.type : 'image/png';
      // Several digits: the same picture goes to v1/read for the number,
      // unless it has changed meanwhile (the next answer will tell).
      const d = outcome.data;
      if (outcome.status === 200 && d && d.verdict === 'several_digits' && gen === state.gen && !state.dirty) {
        const frame = up ? (up.bitmap && fitFrame(up.bitmap.width, up.bitmap.height)) : fitFrame(EXPORT_SIDE, EXPORT_SIDE);
        read = await readNumber(body, frame);
      }
    } catch (err) {
      outcome = networkOutcome(err);
    }
    state.inFlight = false;
    // A number read for a picture that has changed since is not shown: its
    // boxes would outline strokes that are no longer there.
    if (gen === state.gen) handleOutcome(outcome, state.dirty ? null : read);
    if (state.dirty) {
      if (state.pointerId !== null) requestPrediction(false);
      else send();
    }
    setBusy();
  }

  // With "Show why" on, v1/explain answers in place of predict (the same
  // answer plus the saliency and the first two layers' maps): one request
  // for both, never two.
  function predictUrl() {
    if (!whyToggle.checked) return withModel('predict?input=1');
    return withModel('v1/explain?input=1&layers=0,1' + (whyClass.value !== '' ? '&class=' + encodeURIComponent(whyClass.value) : ''));
  }

  // A URL of the picked model (the default needs no parameter).
  function withModel(url) {
    if (!state.model) return url;
    return url + (url.includes('?') ? '&' : '?') + 'model=' + encodeURIComponent(state.model);
  }

  async function post(url, body, type) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': type }, authHeaders()),
        body,
        cache: 'no-store',
        signal: ctl.signal,
      });
      let data = null;
      try { data = await res.json(); } catch (_) { data = null; }
      return { status: res.status, data };
    } finally {
      clearTimeout(timer);
    }
  }

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    });
  }

  // POST v1/read with the picture as {"image": data URL}, the form API.md
  // gives. Resolves with the answer and frame (where the posted image sits
  // in the pad, null when unknown), or {error} saying why the number could
  // not be read: the page then still shows predict's verdict.
  async function readNumber(blob, frame) {
    let o;
    try {
      o = await post(withModel('v1/read'), JSON.stringify({ image: await dataUrl(blob) }), 'application/json');
    } catch (err) {
      return { error: networkOutcome(err).message || 'the server cannot be reached' };
    }
    const d = o.data;
    if (o.status === 200 && d && typeof d.text === 'string' && Array.isArray(d.digits)) return { text: d.text, digits: d.digits, frame };
    const e = (d && d.error) || {};
    return { error: e.message || 'the server answered ' + o.status };
  }

  function handleOutcome(o, read) {
    state.lastFailed = false;
    if (o.network) {
      state.lastFailed = true;
      resultBox.classList.add('stale');
      showStatus('error', 'Cannot reach the server' + (o.message ? ' (' + o.message + ')' : '') +
        '. Is it running?', { retry: true });
      return;
    }
    const err = (o.data && o.data.error) || {};
    const message = err.message || '';
    if (o.status === 200 && o.data && Array.isArray(o.data.probabilities)) {
      hideStatus();
      showResult(o.data, read);
      showWhy(o.data, o.inkBox);
      offerCorrection(o);
      return;
    }
    if (o.status === 400 && err.code === 'invalid_image' && /ink/i.test(message)) {
      resetResult('hint');
      showStatus('hint', state.upload
        ? 'No ink found in this image. Try a dark digit on a plain light background, or draw one.'
        : 'No ink found yet: draw a digit.');
      return;
    }
    state.lastFailed = true;
    resultBox.classList.add('stale');
    if (o.status === 401) {
      showStatus('warn', 'This server needs an API key to make predictions.', { key: true });
    } else if (o.status === 503) {
      showStatus('warn', 'The server is not ready' + (message ? ': ' + message : '') + '.', { retry: true });
    } else if (o.status === 413) {
      showStatus('error', 'This image is too large for the server' + (message ? ': ' + message : '') + '.');
    } else if (o.status >= 400 && o.status < 500) {
      showStatus('error', 'The server could not read this image' + (message ? ': ' + message : '') + '.');
    } else {
      showStatus('error', 'The server answered ' + o.status + (message ? ': ' + message : '') + '.', { retry: true });
    }
  }

  /* ---------- corrections: POST v1/feedback ---------- */

  const fixBox = $('fix');
  const fixAsk = $('fix-ask');
  const fixButtons = $('fix-buttons');
  const fixDone = $('fix-done');

  // Whether the server stores corrections, and what it keeps (one line).
  async function loadFeedbackInfo() {
    let info = null;
    try {
      const res = await fetch('v1/feedback/info', { cache: 'no-store' });
      if (res.ok) info = await res.json();
    } catch (_) {
      info = null;
    }
    state.feedback = info && info.enabled ? info : null;
    $('fix-note').textContent = state.feedback && state.feedback.stores ? state.feedback.stores : '';
    if (!state.feedback) hideCorrection();
  }

  function buildCorrectionButtons() {
    const labels = [];
    for (let k = 0; k < 10; k++) labels.push([k, String(k), 'It is a ' + k]);
    labels.push(['not_a_digit', 'not a digit', 'It is not a digit']);
    for (const [value, text, aria] of labels) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn-small';
      b.textContent = text;
      b.setAttribute('aria-label', aria);
      b.addEventListener('click', () => sendCorrection(value));
      fixButtons.appendChild(b);
    }
  }

  function hideCorrection() {
    state.shown = null;
    fixBox.hidden = true;
  }

  // After a settled answer of the digits 0-9 (not while the pen moves):
  // the row, for the picture that answer is about.
  function offerCorrection(o) {
    const d = o.data;
    if (!state.feedback || state.labels || state.pointerId !== null || state.dirty || !o.body ||
        d.probabilities.length !== 10) {
      if (state.dirty || state.pointerId !== null) hideCorrection();
      return;
    }
    state.shown = { body: o.body, answer: d };
    fixAsk.hidden = false;
    fixDone.textContent = '';
    fixBox.hidden = false;
  }

  async function sendCorrection(label) {
    const shown = state.shown;
    if (!shown) return;
    const d = shown.answer;
    const doc = {
      image: await dataUrl(shown.body),
      label,
      prediction: d.verdict === 'not_a_digit' ? 'not_a_digit' : d.prediction,
      probabilities: d.probabilities,
    };
    if (d.model && d.model.version) doc.version = d.model.version;
    let res = null;
    let data = null;
    try {
      res = await fetch('v1/feedback', {
        method: 'POST',
        headers: Object.assign({ 'Content-Type': 'application/json' }, authHeaders()),
        body: JSON.stringify(doc),
        cache: 'no-store',
      });
      try { data = await res.json(); } catch (_) { data = null; }
    } catch (_) {
      res = null;
    }
    if (state.shown !== shown) return; // the picture changed meanwhile
    const err = (data && data.error) || {};
    if (res && res.status === 201 && data && data.id) {
      fixAsk.hidden = true;
      fixDone.textContent = 'Thanks: stored as correction #' + data.id + ' (' +
        (label === 'not_a_digit' ? 'not a digit' : 'a ' + label) + ').';
    } else if (res && res.status === 429) {
      const wait = res.headers.get('Retry-After');
      fixDone.textContent = 'Too many corrections; try again in ' + (wait || 'a few') + ' s.';
    } else if (!res) {
      fixDone.textContent = 'The correction did not reach the server.';
    } else {
      fixDone.textContent = 'The correction was not stored' + (err.message ? ': ' + err.message : '') + '.';
    }
  }

  function retry() {
    state.dirty = true;
    send();
  }

  /* ---------- result, chart and the model's view ---------- */

  const labelOf = (k) => (state.labels && state.labels[k] !== undefined ? String(state.labels[k]) : String(k));

  function formatPct(p) {
    // Rounded answers never claim certainty: 1.0 reads ">99.9%", 0.0 "<0.1%".
    if (p > 0.999) return '>99.9%';
    if (p < 0.001) return '<0.1%';
    return (p * 100).toFixed(1) + '%';
  }

  function buildChart(n) {
    chart.textContent = '';
    for (let k = 0; k < n; k++) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = labelOf(k);
      label.title = labelOf(k);
      const track = document.createElement('span');
      track.className = 'track';
      track.setAttribute('aria-hidden', 'true');
      const fill = document.createElement('span');
      fill.className = 'fill';
      fill.style.display = 'block';
      track.appendChild(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      li.append(label, track, pct);
      chart.appendChild(li);
    }
    const longest = Math.max(...Array.from({ length: n }, (_, k) => labelOf(k).length));
    chart.style.setProperty('--label-width', longest > 2 ? Math.min(longest * 0.62, 8) + 'em' : '1.5em');
    buildClassSelect(n);
  }

  // "Why not…?": the answer's own class, or any class by index (v1/explain's
  // ?class=). Built with the chart, so both name the same classes.
  function buildClassSelect(n) {
    const keep = whyClass.value;
    whyClass.textContent = '';
    whyClass.append(new Option('its answer', ''));
    for (let k = 0; k < n; k++) whyClass.append(new Option(labelOf(k), String(k)));
    whyClass.value = keep !== '' && Number(keep) < n ? keep : '';
  }

  function setBars(probs, winners) {
    const rows = chart.children;
    for (let k = 0; k < rows.length; k++) {
      const p = probs ? Number(probs[k]) || 0 : 0;
      rows[k].classList.toggle('win', winners.includes(k));
      rows[k].querySelector('.fill').style.transform = 'scaleX(' + Math.max(0, Math.min(1, p)) + ')';
      rows[k].querySelector('.pct').textContent = probs ? formatPct(p) : '';
    }
  }

  function drawInput(pixels) {
    const ctx = inputView.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 28, 28);
    if (!Array.isArray(pixels) || pixels.length !== 784) return;
    const img = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.max(0, Math.min(255, pixels[i] | 0));
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  // A sentence (a verdict in words) is set smaller than a class name, and
  // wraps within the same fixed box.
  function showPrediction(text, sentence) {
    predictionEl.textContent = text;
    predictionEl.classList.toggle('long', !sentence && text.length > 2);
    predictionEl.classList.toggle('sentence', !!sentence);
  }

  // The two classes with the highest probabilities, best first.
  function topTwo(probs) {
    const order = probs.map((p, k) => [Number(p) || 0, k]).sort((a, b) => b[0] - a[0]);
    return [order[0][1], order[1][1]];
  }

  // What an answer says, in words: the headline, the line under it, what a
  // screen reader hears once it settles, and the bars to highlight. An
  // answer without a verdict (an older server) reads as a digit.
  function describe(d, read) {
    const p = d.probabilities;
    const k = d.prediction | 0;
    const label = typeof d.label === 'string' ? d.label : labelOf(k);
    if (d.verdict === 'unsure' && p.length > 1) {
      const [a, b] = topTwo(p);
      const head = 'Not sure: ' + labelOf(a) + ' or ' + labelOf(b) + '?';
      return { head, sentence: true, line: labelOf(a) + ': ' + formatPct(p[a]) + ', ' + labelOf(b) + ': ' + formatPct(p[b]),
        say: head, win: [a, b] };
    }
    if (d.verdict === 'not_a_digit') {
      const head = state.labels ? 'That doesn\'t look like any of the classes' : 'That doesn\'t look like a digit';
      return { head, sentence: true, line: state.labels ? 'Try one item, plain background' : 'Draw one digit, 0\u20139',
        say: head, win: [] };
    }
    if (d.verdict === 'several_digits') {
      if (read && !read.error) {
        const n = read.digits.length;
        const odd = read.digits.filter((x) => x && x.verdict === 'not_a_digit').length;
        return { head: read.text, line: odd ? n + ' parts, ' + odd + ' not a digit' : n + '-digit number',
          say: 'Several digits, read as ' + read.text, win: [] };
      }
      return { head: 'Several digits', sentence: true,
        line: read ? 'Could not read them: ' + read.error : 'Reading them\u2026', say: 'Several digits', win: [] };
    }
    const conf = typeof d.confidence === 'number' ? d.confidence : Number(p[k]) || 0;
    return { head: label, line: formatPct(conf) + ' confident',
      say: 'Prediction: ' + label + ', ' + formatPct(conf) + ' confidence', win: [k] };
  }

  function showResult(d, read) {
    if (chart.children.length !== d.probabilities.length) buildChart(d.probabilities.length);
    const v = describe(d, read);
    resultBox.classList.remove('stale');
    resultBox.dataset.state = 'ok';
    resultBox.dataset.class = String(d.prediction | 0);
    // Styles the verdicts that are not one digit (chart de-emphasised).
    if (typeof d.verdict === 'string') resultBox.dataset.verdict = d.verdict;
    else delete resultBox.dataset.verdict;
    showPrediction(v.head, v.sentence);
    confidenceEl.textContent = v.line;
    confidenceEl.title = v.line;
    timingEl.textContent = typeof d.elapsed_ms === 'number' ? 'answered in ' + d.elapsed_ms.toFixed(2) + ' ms' : '\u00a0';
    setBars(d.probabilities, v.win);
    drawInput(d.input);
    showBoxes(read);
    // Interim answers while the pen moves are shown, never spoken.
    if (state.pointerId === null && !state.dirty) announceSoon(v.say);
  }

  // The digits v1/read found, outlined on the pad: each box is in pixels of
  // the posted image, placed through the frame that image has in the pad,
  // in percent so it follows the pad's size without repainting.
  function showBoxes(read) {
    clearBoxes();
    if (!read || read.error || !read.frame) return;
    const f = read.frame;
    for (const g of read.digits) {
      if (!g || !Array.isArray(g.box) || g.box.length !== 4) continue;
      const [x, y, w, h] = g.box.map(Number);
      const el = document.createElement('span');
      el.className = 'digit-box' + (g.verdict && g.verdict !== 'digit' ? ' doubtful' : '');
      el.style.left = (f.left + x * f.scale) * 100 + '%';
      el.style.top = (f.top + y * f.scale) * 100 + '%';
      el.style.width = w * f.scale * 100 + '%';
      el.style.height = h * f.scale * 100 + '%';
      el.dataset.label = g.verdict === 'not_a_digit' ? '?' : labelOf(g.prediction | 0);
      boxesEl.appendChild(el);
    }
  }
  function clearBoxes() {
    if (boxesEl.firstChild) boxesEl.textContent = '';
  }

  // The live region speaks settled answers only, after ANNOUNCE_DELAY_MS
  // with the pen up. Emptied when the pen goes down again, so the next
  // answer is spoken even when its words are the same.
  function announceSoon(text) {
    // The same picture asked again for its explanation: an unchanged
    // answer is already in the live region, and is not said twice.
    const again = state.askedAgain;
    state.askedAgain = false;
    if (again && text === announceEl.textContent) return;
    clearTimeout(state.announceTimer);
    state.announceTimer = setTimeout(() => { state.announceTimer = 0; announceEl.textContent = text; }, ANNOUNCE_DELAY_MS);
  }
  function quiet() {
    state.askedAgain = false;
    clearTimeout(state.announceTimer);
    state.announceTimer = 0;
    announceEl.textContent = '';
  }

  function resetResult(how) {
    resultBox.classList.remove('stale');
    resultBox.dataset.state = how;
    delete resultBox.dataset.class;
    delete resultBox.dataset.verdict;
    showPrediction('?');
    confidenceEl.textContent = how === 'hint' ? 'Nothing to read yet' : 'Draw to start';
    confidenceEl.title = '';
    timingEl.textContent = '\u00a0';
    setBars(null, []);
    drawInput(null);
    clearBoxes();
    clearWhy();
    quiet();
    hideCorrection();
  }

  /* ---------- why: the saliency heat map and the feature maps ---------- */

  // The heat map's colours, the same as .swatch-for / .swatch-against in
  // style.css: red for, blue against (told apart by most colour-blind eyes).
  const HEAT_FOR = [220, 38, 38];
  const HEAT_AGAINST = [37, 99, 235];
  const LAYER_WORDS = ['first', 'second'];

  // The ink's bounding box on the pad, in 0..1 pad units: the strokes'
  // points widened by half the pen. null without strokes.
  function strokesBox() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const st of state.strokes) {
      for (const [x, y] of st) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    if (x0 > x1) return null;
    const r = LINE_WIDTH / 2;
    return { x0: Math.max(0, x0 - r), y0: Math.max(0, y0 - r), x1: Math.min(1, x1 + r), y1: Math.min(1, y1 + r) };
  }

  // An uploaded picture's ink, roughly, in pad units: the pixels of a small
  // copy far from the background (the median of its border), through the
  // frame the picture has in the pad. The server's crop is finer (it drops
  // specks, knows paper from ink); this only places the heat map.
  const scratch = document.createElement('canvas');
  function imageInkBox(bitmap) {
    const w = bitmap.width;
    const h = bitmap.height;
    const k = Math.min(1, 140 / Math.max(w, h));
    const cw = Math.max(1, Math.round(w * k));
    const ch = Math.max(1, Math.round(h * k));
    scratch.width = cw;
    scratch.height = ch;
    const ctx = scratch.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, cw, ch);
    ctx.drawImage(bitmap, 0, 0, cw, ch);
    const px = ctx.getImageData(0, 0, cw, ch).data;
    const lum = new Float32Array(cw * ch);
    for (let i = 0; i < lum.length; i++) lum[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
    const border = [];
    for (let x = 0; x < cw; x++) border.push(lum[x], lum[(ch - 1) * cw + x]);
    for (let y = 0; y < ch; y++) border.push(lum[y * cw], lum[y * cw + cw - 1]);
    border.sort((a, b) => a - b);
    const bg = border[border.length >> 1];
    let far = 0;
    for (const v of lum) far = Math.max(far, Math.abs(v - bg));
    if (far < 32) return null;
    let x0 = cw, y0 = ch, x1 = -1, y1 = -1;
    for (let i = 0; i < lum.length; i++) {
      if (Math.abs(lum[i] - bg) <= far / 2) continue;
      const x = i % cw;
      const y = (i - x) / cw;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const f = fitFrame(w, h);
    const sx = (w / cw) * f.scale;
    const sy = (h / ch) * f.scale;
    return { x0: f.left + x0 * sx, y0: f.top + y0 * sy, x1: f.left + (x1 + 1) * sx, y1: f.top + (y1 + 1) * sy };
  }

  // The ink's bounding box in the 28x28 the model saw, in its pixels (the
  // faint anti-aliased rim counts: it is the pen's edge). null when blank.
  function inputBox(pixels) {
    if (!Array.isArray(pixels) || pixels.length !== 784) return null;
    let x0 = 28, y0 = 28, x1 = -1, y1 = -1;
    for (let i = 0; i < 784; i++) {
      if ((pixels[i] | 0) < 16) continue;
      const x = i % 28;
      const y = (i - x) / 28;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
  }

  // The saliency as a 28x28 heat map: red where a pixel speaks for the
  // explained class, blue where against, opacity by |value| over this
  // answer's largest |value| (its square root, so weaker evidence still
  // shows). Kept on a 28x28 canvas and drawn from there onto both views.
  const heatCanvas = document.createElement('canvas');
  heatCanvas.width = heatCanvas.height = 28;
  function paintHeat(saliency) {
    const ctx = heatCanvas.getContext('2d');
    const img = ctx.createImageData(28, 28);
    let most = 0;
    for (const v of saliency) most = Math.max(most, Math.abs(Number(v) || 0));
    for (let i = 0; most > 0 && i < 784; i++) {
      const v = Number(saliency[i]) || 0;
      const rgb = v > 0 ? HEAT_FOR : HEAT_AGAINST;
      img.data[4 * i] = rgb[0];
      img.data[4 * i + 1] = rgb[1];
      img.data[4 * i + 2] = rgb[2];
      img.data[4 * i + 3] = Math.round(235 * Math.sqrt(Math.abs(v) / most));
    }
    ctx.putImageData(img, 0, 0);
  }

  // Lays the heat map on the 28x28 view, pixel for pixel, and on the pad.
  // The pad has no exact inverse of the server's framing (the ink's
  // bounding box fitted into 20x20, then centred by its centre of mass, with
  // specks dropped and strokes thinned or thickened), so this uses what that
  // framing keeps: the ink's box on the pad matches the ink's box in the
  // 28x28, at one scale (the long sides) with the centres together. An
  // approximation, close enough to see which strokes count.
  function paintWhy() {
    const ictx = inputWhy.getContext('2d');
    ictx.clearRect(0, 0, 28, 28);
    const pctx = padWhy.getContext('2d');
    pctx.clearRect(0, 0, padWhy.width, padWhy.height);
    const w = state.why;
    if (!w) return;
    ictx.drawImage(heatCanvas, 0, 0);
    const a = w.inkBox;
    const b = inputBox(w.input);
    if (!a || !b) return;
    const s = Math.max(a.x1 - a.x0, a.y1 - a.y0) / Math.max(b.x1 - b.x0, b.y1 - b.y0);
    const left = (a.x0 + a.x1) / 2 - ((b.x0 + b.x1) / 2) * s;
    const top = (a.y0 + a.y1) / 2 - ((b.y0 + b.y1) / 2) * s;
    const side = padWhy.width;
    pctx.imageSmoothingEnabled = true;
    pctx.imageSmoothingQuality = 'high';
    pctx.drawImage(heatCanvas, left * side, top * side, 28 * s * side, 28 * s * side);
  }

  function decodeBase64(text) {
    if (typeof text !== 'string') return null;
    try {
      const bin = atob(text);
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    } catch (_) {
      return null;
    }
  }

  // One canvas a channel, w x h backing pixels (CSS scales them up, crisp).
  // Kept while the shape stays, so the grid does not flicker as answers come.
  function fitTiles(el, n, w, h) {
    const first = el.firstElementChild;
    if (el.children.length === n && first && first.width === w && first.height === h) return;
    el.textContent = '';
    for (let k = 0; k < n; k++) {
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      el.appendChild(c);
    }
  }

  // The first two convolutions' feature maps as greyscale tiles, one a
  // channel, each channel scaled by the server so 255 is its own maximum.
  // A layer the answer lacks (a model with one convolution) is hidden.
  function showMaps(maps) {
    for (let i = 0; i < LAYER_WORDS.length; i++) {
      const m = maps.find((x) => x && x.index === i);
      const shape = m && Array.isArray(m.shape) && m.shape.length === 3 ? m.shape.map((v) => v | 0) : [0, 0, 0];
      const [n, h, w] = shape;
      const bytes = n > 0 ? decodeBase64(m.data) : null;
      const ok = !!bytes && bytes.length === n * h * w;
      $('layer-' + i).hidden = !ok;
      if (!ok) continue;
      const tiles = $('tiles-' + i);
      fitTiles(tiles, n, w, h);
      for (let k = 0; k < n; k++) {
        const ctx = tiles.children[k].getContext('2d');
        const img = ctx.createImageData(w, h);
        for (let j = 0; j < w * h; j++) {
          const v = bytes[k * w * h + j];
          img.data[4 * j] = img.data[4 * j + 1] = img.data[4 * j + 2] = v;
          img.data[4 * j + 3] = 255;
        }
        ctx.putImageData(img, 0, 0);
      }
      $('layer-' + i + '-info').textContent = (m.name || 'convolution') + ': ' + n + ' maps of ' + w + '\u00a0×\u00a0' + h;
      tiles.setAttribute('aria-label', n + ' feature maps of the ' + LAYER_WORDS[i] + ' layer, ' + w + ' by ' + h + ' pixels each');
    }
  }

  // An answer's explanation on the page: heat maps, their key, the tiles.
  // An answer without one (a predict answer already on its way when the
  // switch was turned on) leaves the last explanation until the next.
  function showWhy(d, inkBox) {
    if (!whyToggle.checked || !Array.isArray(d.saliency) || d.saliency.length !== 784) return;
    paintHeat(d.saliency);
    state.why = { input: d.input, inkBox: inkBox || null };
    paintWhy();
    const label = typeof d.explained_label === 'string' ? d.explained_label : labelOf(d.explained_class | 0);
    whyFor.textContent = 'Red: for ' + label;
    whyAgainst.textContent = 'blue: against ' + label;
    showMaps(Array.isArray(d.feature_maps) ? d.feature_maps : []);
  }

  // No explanation: overlays cleared, tiles blanked (kept, so the panel
  // keeps its size), the key back to its general words.
  function clearWhy() {
    state.why = null;
    paintWhy();
    for (const t of whyPanel.querySelectorAll('.tiles canvas')) t.getContext('2d').clearRect(0, 0, t.width, t.height);
    whyFor.textContent = 'Red: for the answer';
    whyAgainst.textContent = 'blue: against it';
  }

  // The picture asked again for its explanation (the switch turned on,
  // another class picked): at once, and not announced again when unchanged.
  function askAgain() {
    if (!whyToggle.checked || !hasPicture()) return;
    state.askedAgain = true;
    requestPrediction(true);
  }

  /* ---------- status line: hints, errors, API key ---------- */

  function showStatus(kind, text, opts) {
    const o = opts || {};
    statusBox.className = 'status ' + kind;
    statusText.textContent = text;
    retryBtn.hidden = !o.retry;
    keyForm.hidden = !o.key;
    if (o.key) {
      keyInput.value = apiKey();
      keyInput.focus();
    }
  }
  function hideStatus() {
    statusBox.className = 'status empty';
    statusText.textContent = '';
    retryBtn.hidden = true;
    keyForm.hidden = true;
  }

  /* ---------- actions ---------- */

  function hasPicture() { return state.strokes.length > 0 || !!state.upload; }

  function updateControls() {
    undoBtn.disabled = state.strokes.length === 0;
    clearBtn.disabled = !hasPicture();
  }

  // Forgets the pending work for the old picture; an answer in flight for it
  // is dropped when it arrives (its generation is old).
  function dropPending() {
    clearBoxes();
    quiet();
    state.gen++;
    state.dirty = false;
    clearTimeout(state.timer);
    state.timer = 0;
    state.pointerId = null;
    state.current = null;
  }

  function clearAll() {
    dropPending();
    state.strokes = [];
    state.upload = null;
    paint();
    resetResult('empty');
    hideStatus();
    updateControls();
    setBusy();
  }

  function undo() {
    if (state.strokes.length === 0) return;
    dropPending();
    state.strokes.pop();
    paint();
    updateControls();
    if (hasPicture()) {
      requestPrediction(true);
    } else {
      resetResult('empty');
      hideStatus();
      setBusy();
    }
  }

  // The Content-Type for a file: the browser's guess, else its extension.
  // Never application/octet-stream, which the server takes as raw 28x28 pixels.
  function imageType(file) {
    if (file.type && file.type.startsWith('image/')) return file.type;
    const ext = (/\.([a-z0-9]+)$/i.exec(file.name || '') || [])[1];
    const byExt = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', bmp: 'image/bmp',
      pgm: 'image/x-portable-graymap', ppm: 'image/x-portable-pixmap', pnm: 'image/x-portable-anymap' };
    return byExt[(ext || '').toLowerCase()] || 'image/png';
  }

  async function classifyFile(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith('image/')) {
      showStatus('error', '"' + file.name + '" is not an image (' + file.type + ').');
      return;
    }
    dropPending();
    state.strokes = [];
    // Busy from now on: the answer for this file is on its way.
    state.dirty = true;
    setBusy();
    const gen = state.gen;
    let bitmap = null;
    try { bitmap = await createImageBitmap(file); } catch (_) { bitmap = null; /* the server may still read it */ }
    if (gen !== state.gen) return; // cleared or replaced while the file was read
    state.upload = { blob: file, type: imageType(file), name: file.name, bitmap,
      inkBox: bitmap ? imageInkBox(bitmap) : null };
    paint();
    updateControls();
    hideStatus();
    requestPrediction(true);
  }

  undoBtn.addEventListener('click', undo);
  clearBtn.addEventListener('click', () => { clearAll(); canvas.focus(); });
  $('upload').addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    const f = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    classifyFile(f);
  });
  retryBtn.addEventListener('click', retry);
  // "Show why": on, answers come from v1/explain and the panel opens; off,
  // the page is exactly as without it (predict only, nothing overlaid).
  whyToggle.addEventListener('change', () => {
    whyPanel.hidden = !whyToggle.checked;
    if (whyToggle.checked) askAgain();
    else clearWhy();
  });
  whyClass.addEventListener('change', askAgain);
  keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return;
    try { sessionStorage.setItem(KEY_STORE, key); } catch (_) { /* kept for this request only */ }
    hideStatus();
    loadModel();
    if (hasPicture()) retry();
  });

  document.addEventListener('keydown', (e) => {
    const t = e.target;
    // Keys typed into a field are its own; a switch ("Show why") takes none of these.
    if (t && ((t.tagName === 'INPUT' && t.type !== 'checkbox') || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    if (e.key === 'Escape' && hasPicture()) {
      e.preventDefault();
      clearAll();
    } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && (e.key === 'z' || e.key === 'Z')) {
      e.preventDefault();
      undo();
    }
  });

  // Drag and drop anywhere on the page, and paste from the clipboard.
  const carriesFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dragging');
  });
  window.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) document.body.classList.remove('dragging');
  });
  window.addEventListener('drop', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    document.body.classList.remove('dragging');
    classifyFile(e.dataTransfer.files[0]);
  });
  document.addEventListener('paste', (e) => {
    const items = (e.clipboardData && e.clipboardData.files) || [];
    const f = Array.from(items).find((x) => x.type.startsWith('image/'));
    if (f) { e.preventDefault(); classifyFile(f); }
  });

  /* ---------- model details in the footer ---------- */

  function firstNumber(...vals) {
    for (const v of vals) if (typeof v === 'number' && isFinite(v)) return v;
    return null;
  }

  async function loadModel() {
    let res;
    try {
      res = await fetch(withModel('v1/model'), { headers: authHeaders(), cache: 'no-store' });
    } catch (_) {
      modelInfo.textContent = 'Model: the server cannot be reached.';
      return;
    }
    if (res.status === 401) {
      modelInfo.textContent = 'Model: details need an API key.';
      if (keyForm.hidden) showStatus('warn', 'This server needs an API key.', { key: true });
      return;
    }
    let m = null;
    try { m = await res.json(); } catch (_) { m = null; }
    if (!res.ok || !m || typeof m !== 'object') {
      modelInfo.textContent = 'Model: details unavailable (HTTP ' + res.status + ').';
      return;
    }
    const meta = m.metadata || m.meta || {};
    const training = m.training || m.recipe || meta.recipe || {};
    let name = m.name || meta.name;
    if (!name && Array.isArray(m.models)) name = m.models.map((x) => x && x.name).filter(Boolean).join(' + ');
    const version = m.version || meta.version;
    let acc = firstNumber(m.test_accuracy, training.test_accuracy, meta.test_accuracy,
      m.accuracy && m.accuracy.test);
    if (acc !== null && acc <= 1) acc *= 100;
    const parts = ['Model ' + (name || 'unnamed')];
    if (version) parts.push('version ' + version);
    if (acc !== null) parts.push(acc.toFixed(2) + '% test accuracy');
    modelInfo.textContent = parts.join(' · ');

    const labels = [m.labels, m.class_labels, meta.labels, m.output && m.output.labels].find(Array.isArray);
    const digits = labels && labels.every((l, i) => String(l) === String(i));
    if (labels && !digits) {
      state.labels = labels.map(String);
      $('draw-title').textContent = 'Your drawing';
      document.querySelector('.tagline').textContent = 'Classes: ' + state.labels.join(', ') + '.';
      pad.querySelector('.pad-hint').textContent = 'Draw here, or drop an image';
      buildChart(state.labels.length);
      if (resultBox.dataset.state !== 'ok') resetResult(resultBox.dataset.state || 'empty');
    }
  }

  /* ---------- several models (a model repository): the picker ---------- */

  const modelPick = $('model-pick');
  const modelSelect = $('model-select');
  const plainText = {
    title: $('draw-title').textContent,
    tagline: document.querySelector('.tagline').textContent,
    hint: pad.querySelector('.pad-hint').textContent,
  };

  async function loadModels() {
    let m = null;
    try {
      const res = await fetch('v1/models', { headers: authHeaders(), cache: 'no-store' });
      if (res.ok) m = await res.json();
    } catch (_) { m = null; }
    if (!m || !Array.isArray(m.models) || m.models.length < 2) return;
    modelSelect.replaceChildren(...m.models.map((x) => {
      const o = document.createElement('option');
      o.value = x.name === m.default ? '' : x.name;
      o.textContent = x.name + (x.name === m.default ? ' (default)' : '');
      return o;
    }));
    modelSelect.value = state.model;
    modelPick.hidden = false;
  }

  modelSelect.addEventListener('change', () => {
    state.model = modelSelect.value;
    // back to digits until the model says otherwise (loadModel)
    state.labels = null;
    $('draw-title').textContent = plainText.title;
    document.querySelector('.tagline').textContent = plainText.tagline;
    pad.querySelector('.pad-hint').textContent = plainText.hint;
    buildChart(10);
    state.gen++; // an answer of the other model is not shown
    if (hasPicture()) requestPrediction(true);
    else resetResult('empty');
    loadModel();
  });

  /* ---------- start ---------- */

  buildChart(10);
  whyPanel.hidden = !whyToggle.checked;
  resetResult('empty');
  updateControls();
  if (typeof ResizeObserver === 'function') new ResizeObserver(fitCanvas).observe(pad);
  else window.addEventListener('resize', fitCanvas);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', paint);
  fitCanvas();
  loadModel();
  loadModels();
  buildCorrectionButtons();
  loadFeedbackInfo();
})();
