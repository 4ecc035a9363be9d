// Signing in through upstream OpenID Connect IdPs, in headless Chromium, against two real
// upstreams: node `oidc-provider` (in this process) and a second `tessera serve`. Covers a
// first sign-in, a returning user, linking, a refused sign-in, a mixed-up and a forged
// response, and a replayed callback. Screenshots go to target/browser-screenshots/upstream-*.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { STEP_MS, TEST_MS, Tessera, launchChromium, screenshot, withTimeout } from './harness.mjs';

const PASSWORD = 'upstream-' + randomBytes(6).toString('hex');

let down; // the server people sign in to (127.0.0.1)
let up; // the upstream tessera, reached as localhost (its cookies must not mix with down's)
let upBase;
let provider; // node oidc-provider
let providerServer;
let providerIssuer;
let browser;
const idps = {}; // name -> id

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  down = await new Tessera().start();
  const upPort = await freePort();
  upBase = `http://localhost:${upPort}`;
  up = await new Tessera(['--public-url', upBase], { listen: `127.0.0.1:${upPort}` }).start();
  await up.admin(
    ['admin', 'user', 'add', 'bob@lab.example.org', '--password-stdin', '--name', 'Bob Lab'],
    `${PASSWORD}\n`,
  );
  await down.admin(['admin', 'user', 'add', 'alice@down.example.org', '--password-stdin'], `${PASSWORD}\n`);

  // node oidc-provider: any login is an account; its claims come from userinfo.
  const providerPort = await freePort();
  providerIssuer = `http://127.0.0.1:${providerPort}`;
  const providerId = await down.admin(['admin', 'idp', 'id', '--issuer', providerIssuer]);
  const providerSecret = randomBytes(24).toString('hex');
  provider = new Provider(providerIssuer, {
    clients: [
      {
        client_id: 'tessera-down',
        client_secret: providerSecret,
        redirect_uris: [`${down.base}${providerId.callback_path}`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
    features: { devInteractions: { enabled: true } },
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: `acct-${id}`,
        preferred_username: id,
        name: `${id[0].toUpperCase()}${id.slice(1)} Provider`,
        email: `${id}@provider.example.org`,
      }),
    }),
  });
  provider.proxy = false;
  const callbackPrefix = `${down.base}${providerId.callback_path}?`;
  provider.use(async (ctx, next) => {
    // A forgery the test asks for: a nonce other than the one Tessera sent (the ID token is
    // then validly signed but for another request), or a broken ID-token signature.
    if (tamper === 'nonce' && ctx.path === '/auth' && ctx.query.nonce) {
      ctx.query = { ...ctx.query, nonce: 'not-the-nonce-tessera-sent' };
    }
    await next();
    if (tamper === 'signature' && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const [h, p, sig] = ctx.body.id_token.split('.');
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      ctx.body = { ...ctx.body, id_token: `${h}.${p}.${flipped}` };
    }
    const location = ctx.response.get('location');
    if (holding && !holding.url && location && location.startsWith(callbackPrefix)) {
      holding.url = location;
      ctx.status = 200;
      ctx.remove('location');
      ctx.type = 'text/html';
      ctx.body = '<p>held</p>';
    }
  });
  providerServer = await new Promise((r) => {
    const s = provider.listen(providerPort, '127.0.0.1', () => r(s));
  });
  const added = await down.admin(
    [
      'admin', 'idp', 'add', '--name', 'Provider Node', '--issuer', providerIssuer,
      '--client-id', 'tessera-down', '--client-secret-stdin', '--domain', 'provider.example.org',
      '--scope', 'profile', '--scope', 'email',
    ],
    `${providerSecret}\n`,
  );
  idps['Provider Node'] = added.id;

  // The upstream tessera: a confidential client there, made with its own CLI.
  const labId = await down.admin(['admin', 'idp', 'id', '--issuer', upBase]);
  const client = await up.admin([
    'admin', 'client', 'add', '--name', 'Down portal', '--confidential',
    '--redirect-uri', `${down.base}${labId.callback_path}`,
  ]);
  const lab = await down.admin(
    [
      'admin', 'idp', 'add', '--name', 'Lab Tessera', '--issuer', upBase,
      '--client-id', client.client_id, '--client-secret-stdin', '--domain', 'lab.example.org',
      '--scope', 'profile', '--scope', 'email',
    ],
    `${client.client_secret}\n`,
  );
  idps['Lab Tessera'] = lab.id;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((r) => (providerServer ? providerServer.close(r) : r()));
  await down?.stop();
  await up?.stop();
});

async function fresh() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  return { context, page };
}

/** At oidc-provider's dev pages: sign in as `login` and continue past its consent. */
async function providerSignIn(page, login) {
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'anything');
  await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type="submit"]')]);
  if (page.url().startsWith(providerIssuer)) {
    // The consent step of its dev interactions.
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type="submit"]')]);
  }
}

/** At the upstream tessera: sign in as bob and allow, if asked. */
async function labSignIn(page) {
  await page.waitForSelector('#username');
  await page.fill('#username', 'bob@lab.example.org');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[type="submit"]')]);
  if (page.url().startsWith(upBase) && (await page.locator('button[value="allow"]').count()) > 0) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('button[value="allow"]')]);
  }
}

/** Presses "Sign in with NAME" on the downstream sign-in page. */
async function press(page, name) {
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
    page.click(`button:has-text("Sign in with ${name}")`),
  ]);
}

/** When set, oidc-provider's next redirect to the downstream's callback is not delivered: its
 *  URL is kept here and the browser gets a plain page (so a test can tamper with it). */
let holding = null;
/** When set ('nonce' or 'signature'), oidc-provider's answers are tampered with that way. */
let tamper = null;

/** Holds Provider Node's next callback (see `holding`); `url()` waits for it. */
function holdCallback() {
  holding = { url: null };
  const h = holding;
  return {
    url: async () => {
      for (let i = 0; i < 50 && !h.url; i++) await new Promise((r) => setTimeout(r, 100));
      holding = null;
      return h.url;
    },
  };
}

test('first sign-in and a returning user through node oidc-provider', { timeout: TEST_MS }, async () => {
  await withTimeout((async () => {
    const { context, page } = await fresh();
    await page.goto(`${down.base}/v2/web/login`);
    assert.equal(await page.locator('button:has-text("Sign in with Provider Node")').count(), 1);
    assert.equal(await page.locator('button:has-text("Sign in with Lab Tessera")').count(), 1);
    assert.equal(await page.locator('#password').count(), 1);
    await screenshot(page, 'upstream-login-page');
    await press(page, 'Provider Node');
    assert.ok(page.url().startsWith(providerIssuer), page.url());
    await providerSignIn(page, 'carol');
    assert.ok(page.url().startsWith(down.base), page.url());
    const body = await page.textContent('body');
    assert.match(body, /carol@provider\.example\.org/);
    await screenshot(page, 'upstream-first-sign-in');
    await context.close();

    // Returning: a new browser, the same (issuer, sub), the same identity (its username is
    // unique, so a second identity could not have been made).
    const second = await fresh();
    await second.page.goto(`${down.base}/v2/web/login?next=/v2/web/account`);
    await press(second.page, 'Provider Node');
    await providerSignIn(second.page, 'carol');
    assert.equal(new URL(second.page.url()).pathname, '/v2/web/account');
    assert.match(await second.page.textContent('body'), /carol@provider\.example\.org/);
    await screenshot(second.page, 'upstream-returning-user');
    await second.context.close();
  })(), TEST_MS - 1000, 'first sign-in');
});

test('a refused sign-in at the upstream shows a clear page', { timeout: TEST_MS }, async () => {
  const { context, page } = await fresh();
  await page.goto(`${down.base}/v2/web/login`);
  await press(page, 'Provider Node');
  await page.waitForSelector('input[name="login"]');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(down.base)), page.click('text=[ Cancel ]')]);
  assert.match(page.url(), /error=access_denied/);
  const body = await page.textContent('body');
  assert.match(body, /Sign-in refused/);
  assert.match(body, /Provider Node did not sign you in/);
  await screenshot(page, 'upstream-refused');
  await context.close();
});

test('linking: a signed-in person links their upstream tessera identity', { timeout: TEST_MS }, async () => {
  const { context, page } = await fresh();
  await page.goto(`${down.base}/v2/web/login?next=/v2/web/account`);
  await page.fill('#username', 'alice@down.example.org');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form.form button[type="submit"]')]);
  await Promise.all([page.waitForNavigation(), page.click('text=Link another identity')]);
  await press(page, 'Lab Tessera');
  assert.ok(page.url().startsWith(upBase), page.url());
  await labSignIn(page);
  assert.equal(page.url(), `${down.base}/v2/web/account`);
  const body = await page.textContent('body');
  assert.match(body, /alice@down\.example\.org/);
  assert.match(body, /bob@lab\.example\.org/);
  await screenshot(page, 'upstream-linked');
  await context.close();
});

test('mixed-up, forged and replayed callbacks are refused', { timeout: TEST_MS }, async () => {
  // Mix-up: a Provider Node response that names the Lab's issuer.
  let { context, page } = await fresh();
  await page.goto(`${down.base}/v2/web/login`);
  let hold = holdCallback();
  await press(page, 'Provider Node');
  await providerSignIn(page, 'dave');
  const real = await hold.url();
  assert.ok(real, 'the callback was held');
  const mixed = new URL(real);
  mixed.searchParams.set('iss', upBase);
  let response = await page.goto(mixed.href);
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('body'), /names another issuer/);
  await screenshot(page, 'upstream-mixed-up');
  // Replay of the real callback afterwards: its state is spent.
  response = await page.goto(real);
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('body'), /not started in this browser|expired or was already used/);
  await context.close();

  // Forged state (a response this browser never asked for).
  ({ context, page } = await fresh());
  await page.goto(`${down.base}/v2/web/login`);
  hold = holdCallback();
  await press(page, 'Provider Node');
  await providerSignIn(page, 'erin');
  const good = await hold.url();
  const forged = new URL(good);
  forged.searchParams.set('state', 'forged-' + randomBytes(8).toString('hex'));
  response = await page.goto(forged.href);
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('body'), /not started in this browser/);
  await screenshot(page, 'upstream-forged');
  await context.close();

  // Replayed after a successful sign-in.
  ({ context, page } = await fresh());
  await page.goto(`${down.base}/v2/web/login`);
  hold = holdCallback();
  await press(page, 'Provider Node');
  await providerSignIn(page, 'frank');
  const once = await hold.url();
  response = await page.goto(once);
  assert.ok(response.ok() || response.status() === 200, `first use: ${response.status()}`);
  assert.match(await page.textContent('body'), /frank@provider\.example\.org/);
  response = await page.goto(once);
  assert.equal(response.status(), 400);
  assert.match(await page.textContent('body'), /cannot be accepted/);
  await screenshot(page, 'upstream-replayed');
  await context.close();
});

test('an ID token with a bad signature or another nonce is refused', { timeout: TEST_MS }, async () => {
  for (const kind of ['signature', 'nonce']) {
    const { context, page } = await fresh();
    tamper = kind;
    try {
      await page.goto(`${down.base}/v2/web/login`);
      await press(page, 'Provider Node');
      await providerSignIn(page, `grace${kind}`);
    } finally {
      tamper = null;
    }
    assert.ok(page.url().startsWith(`${down.base}/v2/web/idp/`), page.url());
    const body = await page.textContent('body');
    assert.match(body, /ID token did not verify/, kind);
    assert.doesNotMatch(body, /Signed in/);
    await screenshot(page, `upstream-bad-id-token-${kind}`);
    // Nothing was made of it: the home page is still signed out.
    await page.goto(`${down.base}/`);
    assert.doesNotMatch(await page.textContent('body'), new RegExp(`grace${kind}`));
    await context.close();
  }
});
