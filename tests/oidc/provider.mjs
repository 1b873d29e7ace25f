// A real OpenID provider for Samtal's tests: Node's oidc-provider on loopback, over plain http.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"port", "issuer", "node_modules" (where oidc-provider is installed), "clients": [oidc-provider
// client metadata], "accounts": {ID: {"acr"?, "sub"?, "claims"}}}.
// It prints "ready" once it listens, and stops when its standard input closes (so it never outlives the test).
//
// Sign-in is driven without a person: the login page reads the standard `login_hint` parameter of the
// authorization request and signs in that test account at the account's `acr` (none when absent); without a
// hint it shows a button per account, for a browser to press. Consent is
// given at once for what the client asked (loadExistingGrant), as a municipality's own provider does for its
// own services. Everything else (discovery, PKCE, codes, tokens, signatures, userinfo) is oidc-provider's own.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// Installed outside the repository (the git-ignored .cache), so found through the configured folder.
const installed = createRequire(path.join(config.node_modules, 'noop.js')).resolve('oidc-provider');
const { default: Provider } = await import(pathToFileURL(installed));
const { accounts } = config;
// An account may name the `sub` of another ({"sub": "ville", ...}): the same person, signed in with other claims
// (a new role). The claims are those of the account last signed in as that person.
const chosen = {};

function signingKey(type, options, kid, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const PNR = 'https://id.oidc.se/claim/personalIdentityNumber';

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: {
    keys: [
      signingKey('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256'),
      signingKey('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256'),
    ],
  },
  findAccount(ctx, id) {
    const account = accounts[chosen[id] ?? id];
    return account && { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    'https://id.oidc.se/scope/naturalPersonNumber': [PNR],
    samtal: ['samtal_role', 'samtal_unit'],
  },
  acrValues: ['http://id.elegnamnden.se/loa/1.0/loa2', 'http://id.elegnamnden.se/loa/1.0/loa3',
    'http://id.elegnamnden.se/loa/1.0/loa4'],
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

const handle = provider.callback();

async function posted(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body).get('account');
}

function chooser(res) {
  const buttons = Object.keys(accounts).map((id) => `<button name="account" value="${id}">${id}</button>`);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    .end(`<!doctype html><title>Test provider</title><form method="post">${buttons.join('')}</form>`);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const id = req.method === 'POST' ? await posted(req) : details.params.login_hint;
  if (details.prompt.name === 'login' && id === undefined) return chooser(res); // a person (a browser test) picks
  if (details.prompt.name !== 'login' || !accounts[id]) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`no test account ${id}`);
    return undefined;
  }
  const { acr, sub } = accounts[id];
  const accountId = sub ?? id;
  chosen[accountId] = id;
  return provider.interactionFinished(req, res, { login: { accountId, ...(acr ? { acr } : {}) } },
    { mergeWithLastSubmission: false });
}

http.createServer((req, res) => {
  if (!req.url.startsWith('/interaction/')) return handle(req, res);
  return interaction(req, res).catch((error) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  });
}).listen(config.port, '127.0.0.1', () => console.log('ready'));

// A line {"account": ID, "claims": {...}} on stdin changes what the provider says of that person from now on
// (a role taken away), as the municipality's directory would; answered with "ok".
let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    const { account, claims } = JSON.parse(line);
    accounts[account].claims = claims;
    console.log('ok');
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
