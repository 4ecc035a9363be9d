// The file manager, activity and sharing pages in headless Chromium: Ada browses two endpoints
// side by side (registered with `tessera admin endpoint add`), makes a folder, transfers a
// folder of files into it, watches the task reach SUCCEEDED on the activity page (files
// byte-identical on disk), renames and deletes on the other side, and shares a folder with
// Bob, who then sees it. Also the empty states and a narrow (375 px) window. Screenshots go to
// target/browser-screenshots/files-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_MS, Tessera, launchChromium, pathOf, screenshot, sleep, withTimeout } from './harness.mjs';

const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const USERS = { ada: 'ada@example.org', bob: 'bob@example.org' };
const FLOW_MS = 120_000;

let tessera;
let base;
let browser;
let srcDir;
let dstDir;
const errors = [];

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of 4/.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${p.url()})`);
  });
  p.on('pageerror', (err) => errors.push(`page error: ${err.message} (${p.url()})`));
}

async function assertFits(p, width) {
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${pathOf(p)} is ${scrollWidth} px wide in a ${width} px window`);
}

async function signIn(who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(15_000);
  const p = await context.newPage();
  watch(p);
  await p.goto(`${base}/`);
  await p.getByRole('link', { name: 'Sign in', exact: true }).click();
  await p.getByLabel('Username').fill(USERS[who]);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL(`${base}/`);
  return p;
}

/** A link of the pages' own navigation (Home · Files · Activity). */
const navLink = (p, name) => p.getByRole('navigation', { name: 'Transfer' }).getByRole('link', { name, exact: true });
const pane = (p, side) => p.getByRole('region', { name: `${side} pane` });

/** Every file below `dir`, relative path → contents. */
function tree(dir, prefix = '') {
  const out = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, tree(join(dir, e.name), rel));
    else out[rel] = readFileSync(join(dir, e.name));
  }
  return out;
}

before(
  async () => {
    srcDir = mkdtempSync(join(tmpdir(), 'tessera-files-src-'));
    dstDir = mkdtempSync(join(tmpdir(), 'tessera-files-dst-'));
    mkdirSync(join(srcDir, 'experiment', 'raw'), { recursive: true });
    writeFileSync(join(srcDir, 'experiment', 'a.dat'), randomBytes(300_000));
    writeFileSync(join(srcDir, 'experiment', 'b.csv'), 'x,y\n1,2\n3,4\n');
    writeFileSync(join(srcDir, 'experiment', 'raw', 'c.bin'), randomBytes(1_500_000));
    writeFileSync(join(srcDir, 'notes.txt'), 'lab notes\n');
    tessera = await new Tessera().start();
    base = tessera.base;
    for (const u of Object.values(USERS)) {
      await tessera.admin(['admin', 'user', 'add', u, '--password-stdin'], `${PASSWORD}\n`);
    }
    await tessera.admin(['admin', 'endpoint', 'add', '--name', 'Lab source', '--path', srcDir, '--owner', USERS.ada]);
    await tessera.admin(['admin', 'endpoint', 'add', '--name', 'Lab archive', '--path', dstDir, '--owner', USERS.ada]);
    browser = await launchChromium();
  },
  { timeout: 90_000 },
);

after(
  async () => {
    if (browser) await withTimeout(browser.close(), 10_000, 'browser close').catch(() => {});
    await tessera?.stop();
    for (const d of [srcDir, dstDir]) if (d) rmSync(d, { recursive: true, force: true });
  },
  { timeout: 30_000 },
);

test('signed out, the file manager sends people to sign in', { timeout: 30_000 }, async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  watch(p);
  await p.goto(`${base}/v2/web/files`);
  assert.equal(pathOf(p), '/v2/web/login');
  await context.close();
});

test('a person moves a folder with the file manager, watches it finish, and shares a folder', { timeout: FLOW_MS }, async () => {
  const ada = await signIn('ada');

  // From the front door to Activity (empty) and Files.
  await ada.getByRole('link', { name: 'Activity', exact: true }).click();
  assert.equal(pathOf(ada), '/v2/web/activity');
  await ada.getByText('No transfers yet').waitFor();
  await screenshot(ada, 'files-activity-empty');
  await navLink(ada, 'Files').click();
  assert.equal(pathOf(ada), '/v2/web/files');
  await pane(ada, 'Left').getByRole('heading', { name: 'Choose an endpoint' }).waitFor();
  await screenshot(ada, 'files-picker');

  // A search that finds nothing, then the two endpoints side by side.
  await pane(ada, 'Left').getByLabel('Search endpoints').fill('zzz-nothing');
  await pane(ada, 'Left').getByRole('button', { name: 'Search' }).click();
  await pane(ada, 'Left').getByText('No endpoint you can use matches').waitFor();
  await pane(ada, 'Left').getByLabel('Search endpoints').fill('source');
  await pane(ada, 'Left').getByRole('button', { name: 'Search' }).click();
  await pane(ada, 'Left').getByRole('link', { name: 'Lab source' }).click();
  await pane(ada, 'Right').getByRole('link', { name: 'Lab archive' }).click();
  await pane(ada, 'Left').getByRole('heading', { name: 'Lab source' }).waitFor();
  await pane(ada, 'Right').getByRole('heading', { name: 'Lab archive' }).waitFor();
  await pane(ada, 'Right').getByText('This folder is empty.').waitFor();
  const names = await pane(ada, 'Left').locator('td.fm-name').allTextContents();
  assert.deepEqual(names.map((n) => n.trim().replace(/^\S+\s+/, '')), ['experiment/', 'notes.txt'], 'folders first');

  // A folder on the right, opened.
  await pane(ada, 'Right').getByLabel('New folder').fill('incoming');
  await pane(ada, 'Right').getByRole('button', { name: 'Create' }).click();
  await ada.getByText('The folder was created.').waitFor();
  assert.ok(existsSync(join(dstDir, 'incoming')));
  await pane(ada, 'Right').getByRole('link', { name: 'incoming/' }).click();
  await pane(ada, 'Right').getByText('This folder is empty.').waitFor();
  await screenshot(ada, 'files-two-panes');

  // Select the folder on the left and transfer it.
  await pane(ada, 'Left').getByLabel('Select experiment').check();
  await pane(ada, 'Left').getByRole('button', { name: 'Start transfer →' }).click();
  await ada.getByRole('heading', { name: 'Start a transfer' }).waitFor();
  await ada.getByLabel('Label').fill('experiment copy');
  assert.ok(await ada.getByLabel("Verify each file's checksum after copying").isChecked());
  await screenshot(ada, 'files-transfer-options');
  await ada.getByRole('button', { name: 'Start transfer' }).click();
  await ada.getByText('Transfer started.').waitFor();
  const panesUrl = ada.url();
  await ada.getByRole('link', { name: 'See its progress' }).click();
  const taskUrl = ada.url();
  assert.match(pathOf(ada), /^\/v2\/web\/activity\/[0-9a-f-]{36}$/);
  let status = '';
  for (const until = Date.now() + 30_000; Date.now() < until; ) {
    await ada.goto(taskUrl);
    status = (await ada.locator('#task-status').textContent()).trim();
    if (status !== 'ACTIVE') break;
    await sleep(300);
  }
  assert.equal(status, 'SUCCEEDED');
  await ada.getByText('SUCCEEDED', { exact: true }).first().waitFor();
  await screenshot(ada, 'files-task');
  const src = tree(join(srcDir, 'experiment'));
  const dst = tree(join(dstDir, 'incoming', 'experiment'));
  assert.deepEqual(Object.keys(dst).sort(), Object.keys(src).sort());
  for (const k of Object.keys(src)) assert.ok(src[k].equals(dst[k]), `${k} differs`);

  await navLink(ada, 'Activity').click();
  const row = ada.locator('li.fm-task').filter({ hasText: 'experiment copy' });
  await row.getByText('SUCCEEDED').waitFor();
  await row.getByText('3 of 3 files').waitFor();
  await screenshot(ada, 'files-activity');

  // Back to the panes (their state is in the address): rename and delete on the right.
  await ada.goto(panesUrl);
  await pane(ada, 'Right').getByRole('link', { name: 'experiment/' }).waitFor();
  await pane(ada, 'Right').getByLabel('Select experiment').check();
  await pane(ada, 'Right').getByRole('button', { name: 'Rename' }).click();
  await ada.getByLabel('New name for “experiment”').fill('experiment-2026');
  await ada.getByRole('button', { name: 'Rename' }).click();
  await ada.getByText('Renamed.').waitFor();
  assert.ok(existsSync(join(dstDir, 'incoming', 'experiment-2026', 'raw', 'c.bin')));
  await pane(ada, 'Right').getByLabel('Select experiment-2026').check();
  await pane(ada, 'Right').getByRole('button', { name: 'Delete' }).click();
  await ada.getByText('This cannot be undone.').waitFor();
  await screenshot(ada, 'files-delete-confirm');
  await ada.getByRole('button', { name: 'Delete 1 item' }).click();
  await ada.getByText('Deletion started.').waitFor();
  for (const until = Date.now() + 20_000; existsSync(join(dstDir, 'incoming', 'experiment-2026')) && Date.now() < until; ) {
    await sleep(200);
  }
  assert.ok(!existsSync(join(dstDir, 'incoming', 'experiment-2026')), 'deleted on disk');

  // Share experiment/ of the source with Bob.
  await pane(ada, 'Left').getByRole('link', { name: 'experiment/' }).click();
  await pane(ada, 'Left').getByRole('link', { name: 'Share this folder' }).click();
  await ada.getByRole('heading', { name: 'Share a folder' }).waitFor();
  await ada.getByLabel('Name of the shared endpoint').fill('Experiment for Bob');
  await ada.getByRole('button', { name: 'Share' }).click();
  await ada.getByRole('heading', { name: 'Experiment for Bob' }).waitFor();
  await ada.getByText('Only you can use it so far.').waitFor();
  await ada.getByLabel('Their username').fill('nobody@example.org');
  await ada.getByRole('button', { name: 'Give access' }).click();
  await ada.getByRole('alert').getByText('no user has the username').waitFor();
  await screenshot(ada, 'files-share-refused');
  await ada.getByLabel('Their username').fill(USERS.bob);
  await ada.getByRole('button', { name: 'Give access' }).click();
  await ada.getByText('Access granted.').waitFor();
  await ada.getByRole('heading', { name: USERS.bob }).waitFor();
  await screenshot(ada, 'files-share');

  // Bob sees the shared folder and nothing above it.
  const bob = await signIn('bob');
  await bob.getByRole('link', { name: 'Files', exact: true }).click();
  await pane(bob, 'Left').getByRole('link', { name: 'Experiment for Bob' }).click();
  await pane(bob, 'Left').getByRole('link', { name: 'raw/' }).waitFor();
  await pane(bob, 'Left').getByText('a.dat').waitFor();
  assert.equal(await pane(bob, 'Left').getByText('notes.txt').count(), 0);
  assert.equal(await pane(bob, 'Left').getByRole('button', { name: 'Delete' }).count(), 0, 'read only');
  await screenshot(bob, 'files-bob-shared');

  // A narrow window: usable, nothing wider than the screen.
  await ada.setViewportSize({ width: 375, height: 800 });
  for (const path of ['/v2/web/files', '/v2/web/activity', new URL(taskUrl).pathname]) {
    await ada.goto(`${base}${path}`);
    await assertFits(ada, 375);
  }
  await ada.goto(`${base}/v2/web/files`);
  // Now under "Recently used" as well as in the list.
  await pane(ada, 'Left').getByRole('heading', { name: 'Recently used' }).waitFor();
  await pane(ada, 'Left').getByRole('link', { name: 'Lab source' }).first().click();
  await pane(ada, 'Right').getByRole('link', { name: 'Lab archive' }).first().click();
  await pane(ada, 'Left').getByLabel('Select notes.txt').waitFor();
  await assertFits(ada, 375);
  await screenshot(ada, 'files-narrow');
  await ada.goto(`${base}/v2/web/activity`);
  await assertFits(ada, 375);
  await screenshot(ada, 'files-activity-narrow');

  assert.deepEqual(errors, []);
});
