// A certified OpenID Connect relying-party library against Tessera: node `openid-client` 6 (on
// `oauth4webapi`), configured by discovery with nothing changed but `allowInsecureRequests`
// (Tessera runs plain http on loopback here). The person signs in and consents on the real
// pages in Chromium.
//
// Everything runs twice, for one client each:
// - with the library's defaults, which for a client with a secret are `client_secret_post`;
// - with `client.ClientSecretBasic()`, whose Basic credentials are form-encoded before Base64
//   (RFC 6749 §2.3.1: the `-` of the client id becomes `%2D`, the `_` of the secret `%5F`).
// Each: discovery; the authorization code grant with PKCE (S256), nonce and state, the response
// checked for RFC 9207 `iss`; the ID token validated (RS512, Tessera's default); userinfo;
// refresh; introspection; revocation; RP-Initiated Logout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { STEP_MS, TEST_MS, Tessera, launchChromium, screenshot, withTimeout } from './harness.mjs';

const USERNAME = 'alice@example.org';
const PASSWORD = 'correct-horse-' + randomBytes(6).toString('hex');
const SCOPE = 'openid profile email';

let tessera;
let base;
let rp; // the relying party's origin, e.g. http://127.0.0.1:40124
let rpServer;
let browser;

/** The relying party: its callback and its signed-out page answer a plain page. */
function startRelyingParty() {
  rpServer = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Relying party</title><h1>Back at the relying party</h1><p>${req.url.split('?')[0]}</p>`);
  });
  return new Promise((r) => rpServer.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${rpServer.address().port}`)));
}

before(
  async () => {
    tessera = await new Tessera().start();
    base = tessera.base;
    rp = await startRelyingParty();
    await tessera.admin(['admin', 'user', 'add', USERNAME, '--password-stdin', '--name', 'Alice Example', '--email', USERNAME], `${PASSWORD}\n`);
    browser = await launchChromium();
  },
  { timeout: 90_000 },
);

after(
  async () => {
    if (browser) await withTimeout(browser.close(), 10_000, 'browser close').catch(() => {});
    if (rpServer) await new Promise((r) => rpServer.close(r));
    await tessera?.stop();
  },
  { timeout: 30_000 },
);

const variants = [
  { name: 'library defaults (client_secret_post)', shot: 'post', auth: () => undefined },
  { name: 'client_secret_basic, form-encoded', shot: 'basic', auth: () => client.ClientSecretBasic() },
];

for (const variant of variants) {
  describe(`openid-client 6 with ${variant.name}`, () => {
    let registered; // {client_id, client_secret}
    let config;
    let context;
    let page;
    let tokens;
    let claims;
    let refreshed;

    before(async () => {
      registered = await tessera.admin([
        'admin', 'client', 'add', '--name', `OIDC Portal (${variant.shot})`, '--confidential',
        '--redirect-uri', `${rp}/cb`, '--redirect-uri', `${rp}/signed-out`,
      ]);
      context = await browser.newContext({ viewport: { width: 1024, height: 768 }, colorScheme: 'light' });
      context.setDefaultTimeout(STEP_MS);
      context.setDefaultNavigationTimeout(15_000);
      page = await context.newPage();
    });

    after(async () => {
      await context?.close();
    });

    test('discovery', { timeout: TEST_MS }, async () => {
      // The id and secret carry characters that RFC 6749 §2.3.1 encoding changes.
      assert.match(registered.client_id, /-/);
      assert.match(registered.client_secret, /_/);
      config = await client.discovery(new URL(base), registered.client_id, registered.client_secret, variant.auth(), {
        execute: [client.allowInsecureRequests],
      });
      const m = config.serverMetadata();
      assert.equal(m.issuer, base);
      assert.equal(m.authorization_response_iss_parameter_supported, true);
      assert.deepEqual(m.id_token_signing_alg_values_supported, ['RS512']);
      assert.ok(config.serverMetadata().supportsPKCE());
    });

    test('authorization code with PKCE and nonce through the sign-in and consent pages', { timeout: TEST_MS }, async () => {
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: `${rp}/cb`,
        scope: SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        nonce,
        state,
        // How Globus (and Tessera) are asked for a refresh token.
        access_type: 'offline',
      });
      await page.goto(url.href);
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Allow' }).waitFor();
      assert.match(await page.locator('h1').innerText(), new RegExp(`OIDC Portal \\(${variant.shot}\\)`));
      await screenshot(page, `openid-client-consent-${variant.shot}`);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${rp}/cb`));
      const callback = new URL(page.url());
      assert.equal(callback.searchParams.get('iss'), base, 'RFC 9207');

      // Checks state, iss, the code exchange (authenticated as configured), and the ID token.
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
        expectedState: state,
        idTokenExpected: true,
      });
      assert.equal(typeof tokens.access_token, 'string');
      assert.equal(typeof tokens.refresh_token, 'string');
      claims = tokens.claims();
      assert.equal(claims.nonce, nonce);
    });

    test('the ID token is RS512, ours, for this client', { timeout: TEST_MS }, async () => {
      const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));
      assert.equal(header.alg, 'RS512');
      assert.equal(claims.iss, base);
      assert.equal(claims.aud, registered.client_id);
      assert.equal(claims.preferred_username, USERNAME);
      assert.equal(typeof claims.auth_time, 'number');
      assert.match(claims.sub, /^[0-9a-f-]{36}$/);
    });

    test('userinfo', { timeout: TEST_MS }, async () => {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.sub, claims.sub);
      assert.equal(info.preferred_username, USERNAME);
      assert.equal(info.email, USERNAME);
      assert.equal(info.name, 'Alice Example');
    });

    test('refresh', { timeout: TEST_MS }, async () => {
      refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.notEqual(refreshed.access_token, tokens.access_token);
      const info = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
      assert.equal(info.sub, claims.sub);
    });

    test('introspection', { timeout: TEST_MS }, async () => {
      const answer = await client.tokenIntrospection(config, refreshed.access_token);
      assert.equal(answer.active, true);
      assert.equal(answer.client_id, registered.client_id);
      assert.equal(answer.sub, claims.sub);
      assert.deepEqual(answer.scope.split(' ').sort(), SCOPE.split(' ').sort());
      const unknown = await client.tokenIntrospection(config, 'tat_not_a_token');
      assert.equal(unknown.active, false);
    });

    test('revocation', { timeout: TEST_MS }, async () => {
      await client.tokenRevocation(config, tokens.refresh_token);
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (e) => {
        assert.equal(e.error, 'invalid_grant');
        return true;
      });
      // The grant's access tokens went with it.
      assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, false);
    });

    test('RP-Initiated Logout returns to the relying party with its state', { timeout: TEST_MS }, async () => {
      const url = client.buildEndSessionUrl(config, {
        post_logout_redirect_uri: `${rp}/signed-out`,
        id_token_hint: tokens.id_token,
        state: 'bye',
      });
      await page.goto(url.href);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((u) => u.href.startsWith(`${rp}/signed-out`));
      assert.equal(new URL(page.url()).searchParams.get('state'), 'bye');
      // Signed out: the account page asks to sign in.
      await page.goto(`${base}/v2/web/account`);
      await page.getByLabel('Password').waitFor();
    });
  });
}
