// The groups pages in headless Chromium: an admin creates a group and invites a user by
// username; the user signs in and accepts; another user asks to join and the admin approves;
// the member leaves. Also the empty states, refused forms, a private group seen by a stranger,
// and a narrow (390 px) window. Screenshots go to target/browser-screenshots/groups-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { STEP_MS, Tessera, launchChromium, pathOf, screenshot, withTimeout } from './harness.mjs';

const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const USERS = { ada: 'ada@example.org', bob: 'bob@example.org', cy: 'cy@example.org' };
const FLOW_MS = 90_000;

let tessera;
let base;
let browser;
const pages = {};
const errors = [];
let labUrl;

function watch(p) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Refused forms and the private group answer 4xx on purpose; Chromium logs those.
    if (/^Failed to load resource: the server responded with a status of 4/.test(msg.text())) return;
    errors.push(`console: ${msg.text()} (${p.url()})`);
  });
  p.on('pageerror', (err) => errors.push(`page error: ${err.message} (${p.url()})`));
}

async function assertFits(p, width) {
  const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${pathOf(p)} is ${scrollWidth} px wide in a ${width} px window`);
}

/** A browser of its own for `who`, signed in from the front door. */
async function signIn(who) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
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
  pages[who] = p;
  return p;
}

/** The member entry of `username` on a group's page. */
function member(p, username) {
  return p.locator('li.member').filter({ has: p.getByRole('heading', { name: username }) });
}

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    for (const u of Object.values(USERS)) {
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

test('signed out, the groups pages send people to sign in and come back', { timeout: 30_000 }, async () => {
  const context = await browser.newContext();
  try {
    const p = await context.newPage();
    await p.goto(`${base}/v2/web/groups`);
    assert.equal(pathOf(p), '/v2/web/login');
    assert.equal(new URL(p.url()).searchParams.get('next'), '/v2/web/groups');
  } finally {
    await context.close();
  }
});

test('create, invite, accept, ask to join, approve, change a role, leave', { timeout: FLOW_MS }, async () => {
  // Ada: from the front door to her (empty) groups.
  const ada = await signIn('ada');
  await ada.getByRole('link', { name: 'Your groups' }).click();
  assert.equal(pathOf(ada), '/v2/web/groups');
  await ada.getByRole('heading', { name: 'Your groups', level: 1 }).waitFor();
  assert.match(await ada.locator('main').innerText(), /not a member of any group yet/);
  await screenshot(ada, 'groups-empty');

  // A blank name is refused by the service, and what was typed stays.
  await ada.getByLabel('Name', { exact: true }).fill('   ');
  await ada.getByLabel('Description').fill('kept after the error');
  await ada.getByRole('button', { name: 'Create group' }).click();
  await ada.getByRole('alert').waitFor();
  assert.match(await ada.getByRole('alert').innerText(), /not created: A group name must not be empty/);
  assert.equal(await ada.getByLabel('Description').inputValue(), 'kept after the error');
  await screenshot(ada, 'groups-create-refused');

  await ada.getByLabel('Name', { exact: true }).fill('Imaging Lab');
  await ada.getByLabel('Description').fill('Microscopy data of the imaging group.\nSecond line.');
  await ada.getByLabel('Who can see the group', { exact: true }).selectOption('authenticated');
  await ada.getByLabel('People who can see the group may ask to join').check();
  await ada.getByRole('button', { name: 'Create group' }).click();
  await ada.getByRole('heading', { name: 'Imaging Lab', level: 1 }).waitFor();
  labUrl = ada.url();
  assert.match(pathOf(ada), /^\/v2\/web\/groups\/[0-9a-f-]{36}$/);
  const policies = await ada.locator('section.policies').innerText();
  assert.match(policies, /Everyone signed in/);
  assert.match(policies, /may ask to join/);
  assert.match(await member(ada, USERS.ada).innerText(), /admin/);
  // The last admin cannot leave: the page does not offer it.
  assert.equal(await ada.getByRole('button', { name: 'Leave group' }).count(), 0);

  // Inviting someone unknown is refused with the reason; then Bob is invited.
  await ada.getByLabel('Username').fill('nobody@example.org');
  await ada.getByRole('button', { name: 'Send invitation' }).click();
  await ada.getByRole('alert').waitFor();
  assert.match(await ada.getByRole('alert').innerText(), /no user has the username “nobody@example.org”/);
  await screenshot(ada, 'groups-invite-refused');
  await ada.getByLabel('Username').fill(USERS.bob);
  await ada.getByRole('button', { name: 'Send invitation' }).click();
  await ada.getByRole('status').waitFor();
  assert.match(await ada.getByRole('status').innerText(), /Invitation sent/);
  assert.match(await member(ada, USERS.bob).innerText(), /Invited/);

  // Bob sees the invitation on his groups page and accepts it.
  const bob = await signIn('bob');
  await bob.getByRole('link', { name: 'Your groups' }).click();
  await bob.getByRole('heading', { name: 'Invitations' }).waitFor();
  await screenshot(bob, 'groups-invitation');
  await bob.getByRole('button', { name: 'Accept' }).click();
  await bob.getByRole('status').waitFor();
  assert.match(await bob.getByRole('status').innerText(), /accepted the invitation/);
  await bob.getByRole('heading', { name: 'Imaging Lab', level: 1 }).waitFor();
  assert.match(await bob.locator('main').innerText(), /member/);
  await bob.getByRole('link', { name: '← Your groups' }).click();
  assert.equal(await bob.getByRole('heading', { name: 'Invitations' }).count(), 0);
  assert.match(await bob.locator('ul.apps').innerText(), /Imaging Lab/);

  // Cy opens the group's address, asks to join, and waits.
  const cy = await signIn('cy');
  await cy.goto(labUrl);
  assert.match(await cy.locator('main').innerText(), /not a member of this group/);
  await cy.getByRole('button', { name: 'Ask to join' }).click();
  await cy.getByRole('status').waitFor();
  await cy.goto(`${base}/v2/web/groups`);
  await cy.getByRole('heading', { name: 'Waiting for approval' }).waitFor();

  // Ada approves Cy and makes Bob a manager.
  await ada.goto(labUrl);
  const cyEntry = member(ada, USERS.cy);
  assert.match(await cyEntry.innerText(), /Asked to join/);
  await screenshot(ada, 'groups-request-pending');
  await cyEntry.getByRole('button', { name: 'Approve' }).click();
  await ada.getByRole('status').waitFor();
  assert.match(await member(ada, USERS.cy).innerText(), /Active member/);
  await member(ada, USERS.bob).getByLabel(`Role of ${USERS.bob}`).selectOption('manager');
  await member(ada, USERS.bob).getByRole('button', { name: 'Change role' }).click();
  await ada.getByRole('status').waitFor();
  assert.match(await member(ada, USERS.bob).locator('.badge').innerText(), /manager/);
  await screenshot(ada, 'groups-admin-view');

  // Cy, a plain member, sees no management forms and leaves.
  await cy.goto(labUrl);
  assert.equal(await cy.getByRole('button', { name: 'Send invitation' }).count(), 0);
  assert.equal(await cy.getByRole('button', { name: 'Remove' }).count(), 0);
  await cy.getByRole('button', { name: 'Leave group' }).click();
  assert.equal(pathOf(cy), '/v2/web/groups');
  assert.match(await cy.getByRole('status').innerText(), /You left the group/);
  assert.match(await cy.locator('main').innerText(), /not a member of any group yet/);
  await ada.goto(labUrl);
  assert.match(await member(ada, USERS.cy).innerText(), /Left/);

  // The narrow window: nothing sideways, for the admin's group page and Bob's list.
  for (const [who, url, name] of [
    ['ada', labUrl, 'groups-admin-390'],
    ['bob', `${base}/v2/web/groups`, 'groups-list-390'],
  ]) {
    const small = await browser.newContext({
      viewport: { width: 390, height: 844 },
      colorScheme: 'light',
      storageState: await pages[who].context().storageState(),
    });
    try {
      const p = await small.newPage();
      watch(p);
      await p.goto(url);
      await assertFits(p, 390);
      await screenshot(p, name);
    } finally {
      await small.close();
    }
  }
  assert.deepEqual(errors, []);
});

test('a private group is not shown to strangers', { timeout: 60_000 }, async () => {
  const ada = pages.ada ?? (await signIn('ada'));
  await ada.goto(`${base}/v2/web/groups`);
  await ada.getByLabel('Name', { exact: true }).fill('Private Board');
  await ada.getByRole('button', { name: 'Create group' }).click();
  await ada.getByRole('heading', { name: 'Private Board', level: 1 }).waitFor();
  const secret = ada.url();
  const cy = pages.cy ?? (await signIn('cy'));
  const res = await cy.goto(secret);
  assert.equal(res.status(), 403);
  await cy.getByRole('heading', { name: 'This group is private' }).waitFor();
  assert.ok(!(await cy.locator('main').innerText()).includes('Private Board'));
  await screenshot(cy, 'groups-private-403');
  const missing = await cy.goto(`${base}/v2/web/groups/00000000-0000-4000-8000-000000000000`);
  assert.equal(missing.status(), 404);
});
