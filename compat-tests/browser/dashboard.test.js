'use strict';
// Browser test of the dashboard (web-client/) served by the Go server with DEMO=true, in Debian's
// Chromium driven by playwright-core. Never downloads a browser.
//
//   cd compat-tests && node --test browser/
//
// Env:
//   GO_SERVER_BIN   the server binary (default <repo>/bin/server)
//   BROWSER_TARGET  go (default) or node: node runs browser/node-demo-server.js instead, a small
//                   socket.io stand-in used to develop the page without the Go server
//   CHROMIUM_PATH   the browser (default /usr/bin/chromium)
//   REDIS_URL       an existing Redis for the session store (default: a private redis-server)
// The server runs with SESSION_STORE=redis so that sessions survive the SIGKILL + restart, DEMO=true
// and DEMO_TRADE_INTERVAL_MS=1000 (a demo trade per second, so the trade feed shows up fast).
// Screenshots go to <repo>/test-output/: one of the dashboard per case on success, one on failure.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test-output');
if ((process.env.BROWSER_TARGET || 'go') === 'node') {
  process.env.GO_SERVER_BIN = path.join(__dirname, 'node-demo-server.sh');
}
const { startRedis, startServer, suiteEnv, closeClients } = require('../lib/servers.js');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];
const STEP_MS = 15000; // deadline of one UI expectation
const SERVER_ENV = { DEMO: 'true', DEMO_TRADE_INTERVAL_MS: '1000', SHUTDOWN_GRACE_MS: '500' };

const tid = (id) => `[data-testid="${id}"]`;

// openBrowser: a fresh profile (new empty user-data-dir) per case.
async function openBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 860 },
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err));
  return {
    page,
    pageErrors,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// The expectations, each a browser-side wait with a deadline (no sleeps).
async function waitState(page, state, ms = STEP_MS) {
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want,
    [tid('connection-state'), state], { timeout: ms, polling: 50 });
}

async function waitAttempt(page, min, ms = STEP_MS) {
  const h = await page.waitForFunction(([sel, m]) => {
    const n = Number(document.querySelector(sel)?.dataset.attempt);
    return n >= m ? n : false;
  }, [tid('reconnect-attempt'), min], { timeout: ms, polling: 20 });
  return h.jsonValue();
}

// waitQuoteChange resolves the price text of sym once it is a price and differs from `from`.
async function waitQuoteChange(page, sym, from, ms = STEP_MS) {
  const h = await page.waitForFunction(([sel, old]) => {
    const t = document.querySelector(sel)?.textContent;
    return t && t !== '—' && t !== old ? t : false;
  }, [tid(`quote-price-${sym}`), from], { timeout: ms, polling: 50 });
  return h.jsonValue();
}

async function text(page, id) {
  return page.locator(tid(id)).first().textContent();
}

async function screenshot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}

// withDashboard runs body({ page, server }) with a server and a browser of its own, and
// screenshots the page on failure (the error names the file and carries the server log).
async function withDashboard(ctx, name, body) {
  const server = await startServer('go', { env: suiteEnv(ctx.redis.url, SERVER_ENV) });
  const browser = await openBrowser();
  try {
    await body({ page: browser.page, server });
    assert.deepEqual(browser.pageErrors.map(String), [], 'uncaught errors in the page');
  } catch (err) {
    const file = await screenshot(browser.page, `${name}-failure`);
    err.message += `\n(screenshot: ${file})\n--- server log ---\n${server.output().slice(-4000)}`;
    throw err;
  } finally {
    await browser.close();
    try { await server.stop(); } catch { server.kill('SIGKILL'); }
  }
}

async function loginAndConnect(page, baseUrl, userName) {
  await page.goto(baseUrl);
  await page.locator(tid('login-username')).fill(userName);
  await page.locator(tid('login-submit')).click();
  await waitState(page, 'CONNECTED');
  assert.equal(await text(page, 'user-name'), userName);
}

// The whole journey for one transport setting.
function journey(ctx, name, query, wantTransport) {
  return withDashboard(ctx, name, async ({ page, server }) => {
    await loginAndConnect(page, `${server.url}/${query}`, `Browser ${name}`);
    assert.equal(await text(page, 'transport'), wantTransport);

    // Add a symbol and see its quote move.
    await page.locator(tid('watchlist-input')).fill('  tsla ');
    await page.locator(tid('watchlist-add')).click();
    await page.locator(tid('watchlist-row-TSLA')).waitFor({ timeout: STEP_MS });
    const q1 = await waitQuoteChange(page, 'TSLA', '—');
    await waitQuoteChange(page, 'TSLA', q1);

    // Portfolio and a trade notification from the demo feed.
    await page.waitForFunction((sel) => /\$\d/.test(document.querySelector(sel)?.textContent || ''), tid('portfolio-value'), { timeout: STEP_MS });
    await page.locator(tid('trade-item')).first().waitFor({ timeout: STEP_MS });
    const kind = await page.locator(tid('trade-item')).first().getAttribute('data-kind');
    assert.ok(kind === 'executed' || kind === 'failed', `trade kind ${kind}`);

    // Remove a default symbol: its row goes and stays gone after the reconnects.
    await page.locator(tid('watchlist-remove-MSFT')).click();
    await page.locator(tid('watchlist-row-MSFT')).waitFor({ state: 'detached', timeout: STEP_MS });

    // Crash: SIGKILL, the page shows RECONNECTING with a growing attempt count.
    server.kill('SIGKILL');
    await server.exited;
    await waitState(page, 'RECONNECTING');
    const attempt = await waitAttempt(page, 1);
    assert.ok(attempt >= 1);

    // Restart on the same port: CONNECTED again, the watchlist restored on the new server
    // (quotes for TSLA only reach sockets that re-joined watchlist:TSLA).
    await server.start();
    await waitState(page, 'CONNECTED', 20000);
    assert.equal(await text(page, 'transport'), wantTransport);
    const before = await text(page, 'quote-price-TSLA');
    const q2 = await waitQuoteChange(page, 'TSLA', before);
    await waitQuoteChange(page, 'TSLA', q2);
    await waitQuoteChange(page, 'AAPL', await text(page, 'quote-price-AAPL'));
    assert.equal(await page.locator(tid('watchlist-row-MSFT')).count(), 0, 'a removed symbol came back');

    // Graceful shutdown: the banner, the server exits 0, the page reconnects to the restarted
    // server ('io server disconnect' path of the hook) and the banner goes.
    const stopping = server.stop();
    await page.locator(tid('shutdown-banner')).waitFor({ timeout: STEP_MS });
    assert.match(await text(page, 'shutdown-banner'), /shutting down/i);
    assert.equal(await stopping, 0, 'graceful shutdown exit code');
    await waitState(page, 'RECONNECTING');
    await server.start();
    await waitState(page, 'CONNECTED', 20000);
    await page.locator(tid('shutdown-banner')).waitFor({ state: 'detached', timeout: STEP_MS });
    const q3 = await waitQuoteChange(page, 'TSLA', await text(page, 'quote-price-TSLA'));
    await waitQuoteChange(page, 'TSLA', q3);
    await page.locator(tid('trade-item')).nth(1).waitFor({ timeout: STEP_MS });

    await screenshot(page, `dashboard-${name}`);
  });
}

describe('dashboard in Chromium', () => {
  const ctx = {};
  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM} (set CHROMIUM_PATH)`);
    ctx.redis = await startRedis();
  });
  after(async () => {
    await closeClients();
    if (ctx.redis) await ctx.redis.stop();
  });

  test('websocket first (the seed default): login, quotes, trades, crash and restart, graceful shutdown', () =>
    journey(ctx, 'default', '', 'websocket'));

  test('?transport=polling: the same journey over HTTP long-polling', () =>
    journey(ctx, 'polling', '?transport=polling', 'polling'));

  test('an invalid stored session is refused with UNAUTHORIZED and lands on the login form', () =>
    withDashboard(ctx, 'unauthorized', async ({ page, server }) => {
      await page.addInitScript(() => {
        sessionStorage.setItem('tradedash.session', JSON.stringify({ sessionID: 'no-such-session', userId: 'demo-nobody', userName: 'Ghost' }));
      });
      await page.goto(server.url);
      await page.locator(tid('login-notice')).waitFor({ timeout: STEP_MS });
      assert.match(await text(page, 'login-notice'), /UNAUTHORIZED/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('tradedash.session')), null);
      // And a good login from there works.
      await page.locator(tid('login-username')).fill('Recovered');
      await page.locator(tid('login-submit')).click();
      await waitState(page, 'CONNECTED');
    }));
});
