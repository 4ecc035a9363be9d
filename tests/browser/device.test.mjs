// The device authorization grant (RFC 8628) and dynamic client registration (RFC 7591/7592)
// with node `openid-client` 6, unchanged but for `allowInsecureRequests` (plain http on
// loopback): `dynamicClientRegistration` gated by an initial access token from
// `tessera admin registration-token create`, then `initiateDeviceAuthorization` and
// `pollDeviceAuthorizationGrant` while a person approves (or denies) on the verification page
// in Chromium.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { STEP_MS, Tessera, launchChromium, screenshot, withTimeout } from './harness.mjs';

const USERNAME = 'alice@example.org';
const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const SCOPE = 'openid profile email';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const FLOW_MS = 60_000; // a poll waits the interval (5 s) between tries

let tessera;
let base;
let browser;
let initialAccessToken;
const insecure = { execute: [client.allowInsecureRequests] };

before(
  async () => {
    tessera = await new Tessera(['--registration', 'token']).start();
    base = tessera.base;
    await tessera.admin(['admin', 'user', 'add', USERNAME, '--password-stdin', '--name', 'Alice Example', '--email', USERNAME], `${PASSWORD}\n`);
    const created = await tessera.admin(['admin', 'registration-token', 'create', '--uses', '2']);
    initialAccessToken = created.initial_access_token;
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

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
  context.setDefaultTimeout(STEP_MS);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return { context, page, errors };
}

describe('dynamic client registration with openid-client 6', () => {
  test('without the initial access token, registration is refused', { timeout: 30_000 }, async () => {
    await assert.rejects(
      client.dynamicClientRegistration(new URL(base), { redirect_uris: ['http://127.0.0.1:9/cb'] }, undefined, insecure),
      (e) => {
        // 401 with a Bearer challenge naming invalid_token (RFC 6750 §3).
        assert.equal(e.status ?? e.cause?.status, 401, String(e));
        return true;
      },
    );
  });

  test('registers a confidential client, which reads and deletes itself (RFC 7592)', { timeout: 30_000 }, async () => {
    const config = await client.dynamicClientRegistration(
      new URL(base),
      {
        client_name: 'Registered portal',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
      },
      client.ClientSecretBasic(),
      { ...insecure, initialAccessToken },
    );
    const m = config.clientMetadata();
    assert.match(m.client_id, /^[0-9a-f-]{36}$/);
    assert.match(m.client_secret, /^tcs_/);
    assert.equal(m.client_secret_expires_at, 0);
    assert.match(m.registration_access_token, /^trg_/);
    assert.equal(m.registration_client_uri, `${base}/v2/oauth2/register/${m.client_id}`);
    assert.equal(config.serverMetadata().registration_endpoint, `${base}/v2/oauth2/register`);

    // The secret authenticates: a device authorization for this confidential client.
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    assert.match(da.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);

    const auth = { authorization: `Bearer ${m.registration_access_token}` };
    const read = await fetch(m.registration_client_uri, { headers: auth });
    assert.equal(read.status, 200);
    assert.equal((await read.json()).client_name, 'Registered portal');
    const del = await fetch(m.registration_client_uri, { method: 'DELETE', headers: auth });
    assert.equal(del.status, 204);
    assert.equal((await fetch(m.registration_client_uri, { headers: auth })).status, 401);
  });
});

describe('device authorization grant with openid-client 6', () => {
  let config;

  before(async () => {
    // A public client (no secret), registered with the token's second use.
    config = await client.dynamicClientRegistration(
      new URL(base),
      { client_name: 'Beamline DAQ host', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'] },
      client.None(),
      { ...insecure, initialAccessToken },
    );
    assert.equal(config.clientMetadata().client_secret, undefined);
  });

  test('discovery names the device endpoint', () => {
    const m = config.serverMetadata();
    assert.equal(m.device_authorization_endpoint, `${base}/v2/oauth2/device_authorization`);
    assert.ok(m.grant_types_supported.includes(DEVICE_GRANT));
  });

  test('a person enters the code in Chromium and allows; the poll gets tokens once', { timeout: FLOW_MS }, async () => {
    const da = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    assert.equal(da.verification_uri, `${base}/v2/web/device`);
    assert.equal(da.interval, 5);
    const polling = client.pollDeviceAuthorizationGrant(config, da);

    const { context, page, errors } = await newPage();
    try {
      // The plain verification URI: sign in first, then type the code (lower case, no dash).
      await page.goto(da.verification_uri);
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByLabel('Code').waitFor();
      await screenshot(page, 'device-enter-code');
      await page.getByLabel('Code').fill('BCDF-GHJK');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').waitFor();
      assert.match(await page.getByRole('alert').innerText(), /not valid/);
      await screenshot(page, 'device-wrong-code');
      // That page's 400 is the one console error expected.
      assert.equal(errors.length, 1, errors.join('\n'));
      errors.length = 0;
      await page.getByLabel('Code').fill(da.user_code.replace('-', '').toLowerCase());
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Allow' }).waitFor();
      assert.match(await page.locator('h1').innerText(), /Beamline DAQ host/);
      assert.match(await page.locator('.device-note').innerText(), new RegExp(da.user_code));
      await screenshot(page, 'device-consent');
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      await screenshot(page, 'device-approved');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }

    const tokens = await withTimeout(polling, 30_000, 'pollDeviceAuthorizationGrant');
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(typeof tokens.refresh_token, 'string');
    const claims = tokens.claims();
    assert.equal(claims.iss, base);
    assert.equal(claims.aud, config.clientMetadata().client_id);
    assert.equal(claims.preferred_username, USERNAME);
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, USERNAME);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);

    // The device code was single-use.
    await assert.rejects(client.pollDeviceAuthorizationGrant(config, { ...da, interval: 0 }), (e) => {
      assert.equal(e.error, 'invalid_grant');
      return true;
    });
  });

  test('a person who arrives by verification_uri_complete and denies: access_denied', { timeout: FLOW_MS }, async () => {
    const da = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const polling = client.pollDeviceAuthorizationGrant(config, da);
    const { context, page } = await newPage();
    try {
      await page.goto(da.verification_uri_complete);
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Deny' }).click();
      await page.getByRole('heading', { name: 'Device refused' }).waitFor();
      await screenshot(page, 'device-denied');
    } finally {
      await context.close();
    }
    await assert.rejects(withTimeout(polling, 30_000, 'pollDeviceAuthorizationGrant'), (e) => {
      assert.equal(e.error, 'access_denied');
      return true;
    });
  });
});
