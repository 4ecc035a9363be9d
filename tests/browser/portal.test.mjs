// The research data portal sample (examples/portal and examples/graph) in headless Chromium:
// the whole story, from signing in through Tessera's pages to a plot, and a sign-out that
// revokes the portal's tokens. Tessera, the graph and the portal are the release binaries
// (PORTAL_BIN and GRAPH_BIN override), each on a loopback port of its own.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIN, ROOT, STEP_MS, Tessera, launchChromium, screenshot, withTimeout } from './harness.mjs';

const RELEASE = join(ROOT, 'target', 'release');
const PORTAL_BIN = process.env.PORTAL_BIN
  ? resolve(process.cwd(), process.env.PORTAL_BIN)
  : join(RELEASE, 'tessera-example-portal');
const GRAPH_BIN = process.env.GRAPH_BIN
  ? resolve(process.cwd(), process.env.GRAPH_BIN)
  : join(RELEASE, 'tessera-example-graph');
const PASSWORD = 'portal-' + randomBytes(8).toString('hex');
const TRANSFER_ALL = 'urn:globus:auth:scope:transfer.api.globus.org:all';
const STORY_MS = 120_000;

let tessera;
let base;
let browser;
let page;
const dirs = [];
const children = [];
const errors = [];
/** Bearer tokens the portal sent to the graph (seen by a pass-through in front of it). */
const seenTokens = [];
let proxy;
let portalUrl;
let graphClient;
let datasetsDir;
let homeDir;
let homeEndpoint;
let https = false;

/** A free loopback port (the portal's redirect URI must be registered before it starts). */
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

/** Starts `bin args` with `env`; resolves with the URL its first stdout line names. */
function startChild(bin, args, env) {
  return withTimeout(
    new Promise((res, rej) => {
      const clean = { ...process.env };
      for (const k of Object.keys(clean)) if (/^(TESSERA|PORTAL|GRAPH)_/.test(k)) delete clean[k];
      const child = spawn(bin, args, { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      let log = '';
      child.stderr.on('data', (d) => (log += d));
      child.on('error', rej);
      child.on('exit', (code) => rej(new Error(`${bin} exited ${code}: ${log}`)));
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/http:\/\/[^\s]+/);
        if (m) res(m[0]);
      });
    }),
    20_000,
    `start ${bin}`,
  );
}

/** `tessera ARGS` (not an admin command: no data directory), its JSON. */
function tesseraCli(args, env) {
  return withTimeout(
    new Promise((res, rej) => {
      const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`tessera ${args.join(' ')}: ${err}`))));
    }),
    20_000,
    `tessera ${args[0]}`,
  );
}

async function clientToken(id, secret, scope) {
  const r = await fetch(`${base}/v2/oauth2/token`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).access_token;
}

async function introspect(token) {
  const r = await fetch(`${base}/v2/oauth2/token/introspect`, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${graphClient.client_id}:${graphClient.client_secret}`).toString('base64'),
    },
    body: new URLSearchParams({ token }),
  });
  return (await r.json()).active;
}

before(async () => {
  for (const b of [PORTAL_BIN, GRAPH_BIN]) {
    assert.ok(existsSync(b), `${b} is missing: cargo build --release -p tessera-example-portal -p tessera-example-graph`);
  }
  tessera = await new Tessera().start();
  base = tessera.base;
  datasetsDir = mkdtempSync(join(tmpdir(), 'portal-datasets-'));
  homeDir = mkdtempSync(join(tmpdir(), 'portal-home-'));
  dirs.push(datasetsDir, homeDir);
  mkdirSync(join(datasetsDir, 'datasets', 'ocean'), { recursive: true });
  mkdirSync(join(datasetsDir, 'datasets', 'glacier'), { recursive: true });
  let csv = 'day,temperature,salinity\n';
  for (let d = 0; d < 30; d++) csv += `${d},${(14 + 3 * Math.sin(d / 5)).toFixed(2)},${(35 + d / 30).toFixed(2)}\n`;
  writeFileSync(join(datasetsDir, 'datasets', 'ocean', 'temps.csv'), csv);
  writeFileSync(join(datasetsDir, 'datasets', 'ocean', 'README.txt'), 'Ocean temperatures, 30 days.\n');
  writeFileSync(join(datasetsDir, 'datasets', 'glacier', 'mass.csv'), 'year,mass\n2020,100\n2021,97\n2022,93\n');

  await tessera.admin(['admin', 'user', 'add', 'alice@example.org', '--password-stdin', '--name', 'Alice Liddell', '--email', 'alice@example.org'], `${PASSWORD}\n`);
  const port = await freePort();
  portalUrl = `http://127.0.0.1:${port}`;
  const portal = await tessera.admin(['admin', 'client', 'add', '--name', 'Research Data Portal', '--confidential', '--redirect-uri', `${portalUrl}/callback`]);
  graphClient = await tessera.admin(['admin', 'client', 'add', '--name', 'Graph service', '--confidential']);
  const datasets = await tessera.admin(['admin', 'endpoint', 'add', '--name', 'Portal datasets', '--path', datasetsDir, '--owner', portal.client_id]);
  const home = await tessera.admin(['admin', 'endpoint', 'add', '--name', "Alice's laptop", '--path', homeDir, '--owner', 'alice@example.org']);
  homeEndpoint = home.id;

  // The portal, owner of the dataset endpoint, lets everyone signed in read the datasets.
  const portalToken = await clientToken(portal.client_id, portal.client_secret, TRANSFER_ALL);
  const acl = await fetch(`${base}/v0.10/endpoint/${datasets.id}/access`, {
    method: 'POST',
    headers: { authorization: `Bearer ${portalToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ DATA_TYPE: 'access', principal_type: 'all_authenticated_users', principal: '', path: '/datasets/', permissions: 'r' }),
  });
  assert.equal(acl.status, 201, await acl.text());
  const doc = await (await fetch(`${base}/v0.10/endpoint/${datasets.id}`, { headers: { authorization: `Bearer ${portalToken}` } })).json();
  https = Boolean(doc.https_server);

  // The graph's scope, depending on Transfer and (when this build has HTTPS access) on the
  // dataset endpoint's HTTPS scope.
  const scopeArgs = ['scope', 'create', '--suffix', 'plot', '--name', 'Plot datasets', '--description', "Draw plots of the portal's datasets", '--dependent-scope', TRANSFER_ALL];
  if (https) scopeArgs.push('--dependent-scope', `https://auth.globus.org/scopes/${datasets.id}/https`);
  const scope = await tesseraCli(scopeArgs, { TESSERA_AUTH_URL: base, TESSERA_CLIENT_ID: graphClient.client_id, TESSERA_CLIENT_SECRET: graphClient.client_secret });

  const graphUrl = await startChild(GRAPH_BIN, ['--listen', '127.0.0.1:0'], {
    GRAPH_TESSERA_URL: base,
    GRAPH_CLIENT_ID: graphClient.client_id,
    GRAPH_CLIENT_SECRET: graphClient.client_secret,
    GRAPH_DATASET_ENDPOINT: datasets.id,
  });
  // A pass-through in front of the graph that remembers the bearer tokens the portal sends.
  proxy = createServer(async (req, res) => {
    seenTokens.push((req.headers.authorization || '').replace(/^Bearer /, ''));
    const r = await fetch(graphUrl + req.url, { headers: { authorization: req.headers.authorization || '' } });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') || 'text/plain' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  await startChild(PORTAL_BIN, ['--listen', `127.0.0.1:${port}`], {
    PORTAL_TESSERA_URL: base,
    PORTAL_CLIENT_ID: portal.client_id,
    PORTAL_CLIENT_SECRET: portal.client_secret,
    PORTAL_DATASET_ENDPOINT: datasets.id,
    PORTAL_GRAPH_URL: `http://127.0.0.1:${proxy.address().port}`,
    PORTAL_GRAPH_SCOPE: scope.scope_string,
  });

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
  context.setDefaultTimeout(STEP_MS);
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // The graph's refusal page answers 502 on purpose when this build has no HTTPS access.
    if (!https && /^Failed to load resource/.test(msg.text()) && page.url().includes('/graph?')) return;
    // The refused transfer form (no endpoint chosen) answers 400 on purpose.
    if (/status of 400/.test(msg.text()) && new URL(page.url()).pathname === '/transfer') return;
    errors.push(`console: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
});

after(async () => {
  await browser?.close();
  proxy?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await tessera?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The page fits the window: nothing wider than the viewport. */
async function assertFits(p, width) {
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `the page is ${scrollWidth} px wide in a ${width} px window`);
}

test('the portal: sign in, identities, datasets, transfer to my endpoint, graph, sign out revokes', { timeout: STORY_MS }, async () => {
  // Signed out.
  await page.goto(`${portalUrl}/`);
  await page.getByRole('heading', { name: 'Research Data Portal', level: 1 }).waitFor();
  await screenshot(page, 'portal-signed-out');

  // Sign in through Tessera's own pages.
  await page.getByRole('main').getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill('alice@example.org');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  assert.ok(new URL(page.url()).origin === base, `consent is Tessera's page: ${page.url()}`);
  assert.match(await page.content(), /Plot datasets/);
  await screenshot(page, 'portal-consent');
  await page.getByRole('button', { name: 'Allow' }).click();

  // Name and linked identities.
  await page.getByRole('heading', { name: 'Hello, Alice Liddell', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).origin, portalUrl);
  assert.equal(await page.locator('#username').textContent(), 'alice@example.org');
  const identity = page.locator('#identities tbody tr').first();
  assert.deepEqual(await identity.locator('td').allTextContents(), ['alice@example.org', 'Alice Liddell', await identity.locator('td').nth(2).textContent()]);
  await screenshot(page, 'portal-home');

  // The catalogue.
  await page.getByRole('link', { name: 'Datasets', exact: true }).click();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  const ocean = page.locator('section.dataset[data-name="ocean"]');
  await ocean.waitFor();
  assert.ok(await page.locator('section.dataset[data-name="glacier"]').isVisible());
  assert.ok(await ocean.getByRole('cell', { name: 'temps.csv' }).isVisible());
  await screenshot(page, 'portal-datasets');
  await assertNarrow('portal-datasets-375', `${portalUrl}/datasets`);

  // Transfer to my endpoint: search shows Alice's endpoint; pick it and a directory.
  await ocean.getByRole('link', { name: 'Transfer to my endpoint' }).click();
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'ocean' }).waitFor();
  await page.getByRole('button', { name: 'Start the transfer' }).click();
  assert.match(await page.getByRole('alert').textContent(), /Choose the endpoint/);
  await screenshot(page, 'portal-transfer-refused');
  await page.getByLabel('Find an endpoint').fill('laptop');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByLabel(/Alice's laptop/).check();
  await page.getByLabel('Destination directory').fill('/incoming');
  await screenshot(page, 'portal-transfer');
  await page.getByRole('button', { name: 'Start the transfer' }).click();
  await page.locator('#task').waitFor();
  await page.locator('#task[data-status="SUCCEEDED"]').waitFor({ timeout: 60_000 });
  assert.match(await page.locator('#task').textContent(), /2 of 2 files/);
  assert.match(await page.getByRole('status').textContent(), /Alice's laptop:\/incoming\/ocean\//);
  await screenshot(page, 'portal-task-done');
  await assertNarrow('portal-task-done-375', page.url());
  await assertNarrow('portal-transfer-375', `${portalUrl}/transfer?dataset=ocean`);
  assert.equal(
    readFileSync(join(homeDir, 'incoming', 'ocean', 'temps.csv'), 'utf8'),
    readFileSync(join(datasetsDir, 'datasets', 'ocean', 'temps.csv'), 'utf8'),
  );
  assert.ok(existsSync(join(homeDir, 'incoming', 'ocean', 'README.txt')));

  // The graph.
  await page.getByRole('link', { name: 'Back to the datasets' }).click();
  await ocean.getByRole('link', { name: 'Graph' }).click();
  if (https) {
    const img = page.locator('img#plot');
    await img.waitFor();
    const width = await img.evaluate((i) => (i.complete ? i.naturalWidth : 0));
    assert.ok(width > 0, 'the plot did not load');
    assert.match(await img.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  } else {
    assert.match(await page.getByRole('alert').textContent(), /no HTTPS access/);
  }
  await screenshot(page, 'portal-graph');
  assert.ok(seenTokens.length > 0, 'the portal never called the graph');
  for (const t of seenTokens) assert.equal(await introspect(t), true);

  // Sign out: the tokens are revoked and the session is gone.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('status').filter({ hasText: 'You are signed out' }).waitFor();
  await screenshot(page, 'portal-signed-out-after');
  for (const t of seenTokens) assert.equal(await introspect(t), false, 'a token outlived the sign-out');
  const cookies = await page.context().cookies(portalUrl);
  assert.ok(!cookies.some((c) => c.name === 'portal_session'), 'the session cookie is still there');

  assert.deepEqual(errors, []);
});

/** The same session in a 375 px window: nothing overflows. */
async function assertNarrow(name, url) {
  const small = await browser.newContext({
    viewport: { width: 375, height: 740 },
    colorScheme: 'light',
    storageState: await page.context().storageState(),
  });
  try {
    const p = await small.newPage();
    await p.goto(url);
    await assertFits(p, 375);
    await screenshot(p, name);
  } finally {
    await small.close();
  }
}
