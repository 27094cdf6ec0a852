// page.test.js: the drawing page in a real browser. Starts the real
// mnist-server on 127.0.0.1 (port 0), drives Debian's chromium through
// playwright-core, draws digits as pointer strokes and checks what the page
// shows. Never downloads a browser; fails (does not skip) without one.
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

/* ---------- page helpers ---------- */

async function canvasBox(page) {
  const b = await page.locator('#canvas').boundingBox();
  if (!b) throw new Error('the drawing canvas is not visible');
  return b;
}

// Draws digit d with the mouse into a box of the canvas: left/top/size as
// fractions of the canvas side.
async function drawDigit(page, d, box) {
  const c = await canvasBox(page);
  const at = (p) => [c.x + (box.left + p[0] * box.size) * c.width, c.y + (box.top + p[1] * box.size) * c.height];
  for (const stroke of DIGITS[d]) {
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
    return {
      state: r.dataset.state,
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

// What the live region says once the answer has settled (it speaks a
// moment after the last answer, with the pen up); '' if it stays silent.
async function announced(page) {
  await page.waitForFunction(() => document.getElementById('announce').textContent !== '', null, { timeout: 3000 })
    .catch(() => {});
  return page.locator('#announce').textContent();
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
  // At most one prediction in flight, at every moment of the test.
  const isPredict = (req) => new URL(req.url()).pathname === '/predict';
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
      await drawDigit(page, d, box);
      const r = await settled(page);
      checkPrediction(r, d, 'drawn ' + d);
      const said = await announced(page);
      check(said === 'Prediction: ' + d + ', ' + r.confidence.replace(' confident', ' confidence'),
        'drawn ' + d + ': result announced', said);
      await shot(page, opt.out, 'digit-' + d + '.png');
      if (d === 7) {
        layoutOk = await rects(page);
        if (process.env.UPDATE_SCREENSHOT === '1' && process.env.MNIST_SOURCE_DIR) {
          fs.copyFileSync(path.join(opt.out, 'digit-7.png'), path.join(process.env.MNIST_SOURCE_DIR, 'docs', 'screenshot.png'));
          console.log('updated docs/screenshot.png');
        }
      }
    }
    check(JSON.stringify(layoutEmpty) === JSON.stringify(layoutOk), 'no layout shift between empty and answered page',
      JSON.stringify(layoutEmpty) + ' vs ' + JSON.stringify(layoutOk));

    // Predictions arrive while the pen is still down: one slow stroke.
    await page.locator('body').press('Escape');
    await settled(page);
    {
      const c = await canvasBox(page);
      const pts = DIGITS[0][0];
      const sent = log.requests.length;
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
      checkPrediction(await settled(page), 0, 'slowly drawn 0');
      check(shownWhileDrawing, 'a prediction is shown while the stroke is still being drawn');
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
      await mctx.close();
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
      check(r.state === 'ok' && r.winners.length === 1 && r.prediction === labels[r.winners[0]],
        'Fashion: the result names the class of the highlighted bar', r.prediction + ' ' + JSON.stringify(r.winners));
      await shot(fpage, opt.out, 'fashion.png');
      await fpage.close();
      log.foreign.push(...flog.foreign);
      log.errors.push(...flog.errors);
    } else {
      console.log('note: no ' + fashionModel + ' (or no ' + fashionData + '): class names not exercised');
    }

    check(log.maxInFlight === 1 && klog.maxInFlight === 1, 'never more than one prediction in flight',
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
