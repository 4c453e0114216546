// A real OpenID provider (the certified `oidc-provider` from npm) on
// loopback, for tests/api/desk_sso.rs: the newsroom's single sign-on.
//
// usage: node provider.mjs PORT REDIRECT_URI, with oidc-provider in
// $SOURCELEDGER_TEST_OIDC_TOOLS/node_modules. Prints "READY" once it listens.
//
// Two clients, both confidential (client_secret_basic or _post) and held to
// PKCE: `desk` (the one sourceledger is configured with) and `other` (a
// second application of the same provider, with the same redirect URI, so a
// test can deliver a code issued to it to the desk's callback).
//
// Users, their role in the `sourceledger_role` claim, which the `profile`
// scope carries into the ID token (conformIdTokenClaims off, as many
// providers do): jo (journalist), ed (editor), nora (no role), will (a role
// sourceledger does not know).
//
// Nobody types a password: the interaction page GET /interaction/UID?user=NAME
// signs NAME in at once (the test names who), and consent is given by the
// provider itself (loadExistingGrant), as a provider does for the
// organisation's own applications.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(process.env.SOURCELEDGER_TEST_OIDC_TOOLS + '/');
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')).href);

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const users = {
  jo: { name: 'Jo Journalist', email: 'jo@news.example', sourceledger_role: 'journalist' },
  ed: { name: 'Ed Editor', email: 'ed@news.example', sourceledger_role: 'editor' },
  nora: { name: 'Nora Noroles', email: 'nora@news.example' },
  will: { name: 'Will Wizard', email: 'will@news.example', sourceledger_role: 'wizard' },
};

const client = (id) => ({
  client_id: id,
  client_secret: `${id}-secret-of-the-test-provider`,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('desk'), client('other')],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  claims: {
    openid: ['sub'],
    profile: ['name', 'sourceledger_role'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false,
  cookies: { keys: ['a cookie key of the test provider'] },
  async findAccount(_ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email_verified: true, ...user };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    session.grantIdFor(client.clientId, grant.jti);
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const user = ctx.query.user;
  if (details.prompt.name === 'login') {
    if (!users[user]) {
      ctx.status = 400;
      ctx.body = `no such test user: ${user}`;
      return undefined;
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user } }, { mergeWithLastSubmission: false });
  }
  ctx.status = 400;
  ctx.body = `unexpected prompt ${details.prompt.name}`;
  return undefined;
});

provider.listen(Number(port), '127.0.0.1', () => console.log('READY'));
