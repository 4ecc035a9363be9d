// Real-browser tests of Tessera's server-rendered pages (login, consent,
// auth-code, account, logout, error), driven through headless Chromium with
// playwright-core. Run with `node --test tests/browser/` (see README.md).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import {
  STEP_MS,
  TEST_MS,
  Tessera,
  base64url,
  launchChromium,
  pathOf,
  screenshot,
  sleep,
  withTimeout,
} from './harness.mjs';

const USERNAME = 'alice@example.org';
const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const WRONG_PASSWORD = 'wrong-battery-' + randomBytes(6).toString('hex');
const CLIENT_NAME = 'Research Notebook';
const TRANSFER_SCOPE = 'urn:globus:auth:scope:transfer.api.globus.org:all';
const SCOPES = ['openid', 'profile', 'email', TRANSFER_SCOPE];
const STATE = 'xyz';

// ---- shared state -----------------------------------------------------------

let tessera; // the server
let base; // e.g. http://127.0.0.1:40123
let redirectUri;
let clientId;
let browser;
let context;
let page; // the page that walks through the sign-in flow
let verifier;
let authorizeUrl;
let tokens; // the token response of the code exchange

/** Console errors, page errors and failed requests on the server's pages. */
const browserErrors = [];
/** Console errors that are reported but do not fail the run (the missing favicon). */
const browserNotes = [];
/** URLs of documents the server is expected to answer with an error status. */
const expectedErrorDocuments = new Set();
/** Every main-frame document response from the server: {url, status, headers}. */
const documents = [];

// ---- helpers ----------------------------------------------------------------

/** Records console errors, page errors, failed requests and document headers. */
function watch(p, label) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || p.url();
    const entry = `[${label}] console: ${msg.text()} (${where})`;
    if (/^Failed to load resource: the server responded with a status of/.test(msg.text())) {
      // A page the test asked for with an expected error status (the 400 error page).
      if (expectedErrorDocuments.has(where)) return;
      // Chromium fetches /favicon.ico by itself; the server has none. Reported, not failed.
      if (new URL(where, base).pathname === '/favicon.ico') {
        browserNotes.push(entry);
        return;
      }
    }
    browserErrors.push(entry);
  });
  p.on('pageerror', (err) => browserErrors.push(`[${label}] page error: ${err.message} (${p.url()})`));
  p.on('requestfailed', (req) => {
    browserErrors.push(`[${label}] request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  p.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && req.frame() === p.mainFrame() && res.url().startsWith(base)) {
      documents.push({ url: res.url(), status: res.status(), headers: res.headers() });
    }
  });
}

async function userinfo(accessToken) {
  return fetch(`${base}/v2/oauth2/userinfo`, {
    headers: { Authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(STEP_MS),
  });
}

/** The allowed-app entries on the account page (identities have no Revoke button). */
function appEntries(p, name) {
  return p
    .locator('li.app')
    .filter({ has: p.getByRole('button', { name: 'Revoke' }) })
    .filter({ has: p.getByRole('heading', { name, exact: true }) });
}

// ---- setup / teardown -------------------------------------------------------

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    redirectUri = `${base}/v2/web/auth-code`;

    await tessera.admin(['admin', 'user', 'add', USERNAME, '--password-stdin', '--name', 'Alice Example'], `${PASSWORD}\n`);
    const client = await tessera.admin(['admin', 'client', 'add', '--name', CLIENT_NAME, '--native']);
    clientId = client.client_id;
    assert.ok(clientId, `client add printed no client_id: ${JSON.stringify(client)}`);

    verifier = base64url(randomBytes(48));
    const challenge = base64url(createHash('sha256').update(verifier).digest());
    const q = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: SCOPES.join(' '),
      response_type: 'code',
      state: STATE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      access_type: 'offline',
    });
    authorizeUrl = `${base}/v2/oauth2/authorize?${q}`;

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(15_000);
    page = await context.newPage();
    watch(page, 'flow');
  },
  { timeout: 90_000 },
);

after(
  async () => {
    if (browser) await withTimeout(browser.close(), 10_000, 'browser close').catch(() => {});
    await tessera?.stop();
  },
  { timeout: 30_000 },
);

// ---- tests ------------------------------------------------------------------

test('authorize leads to a login page with labelled fields', { timeout: TEST_MS }, async () => {
  const res = await page.goto(authorizeUrl);
  assert.equal(res.status(), 200);
  assert.equal(new URL(page.url()).origin, base);
  assert.equal(pathOf(page), '/v2/web/login');
  assert.match(await page.title(), /Sign in/);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();

  const username = page.getByLabel('Username');
  const password = page.getByLabel('Password');
  await username.waitFor();
  await password.waitFor();
  assert.equal(await username.getAttribute('type'), 'text');
  assert.equal(await password.getAttribute('type'), 'password');
  assert.ok(await page.getByRole('button', { name: 'Sign in' }).isVisible());
  // The page says which app the user is signing in to.
  assert.match(await page.locator('main').innerText(), /Research Notebook/);
  await screenshot(page, 'login');
});

test('a wrong password shows an alert and keeps no password', { timeout: TEST_MS }, async () => {
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(WRONG_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Incorrect username or password/);
  assert.equal(pathOf(page), '/v2/web/login');
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  assert.ok(!(await page.content()).includes(WRONG_PASSWORD), 'the wrong password is in the page');
  await screenshot(page, 'login-with-error');
});

test('the right password leads to the consent page listing the scopes', { timeout: TEST_MS }, async () => {
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const heading = page.getByRole('heading', { level: 1 });
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  assert.equal(pathOf(page), '/v2/web/consent');
  assert.match(await heading.innerText(), /Research Notebook/);
  assert.ok(await page.getByRole('button', { name: 'Deny' }).isVisible());
  assert.ok(!(await page.content()).includes(PASSWORD), 'the password is in the page');

  const names = await page.locator('.scope-name').allInnerTexts();
  const strings = await page.locator('.scope-string').allInnerTexts();
  const descriptions = await page.locator('.scope-desc').allInnerTexts();
  for (const s of SCOPES) assert.ok(strings.includes(s), `scope ${s} not listed: ${strings}`);
  assert.ok(names.length >= SCOPES.length, `scope names: ${names}`);
  assert.ok(names.every((n) => n.trim().length > 0), `an empty scope name: ${names}`);
  assert.ok(names.some((n) => /Transfer/.test(n)), `no Transfer scope name: ${names}`);
  assert.ok(descriptions.length >= SCOPES.length, `scope descriptions: ${descriptions}`);
  await screenshot(page, 'consent');
});

test('Allow shows the code, which exchanges for tokens', { timeout: TEST_MS }, async () => {
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#auth-code').waitFor();

  const url = new URL(page.url());
  assert.equal(url.origin + url.pathname, redirectUri);
  const code = url.searchParams.get('code');
  assert.ok(code, `no code in ${url}`);
  assert.equal(url.searchParams.get('state'), STATE);
  assert.ok(url.searchParams.get('iss'), `no iss in ${url}`);
  assert.equal((await page.locator('#auth-code').innerText()).trim(), code);
  await screenshot(page, 'auth-code');

  const res = await fetch(`${base}/v2/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
    }),
    signal: AbortSignal.timeout(STEP_MS),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  tokens = body;
  for (const k of ['access_token', 'id_token', 'refresh_token']) {
    assert.equal(typeof body[k], 'string', `${k} missing: ${JSON.stringify(body)}`);
    assert.ok(body[k].length > 0);
  }
  assert.ok(Array.isArray(body.other_tokens), 'other_tokens is not a list');
  assert.ok(
    body.other_tokens.some((t) => t.resource_server === 'transfer.api.globus.org' && t.access_token),
    `no transfer token in other_tokens: ${JSON.stringify(body.other_tokens)}`,
  );
  assert.equal((await userinfo(body.access_token)).status, 200);
});

test('the account page lists the app and Revoke revokes it', { timeout: TEST_MS }, async () => {
  assert.ok(tokens, 'no tokens from the previous test');
  const res = await page.goto(`${base}/v2/web/account`);
  assert.equal(res.status(), 200);
  assert.equal(pathOf(page), '/v2/web/account');
  const entry = appEntries(page, CLIENT_NAME);
  await entry.waitFor();
  assert.equal(await entry.count(), 1);
  await screenshot(page, 'account');

  await entry.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  assert.equal(pathOf(page), '/v2/web/account');
  assert.equal(await appEntries(page, CLIENT_NAME).count(), 0, 'the app is still listed');
  assert.ok(!(await page.locator('main').innerText()).includes(CLIENT_NAME), 'the app name is still on the page');
  await screenshot(page, 'account-after-revoke');

  assert.equal((await userinfo(tokens.access_token)).status, 401);
  const refresh = await fetch(`${base}/v2/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId }),
    signal: AbortSignal.timeout(STEP_MS),
  });
  assert.equal(refresh.status, 400, 'the refresh token still works after Revoke');
});

test('logout signs the user out', { timeout: TEST_MS }, async () => {
  const res = await page.goto(`${base}/v2/web/logout`);
  assert.equal(res.status(), 200);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  await signOut.waitFor();
  assert.match(await page.locator('main').innerText(), /alice@example\.org/);
  await screenshot(page, 'logout');

  await signOut.click();
  await page.getByRole('heading', { name: 'Signed out', level: 1 }).waitFor();
  assert.match(await page.locator('main').innerText(), /You are signed out/);
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
  await screenshot(page, 'logout-done');

  // The session is gone: the account page asks to sign in again.
  await page.goto(`${base}/v2/web/account`);
  assert.equal(pathOf(page), '/v2/web/login');
  await page.getByLabel('Password').waitFor();
});

test('an unregistered redirect_uri shows an error page and stays on the server', { timeout: TEST_MS }, async () => {
  const p = await context.newPage();
  watch(p, 'error');
  const outside = [];
  const serverOrigin = new URL(base).origin;
  await p.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== serverOrigin) {
      outside.push(url);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const visited = [];
  p.on('framenavigated', (f) => {
    if (f === p.mainFrame()) visited.push(f.url());
  });
  try {
    const q = new URLSearchParams({
      client_id: clientId,
      redirect_uri: 'https://evil.example/cb',
      scope: SCOPES.join(' '),
      response_type: 'code',
      state: STATE,
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    });
    const url = `${base}/v2/oauth2/authorize?${q}`;
    expectedErrorDocuments.add(url);
    const res = await p.goto(url);
    assert.equal(res.status(), 400);
    const alert = p.getByRole('alert');
    await alert.waitFor();
    assert.ok((await alert.innerText()).trim().length > 0, 'empty error message');
    assert.ok((await p.getByRole('heading', { level: 1 }).innerText()).trim().length > 0, 'no error heading');
    await sleep(500); // give a (wrong) redirect the chance to start
    await screenshot(p, 'error');
    assert.equal(new URL(p.url()).origin, serverOrigin);
    assert.deepEqual(outside, [], `requests left the server: ${outside}`);
    for (const u of visited) assert.equal(new URL(u).origin, serverOrigin, `navigated to ${u}`);
    assert.ok(!(await p.content()).includes('href="https://evil.example'), 'the page links to the bad redirect_uri');
  } finally {
    await p.close();
  }
});

test('the pages cannot be framed', { timeout: TEST_MS }, async () => {
  // Every page the browser rendered from the server says so in its headers...
  const rendered = documents.filter((d) => d.status < 300 || d.status >= 400);
  const paths = new Set(rendered.map((d) => new URL(d.url).pathname));
  for (const p of ['/v2/web/login', '/v2/web/consent', '/v2/web/auth-code', '/v2/web/account', '/v2/web/logout', '/v2/oauth2/authorize']) {
    assert.ok(paths.has(p), `no page from ${p} was seen: ${[...paths]}`);
  }
  for (const d of rendered) {
    const csp = d.headers['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `${d.url}: CSP ${csp}`);
    assert.equal((d.headers['x-frame-options'] ?? '').toUpperCase(), 'DENY', `${d.url}: X-Frame-Options`);
  }

  // ...and the browser really refuses to show one inside another site's frame.
  // The framing site is a second loopback origin (a tiny node server on another
  // port); it also frames a page of its own, which must load.
  const framer = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    if (req.url === '/own') {
      res.end('<!doctype html><title>own</title><p id="own">own page</p>');
      return;
    }
    res.end(
      '<!doctype html><title>framer</title>' +
        `<iframe name="own" src="/own"></iframe>` +
        `<iframe name="victim" src="${base}/v2/web/login"></iframe>`,
    );
  });
  await new Promise((r) => framer.listen(0, '127.0.0.1', r));
  const framerBase = `http://127.0.0.1:${framer.address().port}`;
  const p = await context.newPage();
  try {
    const refused = [];
    p.on('console', (m) => {
      if (/frame-ancestors|X-Frame-Options/i.test(m.text())) refused.push(m.text());
    });
    const blocked = p.waitForEvent('console', {
      predicate: (m) => /frame-ancestors 'none'|X-Frame-Options' to 'deny'/i.test(m.text()),
      timeout: STEP_MS,
    });
    await p.goto(`${framerBase}/framer`);
    await blocked;
    await p.frame({ name: 'own' }).locator('#own').waitFor();
    const victim = p.frame({ name: 'victim' });
    assert.ok(victim, 'no iframe');
    assert.ok(!victim.url().startsWith(base), `the frame shows ${victim.url()}`);
    assert.equal(await victim.getByRole('button', { name: 'Sign in' }).count(), 0, 'the login form rendered in a frame');
    assert.ok(refused.length > 0);
  } finally {
    await p.close();
    await new Promise((r) => framer.close(r));
  }
});

test('the pages logged no console errors', { timeout: TEST_MS }, async (t) => {
  for (const note of new Set(browserNotes)) t.diagnostic(`not failed: ${note}`);
  assert.deepEqual(browserErrors, []);
});
