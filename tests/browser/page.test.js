// page.test.js: the drawing page in a real browser. Starts the real
// mnist-server on 127.0.0.1 (port 0), drives Debian's chromium through
// playwright-core, draws digits as pointer strokes and checks what the page
// shows. Never downloads a browser; fails (does not skip) without one.
//
// What the server says about letters, scribbles and numbers (verdicts and
// POST /v1/read, API.md) is checked against the real server: those checks
// fail, never skip, while the server lacks the feature. The page's side of
// each verdict is also checked on answers stubbed per the contract.
//
// Usage: node page.test.js --server PATH/mnist-server [--out DIR]
// Environment: NODE_PATH (where playwright-core is installed), MNIST_DATA_DIR
// (MNIST test images to upload), MNIST_SOURCE_DIR + UPDATE_SCREENSHOT=1
// (refresh docs/screenshot.png).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawn } = require('child_process');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SETTLE_MS = 15000;

/* ---------- harness: same contract as tests/check.h ---------- */

let passed = 0;
let failed = 0;
function check(ok, what, detail) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log('FAIL: ' + what + (detail !== undefined ? ' (' + detail + ')' : ''));
  }
  return ok;
}
function finish() {
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exitCode = failed || !passed ? 1 : 0;
}
function fatal(msg) {
  console.log('FAIL: ' + msg);
  failed++;
  finish();
  process.exit(1);
}

function parseArgs(argv) {
  const o = { server: process.env.MNIST_SERVER || '', out: process.env.MNIST_BROWSER_OUT || process.cwd() };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--server') o.server = argv[++i];
    else if (argv[i] === '--out') o.out = argv[++i];
    else fatal('unknown argument ' + argv[i] + ' (usage: node page.test.js --server PATH [--out DIR])');
  }
  return o;
}

/* ---------- the server under test ---------- */

// Starts mnist-server on a free loopback port; resolves with {proc, origin}
// once it has printed the port it bound.
function startServer(bin, extraArgs) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['--host', '127.0.0.1', '--port', '0', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => fail('no port printed within 30 s'), 30000);
    function fail(why) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(bin + ': ' + why + '; output:\n' + out.slice(-2000)));
    }
    function scan(chunk) {
      out += chunk.toString();
      if (done) return;
      const m = out.match(/127\.0\.0\.1:(\d{2,5})\b/) || out.match(/\bport\s*[=:]?\s*(\d{2,5})\b/i) ||
        out.match(/listening on\D*(\d{2,5})\b/i);
      if (m && Number(m[1]) > 0) {
        done = true;
        clearTimeout(timer);
        resolve({ proc, origin: 'http://127.0.0.1:' + m[1], output: () => out });
      }
    }
    proc.stdout.on('data', scan);
    proc.stderr.on('data', scan);
    proc.on('error', (e) => fail(e.message));
    proc.on('exit', (code, sig) => fail('exited early (' + (sig || code) + ')'));
  });
}

function stopServer(s) {
  if (!s || s.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { s.proc.kill('SIGKILL'); }, 10000);
    s.proc.once('exit', () => { clearTimeout(t); resolve(); });
    s.proc.kill('SIGTERM');
  });
}

/* ---------- images ---------- */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// An 8-bit greyscale PNG of w x h pixels.
function greyPng(pixels, w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = pixels[y * w + x];
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Test image i of MNIST (28x28, white ink on black) and its label.
function mnistTestDigit(dir, i) {
  const read = (name) => {
    for (const f of [name, name + '.gz']) {
      const p = path.join(dir, f);
      if (fs.existsSync(p)) return f.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(p)) : fs.readFileSync(p);
    }
    throw new Error('no ' + name + ' in ' + dir);
  };
  const images = read('t10k-images-idx3-ubyte');
  const labels = read('t10k-labels-idx1-ubyte');
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('bad IDX magic in ' + dir);
  return { pixels: images.subarray(16 + 784 * i, 16 + 784 * (i + 1)), label: labels[8 + i] };
}

/* ---------- digits as a person draws them ---------- */

// Strokes in a unit box (x right, y down), each a list of points sampled
// along the pen's path in drawing order.
function line(a, b, n) {
  return Array.from({ length: n + 1 }, (_, i) => [a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n]);
}
function polyline(pts, nPerSegment) {
  const out = [pts[0]];
  for (let i = 1; i < pts.length; i++) out.push(...line(pts[i - 1], pts[i], nPerSegment).slice(1));
  return out;
}
function curve(f, t0, t1, n) {
  return Array.from({ length: n + 1 }, (_, i) => f(t0 + (t1 - t0) * i / n));
}
const DIGITS = {
  // Counter-clockwise from the top, overlapping a little where it closes.
  0: [curve((t) => [0.5 - 0.3 * Math.sin(t), 0.5 - 0.46 * Math.cos(t)], 0, 2.1 * Math.PI, 40)],
  // A slightly slanted downstroke.
  1: [line([0.56, 0.04], [0.46, 0.96], 16)],
  // Open-top 4: down and across, then the long vertical.
  4: [polyline([[0.22, 0.02], [0.12, 0.6], [0.9, 0.6]], 10), line([0.7, 0.08], [0.7, 0.98], 14)],
  // Top bar, then the diagonal.
  7: [polyline([[0.12, 0.06], [0.88, 0.06], [0.42, 0.96]], 12)],
  // One stroke: a lemniscate-like figure eight, top loop a little smaller.
  8: [curve((t) => [0.5 + 0.27 * Math.sin(2 * t) * (t < Math.PI / 2 || t > 1.5 * Math.PI ? 0.85 : 1),
    0.5 - 0.47 * Math.cos(t) + (t < Math.PI / 2 || t > 1.5 * Math.PI ? 0.04 : 0)], 0, 2 * Math.PI, 48)],
  // The 2 drawn into an uploaded file: hook, diagonal, base.
  2: [[...curve((t) => [0.5 - 0.36 * Math.cos(t), 0.3 - 0.26 * Math.sin(t)], 0.15 * Math.PI, 1.05 * Math.PI, 14),
    ...polyline([[0.84, 0.33], [0.12, 0.94], [0.9, 0.94]], 10).slice(1)]],
};

// Shapes that are not digits, in the same unit box.
const SHAPES = {
  // A capital A: two slanted strokes, then the bar.
  A: [polyline([[0.1, 0.96], [0.5, 0.04], [0.9, 0.96]], 12), line([0.27, 0.62], [0.73, 0.62], 8)],
  // A dense tangle in one stroke: sines of unrelated frequencies.
  scribble: [curve((t) => [0.5 + 0.3 * Math.sin(2.1 * t) + 0.16 * Math.sin(7.3 * t),
    0.5 + 0.3 * Math.cos(1.7 * t) + 0.16 * Math.sin(5.9 * t)], 0, 14, 280)],
};

// Zhang & Suen's thinning ("A fast parallel algorithm for thinning digital
// patterns", CACM 1984), in place: ink (1) pixels peeled off in two
// alternating sub-steps until lines are one pixel wide.
function thin(img, w, h) {
  const at = (x, y) => (x >= 0 && y >= 0 && x < w && y < h ? img[y * w + x] : 0);
  for (let changed = true; changed;) {
    changed = false;
    for (const step of [0, 1]) {
      const gone = [];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (!img[y * w + x]) continue;
          // P2..P9: the neighbours clockwise from north.
          const n = [at(x, y - 1), at(x + 1, y - 1), at(x + 1, y), at(x + 1, y + 1),
            at(x, y + 1), at(x - 1, y + 1), at(x - 1, y), at(x - 1, y - 1)];
          const b = n.reduce((a, v) => a + v, 0);
          let a = 0;
          for (let i = 0; i < 8; i++) if (!n[i] && n[(i + 1) % 8]) a++;
          const [p2, , p4, , p6, , p8] = n;
          const keep = step === 0 ? p2 * p4 * p6 || p4 * p6 * p8 : p2 * p4 * p8 || p2 * p6 * p8;
          if (b >= 2 && b <= 6 && a === 1 && !keep) gone.push(y * w + x);
        }
      }
      for (const i of gone) img[i] = 0;
      if (gone.length) changed = true;
    }
  }
}

// A 28x28 MNIST digit as pen strokes: its skeleton walked from line ends
// (a loop from anywhere), each walk a stroke in the unit box. Each walk
// ends on an already drawn neighbour, so branches meet and loops close.
function skeletonStrokes(pixels) {
  const img = Uint8Array.from(pixels, (v) => (v >= 128 ? 1 : 0));
  thin(img, 28, 28);
  const near = (i) => {
    const x = i % 28;
    const y = (i - x) / 28;
    const out = [];
    // Edge neighbours first: a walk prefers them to diagonals.
    for (const [dx, dy] of [[0, -1], [1, 0], [0, 1], [-1, 0], [1, -1], [1, 1], [-1, 1], [-1, -1]])
      if (x + dx >= 0 && x + dx < 28 && y + dy >= 0 && y + dy < 28 && img[(y + dy) * 28 + x + dx]) out.push((y + dy) * 28 + x + dx);
    return out;
  };
  const left = new Set([...img.keys()].filter((i) => img[i]));
  const strokes = [];
  while (left.size) {
    const open = [...left];
    let cur = open.find((i) => near(i).filter((j) => left.has(j)).length === 1);
    if (cur === undefined) cur = open[0];
    const path = [cur];
    left.delete(cur);
    for (;;) {
      const next = near(cur).find((j) => left.has(j));
      if (next === undefined) break;
      path.push(next);
      left.delete(next);
      cur = next;
    }
    const join = near(cur).find((j) => !path.slice(-3).includes(j));
    if (join !== undefined) path.push(join);
    if (path.length >= 3) strokes.push(path.map((i) => [(i % 28 + 0.5) / 28, (Math.floor(i / 28) + 0.5) / 28]));
  }
  return strokes;
}

/* ---------- page helpers ---------- */

async function canvasBox(page) {
  const b = await page.locator('#canvas').boundingBox();
  if (!b) throw new Error('the drawing canvas is not visible');
  return b;
}

// Draws digit d with the mouse into a box of the canvas: left/top/size as
// fractions of the canvas side.
function drawDigit(page, d, box) {
  return drawStrokes(page, DIGITS[d], box);
}
async function drawStrokes(page, strokes, box) {
  const c = await canvasBox(page);
  const at = (p) => [c.x + (box.left + p[0] * box.size) * c.width, c.y + (box.top + p[1] * box.size) * c.height];
  for (const stroke of strokes) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const [x, y] = at(p);
      await page.mouse.move(x, y, { steps: 2 });
    }
    await page.mouse.up();
  }
}

// The same with a finger, through the DevTools protocol's touch input.
async function touchDigit(page, cdp, d, box) {
  const c = await canvasBox(page);
  const at = (p) => ({ x: c.x + (box.left + p[0] * box.size) * c.width, y: c.y + (box.top + p[1] * box.size) * c.height });
  for (const stroke of DIGITS[d]) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(stroke[0])] });
    for (const p of stroke.slice(1))
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(p)] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
}

// Waits until no prediction is pending or in flight, then reads the result.
async function settled(page) {
  await page.waitForFunction(() => document.getElementById('result').getAttribute('aria-busy') === 'false',
    null, { timeout: SETTLE_MS });
  return page.evaluate(() => {
    const r = document.getElementById('result');
    const rows = Array.from(document.querySelectorAll('#chart li'));
    const iv = document.getElementById('input-view').getContext('2d').getImageData(0, 0, 28, 28).data;
    let ink = 0;
    for (let i = 0; i < iv.length; i += 4) if (iv[i] > 0) ink++;
    const pad = document.getElementById('canvas');
    const pd = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
    let padInk = 0;
    for (let i = 3; i < pd.length; i += 4) if (pd[i] > 0) padInk++;
    const status = document.getElementById('status');
    const cb = pad.getBoundingClientRect();
    const boxes = Array.from(document.querySelectorAll('#boxes .digit-box')).map((el) => {
      const b = el.getBoundingClientRect();
      return { label: el.dataset.label, left: (b.left - cb.left) / cb.width, top: (b.top - cb.top) / cb.height,
        width: b.width / cb.width, height: b.height / cb.height };
    });
    return {
      state: r.dataset.state,
      verdict: r.dataset.verdict,
      boxes,
      cls: r.dataset.class,
      prediction: document.getElementById('prediction').textContent,
      confidence: document.getElementById('confidence').textContent,
      winners: rows.map((li, k) => (li.classList.contains('win') ? k : -1)).filter((k) => k >= 0),
      pcts: rows.map((li) => li.querySelector('.pct').textContent),
      inputInk: ink,
      padInk,
      status: document.getElementById('status-text').textContent,
      statusKind: status.className.replace(/\b(status|empty)\b/g, '').trim(),
      retryVisible: !document.getElementById('retry').hidden,
      keyFormVisible: !document.getElementById('key-form').hidden,
      undoDisabled: document.getElementById('undo').disabled,
      clearDisabled: document.getElementById('clear').disabled,
      announce: document.getElementById('announce').textContent,
    };
  });
}

// Records what the live region says from now on, and whether the pen (a
// mouse button, a finger) was down when it said it.
async function listen(page) {
  await page.evaluate(() => {
    if (!window.spoken) {
      const el = document.getElementById('announce');
      new MutationObserver(() => window.spoken.push({ text: el.textContent, penDown: window.penDown }))
        .observe(el, { childList: true, characterData: true, subtree: true });
      addEventListener('pointerdown', () => { window.penDown = true; }, true);
      addEventListener('pointerup', () => { window.penDown = false; }, true);
    }
    window.spoken = [];
  });
}
// What it said since listen(), once it has had time to speak (the page
// waits 700 ms with the pen up).
async function spoken(page) {
  await page.waitForTimeout(1500);
  return page.evaluate(() => window.spoken.filter((s) => s.text !== ''));
}

// The page's answer in a failure message: what it shows, and the verdict
// it had (none: a server without verdicts).
function shown(r) {
  return 'shows "' + r.prediction + '" / "' + r.confidence + '", verdict ' + (r.verdict || '(none in the answer)') +
    ', ' + r.boxes.length + ' boxes' + (r.status ? ', status "' + r.status + '"' : '');
}

function checkPrediction(r, expected, what) {
  const ok = check(r.state === 'ok' && r.prediction === String(expected), what + ': page shows ' + expected,
    'state ' + r.state + ', shows "' + r.prediction + '" ' + r.confidence + ', status "' + r.status + '"');
  check(r.winners.length === 1 && r.winners[0] === Number(expected), what + ': bar ' + expected + ' highlighted',
    'highlighted ' + JSON.stringify(r.winners));
  check(r.inputInk > 20, what + ': the 28x28 model input is drawn', r.inputInk + ' lit pixels');
  check(/^[<>]?\d+(\.\d)?% confident$/.test(r.confidence), what + ': confidence shown', r.confidence);
  return ok;
}

function checkReset(r, what) {
  check(r.state === 'empty' && r.prediction === '?', what + ': result back to its empty state',
    r.state + ' "' + r.prediction + '"');
  check(r.pcts.every((p) => p === '') && r.winners.length === 0, what + ': chart emptied', JSON.stringify(r.pcts));
  check(r.padInk === 0, what + ': canvas blank', r.padInk + ' inked pixels');
  check(r.inputInk === 0, what + ': model view blank', r.inputInk);
  check(r.undoDisabled && r.clearDisabled, what + ': Undo and Clear disabled');
  check(r.status === '', what + ': no message left', r.status);
}

// What "Show why" shows: on the pad, the heat map's pixels against the
// ink's (both canvases have the same backing size); on the 28x28 view, the
// heat map's pixels against the lit ones of the model's input; the feature
// map tiles of each layer (how many, how many not black, a fingerprint of
// their pixels, whether on screen) and the panel.
async function whyView(page) {
  return page.evaluate(() => {
    const alpha = (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const a = new Uint8Array(d.length / 4);
      for (let i = 0; i < a.length; i++) a[i] = d[4 * i + 3];
      return a;
    };
    const pad = document.getElementById('canvas');
    const over = document.getElementById('pad-why');
    const ink = alpha(pad);
    const heat = over.width === pad.width && over.height === pad.height ? alpha(over) : new Uint8Array(ink.length);
    const side = pad.width;
    let inkN = 0, heatN = 0, heatOnInk = 0;
    let x0 = side, y0 = side, x1 = -1, y1 = -1;
    for (let i = 0; i < ink.length; i++) {
      if (!ink[i]) continue;
      inkN++;
      const x = i % side;
      const y = (i - x) / side;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    // Heat near the ink: inside its box widened by a tenth of the pad.
    const m = side / 10;
    let heatNear = 0;
    for (let i = 0; i < heat.length; i++) {
      if (!heat[i]) continue;
      heatN++;
      if (ink[i]) heatOnInk++;
      const x = i % side;
      const y = (i - x) / side;
      if (x >= x0 - m && x <= x1 + m && y >= y0 - m && y <= y1 + m) heatNear++;
    }
    const iv = document.getElementById('input-view').getContext('2d').getImageData(0, 0, 28, 28).data;
    const ih = document.getElementById('input-why').getContext('2d').getImageData(0, 0, 28, 28).data;
    let smallHeat = 0, smallHeatOff = 0, smallSum = 0;
    for (let i = 0; i < 784; i++) {
      smallSum = (smallSum * 31 + ih[4 * i] * 7 + ih[4 * i + 2] * 3 + ih[4 * i + 3]) % 1000000007;
      if (!ih[4 * i + 3]) continue;
      smallHeat++;
      if (!iv[4 * i]) smallHeatOff++;
    }
    const layers = [0, 1].map((k) => {
      const tiles = Array.from(document.querySelectorAll('#tiles-' + k + ' canvas'));
      let lit = 0;
      let sig = 0;
      for (const t of tiles) {
        const d = t.getContext('2d').getImageData(0, 0, t.width, t.height).data;
        let any = false;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i]) any = true;
          sig = (sig * 31 + d[i]) % 1000000007;
        }
        if (any) lit++;
      }
      const b = tiles.length ? tiles[0].getBoundingClientRect() : { width: 0, right: 0 };
      const right = Math.max(0, ...tiles.map((t) => t.getBoundingClientRect().right));
      return { tiles: tiles.length, lit, sig, tileWidth: Math.round(b.width), right: Math.round(right),
        shown: tiles.length > 0 && tiles[0].getClientRects().length > 0 };
    });
    const panel = document.getElementById('why-panel');
    return { inkN, heatN, heatOnInk, heatNear, smallHeat, smallHeatOff, smallSum, layers,
      panelShown: panel.getClientRects().length > 0, forText: document.getElementById('why-for').textContent,
      scrollWidth: document.documentElement.scrollWidth };
  });
}
function whyText(w) {
  return 'pad: ' + w.inkN + ' ink px, ' + w.heatN + ' heat px (' + w.heatOnInk + ' on the ink, ' + w.heatNear +
    ' near it); 28x28: ' + w.smallHeat + ' heat px (' + w.smallHeatOff + ' off the ink); tiles ' +
    w.layers.map((l) => l.lit + '/' + l.tiles + (l.shown ? ' shown' : ' hidden')).join(', ');
}

async function rects(page) {
  return page.evaluate(() => ['#canvas', '#prediction', '#chart', '#input-view', '.toolbar', '.foot']
    .map((s) => { const b = document.querySelector(s).getBoundingClientRect(); return [s, Math.round(b.top), Math.round(b.height)]; }));
}

async function shot(page, out, name) {
  const file = path.join(out, name);
  await page.waitForTimeout(300); // let the bars finish their short transition
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Encodes the digit's strokes into a PNG inside the page: blue ink on a
// cream, non-square background, as a scan or a phone photo would be.
async function makeDrawingPng(page, d, w, h) {
  const url = await page.evaluate(({ strokes, w, h }) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fbf3dc';
    ctx.fillRect(0, 0, w, h);
    ctx.strokeStyle = '#1d3fb8';
    ctx.lineWidth = h * 0.07;
    ctx.lineCap = ctx.lineJoin = 'round';
    const s = h * 0.7;
    for (const st of strokes) {
      ctx.beginPath();
      st.forEach((p, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, w * 0.15 + p[0] * s, h * 0.18 + p[1] * s));
      ctx.stroke();
    }
    return c.toDataURL('image/png');
  }, { strokes: DIGITS[d], w, h });
  return Buffer.from(url.split(',')[1], 'base64');
}

async function dropFile(page, file, type) {
  const b64 = fs.readFileSync(file).toString('base64');
  const dt = await page.evaluateHandle(({ b64, name, type }) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const t = new DataTransfer();
    t.items.add(new File([bytes], name, { type }));
    return t;
  }, { b64, name: path.basename(file), type });
  await page.dispatchEvent('#pad', 'dragover', { dataTransfer: dt });
  await page.dispatchEvent('#pad', 'drop', { dataTransfer: dt });
}

/* ---------- the test ---------- */

async function openPage(ctx, origin, log) {
  const page = await ctx.newPage();
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol === 'data:') return;
    if (u.origin !== origin) log.foreign.push(req.url());
    log.requests.push(req);
  });
  // At most one request (predict, v1/explain or v1/read) in flight, at every moment of the test.
  const isPredict = (req) => ['/predict', '/v1/explain', '/v1/read'].includes(new URL(req.url()).pathname);
  page.on('request', (req) => {
    if (!isPredict(req)) return;
    log.inFlight = (log.inFlight || 0) + 1;
    log.maxInFlight = Math.max(log.maxInFlight || 0, log.inFlight);
  });
  const landed = (req) => { if (isPredict(req)) log.inFlight--; };
  page.on('requestfinished', landed);
  page.on('requestfailed', landed);
  page.on('pageerror', (e) => log.errors.push('page error: ' + e.message));
  page.on('console', (m) => {
    // The browser logs every 4xx/5xx answer as a failed load; those are
    // expected in the error-state checks and asserted through the page.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) log.errors.push('console: ' + m.text());
  });
  const res = await page.goto(origin + '/', { waitUntil: 'load' });
  check(res && res.status() === 200, 'GET / answers 200', res && res.status());
  check(/^text\/html/.test((res && res.headers()['content-type']) || ''), 'GET / is text/html',
    res && res.headers()['content-type']);
  await page.waitForFunction(() => !/loading/.test(document.getElementById('model-info').textContent),
    null, { timeout: SETTLE_MS });
  return page;
}

async function main() {
  const opt = parseArgs(process.argv);
  if (!fs.existsSync(CHROMIUM))
    fatal(CHROMIUM + ' not found: install Debian\'s chromium (scripts/deps.sh test); this test never downloads a browser');
  if (!opt.server || !fs.existsSync(opt.server))
    fatal('mnist-server not found at "' + opt.server + '": build it first, or pass --server PATH');
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    fatal('playwright-core is not installed (npm ci in tests/browser, or NODE_PATH): ' + e.message);
  }
  const dataDir = process.env.MNIST_DATA_DIR || '';
  fs.mkdirSync(opt.out, { recursive: true });

  const servers = [];
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-chromium-'));
  let ctx = null;
  const log = { foreign: [], errors: [], requests: [] };
  try {
    const server = await startServer(opt.server, []);
    servers.push(server);
    const origin = server.origin;
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true,
      viewport: { width: 1200, height: 800 }, deviceScaleFactor: 1, colorScheme: 'light',
    });

    // The embedded assets, as the browser fetches them.
    for (const [p, type] of [['/app.js', /javascript/], ['/style.css', /^text\/css/], ['/favicon.svg', /^image\/svg\+xml/]]) {
      const r = await ctx.request.get(origin + p);
      check(r.status() === 200 && type.test(r.headers()['content-type'] || ''), 'GET ' + p + ' served with its type',
        r.status() + ' ' + r.headers()['content-type']);
    }

    const page = await openPage(ctx, origin, log);
    const footer = await page.locator('#model-info').textContent();
    check(/^Model \S+ · version [0-9a-f]{8}/.test(footer), 'footer names the model and its version', footer);
    check(/\d+\.\d\d% test accuracy/.test(footer), 'footer shows the test accuracy', footer);
    const empty = await settled(page);
    checkReset(empty, 'initial page');
    const layoutEmpty = await rects(page);

    // Digits drawn with the mouse, off-centre and at different sizes.
    const plan = [
      { d: 0, box: { left: 0.08, top: 0.1, size: 0.55 } },
      { d: 1, box: { left: 0.55, top: 0.3, size: 0.4 } },
      { d: 4, box: { left: 0.1, top: 0.42, size: 0.45 } },
      { d: 7, box: { left: 0.2, top: 0.1, size: 0.72 } },
      { d: 8, box: { left: 0.5, top: 0.45, size: 0.42 } },
    ];
    let layoutOk = null;
    for (const [i, { d, box }] of plan.entries()) {
      if (i > 0) {
        // Escape clears, from anywhere on the page.
        await page.locator('body').press('Escape');
        checkReset(await settled(page), 'Escape before ' + d);
      }
      await listen(page);
      await drawDigit(page, d, box);
      const r = await settled(page);
      checkPrediction(r, d, 'drawn ' + d);
      // Once, even for the 4's two strokes.
      const said = (await spoken(page)).map((x) => x.text);
      check(said.length === 1 && said[0] === 'Prediction: ' + d + ', ' + r.confidence.replace(' confident', ' confidence'),
        'drawn ' + d + ': the answer announced once', JSON.stringify(said));
      await shot(page, opt.out, 'digit-' + d + '.png');
      if (d === 7) {
        layoutOk = await rects(page);
      }
    }
    check(await page.locator('#fix').isHidden(), 'feedback off on the server: no correction row after an answer');
    check(JSON.stringify(layoutEmpty) === JSON.stringify(layoutOk), 'no layout shift between empty and answered page',
      JSON.stringify(layoutEmpty) + ' vs ' + JSON.stringify(layoutOk));

    // Predictions arrive while the pen is still down: one slow stroke.
    await page.locator('body').press('Escape');
    await settled(page);
    {
      const c = await canvasBox(page);
      const pts = DIGITS[0][0];
      const sent = log.requests.length;
      await listen(page);
      await page.mouse.move(c.x + (0.3 + pts[0][0] * 0.5) * c.width, c.y + (0.25 + pts[0][1] * 0.5) * c.height);
      await page.mouse.down();
      let shownWhileDrawing = false;
      const t0 = Date.now();
      for (const p of pts.slice(1)) {
        await page.mouse.move(c.x + (0.3 + p[0] * 0.5) * c.width, c.y + (0.25 + p[1] * 0.5) * c.height);
        await page.waitForTimeout(40);
        if (await page.evaluate(() => document.getElementById('result').dataset.state === 'ok')) shownWhileDrawing = true;
      }
      const during = log.requests.slice(sent).filter((q) => new URL(q.url()).pathname === '/predict').length;
      const elapsed = Date.now() - t0;
      await page.mouse.up();
      const r = await settled(page);
      checkPrediction(r, 0, 'slowly drawn 0');
      check(shownWhileDrawing, 'a prediction is shown while the stroke is still being drawn');
      // Screen readers hear none of those guesses, then the settled answer once.
      const said = await spoken(page);
      check(said.every((x) => !x.penDown), 'the live region is silent while the pen moves',
        JSON.stringify(said.filter((x) => x.penDown)));
      check(said.length === 1 && said[0].text === 'Prediction: 0, ' + r.confidence.replace(' confident', ' confidence'),
        'the live region speaks once, the settled answer', JSON.stringify(said.map((x) => x.text)));
      // The page spaces them by about 120 ms: never one per pointer move.
      check(during >= 2 && during <= elapsed / 100 + 1, 'predictions are sent while drawing, spaced out',
        during + ' requests in ' + elapsed + ' ms for ' + pts.length + ' points');
    }

    // Undo takes back the last stroke only: the picture and the answer
    // return to what they were.
    await page.locator('body').press('Escape');
    await drawDigit(page, 7, { left: 0.25, top: 0.15, size: 0.6 });
    const before = await settled(page);
    const pixelsBefore = await page.evaluate(() => document.getElementById('canvas').toDataURL());
    await drawDigit(page, 1, { left: 0.02, top: 0.5, size: 0.45 });
    await settled(page);
    await page.keyboard.press('Control+z');
    const after = await settled(page);
    const pixelsAfter = await page.evaluate(() => document.getElementById('canvas').toDataURL());
    check(pixelsAfter === pixelsBefore, 'Ctrl+Z removes exactly the last stroke');
    check(after.prediction === before.prediction && after.prediction === '7', 'after undo the page shows 7 again',
      before.prediction + ' -> ' + after.prediction);
    await page.getByRole('button', { name: 'Undo' }).click();
    checkReset(await settled(page), 'Undo of the only stroke');

    // Clear button.
    await drawDigit(page, 4, { left: 0.3, top: 0.3, size: 0.5 });
    await settled(page);
    await page.getByRole('button', { name: 'Clear' }).click();
    checkReset(await settled(page), 'Clear button');

    // Keyboard only: Tab walks the controls in order, Enter on Clear clears.
    await drawDigit(page, 1, { left: 0.4, top: 0.2, size: 0.6 });
    await settled(page);
    await page.focus('#canvas');
    const order = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id));
    }
    check(order.join(',') === 'undo,clear,upload', 'Tab reaches Undo, Clear, Upload in order', order.join(','));
    check(await page.getByRole('button', { name: 'Upload image' }).count() === 1, 'the upload button is labelled');
    check(await page.getByRole('img', { name: /Drawing area/ }).count() === 1, 'the drawing area is labelled');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    checkReset(await settled(page), 'Enter on the focused Clear button');

    // Upload: MNIST test digits through the file input.
    if (check(dataDir !== '' && fs.existsSync(dataDir), 'MNIST_DATA_DIR points at the MNIST files', dataDir)) {
      for (const i of [0, 1, 2]) {
        const { pixels, label } = mnistTestDigit(dataDir, i);
        const file = path.join(opt.out, 'upload-mnist-' + i + '.png');
        fs.writeFileSync(file, greyPng(pixels, 28, 28));
        await page.setInputFiles('#file', file);
        const r = await settled(page);
        checkPrediction(r, label, 'uploaded MNIST test image ' + i);
        check(r.padInk > 0 && r.undoDisabled && !r.clearDisabled, 'uploaded image ' + i + ' is shown');
      }
      await shot(page, opt.out, 'upload.png');
    }

    // Drag and drop: a blue-ink 2 on cream paper, wider than tall.
    const dropped = path.join(opt.out, 'upload-drawn-2.png');
    fs.writeFileSync(dropped, await makeDrawingPng(page, 2, 360, 240));
    await dropFile(page, dropped, 'image/png');
    checkPrediction(await settled(page), 2, 'dropped drawing of a 2');

    // A blank image: "no ink" is a hint to draw, not an error.
    const blank = path.join(opt.out, 'upload-blank.png');
    fs.writeFileSync(blank, greyPng(new Uint8Array(64 * 64).fill(255), 64, 64));
    await page.setInputFiles('#file', blank);
    let r = await settled(page);
    check(r.state === 'hint' && r.statusKind === 'hint' && /no ink/i.test(r.status), 'blank image: "no ink" hint shown',
      r.state + ' ' + r.statusKind + ' "' + r.status + '"');
    {
      const now = JSON.stringify(await rects(page));
      check(now === JSON.stringify(layoutEmpty), 'no layout shift with the hint shown', now);
    }
    await page.getByRole('button', { name: 'Clear' }).click();
    await settled(page);

    // Network failure: the page says so and offers a retry that works.
    await page.route('**/predict*', (route) => route.abort('connectionrefused'));
    await drawDigit(page, 1, { left: 0.3, top: 0.1, size: 0.7 });
    r = await settled(page);
    check(r.statusKind === 'error' && /reach the server/.test(r.status) && r.retryVisible,
      'network error shown with a Retry button', r.statusKind + ' "' + r.status + '"');
    await shot(page, opt.out, 'network-error.png');
    {
      const now = JSON.stringify(await rects(page));
      check(now === JSON.stringify(layoutEmpty), 'no layout shift with the error shown', now);
    }
    await page.unroute('**/predict*');
    await page.getByRole('button', { name: 'Retry' }).click();
    r = await settled(page);
    checkPrediction(r, 1, 'after Retry');
    check(r.status === '' && !r.retryVisible, 'error cleared after a successful retry', r.status);

    const predicts = log.requests.filter((q) => new URL(q.url()).pathname === '/predict');
    check(predicts.length > 0 && predicts.every((q) => q.method() === 'POST'), 'predictions are POSTs');
    check(predicts.every((q) => /[?&]input=1\b/.test(q.url())), 'predictions ask for the model input (?input=1)');
    check(predicts.every((q) => /^image\//.test(q.headers()['content-type'] || '')), 'predictions send images',
      predicts.map((q) => q.headers()['content-type']).join(','));

    // Each verdict as the page shows it, on answers stubbed per the
    // contract (predict's real answer with a verdict put in, a v1/read
    // answer with two boxes): the page's side, whatever the server says.
    {
      let extra = {};
      let readAnswer = null;
      const reads = [];
      await page.route('**/predict*', async (route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, json: Object.assign(await res.json(), extra) });
      });
      await page.route('**/v1/read', (route) => {
        reads.push(route.request().postDataJSON());
        return route.fulfill(readAnswer);
      });
      const drawOne = async () => {
        await page.locator('body').press('Escape');
        await settled(page);
        await listen(page);
        await drawDigit(page, 7, { left: 0.2, top: 0.15, size: 0.65 });
        return settled(page);
      };
      const said = async () => JSON.stringify((await spoken(page)).map((x) => x.text));

      extra = { verdict: 'unsure', prediction: 4, confidence: 0.52, probabilities: [0.01, 0, 0.02, 0, 0.52, 0, 0, 0.04, 0, 0.41] };
      r = await drawOne();
      check(r.prediction === 'Not sure: 4 or 9?' && r.verdict === 'unsure', 'stub unsure: "Not sure: 4 or 9?"', shown(r));
      check(JSON.stringify(r.winners) === '[4,9]', 'stub unsure: both bars marked', JSON.stringify(r.winners));
      check(await said() === '["Not sure: 4 or 9?"]', 'stub unsure: announced in words', await said());
      check(JSON.stringify(await rects(page)) === JSON.stringify(layoutEmpty), 'stub unsure: no layout shift');
      await shot(page, opt.out, 'stub-unsure.png');

      extra = { verdict: 'not_a_digit', digit_score: 0.03 };
      r = await drawOne();
      const faded = await page.evaluate(() => Number(getComputedStyle(document.getElementById('chart')).opacity));
      check(r.prediction === 'That doesn\'t look like a digit' && r.winners.length === 0 && faded < 1,
        'stub not_a_digit: said in words, no bar marked, bars faded', shown(r) + ', chart opacity ' + faded);
      check(await said() === '["That doesn\'t look like a digit"]', 'stub not_a_digit: announced in words', await said());
      check(JSON.stringify(await rects(page)) === JSON.stringify(layoutEmpty), 'stub not_a_digit: no layout shift');
      await shot(page, opt.out, 'stub-not-a-digit.png');

      // Boxes in pixels of the posted 280x280 PNG: 28..112 and 168..252
      // across, 70..210 down, so 0.1 and 0.6 of the pad's side, 0.3 wide.
      extra = { verdict: 'several_digits' };
      const digit = (k, box) => ({ prediction: k, confidence: 0.99, probabilities: [], verdict: 'digit', box });
      readAnswer = { json: { text: '42', digits: [digit(4, [28, 70, 84, 140]), digit(2, [168, 70, 84, 140])],
        model: { name: 'stub', version: '0' }, elapsed_ms: 1 } };
      r = await drawOne();
      const near = (b, want) => ['left', 'top', 'width', 'height'].every((k, i) => Math.abs(b[k] - want[i]) < 0.01);
      check(r.prediction === '42' && r.confidence === '2-digit number', 'stub several_digits: the number read is shown', shown(r));
      check(r.boxes.length === 2 && r.boxes[0].label === '4' && near(r.boxes[0], [0.1, 0.25, 0.3, 0.5]) &&
        r.boxes[1].label === '2' && near(r.boxes[1], [0.6, 0.25, 0.3, 0.5]),
      'stub several_digits: each box outlined where v1/read put it', JSON.stringify(r.boxes));
      // One read per answer that says several digits: one, or more when an
      // interim answer came while the pen was down.
      check(reads.length >= 1 && reads.every((q) => /^data:image\/png;base64,/.test(q.image || '')),
        'stub several_digits: v1/read was sent the drawing as {"image": data URL}', reads.length + ' reads');
      check(await said() === '["Several digits, read as 42"]', 'stub several_digits: announced in words', await said());
      await shot(page, opt.out, 'stub-number.png');
      {
        // The boxes go as soon as the drawing changes.
        const c = await canvasBox(page);
        await page.mouse.move(c.x + 0.9 * c.width, c.y + 0.9 * c.height);
        await page.mouse.down();
        await page.mouse.move(c.x + 0.95 * c.width, c.y + 0.95 * c.height, { steps: 3 });
        const left = await page.locator('#boxes .digit-box').count();
        await page.mouse.up();
        check(left === 0, 'stub several_digits: boxes cleared when the drawing changes', left + ' boxes');
        await settled(page);
      }

      readAnswer = { status: 500, json: { error: { status: 500, code: 'internal', message: 'stub failure' } } };
      r = await drawOne();
      check(r.prediction === 'Several digits' && /Could not read them: stub failure/.test(r.confidence) && r.boxes.length === 0,
        'stub several_digits, v1/read failing: the verdict and the reason shown', shown(r));

      // An upload 360x240 is letterboxed in the pad: a box around the
      // whole image is the band 1/6..5/6 of the pad's height.
      readAnswer = { json: { text: '2', digits: [digit(2, [0, 0, 360, 240])], model: {}, elapsed_ms: 1 } };
      const wide = path.join(opt.out, 'upload-wide-2.png');
      fs.writeFileSync(wide, await makeDrawingPng(page, 2, 360, 240));
      await page.setInputFiles('#file', wide);
      r = await settled(page);
      check(r.boxes.length === 1 && near(r.boxes[0], [0, 1 / 6, 1, 2 / 3]),
        'stub several_digits on an upload: the box mapped through the letterbox', JSON.stringify(r.boxes));

      await page.unrouteAll({ behavior: 'wait' });
      await page.getByRole('button', { name: 'Clear' }).click();
      await settled(page);
    }

    // The server's own verdicts (API.md, "What an answer says about its
    // input" and "POST /v1/read") on drawings: a letter and a scribble are
    // no digits, two digits side by side are a number. These fail, and say
    // which verdict came, until the server has the feature.
    for (const [name, strokes] of [['letter A', SHAPES.A], ['scribble', SHAPES.scribble]]) {
      await page.locator('body').press('Escape');
      await settled(page);
      await drawStrokes(page, strokes, { left: 0.14, top: 0.12, size: 0.72 });
      r = await settled(page);
      check(r.verdict === 'not_a_digit' && /doesn't look like a digit/.test(r.prediction),
        'a drawn ' + name + ': the page says "doesn\'t look like a digit"', shown(r));
      await shot(page, opt.out, name.replace(/ /g, '-') + '.png');
    }
    {
      // A 4 and a 2 from the MNIST test set, traced along their skeletons
      // as a pen would (the hand-made strokes without the data).
      const haveData = dataDir !== '' && fs.existsSync(dataDir);
      const traced = (i, d) => (haveData ? skeletonStrokes(mnistTestDigit(dataDir, i).pixels) : DIGITS[d]);
      const four = traced(4, 4);
      const two = traced(1, 2);
      // Alone, each reads as itself: the tracing makes digits.
      for (const [strokes, d] of [[four, 4], [two, 2]]) {
        await page.locator('body').press('Escape');
        await settled(page);
        await drawStrokes(page, strokes, { left: 0.15, top: 0.12, size: 0.7 });
        checkPrediction(await settled(page), d, 'traced MNIST ' + d);
      }
      await page.locator('body').press('Escape');
      await settled(page);
      const sent = log.requests.length;
      await drawStrokes(page, four, { left: 0.02, top: 0.2, size: 0.48 });
      await drawStrokes(page, two, { left: 0.5, top: 0.2, size: 0.48 });
      r = await settled(page);
      const readSent = log.requests.slice(sent).filter((q) => new URL(q.url()).pathname === '/v1/read').length;
      check(r.verdict === 'several_digits' && r.prediction === '42' && readSent > 0,
        'a drawn number 42: the page shows 42, read through v1/read', shown(r) + ', ' + readSent + ' v1/read requests');
      const mid = (b) => b.left + b.width / 2;
      check(r.boxes.length === 2 && r.boxes[0].label === '4' && mid(r.boxes[0]) < 0.5 &&
        r.boxes[1].label === '2' && mid(r.boxes[1]) > 0.5,
      'a drawn number 42: two boxes outlined, the 4 on the left and the 2 on the right', JSON.stringify(r.boxes));
      await shot(page, opt.out, 'number-42.png');
      await page.locator('body').press('Escape');
      await settled(page);
    }

    // "Show why": a switch, off by default, and off the page never asks
    // v1/explain. On, v1/explain answers in place of predict (one request
    // for both), a heat map lies over the ink on the pad and on the 28x28
    // view, and the first two layers' feature maps show as tiles that
    // follow the drawing. Off again, all of it goes.
    {
      const pathOf = (q) => new URL(q.url()).pathname;
      const sw = page.getByRole('switch', { name: 'Show why' });
      check(await sw.count() === 1 && !(await sw.isChecked()), 'Show why: a switch, off by default', await sw.count());
      const explainsBefore = log.requests.filter((q) => pathOf(q) === '/v1/explain').length;
      check(explainsBefore === 0 && log.requests.some((q) => pathOf(q) === '/predict'),
        'Show why off: the page never called v1/explain', explainsBefore + ' v1/explain requests');
      let w = await whyView(page);
      check(!w.panelShown && !w.layers[0].shown, 'Show why off: no feature maps on the page', whyText(w));

      await sw.focus();
      await page.keyboard.press('Space');
      check(await sw.isChecked(), 'Show why: turned on from the keyboard (Space)');
      let sent = log.requests.length;
      const box = { left: 0.2, top: 0.15, size: 0.65 };
      await listen(page);
      await drawDigit(page, 7, box);
      r = await settled(page);
      checkPrediction(r, 7, 'Show why on: drawn 7');
      let since = log.requests.slice(sent);
      const explains = since.filter((q) => pathOf(q) === '/v1/explain');
      const predictsOn = since.filter((q) => pathOf(q) === '/predict');
      check(explains.length > 0 && predictsOn.length === 0, 'Show why on: v1/explain answers in place of predict',
        explains.length + ' v1/explain, ' + predictsOn.length + ' predict');
      check(explains.every((q) => q.method() === 'POST' && /[?&]input=1(&|$)/.test(q.url()) && /[?&]layers=0,1(&|$)/.test(q.url())),
        'Show why on: v1/explain asks for the input and the first two layers', explains.map((q) => q.url()).join(' '));
      const saidOn = (await spoken(page)).map((x) => x.text);
      check(saidOn.length === 1 && saidOn[0] === 'Prediction: 7, ' + r.confidence.replace(' confident', ' confidence'),
        'Show why on: the answer still announced once', JSON.stringify(saidOn));
      w = await whyView(page);
      console.log('show why: ' + whyText(w));
      check(w.inkN > 0 && w.heatOnInk >= 0.5 * w.inkN, 'Show why on: the heat map covers the ink on the pad', whyText(w));
      check(w.heatN > 0 && w.heatNear >= 0.97 * w.heatN, 'Show why on: the heat map lies over the ink, not elsewhere', whyText(w));
      check(w.smallHeat >= 20 && w.smallHeatOff === 0, 'Show why on: the 28x28 view\'s heat map is on its ink pixels only', whyText(w));
      check(/^Red: for 7$/.test(w.forText), 'Show why on: the key names the class explained', w.forText);
      check(w.panelShown && w.layers[0].shown && w.layers[0].tiles >= 32 && w.layers[0].lit >= 16,
        'Show why on: the first layer\'s feature maps shown, at least 32 tiles, not black', whyText(w));
      check(w.layers[1].shown && w.layers[1].tiles >= 32 && w.layers[1].lit >= 8,
        'Show why on: the second layer\'s feature maps shown', whyText(w));
      check(w.layers[0].tileWidth >= 26 && w.layers[0].tileWidth <= 26 * 4,
        'Show why on: tiles of a few CSS px per map pixel', w.layers[0].tileWidth + ' px for 26');
      await shot(page, opt.out, 'show-why.png');
      if (process.env.UPDATE_SCREENSHOT === '1' && process.env.MNIST_SOURCE_DIR) {
        fs.copyFileSync(path.join(opt.out, 'show-why.png'), path.join(process.env.MNIST_SOURCE_DIR, 'docs', 'screenshot.png'));
        console.log('updated docs/screenshot.png');
      }

      // Another stroke (a continental 7's bar): the tiles follow.
      await drawStrokes(page, [line([0.3, 0.5], [0.8, 0.5], 10)], box);
      await settled(page);
      const w2 = await whyView(page);
      check(w2.layers[0].sig !== w.layers[0].sig && w2.layers[1].sig !== w.layers[1].sig,
        'Show why on: another stroke changes the feature maps', w.layers[0].sig + ' -> ' + w2.layers[0].sig);
      check(w2.heatNear >= 0.97 * w2.heatN && w2.heatOnInk >= 0.5 * w2.inkN,
        'Show why on: the heat map follows the new stroke', whyText(w2));

      // "Why not 1?": the same picture explained for class 1, not spoken
      // again (once the bar's answer has been).
      await spoken(page);
      sent = log.requests.length;
      await listen(page);
      await page.getByLabel('Why not…?').selectOption('1');
      const w3 = await (async () => { await settled(page); return whyView(page); })();
      since = log.requests.slice(sent).filter((q) => pathOf(q) === '/v1/explain');
      check(since.length === 1 && /[?&]class=1(&|$)/.test(since[0].url()), 'Why not 1: one v1/explain request with ?class=1',
        since.map((q) => q.url()).join(' '));
      check(w3.forText === 'Red: for 1' && w3.smallSum !== w2.smallSum, 'Why not 1: the heat map redrawn for class 1',
        w3.forText + ', ' + w2.smallSum + ' -> ' + w3.smallSum);
      const saidAgain = (await spoken(page)).map((x) => x.text);
      check(saidAgain.length === 0, 'Why not 1: the unchanged answer is not announced again', JSON.stringify(saidAgain));
      check((await page.locator('#prediction').textContent()) === '7', 'Why not 1: the answer shown is still 7');
      await page.getByLabel('Why not…?').selectOption('');
      await settled(page);

      // Off (with the mouse): panel and heat maps gone, predict again;
      // Escape still clears with the switch focused.
      await sw.click();
      check(!(await sw.isChecked()), 'Show why: turned off with a click');
      w = await whyView(page);
      check(!w.panelShown && !w.layers[0].shown && w.heatN === 0 && w.smallHeat === 0,
        'Show why off: feature maps hidden, heat maps cleared', whyText(w));
      check(await page.evaluate(() => document.activeElement.id) === 'why', 'Show why: the switch keeps the focus');
      await page.locator('body').press('Escape');
      checkReset(await settled(page), 'Escape with the switch focused');
      sent = log.requests.length;
      await drawDigit(page, 1, { left: 0.3, top: 0.1, size: 0.7 });
      checkPrediction(await settled(page), 1, 'Show why off again: drawn 1');
      since = log.requests.slice(sent);
      check(since.some((q) => pathOf(q) === '/predict') && !since.some((q) => pathOf(q) === '/v1/explain'),
        'Show why off again: predict only', since.map((q) => pathOf(q)).join(' '));
      w = await whyView(page);
      check(!w.panelShown && w.heatN === 0, 'Show why off again: nothing overlaid', whyText(w));
      await page.locator('body').press('Escape');
      await settled(page);
    }

    // A phone: the pad fits the width and a finger draws.
    const phone = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const mctx = await phone.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
        hasTouch: true, isMobile: true });
      const mpage = await openPage(mctx, origin, log);
      const fit = await mpage.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        pad: document.getElementById('canvas').getBoundingClientRect().width,
        bars: document.getElementById('chart').getBoundingClientRect().right,
      }));
      check(fit.scroll <= 390 && fit.pad >= 300 && fit.pad <= 390 && fit.bars <= 390,
        'phone: pad fits the screen width without scrolling', JSON.stringify(fit));
      const cdp = await mctx.newCDPSession(mpage);
      await touchDigit(mpage, cdp, 7, { left: 0.15, top: 0.12, size: 0.7 });
      checkPrediction(await settled(mpage), 7, 'phone: 7 drawn with a finger');
      const seen = await mpage.evaluate(() => document.getElementById('prediction').getBoundingClientRect().bottom);
      check(seen <= 844, 'phone: the prediction is on screen without scrolling', seen);
      await shot(mpage, opt.out, 'phone.png');
      // "Show why" on a phone: the tiles wrap to the screen, no sideways scroll.
      await mpage.getByRole('switch', { name: 'Show why' }).tap();
      await settled(mpage);
      const mw = await whyView(mpage);
      check(mw.layers[0].shown && mw.layers[0].tiles >= 32 && mw.layers[0].lit > 0 && mw.heatN > 0,
        'phone: Show why shows the heat map and the feature maps', whyText(mw));
      check(mw.scrollWidth <= 390 && mw.layers[0].right <= 390 && mw.layers[1].right <= 390,
        'phone: the feature maps fit the screen width without scrolling',
        'page ' + mw.scrollWidth + ' px, tiles end at ' + mw.layers.map((l) => l.right).join(', '));
      await shot(mpage, opt.out, 'phone-why.png');
      await mctx.close();

      // The pad and its buttons on screen without scrolling: a laptop, the
      // ~657 px a browser leaves of a 768-line laptop screen, a phone held
      // sideways and upright.
      for (const v of [{ width: 1366, height: 768 }, { width: 1366, height: 657 },
        { width: 844, height: 390, mobile: true }, { width: 390, height: 844, mobile: true }]) {
        const name = v.width + 'x' + v.height;
        const lctx = await phone.newContext({ viewport: { width: v.width, height: v.height },
          deviceScaleFactor: v.mobile ? 2 : 1, hasTouch: !!v.mobile, isMobile: !!v.mobile });
        const lpage = await openPage(lctx, origin, log);
        const m = await lpage.evaluate(() => {
          const box = (sel) => {
            const b = document.querySelector(sel).getBoundingClientRect();
            return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.width), h: Math.round(b.height) };
          };
          return { pad: box('#canvas'), buttons: box('.toolbar'), scrollWidth: document.documentElement.scrollWidth };
        });
        const inside = (b) => b.x >= 0 && b.y >= 0 && b.x + b.w <= v.width && b.y + b.h <= v.height;
        console.log('layout ' + name + ': pad ' + JSON.stringify(m.pad) + ', buttons ' + JSON.stringify(m.buttons));
        check(inside(m.pad) && inside(m.buttons) && m.scrollWidth <= v.width,
          name + ': the pad and its button row are on screen', JSON.stringify(m));
        check(m.pad.w === m.pad.h && m.pad.w >= 250, name + ': the pad is a square of at least 250 px', JSON.stringify(m.pad));
        await shot(lpage, opt.out, 'layout-' + name + '.png');
        await lctx.close();
      }
    } finally {
      await phone.close();
    }

    // A server that needs an API key: the page asks for it, then uses it.
    const keyed = await startServer(opt.server, ['--api-key', 'browser-test-key']);
    servers.push(keyed);
    const klog = { foreign: [], errors: [], requests: [] };
    const kpage = await openPage(ctx, keyed.origin, klog);
    r = await settled(kpage);
    check(r.keyFormVisible, 'API key: the page asks for the key', r.status);
    await shot(kpage, opt.out, 'api-key.png');
    await kpage.getByLabel('API key').fill('browser-test-key');
    await kpage.getByRole('button', { name: 'Use key' }).click();
    await kpage.waitForFunction(() => /version/.test(document.getElementById('model-info').textContent),
      null, { timeout: SETTLE_MS }).catch(() => {});
    check(/version/.test(await kpage.locator('#model-info').textContent()), 'API key: model details shown with the key');
    await drawDigit(kpage, 7, { left: 0.2, top: 0.1, size: 0.7 });
    r = await settled(kpage);
    checkPrediction(r, 7, 'API key: drawn 7');
    const kp = klog.requests.filter((q) => new URL(q.url()).pathname === '/predict');
    check(kp.length > 0 && kp[kp.length - 1].headers()['authorization'] === 'Bearer browser-test-key',
      'API key: sent as a Bearer token');
    check(await kpage.evaluate(() => sessionStorage.getItem('mnist-api-key')) === 'browser-test-key',
      'API key: kept in sessionStorage');
    await kpage.close();
    log.foreign.push(...klog.foreign);
    log.errors.push(...klog.errors);

    // A model with class names (Fashion-MNIST): the page shows the names.
    const fashionModel = path.join(process.env.MNIST_SOURCE_DIR || '', 'models', 'fashion-mnist-cnn.bin');
    const fashionData = '/usr/share/datasets/fashion-mnist';
    if (process.env.MNIST_SOURCE_DIR && fs.existsSync(fashionModel) && fs.existsSync(fashionData)) {
      const fashion = await startServer(opt.server, ['--model', fashionModel]);
      servers.push(fashion);
      const flog = { foreign: [], errors: [], requests: [] };
      const fpage = await openPage(ctx, fashion.origin, flog);
      const labels = await fpage.evaluate(async () => (await (await fetch('v1/model')).json()).labels);
      const rows = await fpage.locator('#chart .label').allTextContents();
      check(Array.isArray(labels) && labels.length === rows.length && labels.every((l, k) => rows[k] === l),
        'Fashion: the chart is labelled with the class names', JSON.stringify(rows));
      const { pixels } = mnistTestDigit(fashionData, 0);
      const file = path.join(opt.out, 'upload-fashion-0.png');
      fs.writeFileSync(file, greyPng(pixels, 28, 28));
      await fpage.setInputFiles('#file', file);
      r = await settled(fpage);
      // One class, or (unsure) the two the model cannot choose between:
      // the result names exactly the highlighted bars.
      check(r.state === 'ok' && (r.winners.length === 1 ? r.prediction === labels[r.winners[0]]
        : r.winners.length === 2 && r.winners.every((k) => r.prediction.includes(labels[k]))),
        'Fashion: the result names the class of the highlighted bar', r.prediction + ' ' + JSON.stringify(r.winners));
      await shot(fpage, opt.out, 'fashion.png');
      await fpage.close();
      log.foreign.push(...flog.foreign);
      log.errors.push(...flog.errors);
    } else {
      console.log('note: no ' + fashionModel + ' (or no ' + fashionData + '): class names not exercised');
    }

    // A model repository: the page offers its models and answers with the one picked.
    {
      const src = process.env.MNIST_SOURCE_DIR || '';
      const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-page-repo-'));
      for (const [name, file] of [['digits', 'mnist-cnn.bin'], ['fashion', 'fashion-mnist-cnn.bin']]) {
        fs.mkdirSync(path.join(repo, name, '1'), { recursive: true });
        fs.copyFileSync(path.join(src, 'models', file), path.join(repo, name, '1', 'model.bin'));
      }
      const rsrv = await startServer(opt.server, ['--model-repository', repo, '--default-model', 'digits']);
      servers.push(rsrv);
      const rlog = { foreign: [], errors: [], requests: [] };
      const rpage = await openPage(ctx, rsrv.origin, rlog);
      await rpage.waitForSelector('#model-pick:not([hidden])', { timeout: SETTLE_MS });
      const options = await rpage.locator('#model-select option').allTextContents();
      check(options.length === 2 && options[0] === 'digits (default)' && options[1] === 'fashion',
        'repository: the picker lists its models', JSON.stringify(options));
      const { pixels } = mnistTestDigit(dataDir, 0);
      const file = path.join(opt.out, 'upload-repo-7.png');
      fs.writeFileSync(file, greyPng(pixels, 28, 28));
      await rpage.setInputFiles('#file', file);
      r = await settled(rpage);
      check(r.state === 'ok' && r.prediction === '7', 'repository: the default model reads the 7', r.prediction);
      await rpage.selectOption('#model-select', 'fashion');
      await rpage.waitForFunction(() => /^Model fashion/.test(document.querySelector('#model-info').textContent),
        null, { timeout: SETTLE_MS });
      r = await settled(rpage);
      const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
      const rows = await rpage.locator('#chart .label').allTextContents();
      check(JSON.stringify(rows) === JSON.stringify(names), 'repository: the chart takes the picked model\'s classes',
        JSON.stringify(rows));
      check(r.state !== 'ok' || names.some((n) => r.prediction.includes(n)),
        'repository: the same picture answered by the picked model', r.prediction);
      check(rlog.requests.some((q) => /[?&]model=fashion/.test(q.url())), 'repository: requests name the picked model',
        rlog.requests.slice(-3).map((q) => q.url()).join(' '));
      await rpage.selectOption('#model-select', '');
      r = await settled(rpage);
      check(r.state === 'ok' && r.prediction === '7', 'repository: back to the default model', r.prediction);
      await rpage.close();
      log.foreign.push(...rlog.foreign);
      log.errors.push(...rlog.errors);
      fs.rmSync(repo, { recursive: true, force: true });
    }

    // Corrections: a server storing them in SQLite; the row appears after an
    // answer, one tap stores the drawing with the label tapped, and the
    // record is found through the API and in the database file itself.
    {
      const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-page-feedback-'));
      const db = path.join(dbDir, 'feedback.db');
      const fserver = await startServer(opt.server, ['--feedback-db', db]);
      servers.push(fserver);
      const flog = { foreign: [], errors: [], requests: [] };
      const fpage = await openPage(ctx, fserver.origin, flog);
      await fpage.waitForFunction(() => document.getElementById('fix-note').textContent !== '', null,
        { timeout: SETTLE_MS });
      check(/image the model saw/.test(await fpage.locator('#fix-note').textContent()),
        'feedback on: the page says in one line what is stored', await fpage.locator('#fix-note').textContent());
      check(await fpage.locator('#fix').isHidden(), 'feedback on: no correction row before an answer');
      await drawDigit(fpage, 7, { left: 0.2, top: 0.1, size: 0.72 });
      const r = await settled(fpage);
      checkPrediction(r, 7, 'feedback page: drawn 7');
      await fpage.waitForSelector('#fix', { state: 'visible', timeout: SETTLE_MS });
      const buttons = await fpage.locator('#fix-buttons button').allTextContents();
      check(buttons.length === 11 && buttons[0] === '0' && buttons[10] === 'not a digit',
        'the correction row offers 0-9 and "not a digit"', JSON.stringify(buttons));
      const version = (await fpage.locator('#model-info').textContent()).match(/version ([0-9a-f]{8})/);
      // the user says it is a 1
      const posted = fpage.waitForRequest((q) => /\/v1\/feedback$/.test(q.url()) && q.method() === 'POST');
      await fpage.locator('#fix-buttons button[aria-label="It is a 1"]').click();
      const body = JSON.parse((await posted).postData() || '{}');
      await fpage.waitForFunction(() => /stored as correction #\d+/.test(document.getElementById('fix-done').textContent),
        null, { timeout: SETTLE_MS });
      const thanks = await fpage.locator('#fix-done').textContent();
      const id = Number((thanks.match(/#(\d+)/) || [])[1]);
      check(id === 1 && await fpage.locator('#fix-ask').isHidden(), 'one tap: thanks with the record id, the row gone',
        thanks);
      check(body.label === 1 && body.prediction === 7 && /^data:image\/png;base64,/.test(body.image || '') &&
        Array.isArray(body.probabilities) && body.probabilities.length === 10 && version && body.version === version[1],
      'the correction sends the drawing, the label tapped and what was shown',
      JSON.stringify(Object.assign({}, body, { image: (body.image || '').slice(0, 30) })));
      const listed = await (await ctx.request.get(fserver.origin + '/v1/feedback')).json();
      const rec = listed.records && listed.records[0];
      check(listed.records.length === 1 && rec.id === id && rec.label === 1 && rec.prediction === 7 &&
        rec.version === body.version && rec.original_type === 'image/png',
      'GET /v1/feedback lists the correction as sent', JSON.stringify(listed));
      const { execFileSync } = require('child_process');
      const row = execFileSync('/usr/bin/python3', ['-c',
        'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); ' +
        'print(c.execute("SELECT id, label, prediction, model_version, length(image), length(original) FROM feedback").fetchall())',
        db]).toString().trim();
      const png = Buffer.from(body.image.split(',')[1], 'base64');
      check(row === '[(' + id + ', 1, 7, \'' + body.version + '\', 3136, ' + png.length + ')]',
        'the database file holds the correction: the model\'s view and the drawing as sent', row);
      // a new drawing takes the thanks away; Escape leaves no row
      await fpage.locator('body').press('Escape');
      await settled(fpage);
      check(await fpage.locator('#fix').isHidden(), 'cleared: the correction row goes');
      await fpage.close();
      log.foreign.push(...flog.foreign);
      log.errors.push(...flog.errors);
      await stopServer(fserver);
      fs.rmSync(dbDir, { recursive: true, force: true });
    }

    check(log.maxInFlight === 1 && klog.maxInFlight === 1, 'never more than one request in flight',
      log.maxInFlight + ', ' + klog.maxInFlight);
    check(log.foreign.length === 0, 'nothing requested outside the server', log.foreign.join(' '));
    check(log.errors.length === 0, 'no script errors', log.errors.join(' | '));
  } catch (e) {
    check(false, 'the test ran to its end', e && e.stack ? e.stack : String(e));
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    for (const s of servers) await stopServer(s);
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log('screenshots in ' + opt.out);
  finish();
}

main();
