// An independent private_key_jwt verifier for the session/isv tests: an
// oidc-provider (https://github.com/panva/node-oidc-provider) authorization
// server on loopback with one client that authenticates with an RS256 client
// assertion and may use the client_credentials grant.
//
// Configuration, all from the environment:
//   PMX_OIDC_PORT       port to listen on, 127.0.0.1 only (0 or unset: any free port)
//   PMX_OIDC_CLIENT_ID  the client's ID (required)
//   PMX_OIDC_JWK        the client's public RSA key as a JWK (JSON, required)
//   PMX_OIDC_AUDIENCE   the API audience (resource) tokens are issued for
//                       (default https://api.local.test)
//   PMX_OIDC_TTL        access token lifetime in seconds (default 180)
//   PMX_OIDC_SCOPE      space-separated scopes of the API (default read:accounts)
//
// Once it listens, it prints one line to stdout:
//   listening http://127.0.0.1:PORT
// The token endpoint is http://127.0.0.1:PORT/oauth/token (as at Auth0), and
// the issuer is http://127.0.0.1:PORT, so a client assertion whose aud is the
// token endpoint URL is accepted. It stops on SIGTERM or SIGINT, or when its
// stdin closes (so it never outlives the test that started it).
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { Provider, errors } from 'oidc-provider';

function fail(msg) {
  process.stderr.write(`oidc server: ${msg}\n`);
  process.exit(2);
}

const env = process.env;
const clientID = env.PMX_OIDC_CLIENT_ID || fail('PMX_OIDC_CLIENT_ID is not set');
let clientJWK;
try {
  clientJWK = JSON.parse(env.PMX_OIDC_JWK || fail('PMX_OIDC_JWK is not set'));
} catch (e) {
  fail(`PMX_OIDC_JWK is not JSON: ${e.message}`);
}
if (clientJWK.kty !== 'RSA' || clientJWK.d !== undefined) {
  fail('PMX_OIDC_JWK must be a public RSA JWK');
}
const audience = env.PMX_OIDC_AUDIENCE || 'https://api.local.test';
const ttl = Number.parseInt(env.PMX_OIDC_TTL || '180', 10);
const apiScope = env.PMX_OIDC_SCOPE || 'read:accounts';
const port = Number.parseInt(env.PMX_OIDC_PORT || '0', 10);

// The server's own signing key for JWT access tokens, fresh each run.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJWK = { ...privateKey.export({ format: 'jwk' }), kid: 'pmx-oidc-test', alg: 'RS256', use: 'sig' };

const http = createServer();
http.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${http.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientID,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      jwks: { keys: [{ ...clientJWK, use: 'sig', alg: 'RS256' }] },
    }],
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256'] },
    jwks: { keys: [signingJWK] },
    routes: { token: '/oauth/token' },
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Auth0's "audience" parameter is not OAuth: standard servers take a
        // resource indicator. Every token is for the one API audience.
        defaultResource: () => audience,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== audience) {
            throw new errors.InvalidTarget(`unknown resource ${resource}`);
          }
          return {
            audience,
            scope: apiScope,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  provider.proxy = false;
  // oidc-provider answers every client authentication failure with
  // "invalid_client: client authentication failed"; say the real cause on
  // stderr (one line, no token) for the test and CI logs.
  provider.on('grant.error', (_ctx, err) => {
    process.stderr.write(`grant.error: ${err.error}: ${err.error_detail || err.error_description}\n`);
  });
  http.on('request', provider.callback());
  process.stdout.write(`listening ${issuer}\n`);
});
http.on('error', (e) => fail(e.message));

function stop() {
  http.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
