// The front door (`/`) in headless Chromium: what a visitor sees signed out and signed in (at
// 1024 px and at 375 px), signing in from it, Revoke from it, and the way home from the pages.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  STEP_MS,
  TEST_MS,
  Tessera,
  base64url,
  launchChromium,
  pathOf,
  screenshot,
  withTimeout,
} from './harness.mjs';

const USERNAME = 'alice@example.org';
const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const CLIENT_NAME = 'Research Notebook';

let tessera;
let base;
let clientId;
let browser;
let context;
let page;
const errors = [];
/** Paths the tests open expecting an error status (Chromium logs those as console errors). */
const EXPECTED_ERRORS = new Set(['/no-such-page', '/v2/oauth2/authorize']);

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || p.url();
    if (/^Failed to load resource/.test(msg.text()) && EXPECTED_ERRORS.has(new URL(where).pathname)) return;
    errors.push(`console: ${msg.text()} (${where})`);
  });
  p.on('pageerror', (err) => errors.push(`page error: ${err.message} (${p.url()})`));
}

/** The page fits the window: nothing wider than the viewport (no sideways scrolling). */
async function assertFits(p, width) {
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `the page is ${scrollWidth} px wide in a ${width} px window`);
}

/** The same session in a narrow (375 px) window: screenshot, and nothing overflows. */
async function narrow(name) {
  const small = await browser.newContext({
    viewport: { width: 375, height: 740 },
    colorScheme: 'light',
    storageState: await context.storageState(),
  });
  try {
    const p = await small.newPage();
    watch(p);
    await p.goto(`${base}/`);
    await assertFits(p, 375);
    await screenshot(p, name);
  } finally {
    await small.close();
  }
}

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    await tessera.admin(['admin', 'user', 'add', USERNAME, '--password-stdin', '--name', 'Alice Example'], `${PASSWORD}\n`);
    clientId = (await tessera.admin(['admin', 'client', 'add', '--name', CLIENT_NAME, '--native'])).client_id;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(15_000);
    page = await context.newPage();
    watch(page);
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

test('signed out, the front door says what this is and where the API lives', { timeout: TEST_MS }, async () => {
  const res = await page.goto(`${base}/`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^text\/html/);
  await page.getByRole('heading', { name: 'Welcome to Tessera', level: 1 }).waitFor();
  assert.match(await page.locator('main').innerText(), /signs people in to research applications/);
  const signIn = page.getByRole('link', { name: 'Sign in', exact: true });
  assert.ok(await signIn.isVisible());

  const discovery = page.getByRole('link', { name: `${base}/.well-known/openid-configuration` });
  const jwks = page.getByRole('link', { name: `${base}/jwk.json` });
  for (const link of [discovery, jwks]) {
    const href = await link.getAttribute('href');
    const r = await fetch(href, { signal: AbortSignal.timeout(STEP_MS) });
    assert.equal(r.status, 200, href);
    assert.match(r.headers.get('content-type'), /json/, href);
  }
  const text = await page.locator('main').innerText();
  for (const api of [`${base}/v2/oauth2/`, `${base}/v2/api/`, `GLOBUS_SDK_SERVICE_URL_AUTH=${base}/`]) {
    assert.ok(text.includes(api), `${api} is not on the page`);
  }
  assert.equal(await page.getByRole('button', { name: 'Revoke' }).count(), 0);
  await assertFits(page, 1024);
  await screenshot(page, 'home-signed-out');
  await narrow('home-signed-out-375');

  // An unknown path is still the API's JSON 404, for browsers too.
  const missing = await page.goto(`${base}/no-such-page`);
  assert.equal(missing.status(), 404);
  assert.match(missing.headers()['content-type'], /json/);
});

test('Sign in from the front door comes back to it, signed in', { timeout: TEST_MS }, async () => {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  assert.equal(pathOf(page), '/v2/web/login');
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Hello, Alice Example', level: 1 }).waitFor();
  assert.equal(pathOf(page), '/');
  const main = await page.locator('main').innerText();
  assert.match(main, /Signed in as alice@example\.org/);
  assert.match(main, /Your linked identities/);
  assert.match(main, /Signed in with this identity/);
  assert.match(main, /You have not allowed any apps yet/);
  assert.ok(await page.getByRole('link', { name: 'Sign out' }).isVisible());
  assert.ok(await page.getByRole('link', { name: 'Link another identity' }).isVisible());
});

test('an app allowed shows on the front door, and Revoke there takes it back', { timeout: TEST_MS }, async () => {
  const verifier = base64url(randomBytes(48));
  const q = new URLSearchParams({
    client_id: clientId,
    redirect_uri: `${base}/v2/web/auth-code`,
    scope: 'openid profile email urn:globus:auth:scope:transfer.api.globus.org:all',
    response_type: 'code',
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  await page.goto(`${base}/v2/oauth2/authorize?${q}`);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.locator('#auth-code').waitFor();

  // From the auth-code page, home.
  await page.getByRole('link', { name: 'Home' }).click();
  assert.equal(pathOf(page), '/');
  const app = page.locator('li.app').filter({ has: page.getByRole('heading', { name: CLIENT_NAME, exact: true }) });
  await app.waitFor();
  assert.match(await app.innerText(), /Transfer/);
  await assertFits(page, 1024);
  await screenshot(page, 'home-signed-in');
  await narrow('home-signed-in-375');
  const dark = await browser.newContext({
    viewport: { width: 1024, height: 768 },
    colorScheme: 'dark',
    storageState: await context.storageState(),
  });
  const p = await dark.newPage();
  await p.goto(`${base}/`);
  await screenshot(p, 'home-signed-in-dark');
  await dark.close();

  await app.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('heading', { name: 'Hello, Alice Example', level: 1 }).waitFor();
  assert.equal(pathOf(page), '/', 'Revoke on the front door comes back to it');
  assert.equal(await app.count(), 0, 'the app is still listed');
  assert.match(await page.locator('main').innerText(), /You have not allowed any apps yet/);
});

test('every page leads home', { timeout: TEST_MS }, async () => {
  const pages = [
    '/v2/web/account',
    '/v2/web/logout',
    '/v2/web/auth-code?code=x',
    '/v2/oauth2/authorize?client_id=nobody',
  ];
  for (const path of pages) {
    await page.goto(`${base}${path}`);
    // The brand in the header and "Home" in the footer.
    assert.equal(await page.locator('header a.brand').getAttribute('href'), '/', path);
    await page.getByRole('link', { name: 'Home' }).click();
    assert.equal(pathOf(page), '/', `Home from ${path}`);
  }
});

test('Sign out from the front door, and home again', { timeout: TEST_MS }, async () => {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Signed out', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Home' }).click();
  await page.getByRole('heading', { name: 'Welcome to Tessera', level: 1 }).waitFor();
  // The sign-in page too leads home.
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.locator('header a.brand').click();
  assert.equal(pathOf(page), '/');
});

test('the front door logged no console errors', { timeout: TEST_MS }, async () => {
  assert.deepEqual(errors, []);
});
