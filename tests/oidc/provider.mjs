// A real OpenID Connect provider (npm oidc-provider) for the sign-in tests, on loopback.
// Usage: node provider.mjs CONFIG.json, where the file names the port, the clients
// ({client_id, client_secret, redirect_uris}) and the accounts ({login: {email, name}}).
// Its development sign-in pages (devInteractions) take any login and password: the login
// becomes the subject (sub). PKCE is required of every client.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  pkce: { required: () => true },
  cookies: { keys: [config.cookieKey] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = config.accounts[id] || {};
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: account.email,
          email_verified: true,
          name: account.name,
          preferred_username: id,
        };
      },
    };
  },
});
// The tests read the development pages' warnings from the log; keep the log short.
provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.listen(config.port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
