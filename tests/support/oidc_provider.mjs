// panva's oidc-provider (OpenID Certified) on loopback, with its defaults, for the tests.
//
//   node tests/support/oidc_provider.mjs '<JSON>'
//
// The JSON names the port, the one client (its id, secret and redirect URI, and any of its
// registered metadata the test wants), the accounts (id -> claims) and, only where a test
// needs one, a change to the provider's configuration ("configuration") or an Ed25519
// signing key ("ed25519": true). Everything else is the provider's default: PKCE, its
// development login and consent pages (any password), its development RS256 key, RFC 9207's
// `iss`, and claims requested by scope returned from UserInfo rather than the ID token.
// Prints "listening <issuer>" once it answers.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const asked = JSON.parse(process.argv[2]);
const issuer = `http://localhost:${asked.port}`;
const jwks = asked.ed25519
  ? { keys: [{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'ed' }] }
  : undefined;

const provider = new Provider(issuer, {
  clients: [asked.client],
  // The standard claims of the `email` scope (OpenID Connect Core 5.4); the default has none.
  claims: { email: ['email', 'email_verified'] },
  findAccount: (_ctx, id) => (id in asked.accounts
    ? { accountId: id, claims: () => ({ sub: id, ...asked.accounts[id] }) }
    : undefined),
  ...(jwks ? { jwks } : {}),
  ...asked.configuration,
});

provider.listen(asked.port, 'localhost', () => console.log(`listening ${issuer}`));
process.on('SIGTERM', () => process.exit(0));
