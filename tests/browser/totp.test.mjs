// Two-step verification (TOTP, RFC 6238) in headless Chromium: enrol on the account page (the
// key read from the page, codes computed here with a small RFC 6238 implementation over
// node:crypto), keep the recovery codes shown once, sign out, sign in with password and code;
// a wrong code is refused; a recovery code signs in once. Screenshots in
// target/browser-screenshots/totp-*.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { STEP_MS, TEST_MS, Tessera, launchChromium, pathOf, screenshot, sleep, withTimeout } from './harness.mjs';

const USERNAME = 'alice@example.org';
const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');

let tessera;
let base;
let browser;
let context;
let page;
let secret;
let recovery = [];
let lastStep = -1;

/** RFC 4648 base32 → bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 with SHA-1, 6 digits, 30-second steps. */
function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

/** A code of a step not used before (the server refuses replays): waits for the next step. */
async function freshCode() {
  let step = Math.floor(Date.now() / 30_000);
  while (step <= lastStep) {
    await sleep(500);
    step = Math.floor(Date.now() / 30_000);
  }
  lastStep = step;
  return totp(secret, step);
}

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    await tessera.admin(['admin', 'user', 'add', USERNAME, '--password-stdin', '--name', 'Alice Example'], `${PASSWORD}\n`);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
    context.setDefaultTimeout(STEP_MS);
    page = await context.newPage();
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

async function signInWithPassword() {
  await page.goto(`${base}/v2/web/account`);
  assert.equal(pathOf(page), '/v2/web/login');
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('enrol from the account page with the QR code and key, recovery codes shown once', { timeout: TEST_MS }, async () => {
  await signInWithPassword();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'Two-step verification' }).click();
  assert.equal(pathOf(page), '/v2/web/account/mfa');
  assert.ok(await page.locator('.qr svg').isVisible(), 'a QR code is drawn');
  await screenshot(page, 'totp-enrol');
  secret = base32(await page.locator('#totp-secret').innerText());
  assert.equal(secret.length, 20);

  await page.getByLabel('Code from the app').fill('000000');
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  assert.match(await page.getByRole('alert').innerText(), /not correct/);
  // A new key was drawn for the retry: read it again.
  secret = base32(await page.locator('#totp-secret').innerText());

  await page.getByLabel('Code from the app').fill(await freshCode());
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  recovery = await page.locator('.recovery-code').allInnerTexts();
  assert.equal(recovery.length, 10);
  assert.match(await page.locator('main').innerText(), /shown only this once/);
  await screenshot(page, 'totp-recovery-codes');

  await page.goto(`${base}/v2/web/account/mfa`);
  assert.match(await page.locator('main').innerText(), /Two-step verification is on.*10 recovery codes are left/s);
  assert.equal(await page.locator('.recovery-code').count(), 0, 'never shown again');
});

test('sign out, then the password leads to the code; a wrong code is refused, the right one signs in', { timeout: 90_000 }, async () => {
  await page.goto(`${base}/v2/web/logout`);
  await page.getByRole('button', { name: /Sign out/ }).click();
  await signInWithPassword();
  assert.equal(pathOf(page), '/v2/web/mfa');
  await page.getByRole('heading', { name: 'Two-step verification', level: 1 }).waitFor();
  await screenshot(page, 'totp-sign-in-code');

  await page.getByLabel('Code').fill('123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.match(await page.getByRole('alert').innerText(), /not correct/);
  await screenshot(page, 'totp-sign-in-wrong-code');

  await page.getByLabel('Code').fill(await freshCode());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  assert.equal(pathOf(page), '/v2/web/account');
});

test('a recovery code signs in once', { timeout: TEST_MS }, async () => {
  for (const expectSuccess of [true, false]) {
    await context.clearCookies();
    await signInWithPassword();
    assert.equal(pathOf(page), '/v2/web/mfa');
    await page.getByLabel('Code').fill(recovery[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    if (expectSuccess) {
      await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
    } else {
      assert.match(await page.getByRole('alert').innerText(), /not correct/);
    }
  }
});
