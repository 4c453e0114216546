// Two passes of tests/web/desk_flow.mjs (for tests/api/desk_browser_admin.rs),
// by role and label like the others, with axe-core and a screenshot of every
// page named in `audit`:
//
//   admin  an admin signs in, makes an API key on "API keys" (shown once in
//          the read-only "Key" field), checks it is taken at
//          POST /v1/auth/token, revokes it (accepting the desk's confirm
//          dialog) and checks it is refused; then registers a Ghost platform
//          (its "Webhook URL" and "Webhook secret" shown once) and removes it.
//   drift  a journalist opens the drift queue holding a dead link, reads the
//          item, fetches its "Archived copy" with the session's cookies,
//          opens the source's page (its link history) and marks the item
//          reviewed.
//
// pass (admin): {"mode": "admin", "key": {"name", "role"}, "platform":
//   {"kind", "name", "site"}}
// pass (drift): {"mode": "drift", "title", "claim"}
// out.admin: {"key", "made", "token_before", "token_after", "again",
//   "revoked", "platform": {"webhook_url", "secret"}, "registered",
//   "platform_again", "removed" (each page's main text), and whether the
//   pages' markup held the secret: "made_holds_key", "again_holds_key",
//   "registered_holds_secret", "again_holds_secret"}
// out.drift: {"item", "href", "copy_status", "copy_body", "source", "after"}

/** Whether the page's markup, input values and all, holds `secret`. */
const holds = (ui, secret) => ui.evaluate((s) => document.documentElement.outerHTML.includes(s), secret);

/** What POST /v1/auth/token answers for `key`: its status. */
async function exchange(base, key) {
  const answer = await fetch(`${base}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ api_key: key }),
  });
  return answer.status;
}

export async function admin(ui, input, pass, out, audit) {
  const base = input.base;
  await ui.goto(`${base}/desk`);
  await ui.fill(null, 'API key', input.admin_key);
  await ui.press(null, 'Sign in');

  await ui.follow('API keys');
  await ui.heading('API keys');
  await audit('keys');
  await ui.fill(null, 'Name', pass.key.name);
  await ui.choose('Role', pass.key.role);
  await ui.press(null, 'Create key');
  const key = await ui.value('Key');
  await audit('key-shown');
  const made = await ui.text();
  const made_holds_key = await holds(ui, key);
  const token_before = await exchange(base, key);
  // Shown once: the list, opened again, has the key's name, not its secret.
  await ui.follow('API keys');
  const again = await ui.text();
  const again_holds_key = await holds(ui, key);
  await ui.press(null, `Revoke key ${pass.key.name}`);
  const revoked = await ui.text();
  const token_after = await exchange(base, key);

  await ui.follow('Platforms');
  await ui.heading('Membership platforms');
  await audit('platforms');
  await ui.choose('Kind', pass.platform.kind);
  await ui.fill(null, 'Name', pass.platform.name);
  await ui.fill(null, 'Site', pass.platform.site);
  await ui.press(null, 'Register platform');
  const platform = { webhook_url: await ui.value('Webhook URL'), secret: await ui.value('Webhook secret') };
  await audit('platform-shown');
  const registered = await ui.text();
  const registered_holds_secret = await holds(ui, platform.secret);
  await ui.follow('Platforms');
  const platform_again = await ui.text();
  const again_holds_secret = await holds(ui, platform.secret);
  await ui.press(null, `Remove platform ${pass.platform.name}`);
  const removed = await ui.text();
  out.admin = {
    key, made, made_holds_key, token_before, token_after, again, again_holds_key, revoked,
    platform, registered, registered_holds_secret, platform_again, again_holds_secret, removed,
  };
}

export async function drift(ui, input, pass, out, audit) {
  const base = input.base;
  await ui.goto(`${base}/desk`);
  await ui.fill(null, 'API key', input.journalist_key);
  await ui.press(null, 'Sign in');

  await ui.follow('Drift queue');
  await ui.heading('Drift queue');
  await audit('drift');
  const item = await ui.text(await ui.item(pass.claim));
  // The copy is the desk's, behind its sign-in: fetched with the session.
  const href = new URL(await ui.href('Archived copy'), `${base}/desk/drift`).href;
  const cookie = (await ui.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const copy = await fetch(href, { headers: { cookie } });
  const copy_status = copy.status;
  const copy_body = await copy.text();

  await ui.follow(pass.title);
  await ui.heading('Link history');
  await audit('drift-source');
  const source = await ui.text();

  await ui.follow('Drift queue');
  await ui.press(null, `Mark reviewed: ${pass.title}`);
  const after = await ui.text();
  out.drift = { item, href, copy_status, copy_body, source, after };
}
