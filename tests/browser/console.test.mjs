// The developer console in headless Chromium: a developer signs in, creates a project, an app
// with a redirect URI (its first secret shown once, then proven with a real client_credentials
// token request), a second secret, two scopes, one depending on the other; reloads and sees
// them all; a wrong redirect URI is refused beside its field with what was typed kept. Also
// the empty states, a stranger refused, and a 375 px window. Screenshots: console-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { STEP_MS, Tessera, launchChromium, pathOf, screenshot, withTimeout } from './harness.mjs';

const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const DEV = 'dev@example.org';
const STRANGER = 'eve@example.org';
const FLOW_MS = 120_000;

let tessera;
let base;
let browser;
const errors = [];
/** What the first test made, for the later ones. */
const made = {};

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Refused forms answer 4xx on purpose; Chromium logs those.
    if (/^Failed to load resource: the server responded with a status of 4/.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${p.url()})`);
  });
  p.on('pageerror', (err) => errors.push(`page error: ${err.message} (${p.url()})`));
}

async function assertFits(p, width) {
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  const wide = await p.evaluate(
    (w) =>
      [...document.querySelectorAll('*')]
        .filter((e) => e.getBoundingClientRect().right > w)
        .slice(0, 12)
        .map((e) => `${e.tagName}#${e.id}.${e.className} ${getComputedStyle(e).width} ${getComputedStyle(e).display}`),
    width,
  );
  assert.ok(scrollWidth <= width, `${pathOf(p)} is ${scrollWidth} px wide in a ${width} px window: ${wide}`);
}

/** A browser of its own for `username`, signed in from the front door. */
async function signIn(username, viewport = { width: 1024, height: 768 }) {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(15_000);
  const p = await context.newPage();
  watch(p);
  await p.goto(`${base}/`);
  await p.getByRole('link', { name: 'Sign in', exact: true }).click();
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${base}/`);
  return p;
}

/** A client_credentials token request with HTTP Basic, as a confidential app would make. */
async function clientCredentials(clientId, secret) {
  const res = await fetch(`${base}/v2/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid' }),
    signal: AbortSignal.timeout(STEP_MS),
  });
  return { status: res.status, body: await res.json() };
}

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    for (const u of [DEV, STRANGER]) {
      await tessera.admin(['admin', 'user', 'add', u, '--password-stdin'], `${PASSWORD}\n`);
    }
    browser = await launchChromium();
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

test('signed out, the console sends people to sign in and back', { timeout: 30_000 }, async () => {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  const p = await context.newPage();
  watch(p);
  await p.goto(`${base}/v2/web/console`);
  assert.equal(pathOf(p), '/v2/web/login');
  await p.getByLabel('Username').fill(DEV);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${base}/v2/web/console`);
  await context.close();
});

test('a developer creates a project, an app with a secret, and scopes with a dependent', { timeout: FLOW_MS }, async () => {
  const p = await signIn(DEV);
  await p.getByRole('link', { name: 'Developer console' }).click();
  await p.waitForURL(`${base}/v2/web/console`);
  await p.getByText('No projects yet').waitFor();
  await screenshot(p, 'console-empty');

  // A project.
  await p.getByLabel('Project name').fill('Climate Lab');
  await p.getByLabel('Contact email').fill('climate@example.org');
  await p.getByRole('button', { name: 'Create project' }).click();
  await p.waitForURL(/\/v2\/web\/console\/projects\/[0-9a-f-]{36}\?done=project-created$/);
  made.projectUrl = p.url().split('?')[0];
  await p.getByRole('status').filter({ hasText: 'Project created.' }).waitFor();
  await p.getByText('No apps yet — create one below.').waitFor();
  await p.getByRole('heading', { name: DEV }).waitFor(); // the creator is its admin
  await screenshot(p, 'console-project-empty');

  // An app with a redirect URI; its first secret is on the page that answers, once.
  await p.locator('#app-name').fill('Climate Portal');
  await p.getByLabel('Redirect URIs').fill('https://portal.example.org/callback');
  await p.getByRole('button', { name: 'Create app' }).click();
  await p.getByRole('heading', { name: 'Climate Portal', level: 1 }).waitFor();
  const clientId = (await p.locator('#client-id').textContent()).trim();
  const secret = (await p.locator('#new-secret').textContent()).trim();
  assert.match(clientId, /^[0-9a-f-]{36}$/);
  assert.ok(secret.length >= 20, `secret ${secret}`);
  await p.getByText('shown only this once').waitFor();
  await screenshot(p, 'console-app-created');
  made.appUrl = `${base}/v2/web/console/apps/${clientId}`;
  made.clientId = clientId;

  const granted = await clientCredentials(clientId, secret);
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  assert.ok(granted.body.access_token, 'the console secret gets a token');
  const wrong = await clientCredentials(clientId, secret + 'x');
  assert.equal(wrong.status, 401);

  // Reloaded, the page no longer has the secret.
  await p.goto(made.appUrl);
  assert.equal(await p.locator('#new-secret').count(), 0);
  assert.ok(!(await p.content()).includes(secret));
  await p.getByText('https://portal.example.org/callback').waitFor();

  // A wrong redirect URI: refused beside its field, as typed, and nothing added.
  await p.getByLabel('Add a redirect URI').fill('http://portal.example.org/plain');
  await p.getByRole('button', { name: 'Add redirect URI' }).click();
  await p.getByRole('alert').filter({ hasText: 'plain http is allowed only for loopback hosts' }).waitFor();
  const field = p.getByLabel('Add a redirect URI');
  assert.equal(await field.inputValue(), 'http://portal.example.org/plain');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  await p.locator('.field-error').filter({ hasText: 'loopback' }).waitFor();
  await screenshot(p, 'console-redirect-refused');
  assert.equal(await p.locator('li.uri').count(), 1);

  // A good second one.
  await field.fill('http://localhost:8080/callback');
  await p.getByRole('button', { name: 'Add redirect URI' }).click();
  await p.getByRole('status').filter({ hasText: 'Redirect URI added.' }).waitFor();
  assert.equal(await p.locator('li.uri').count(), 2);

  // A second secret, shown once; the list shows names, never values.
  await p.getByLabel("New secret's name").fill('ci');
  await p.getByRole('button', { name: 'Create secret' }).click();
  const second = (await p.locator('#new-secret').textContent()).trim();
  assert.notEqual(second, secret);
  assert.equal((await clientCredentials(clientId, second)).status, 200);
  await p.goto(made.appUrl);
  const secretsList = await p.locator('ul.secrets').textContent();
  assert.ok(secretsList.includes('initial') && secretsList.includes('ci'), secretsList);
  assert.ok(!secretsList.includes(second) && !secretsList.includes(secret));

  // Two scopes; the second depends on the first.
  await p.getByText('No scopes yet').waitFor();
  await p.locator('summary').filter({ hasText: 'New scope' }).click();
  await p.locator('#scope-suffix').fill('data');
  await p.locator('#scope-name').fill('Climate data');
  await p.locator('#scope-description').fill('Read the lab’s climate datasets.');
  await p.getByRole('button', { name: 'Create scope' }).click();
  await p.waitForURL(/\/v2\/web\/console\/scopes\/[0-9a-f-]{36}\?done=scope-created$/);
  const dataScope = (await p.locator('#scope-string').textContent()).trim();
  assert.match(dataScope, new RegExp(`${clientId}/data$`));

  await p.goto(made.appUrl);
  await p.locator('summary').filter({ hasText: 'New scope' }).click();
  await p.locator('#scope-suffix').fill('plots');
  await p.locator('#scope-name').fill('Climate plots');
  await p.locator('#scope-description').fill('Draw plots of the datasets.');
  await p.getByRole('button', { name: 'Create scope' }).click();
  await p.waitForURL(/\/v2\/web\/console\/scopes\/[0-9a-f-]{36}\?done=scope-created$/);
  made.scopeUrl = p.url().split('?')[0];
  await p.getByText('No dependent scopes.').waitFor();
  await p.getByLabel('Add a dependent scope').selectOption({ label: `Climate data — ${dataScope}` });
  await p.getByLabel('Needs a refresh token').check();
  await p.getByRole('button', { name: 'Add dependent scope' }).click();
  await p.getByRole('status').filter({ hasText: 'Dependent scope added.' }).waitFor();
  const deps = await p.locator('ul.dependents').textContent();
  assert.ok(deps.includes(dataScope) && deps.includes('needs a refresh token'), deps);
  await screenshot(p, 'console-scope');

  // An unknown scope string is refused beside the field.
  await p.getByLabel('or type its scope string').fill('https://auth.example/scopes/nope');
  await p.getByRole('button', { name: 'Add dependent scope' }).click();
  await p.getByRole('alert').filter({ hasText: 'no scope' }).waitFor();
  assert.equal(await p.getByLabel('or type its scope string').inputValue(), 'https://auth.example/scopes/nope');

  // Reloaded from the start, everything is there.
  await p.goto(`${base}/v2/web/console`);
  await p.getByRole('link', { name: 'Climate Lab' }).click();
  await p.getByRole('link', { name: 'Climate Portal' }).click();
  await p.waitForURL(made.appUrl);
  const uris = await p.locator('ul.uris').textContent();
  assert.ok(uris.includes('https://portal.example.org/callback') && uris.includes('http://localhost:8080/callback'));
  const scopes = await p.locator('ul.scopes-list').textContent();
  assert.ok(scopes.includes('Climate data') && scopes.includes('Climate plots'), scopes);
  assert.ok(scopes.includes(`Depends on: ${dataScope}`), scopes);
  await screenshot(p, 'console-app');

  // The API sees the same scopes, through the app's own credentials.
  const res = await fetch(`${base}/v2/api/clients/${clientId}/scopes`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:${second}`).toString('base64') },
    signal: AbortSignal.timeout(STEP_MS),
  });
  const api = await res.json();
  assert.equal(res.status, 200, JSON.stringify(api));
  const plots = api.scopes.find((s) => s.name === 'Climate plots');
  const data = api.scopes.find((s) => s.name === 'Climate data');
  assert.deepEqual(plots.dependent_scopes, [{ scope: data.id, optional: false, requires_refresh_token: true }]);
  await p.context().close();
});

test('a stranger cannot see or change the project', { timeout: 30_000 }, async () => {
  assert.ok(made.projectUrl, 'the first test made a project');
  const p = await signIn(STRANGER);
  await p.goto(`${base}/v2/web/console`);
  await p.getByText('No projects yet').waitFor();
  for (const url of [made.projectUrl, made.appUrl, made.scopeUrl]) {
    const res = await p.goto(url);
    assert.equal(res.status(), 403, url);
    const body = await p.content();
    assert.ok(!body.includes('Climate'), `${url} shows nothing of the project`);
  }
  await screenshot(p, 'console-forbidden');
  await p.context().close();
});

test('the console fits a 375 px window', { timeout: 60_000 }, async () => {
  assert.ok(made.appUrl, 'the first test made an app');
  const p = await signIn(DEV, { width: 375, height: 800 });
  for (const [url, name] of [
    [`${base}/v2/web/console`, 'console-projects-375'],
    [made.projectUrl, 'console-project-375'],
    [made.appUrl, 'console-app-375'],
    [made.scopeUrl, 'console-scope-375'],
  ]) {
    await p.goto(url);
    await screenshot(p, name);
    await assertFits(p, 375);
  }
  await p.context().close();
  assert.deepEqual(errors, []);
});
