// node oidc-provider as a peer for bench/suite.sh: client credentials and introspection only.
//
//   node oidc_provider_peer.mjs PORT PORTAL_SECRET RS_SECRET
//
// Two confidential clients, like Tessera's bootstrap: `portal` gets opaque client-credentials
// tokens for the resource server `urn:bench:data` (scope `data`), and `research-api` may
// introspect them (HTTP Basic, client_secret_basic). Tokens live in oidc-provider's default
// in-memory adapter, which is the fastest it has (no database at all). Prints
// "listening on http://127.0.0.1:PORT" once it accepts connections.
import Provider from 'oidc-provider';

const [port, portalSecret, rsSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:bench:data';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'portal',
      client_secret: portalSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'data',
    },
    {
      client_id: 'research-api',
      client_secret: rsSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: ['data'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'data',
        accessTokenFormat: 'opaque',
        accessTokenTTL: 172800,
      }),
    },
  },
});
provider.proxy = false;

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
