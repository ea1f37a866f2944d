// End-to-end tests: real user journeys in Debian's headless Chromium, driven by playwright-core.
// Starts the built portal (target/debug/workspaces-portal, embedded emulator) on a free port,
// runs the journeys with node's test runner, and stops it. Screenshots go to end2end/screenshots/.
//
//   node --test run.mjs      (scripts/test builds the portal first and runs this)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'end2end', 'screenshots');
mkdirSync(shots, { recursive: true });

let server, browser, base, setupLink, emulatorUrl;
/** The first administrator's browser session (made by the first journey). */
let admin;
const ADMIN_PASSWORD = 'a long admin password';
const pageErrors = [];
/** Serious and critical accessibility violations found by axe-core, on any page a journey saw. */
const a11yViolations = [];
const axeSource = readFileSync(path.join(root, 'end2end', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * Installed in every page (tests only): WCAG contrast of what axe-core does not judge — an
 * element as it is now (hovered, focused, disabled), and its focus ring against what is behind it.
 */
function contrastKit() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return { r: 0, g: 0, b: 0, a: 0 };
    const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const mix = (top, under, a = top.a) => ({ r: top.r * a + under.r * (1 - a), g: top.g * a + under.g * (1 - a), b: top.b * a + under.b * (1 - a), a: 1 });
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) layers.push(getComputedStyle(e));
    return layers.reverse().reduce((under, s) => {
      const bg = parse(s.backgroundColor);
      return mix(mix(bg, under), under, Number(s.opacity));
    }, { r: 255, g: 255, b: 255, a: 1 });
  };
  const luminance = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => { const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p); return (hi + 0.05) / (lo + 0.05); };
  window.contrast = {
    /** The text of `el` against its own background, both seen through its and its parents' opacity. */
    text(el) {
      const under = behind(el.parentElement);
      const style = getComputedStyle(el);
      let o = 1;
      for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
      const bg = mix(parse(style.backgroundColor), under);
      return ratio(mix(mix(parse(style.color), bg), under, o), mix(bg, under, o));
    },
    /** The focus ring (outline) of `el` against what is behind it; 0 when it has none. */
    ring(el) {
      const style = getComputedStyle(el);
      if (style.outlineStyle === 'none' || parseFloat(style.outlineWidth) < 2) return 0;
      const under = behind(el.parentElement);
      return ratio(mix(parse(style.outlineColor), under), under);
    },
  };
}

/** Runs axe-core on the page as it is now; notes what is serious or critical, with `what`. */
async function checkA11y(page, what = new URL(page.url()).pathname) {
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.nodes.map((n) => `${v.impact} ${v.id} at ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`))
    .flat());
  for (const f of found) a11yViolations.push(`${what}: ${f}`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const bin = path.resolve(root, process.env.PORTAL_BIN || 'target/debug/workspaces-portal');
  // A database and audit key of its own, so runs never touch ./data.
  const data = mkdtempSync(path.join(os.tmpdir(), 'portal-e2e-'));
  // The emulator's control endpoints let a journey change a WorkSpace behind the portal's back.
  server = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--emulator-transition-delay-ms', '1500', '--inventory-max-calls-per-sec', '50', '--inventory-transitional-ms', '500',
    '--emulator-control', '--database-url', `sqlite://${data}/portal.db`, '--audit-key-file', `${data}/audit.key`], {
    cwd: root, stdio: ['ignore', 'inherit', 'pipe'], env: { ...process.env, RUST_LOG: 'warn,portal_server::startup=info' },
  });
  // A first run prints the one-time setup link to the log, and where the emulator listens.
  server.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    const found = String(chunk).match(/(\/setup\?token=[0-9a-f]+)/);
    if (found) setupLink = found[1];
    const emulator = String(chunk).match(/(http:\/\/127\.0\.0\.1:\d+)\/_emulator\//);
    if (emulator) emulatorUrl = emulator[1];
  });
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

async function open(url, context = admin) {
  const page = await context.newPage();
  page.on('pageerror', (e) => { pageErrors.push(`${url}: ${e.message}`); console.log('PAGEERROR', page.url(), e.stack); });
  page.on('console', (m) => { if (m.type() === 'error' && (m.text().includes('panicked') || m.text().toLowerCase().includes('hydrat'))) console.log('PANIC', page.url(), m.text().slice(0, 2000)); });
  await page.goto(`${base}${url}`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
  await checkA11y(page, `${url} (signed in: ${(await page.locator('.who .user-name').textContent().catch(() => null)) ?? 'nobody'})`);
  return page;
}

/** Calls a server function the way the browser does, to find test subjects. */
async function list(query) {
  const body = new URLSearchParams(Object.entries({ 'query[per_page]': '200', ...query }));
  const cookie = (await admin.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(`${base}/api/workspaces/list`, { method: 'POST', body, headers: { cookie } });
  return (await res.json()).items;
}

/** A screenshot of the page as it is now, whose accessibility is checked too. */
async function shot(page, name) {
  await checkA11y(page, `${name} (${new URL(page.url()).pathname})`);
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/**
 * Presses Tab (or Shift+Tab) until the focused element matches `selector` (and has `text`, if
 * given), checking at every stop on the way that the focused element shows its focus.
 */
async function tabTo(page, selector, { text, back = false, max = 120 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const stop = await page.evaluate(([selector, text]) => {
      const el = document.activeElement;
      if (!el || el === document.body) return { none: true };
      const label = el.getAttribute('aria-label') ?? el.textContent.trim().slice(0, 40);
      return { ring: window.contrast.ring(el), what: `<${el.tagName.toLowerCase()}> ${label}`, matches: el.matches(selector) && (text == null || el.textContent.trim() === text) };
    }, [selector, text ?? null]);
    // WCAG 1.4.11: the focus ring is seen at 3:1 at least against what is around it.
    if (!stop.none) assert.ok(stop.ring >= 3, `the focus is visible on ${stop.what} (ring contrast ${stop.ring.toFixed(2)}:1)`);
    if (stop.matches) return;
  }
  assert.fail(`Tab never reached ${selector}${text ? ` "${text}"` : ''}`);
}

/** What has the focus: its tag and text. */
const focused = (page) => page.evaluate(() => ({
  tag: document.activeElement?.tagName.toLowerCase(),
  text: document.activeElement?.textContent.trim(),
  inDialog: !!document.activeElement?.closest('.dialog'),
}));

// Tests only: the pages' CSP refuses inline scripts, which is how axe-core is injected.
const newContext = async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  await context.addInitScript(contrastKit);
  return context;
};

/** Adds a user on the users page, as the admin. */
async function addUser(name, role, password) {
  const page = await open('/admin/users');
  const form = page.locator('section', { hasText: 'Add a user' });
  await form.getByLabel('User name').fill(name);
  await form.getByLabel('Role').selectOption(role);
  await form.getByLabel(/^Password/).fill(password);
  await form.getByRole('button', { name: 'Add user' }).click();
  await page.locator(`tr[data-user="${name}"]`).waitFor();
  await page.close();
}

/** Signs `name` in from a browser of their own; answers that browser and its first page. */
async function signIn(name, password, url = '/') {
  const context = await newContext();
  const page = await open(url, context);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.waitForSelector('body[data-hydrated="true"]');
  return { context, page };
}

/** The WorkSpace's state as the fleet lists it (undefined once it is no longer listed). */
const stateOf = async (id) => (await list({})).find((w) => w.id === id)?.state;

test('first run: the setup link from the log creates the administrator, who is signed in', async () => {
  assert.ok(setupLink, 'the server printed a setup link');
  admin = await newContext();
  // Without a session every page leads to the sign-in page, which points to the setup link.
  const login = await open('/workspaces', admin);
  assert.match(login.url(), /\/login\?next=%2Fworkspaces$/);
  await login.getByText('No user exists yet.').waitFor();
  await shot(login, '00-first-run-login');
  await login.goto(`${base}${setupLink}`);
  await login.waitForSelector('body[data-hydrated="true"]');
  await login.getByLabel('User name').fill('admin');
  await login.getByLabel(/^Password \(at least/).fill(ADMIN_PASSWORD);
  await login.getByLabel('Password again').fill(ADMIN_PASSWORD);
  await login.getByRole('button', { name: 'Create administrator and sign in' }).click();
  await login.waitForURL(/\/admin\/users$/);
  await login.waitForSelector('body[data-hydrated="true"]');
  await login.locator('tr[data-user="admin"]').waitFor();
  assert.equal(await login.locator('.who .user-name').textContent(), 'admin');
  // The link works once.
  const again = await fetch(`${base}/api/auth/setup`, {
    method: 'POST', body: new URLSearchParams({ token: setupLink.split('=')[1], name: 'x', password: ADMIN_PASSWORD, again: ADMIN_PASSWORD }),
  });
  assert.equal(again.status, 400);
  await login.goto(`${base}${setupLink}`);
  await login.getByText('The portal is set up already').waitFor();
  await login.close();
});

test('fleet: filter by state, then open a WorkSpace', async () => {
  const page = await open('/workspaces');
  assert.equal(await page.locator('tbody tr').count(), 40);
  await page.getByLabel('State').selectOption('STOPPED');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/state=STOPPED/);
  await page.waitForFunction(() => [...document.querySelectorAll('tbody [data-state]')].every((b) => b.dataset.state === 'STOPPED'));
  const rows = await page.locator('tbody tr').count();
  assert.ok(rows > 0 && rows < 40, `${rows} stopped rows`);
  await shot(page, '01-fleet-filtered');
  const first = page.locator('tbody tr a.mono').first();
  const id = await first.textContent();
  await first.click();
  await page.waitForURL(new RegExp(`/workspaces/${id}$`));
  await page.getByRole('heading', { name: 'Properties' }).waitFor();
  assert.match(await page.locator('h1').textContent(), new RegExp(id));
  await shot(page, '02-detail');
  await page.close();
});

test('detail: stop a WorkSpace and watch it reach STOPPED without reloading, then start it', async () => {
  const [ws] = await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'AUTO_STOP' });
  const page = await open(`/workspaces/${ws.id}`);
  const badge = page.locator('.page-head [data-state]');
  assert.equal(await badge.getAttribute('data-state'), 'AVAILABLE');
  assert.ok(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled(), 'Start is unavailable while AVAILABLE');
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await page.waitForSelector('.page-head [data-state="STOPPING"]');
  await shot(page, '03-stopping');
  await page.waitForSelector('.page-head [data-state="STOPPED"]', { timeout: 15000 });
  await shot(page, '04-stopped');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForSelector('.page-head [data-state="AVAILABLE"]', { timeout: 15000 });
  await page.close();
});

test('create: three WorkSpaces, one of which fails', async () => {
  const [taken] = await list({ 'query[directory]': 'd-906734e5a1' });
  const page = await open('/workspaces/new');
  await page.getByLabel('Directory (registered directories only)').selectOption('d-906734e5a1');
  await page.getByLabel('Users (one user name per line; any number, sent 25 at a time)').fill(`e2e.first\n${taken.user_name}\ne2e.second`);
  await page.getByLabel('Tags (key=value, one per line)').fill('Team=E2E');
  await page.getByRole('button', { name: 'Create WorkSpaces' }).click();
  const result = page.locator('.batch-result');
  await result.waitFor();
  assert.match(await result.locator('h2').textContent(), /2 WorkSpace\(s\) pending, 1 failed/);
  assert.match(await result.locator('tr.failed').textContent(), /ResourceAlreadyExistsException/);
  assert.equal(await result.locator('tr.ok').count(), 2);
  await shot(page, '05-create-result');
  await page.close();
});

test('detail: add, change and delete a tag', async () => {
  const [ws] = await list({ 'query[state]': 'AVAILABLE' });
  const page = await open(`/workspaces/${ws.id}`);
  const form = page.locator('form.inline-form');
  await form.getByLabel('Key').fill('Owner');
  await form.getByLabel('Value').fill('alice');
  await form.getByRole('button', { name: 'Add or change tag' }).click();
  const row = page.locator('table.tags tr', { hasText: 'Owner' });
  await row.waitFor();
  assert.match(await row.textContent(), /alice/);
  await form.getByLabel('Key').fill('Owner');
  await form.getByLabel('Value').fill('bob');
  await form.getByRole('button', { name: 'Add or change tag' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('table.tags tr')].some((r) => r.textContent.includes('bob')));
  assert.equal(await page.locator('table.tags tr', { hasText: 'Owner' }).count(), 1);
  await shot(page, '06-tags');
  await page.getByRole('button', { name: 'Delete tag Owner' }).click();
  await page.waitForFunction(() => ![...document.querySelectorAll('table.tags tr')].some((r) => r.textContent.includes('Owner')));
  // A reserved key is refused with a message naming the field.
  await form.getByLabel('Key').fill('aws:owner');
  await form.getByRole('button', { name: 'Add or change tag' }).click();
  await page.locator('.error-box', { hasText: 'reserved' }).waitFor();
  await page.close();
});

test('inventory: pages say how fresh they are, Refresh now shows a change made behind the portal\'s back, the overview shows the sync', async () => {
  assert.ok(emulatorUrl, 'the server printed the emulator control endpoint');
  const [ws] = await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'ALWAYS_ON' });
  const force = async (state) => {
    const res = await fetch(`${emulatorUrl}/_emulator/workspaces/${ws.id}/state`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state }),
    });
    assert.equal(res.status, 204);
  };
  const page = await open(`/workspaces/${ws.id}`);
  assert.match(await page.locator('.freshness').textContent(), /Read from AWS/);
  // Someone else's change: the page learns of it when asked to read AWS again.
  await force('IMPAIRED');
  await page.getByRole('button', { name: 'Refresh now' }).click();
  await page.waitForSelector('.page-head [data-state="IMPAIRED"]');
  assert.match(await page.locator('.freshness').textContent(), /Read from AWS (just now|\d+ s ago)/);
  await shot(page, '21-detail-refreshed');
  await page.close();

  const fleet = await open('/workspaces?per_page=100');
  assert.match(await fleet.locator('.freshness').textContent(), /Inventory synced/);
  await force('AVAILABLE');
  await fleet.getByRole('button', { name: 'Refresh now' }).click();
  await fleet.waitForSelector(`tr[data-id="${ws.id}"] [data-state="AVAILABLE"]`);
  await fleet.close();

  const home = await open('/');
  const health = home.locator('.sync-health');
  await health.getByRole('heading', { name: /Inventory sync/ }).waitFor();
  assert.match(await health.textContent(), /Last complete sweep.*took/s);
  await shot(home, '22-overview-sync');
  await home.close();
});

test('bulk reboot shows each WorkSpace\'s outcome', async () => {
  const [available] = await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'ALWAYS_ON' });
  const [stopped] = await list({ 'query[state]': 'STOPPED' });
  const page = await open('/workspaces?per_page=100');
  await page.getByLabel(`Select ${available.id} (${available.user_name})`).check();
  await page.getByLabel(`Select ${stopped.id} (${stopped.user_name})`).check();
  await page.getByText('2 selected').waitFor();
  await page.getByRole('button', { name: 'Reboot' }).click();
  const result = page.locator('.batch-result');
  await result.waitFor();
  assert.match(await result.locator('h2').textContent(), /Reboot: 1 accepted, 1 failed/);
  assert.match(await result.locator('li.failed').textContent(), new RegExp(`${stopped.id}.*InvalidResourceStateException`));
  assert.match(await result.locator('li.ok').textContent(), new RegExp(available.id));
  await shot(page, '07-bulk-reboot');
  await page.close();
});

test('terminate needs a second person: the admin asks with a reason, an approver approves, it runs once', async () => {
  const APRIL = 'april approver pw';
  await addUser('april', 'approver', APRIL);
  const [ws] = await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'ALWAYS_ON' });
  const page = await open(`/workspaces/${ws.id}`);
  assert.equal(await page.getByRole('button', { name: 'Terminate', exact: true }).count(), 0, 'no direct terminate');
  await page.getByRole('button', { name: 'Request terminate' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const ask = dialog.getByRole('button', { name: 'Ask for approval' });
  const reason = dialog.getByLabel(/^Reason \(at least 10 characters/);
  await reason.fill('too short');
  assert.ok(await ask.isDisabled(), 'a reason under 10 characters is not enough');
  await reason.fill('Leaver: ticket HR-1234, laptop returned');
  await shot(page, '08-request-terminate');
  await ask.click();
  const done = page.locator('p.success', { hasText: 'Requested: Terminate of 1 WorkSpace, waiting for 1 approval.' });
  await done.waitFor();
  const requestPath = await done.locator('a').getAttribute('href');
  await page.locator('.page-head a.pending-mark', { hasText: 'Terminate pending' }).waitFor();
  // Asking again for the same WorkSpace points at the pending request.
  await page.getByRole('button', { name: 'Request terminate' }).click();
  await dialog.getByLabel(/^Reason/).fill('Asking a second time, on purpose');
  await dialog.getByRole('button', { name: 'Ask for approval' }).click();
  await page.locator('.error-box', { hasText: 'already has a pending request' }).waitFor();
  // The server refuses a direct terminate from the admin's own session.
  const status = await page.evaluate(async (id) => (await fetch('/api/workspaces/batch', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'terminate', ids: [id], confirm: 'terminate' }),
  })).status, ws.id);
  assert.equal(status, 403);
  // The requester cannot approve their own request.
  await page.locator('.page-head a.pending-mark').click();
  await page.waitForURL((u) => u.pathname === requestPath);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByText('You cannot review this request').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
  await page.close();
  assert.equal(await stateOf(ws.id), 'AVAILABLE', 'nothing happened yet');

  // The approver sees it waiting in the navigation, reads the reason and approves.
  const { context, page: a } = await signIn('april', APRIL, '/approvals');
  assert.equal((await a.locator('.topbar .nav-count').textContent()).trim(), '1');
  const row = a.locator(`table.approvals tr[data-request="${requestPath.split('/').pop()}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /Terminate.*admin/s);
  await shot(a, '14-approvals-to-review');
  await row.locator('a').first().click();
  await a.waitForURL((u) => u.pathname === requestPath);
  await a.getByText('Leaver: ticket HR-1234, laptop returned').waitFor();
  await a.getByLabel('Comment (optional)').fill('Checked with HR');
  await shot(a, '15-approval-request');
  await a.getByRole('button', { name: 'Approve' }).click();
  await a.locator('.batch-result h2', { hasText: 'Outcome: 1 accepted, 0 failed, 0 changed since the request' }).waitFor({ timeout: 15000 });
  await a.locator('.reviews li[data-decision="approved"]', { hasText: 'april' }).waitFor();
  await a.waitForFunction(() => !document.querySelector('.topbar .nav-count'));
  await shot(a, '16-approval-executed');
  assert.ok([undefined, 'TERMINATING', 'TERMINATED'].includes(await stateOf(ws.id)), 'terminated');
  await context.close();
});

test('an operator asks to terminate 3 WorkSpaces; the approver sees one changed since, approves, and the other two terminate', async () => {
  assert.ok(emulatorUrl, 'the server printed the emulator control endpoint');
  const OSCAR = 'oscar operator pw';
  await addUser('oscar', 'operator', OSCAR);
  const targets = (await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'AUTO_STOP' })).slice(-3);
  assert.equal(targets.length, 3);
  const { context: oc, page: o } = await signIn('oscar', OSCAR, '/workspaces?per_page=100');
  for (const w of targets) await o.getByLabel(`Select ${w.id} (${w.user_name})`).check();
  await o.getByText('3 selected').waitFor();
  assert.equal(await o.getByRole('button', { name: 'Terminate', exact: true }).count(), 0);
  await o.getByRole('button', { name: 'Request terminate' }).click();
  await o.getByRole('dialog').getByLabel(/^Reason/).fill('Contractors left at the end of the project');
  await o.getByRole('dialog').getByRole('button', { name: 'Ask for approval' }).click();
  const done = o.locator('p.success', { hasText: 'Requested: Terminate of 3 WorkSpaces' });
  await done.waitFor();
  for (const w of targets) await o.locator(`tr:has-text("${w.id}") a.pending-mark`, { hasText: 'Terminate pending' }).waitFor();
  await shot(o, '17-fleet-pending-marks');
  const requestPath = await done.locator('a').getAttribute('href');
  await oc.close();

  // One of them is given to someone else before anyone reviews.
  const moved = targets[1];
  const res = await fetch(`${emulatorUrl}/_emulator/workspaces/${moved.id}/user`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName: 'someone.else' }),
  });
  assert.equal(res.status, 204);

  const { context: ac, page: a } = await signIn('april', 'april approver pw', '/workspaces');
  assert.equal((await a.locator('.topbar .nav-count').textContent()).trim(), '1');
  await a.locator('.topbar a', { hasText: 'Approvals' }).click();
  await a.waitForURL(/\/approvals$/);
  await a.locator(`a[href="${requestPath}"]`).click();
  await a.waitForURL((u) => u.pathname === requestPath);
  await a.getByText('Contractors left at the end of the project').waitFor();
  const drifted = a.locator('table.targets tr.drifted');
  await drifted.first().waitFor();
  assert.equal(await drifted.count(), 1);
  assert.equal(await drifted.getAttribute('data-id'), moved.id);
  assert.match(await drifted.textContent(), /someone\.else.*Will not be touched/s);
  await a.getByText('1 WorkSpace changed since the request and will not be touched if you approve').waitFor();
  await shot(a, '18-approval-drift');
  await a.getByRole('button', { name: 'Approve' }).click();
  await a.locator('.batch-result h2', { hasText: 'Outcome: 2 accepted, 0 failed, 1 changed since the request' }).waitFor({ timeout: 15000 });
  const changed = await a.locator('.batch-result li[data-outcome="changed"]', { hasText: moved.id }).textContent();
  assert.match(changed, /user: \S+ → someone\.else\)$/, 'the reason it was skipped, and only that');
  for (const w of [targets[0], targets[2]]) {
    assert.equal(await a.locator('.batch-result li[data-outcome="accepted"]', { hasText: w.id }).count(), 1, `${w.id} terminated`);
    assert.ok([undefined, 'TERMINATING', 'TERMINATED'].includes(await stateOf(w.id)), `${w.id} terminating`);
  }
  assert.equal(await stateOf(moved.id), 'AVAILABLE', 'the changed one is left alone');
  await shot(a, '19-approval-outcome');

  // The audit log holds every step under the request's ID.
  await a.getByRole('link', { name: 'Every step of this request' }).click();
  await a.waitForURL(/\/audit\?/);
  await a.waitForSelector('body[data-hydrated="true"]');
  await a.waitForFunction(() => document.querySelectorAll('table.audit tbody tr').length >= 3);
  const events = await a.locator('table.audit tbody tr').allTextContents();
  for (const name of ['CreateApprovalRequest', 'ApproveRequest', 'TerminateWorkspaces']) {
    assert.ok(events.some((e) => e.includes(name)), `${name} in ${events.join(' | ')}`);
  }
  await shot(a, '20-approval-audit');
  await ac.close();
});

test('audit: a reboot is found on the audit page by filtering, opened, and exported', async () => {
  // The last one: earlier journeys act on the first ones.
  const ws = (await list({ 'query[state]': 'AVAILABLE', 'query[mode]': 'ALWAYS_ON' })).at(-1);
  const page = await open(`/workspaces/${ws.id}`);
  await page.getByRole('button', { name: 'Reboot', exact: true }).click();
  await page.waitForSelector('.page-head [data-state="REBOOTING"]');
  // The WorkSpace's own page shows it in its history.
  await page.locator('.history li', { hasText: 'RebootWorkspaces' }).waitFor();

  await page.goto(`${base}/audit`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByLabel('Event name').selectOption('RebootWorkspaces');
  await page.getByLabel('Resource ID').fill(ws.id);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/event=RebootWorkspaces.*resource=ws-/);
  const rows = page.locator('table.audit tbody tr');
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('table.audit tbody tr')];
    return rows.length === 1 && rows[0].textContent.includes(id);
  }, ws.id);
  assert.match(await rows.first().textContent(), /RebootWorkspaces.*admin.*127\.0\.0\.1.*success/);
  await shot(page, '09-audit-filtered');
  const filtered = page.url();

  await rows.first().locator('a').first().click();
  await page.waitForURL(/\/audit\/[0-9a-f-]{36}$/);
  const record = JSON.parse(await page.locator('pre.json').textContent());
  assert.equal(record.eventName, 'RebootWorkspaces');
  assert.equal(record.eventSource, 'workspaces.amazonaws.com');
  assert.deepEqual(record.requestParameters, { rebootWorkspaceRequests: [{ workspaceId: ws.id }] });
  await shot(page, '10-audit-record');

  await page.goto(filtered);
  await page.waitForSelector('body[data-hydrated="true"]');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2, 'a header and the one record');
  assert.ok(lines[1].includes(record.eventID) && lines[1].includes(ws.id));
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CloudTrail JSON' }).click()]);
  const exported = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.deepEqual(exported.Records, [record]);
  await page.close();
});

test('access: the emulator\'s logins are listed and filtered by a network; a token made on the Users page delivers an event', async () => {
  const page = await open('/access');
  await page.waitForFunction(() => document.querySelectorAll('table.logins tbody tr').length === 50, null, { timeout: 30000 });
  await page.getByLabel('Client IP or network').fill('192.0.2.0/24');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/ip=192\.0\.2\.0%2F24/);
  await page.waitForFunction(() => {
    const ips = [...document.querySelectorAll('table.logins tbody tr td:nth-child(4)')].map((td) => td.textContent);
    return ips.length > 0 && ips.every((ip) => ip.startsWith('192.0.2.'));
  });
  await shot(page, '10-access-by-network');
  // The WorkSpace of the first login shows it in its own login history.
  const first = page.locator('table.logins tbody tr').first();
  const eventId = await first.getAttribute('data-event');
  await first.locator('a.mono').click();
  await page.waitForURL(/\/workspaces\/ws-/);
  await page.locator(`section.logins-history li[data-event="${eventId}"]`).waitFor();
  assert.match(await page.locator(`section.logins-history li[data-event="${eventId}"]`).textContent(), /from 192\.0\.2\./);
  await page.close();

  const users = await open('/admin/users');
  const tokens = users.locator('section[aria-labelledby=ingest-tokens]');
  await tokens.getByLabel('Name').fill('eventbridge-e2e');
  await tokens.getByRole('button', { name: 'Make a token' }).click();
  const token = (await tokens.locator('code.secret').textContent()).trim();
  assert.match(token, /^wsp_[0-9a-f]{64}$/);
  await tokens.locator('tr[data-token-row="eventbridge-e2e"]').waitFor();
  await shot(users, '11-ingest-token');
  await users.close();

  const event = {
    version: '0', id: '64ca0eda-9751-dc55-c41a-1bd50b4fc9b7', 'detail-type': 'WorkSpaces Access', source: 'aws.workspaces',
    account: '123456789012', time: '2018-07-01T17:53:06Z', region: 'us-east-2', resources: [],
    detail: { clientIpAddress: '192.0.2.3', actionType: 'successfulLogin', workspacesClientProductName: 'WorkSpaces Desktop client',
      loginTime: '2018-07-01T17:52:51.595Z', clientPlatform: 'Windows', directoryId: 'd-123456789', workspaceId: 'ws-xyskdga' },
  };
  const res = await fetch(`${base}/events/workspaces-access`, {
    method: 'POST', body: JSON.stringify(event), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, await res.text());
  const found = await open('/access?workspace=ws-xyskdga');
  await found.locator('tr[data-event="64ca0eda-9751-dc55-c41a-1bd50b4fc9b7"]').waitFor();
  assert.equal(await found.locator('table.logins tbody tr').count(), 1);
  await found.close();
});

test('access review: the logins charted, an alert from outside the allowed networks acknowledged, the WorkSpaces nobody logs in to', async () => {
  const page = await open('/access');
  await page.locator('figure.chart-days svg rect.series').first().waitFor({ timeout: 30000 });
  assert.ok(await page.locator('figure.chart-days svg rect.series').count() > 10, 'bars for the days');
  assert.ok(await page.locator('figure.chart-days .legend li').count() >= 2, 'a legend naming the platforms');
  assert.match(await page.locator('figure.chart-networks ol li').first().textContent(), /\/24|\/64/);
  await shot(page, '12-access-charts');
  await page.close();

  // The emulator's usual networks are allowed; its logins from 192.0.2.0/24 raise alerts.
  const alerts = await open('/access/alerts');
  await alerts.locator('tr[data-network="198.51.100.0/24"]').waitFor();
  const row = alerts.locator('tr[data-kind="outside"]').first();
  await row.waitFor({ timeout: 30000 });
  const id = await row.getAttribute('data-alert');
  assert.match(await row.locator('td:nth-child(5)').textContent(), /^192\.0\.2\./);
  await row.getByRole('button', { name: /^Acknowledge/ }).click();
  await alerts.getByText('Alert acknowledged').waitFor();
  await alerts.waitForFunction((id) => !document.querySelector(`tr[data-alert="${id}"]`), id);
  await shot(alerts, '13-access-alerts');
  await alerts.getByRole('link', { name: 'Show acknowledged alerts too' }).click();
  await alerts.waitForURL(/all=true/);
  assert.match(await alerts.locator(`tr[data-alert="${id}"]`).textContent(), /Acknowledged by admin/);
  await alerts.close();
  const overview = await open('/');
  await overview.locator('[data-open-alerts]').waitFor();
  await overview.close();

  // The cost question: which WorkSpaces nobody logs in to.
  const fleet = await open('/workspaces');
  await fleet.getByLabel('Last login').selectOption('never');
  await fleet.getByRole('button', { name: 'Apply filters' }).click();
  await fleet.waitForURL(/idle=never/);
  await fleet.waitForFunction(() => {
    const cells = [...document.querySelectorAll('table.fleet tbody tr td:last-child')];
    return cells.length > 0 && cells.every((td) => td.textContent.trim() === 'never');
  });
  const never = await fleet.locator('table.fleet tbody tr').count();
  const all = await list({});
  assert.equal(never, all.filter((w) => w.last_login == null).length);
  assert.ok(never < all.length, 'most WorkSpaces have logins');
  await shot(fleet, '14-fleet-no-login-received');
  await fleet.close();
});

test('users: the admin adds and changes users; a viewer sees no destructive buttons and is refused a direct call; sign out', async () => {
  const page = await open('/admin/users');
  const add = async (name, role) => {
    const form = page.locator('section', { hasText: 'Add a user' });
    await form.getByLabel('User name').fill(name);
    await form.getByLabel('Role').selectOption(role);
    await form.getByLabel(/^Password/).fill('viewer password 1');
    await form.getByRole('button', { name: 'Add user' }).click();
    await page.locator(`tr[data-user="${name}"]`).waitFor();
  };
  await add('vic', 'viewer');
  await add('opal', 'viewer');
  const opal = page.locator('tr[data-user="opal"]');
  await opal.getByLabel('Role of opal').selectOption('operator');
  await opal.getByRole('button', { name: 'Change role' }).click();
  await page.getByText('Role changed.').waitFor();
  await opal.getByRole('button', { name: 'Disable' }).click();
  await page.waitForFunction(() => document.querySelector('tr[data-user="opal"]')?.textContent.includes('disabled'));
  assert.equal(await page.locator('tr[data-user="opal"] select').inputValue(), 'operator');
  // Too short a password: the field is named, nothing is added.
  const form = page.locator('section', { hasText: 'Add a user' });
  await form.getByLabel('User name').fill('shorty');
  await form.getByLabel(/^Password/).fill('short');
  await form.getByRole('button', { name: 'Add user' }).click();
  await page.getByText('password: must be at least 12 characters').waitFor();
  assert.equal(await page.locator('tr[data-user="shorty"]').count(), 0);
  await shot(page, '11-users');
  await page.close();

  // The viewer signs in (a wrong password first).
  const viewer = await newContext();
  const v = await open('/workspaces', viewer);
  await v.getByLabel('User name').fill('vic');
  await v.getByLabel('Password').fill('not the password');
  await v.getByRole('button', { name: 'Sign in' }).click();
  await v.getByText('Wrong user name or password.').waitFor();
  await v.getByLabel('Password').fill('viewer password 1');
  await v.getByRole('button', { name: 'Sign in' }).click();
  await v.waitForURL(/\/workspaces$/);
  await v.waitForSelector('body[data-hydrated="true"]');
  await v.waitForSelector('tbody tr');
  for (const name of ['Start', 'Stop', 'Reboot', 'Rebuild', 'Terminate']) {
    assert.equal(await v.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button for a viewer`);
  }
  assert.equal(await v.getByRole('link', { name: 'Create WorkSpaces' }).count(), 0);
  await v.getByText('needs the operator role').first().waitFor();
  assert.equal(await v.getByRole('link', { name: 'Users' }).count(), 0, 'no user management for a viewer');
  await shot(v, '12-viewer-fleet');
  const ws = (await list({ 'query[state]': 'AVAILABLE' }))[0];
  await v.goto(`${base}/workspaces/${ws.id}`);
  await v.waitForSelector('body[data-hydrated="true"]');
  await v.locator('.page-head [data-state]').waitFor();
  assert.equal(await v.getByRole('button', { name: 'Terminate', exact: true }).count(), 0);
  assert.equal(await v.getByRole('button', { name: 'Add or change tag' }).count(), 0);
  await v.getByText('Editing tags needs the operator role').waitFor();
  // Calling the server directly, from the viewer's own session, is refused there.
  const status = await v.evaluate(async (id) => (await fetch('/api/workspaces/batch', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'terminate', ids: [id], confirm: 'terminate' }),
  })).status, ws.id);
  assert.equal(status, 403);
  assert.equal((await list({ 'query[state]': 'AVAILABLE' })).some((w) => w.id === ws.id), true, 'still there');
  await shot(v, '13-viewer-detail');

  // Sign out: back to the sign-in page, and pages need signing in again.
  await v.getByRole('button', { name: 'Sign out' }).click();
  await v.waitForURL(/\/login$/);
  await v.waitForSelector('body[data-hydrated="true"]');
  await v.goto(`${base}/audit`);
  assert.match(v.url(), /\/login\?next=%2Faudit$/);
  await viewer.close();
});

test('keyboard only: sign in, filter the fleet, select with Space, a dialog that keeps and gives back the focus, a bulk reboot, a tag', async () => {
  const context = await newContext();
  const page = await open('/login', context);
  await tabTo(page, 'input[name=name]');
  await page.keyboard.type('admin');
  await tabTo(page, 'input[name=password]');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.waitForSelector('body[data-hydrated="true"]');

  await tabTo(page, 'nav a[href="/workspaces"]');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/workspaces$/);
  await page.locator('table.fleet tbody tr').first().waitFor();
  await tabTo(page, 'select[name=state]');
  await page.keyboard.type('AVAILABLE');
  assert.equal(await page.locator('select[name=state]').inputValue(), 'AVAILABLE');
  await tabTo(page, 'button[type=submit]', { text: 'Apply filters' });
  await page.keyboard.press('Enter');
  await page.waitForURL(/state=AVAILABLE/);
  await page.waitForFunction(() => [...document.querySelectorAll('table.fleet tbody tr [data-state]')].every((b) => b.dataset.state === 'AVAILABLE'));

  // Select two rows with Space.
  await tabTo(page, 'table.fleet tbody tr:nth-child(1) input[type=checkbox]');
  await page.keyboard.press('Space');
  await tabTo(page, 'table.fleet tbody tr:nth-child(2) input[type=checkbox]');
  await page.keyboard.press('Space');
  await page.getByText('2 selected').waitFor();

  // A dialog: the focus moves into it, Tab stays inside, Escape closes it and gives the focus back.
  await tabTo(page, '.bulk-bar button', { text: 'Request terminate', back: true });
  await page.keyboard.press('Enter');
  await page.locator('.dialog').waitFor();
  await page.waitForFunction(() => document.activeElement?.tagName === 'TEXTAREA' && !!document.activeElement.closest('.dialog'));
  await page.keyboard.type('keyboard journey: not sent');
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press(i % 2 ? 'Shift+Tab' : 'Tab');
    assert.ok((await focused(page)).inDialog, 'Tab stays inside the dialog');
  }
  await shot(page, '15-keyboard-dialog');
  await page.keyboard.press('Escape');
  await page.locator('.dialog').waitFor({ state: 'detached' });
  assert.deepEqual(await focused(page), { tag: 'button', text: 'Request terminate', inDialog: false });

  // The bulk reboot, from the keyboard.
  await tabTo(page, '.bulk-bar button', { text: 'Reboot', back: true });
  await page.keyboard.press('Enter');
  await page.locator('.batch-result h2', { hasText: 'Reboot: 2 accepted' }).waitFor();

  // Open a WorkSpace, add a tag.
  await tabTo(page, 'table.fleet tbody tr:nth-child(1) a.mono');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/workspaces\/ws-/);
  await page.waitForSelector('form.inline-form input[name=key]');
  await tabTo(page, 'form.inline-form input[name=key]');
  await page.keyboard.type('Journey');
  await tabTo(page, 'form.inline-form input[name=value]');
  await page.keyboard.type('keyboard');
  await page.keyboard.press('Enter');
  await page.locator('table.tags tr', { hasText: 'Journey' }).waitFor();
  assert.match(await page.locator('table.tags tr', { hasText: 'Journey' }).textContent(), /keyboard/);
  await shot(page, '16-keyboard-tag');
  await context.close();
});

test('hover, focus and disabled: badges, links and buttons keep AA contrast in every state', async () => {
  const problems = [];
  for (const url of ['/', '/workspaces', '/approvals', '/access/alerts', '/audit']) {
    const page = await open(url);
    if (url === '/workspaces') await page.locator('table.fleet tbody tr').first().waitFor();
    // Focus: every stop of a full round of Tab, its text and its ring.
    const first = await page.evaluate(() => document.activeElement?.outerHTML);
    for (let i = 0; i < 400; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const text = el.matches('input, select, textarea') || !el.textContent.trim() ? null : window.contrast.text(el);
        return { key: el.outerHTML.slice(0, 120), ring: window.contrast.ring(el), text, what: `<${el.tagName.toLowerCase()}${el.type ? ` type=${el.type}` : ""} class="${el.className}"> ${el.textContent.trim().slice(0, 30)}`, outline: getComputedStyle(el).outline };
      });
      if (!stop) break;
      if (i > 0 && stop.key === first) break;
      if (stop.ring < 3) problems.push(`${url} focused ${stop.what}: ring ${stop.ring.toFixed(2)}:1 (${stop.outline})`);
      if (stop.text != null && stop.text < 4.5) problems.push(`${url} focused ${stop.what}: text ${stop.text.toFixed(2)}:1`);
    }
    // Hover, and at rest for what axe-core leaves out (disabled buttons): one of each kind.
    const kinds = await page.evaluate(() => {
      const seen = new Map();
      document.querySelectorAll('a, button, .badge, summary').forEach((el, i) => {
        const box = el.getBoundingClientRect();
        if (!el.textContent.trim() || box.width === 0 || box.right <= 0) return; // hidden, or off screen (the skip link)
        const key = `${el.tagName}.${el.className}.${el.disabled ? 'disabled' : ''}.${el.closest('.topbar, thead, tbody, .bulk-bar')?.className ?? ''}`;
        if (!seen.has(key)) { seen.set(key, i); el.dataset.contrastSample = String(i); }
      });
      return [...seen.values()];
    });
    for (const i of kinds) {
      const sample = page.locator(`[data-contrast-sample="${i}"]`);
      await sample.hover({ force: true });
      const found = await sample.evaluate((el) => ({ text: window.contrast.text(el), what: `<${el.tagName.toLowerCase()} class="${el.className}"${el.disabled ? ' disabled' : ''}> ${el.textContent.trim().slice(0, 30)}` }));
      if (found.text < 4.5) problems.push(`${url} hovered ${found.what}: text ${found.text.toFixed(2)}:1`);
    }
    assert.ok(kinds.length > 5, `${url}: samples of links, buttons and badges were found`);
    await page.close();
  }
  assert.deepEqual(problems, []);
});

test('a page whose code fails to load is loaded from the server instead of left dead', async () => {
  const page = await open('/workspaces');
  // This page's panic is the point of the test: keep it out of the "no page threw" list.
  page.removeAllListeners('pageerror');
  const panics = [];
  page.on('pageerror', (e) => panics.push(e.message));
  // The next piece of page code fails to download, as after a network error or a new version
  // deployed since the page was loaded; later downloads work.
  let failed = 0;
  await page.route(/\/pkg\/chunk_\d+\.wasm$/, (route) => (failed++ === 0 ? route.abort() : route.continue()));
  await page.evaluate(() => { window.beforeReload = true; });
  await page.getByRole('link', { name: 'Bundles', exact: true }).click();
  await page.waitForFunction(() => window.beforeReload === undefined && document.body.dataset.hydrated === 'true');
  assert.ok(failed >= 1, 'a chunk download was refused');
  assert.match(page.url(), /\/bundles$/);
  await page.getByRole('heading', { name: 'Bundles' }).waitFor();
  assert.ok(panics.length >= 1, 'the failed download panicked the old page');
  await page.close();
});

test('no page threw in the browser', () => {
  assert.deepEqual(pageErrors, []);
});

test('no page a journey saw has a serious or critical accessibility violation (axe-core)', () => {
  assert.deepEqual(a11yViolations, []);
});
