/**
 * The inspector in a real browser: headless Chromium (Debian's) driven by
 * playwright-core, against a real cluster — three voting members started
 * with `zooid follower` and a gateway with an admin port. The page must show
 * the three members with exactly one leading, show a new leader within 10 s
 * of the leader's SIGKILL without being reloaded, show a znode a client
 * created in its tree view, and log no console errors. A screenshot goes to
 * test-output/ (ZOOID_UPDATE_SCREENSHOT=1 also refreshes docs/inspector.png).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort, startNatsServer, waitForPort, type ManagedNats } from '@zooid/cli';
import { killProc, startProc, waitFor, waitServing, type Proc } from './harness.js';
import { NzkClient } from './clients/nzk.js';

const CHROMIUM = '/usr/bin/chromium';
const root = join(import.meta.dirname, '..');
const outDir = join(root, 'test-output');

let nats: ManagedNats;
let dir: string;
const members = new Map<string, Proc>();
let gateway: Proc;
let port: number;
let adminPort: number;
let browser: BrowserContext;
let page: Page;
let profile: string;
const consoleErrors: string[] = [];

/** The members table as the page shows it. */
function rows(p: Page): Promise<{ id: string; role: string; config: string; voting: string }[]> {
  return p.$$eval('[data-testid="member"]', (trs) =>
    trs.map((tr) => {
      const d = (tr as HTMLElement).dataset;
      return { id: d.id!, role: d.role!, config: d.config!, voting: d.voting! };
    }),
  );
}

describe.skipIf(!existsSync(CHROMIUM))('inspector in a browser', () => {
  beforeAll(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'zooid-inspector-'));
    const common = ['--nats', nats.url, '--tick-time', '500'];
    for (const id of ['1', '2', '3']) {
      members.set(id, startProc(`member-${id}`, ['follower', '--id', id, '--ensemble', '1,2,3', '--data-dir', join(dir, `m${id}`), ...common]));
    }
    port = await freePort();
    adminPort = await freePort();
    gateway = startProc('gateway', ['gateway', '--id', 'gw1', '--client-port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort), ...common]);
    await waitForPort(port);
    await waitForPort(adminPort);
    await waitServing(port, 30_000);

    profile = mkdtempSync(join(tmpdir(), 'zooid-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1500, height: 1300 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${adminPort}/`);
  }, 90_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await Promise.all([gateway && killProc(gateway, 'SIGTERM'), ...[...members.values()].map((m) => killProc(m, 'SIGTERM'))]);
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists the three members with exactly one leading, and draws their machines', async () => {
    await page.waitForFunction(
      () => {
        const trs = [...document.querySelectorAll<HTMLElement>('[data-testid="member"]')];
        return trs.length === 3 && trs.filter((t) => t.dataset.role === 'leading').length === 1 && trs.every((t) => t.dataset.role === 'leading' || t.dataset.role === 'following');
      },
      undefined,
      { timeout: 20_000 },
    );
    const shown = await rows(page);
    expect(shown.map((r) => r.id).sort()).toEqual(['1', '2', '3']);
    expect(shown.filter((r) => r.role === 'leading')).toHaveLength(1);
    // The configuration each member votes in: the static one, version 0 without reconfig.
    expect(shown.map((r) => [r.config, r.voting])).toEqual([
      ['0x0', 'yes'],
      ['0x0', 'yes'],
      ['0x0', 'yes'],
    ]);
    expect(await page.textContent('[data-testid="status"]')).toBe('live');
    // Each member's statechart, with the active state highlighted: the member machine and its Zab role.
    await page.waitForFunction(() => document.querySelectorAll('svg.chart[data-machine="member"] .state.active').length === 3, undefined, { timeout: 15_000 });
    const leader = shown.find((r) => r.role === 'leading')!.id;
    const active = await page.$$eval(`#svc-member-${leader} svg.chart .state.active`, (gs) => gs.map((g) => g.getAttribute('data-state')));
    expect(active).toEqual(expect.arrayContaining(['member.leading', 'leader.broadcast']));
    expect(await page.$$eval('svg.chart[data-machine="session"]', (s) => s.length)).toBe(1);
  });

  it('shows a new leader within 10 s of the leader being killed, without a reload', async () => {
    const before = await rows(page);
    const old = before.find((r) => r.role === 'leading')!.id;
    // A mark in the page: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
    const electedBefore = await page.$$eval('#log .entry[data-type="ELECTED"]', (e) => e.length);
    const killedAt = Date.now();
    await killProc(members.get(old)!, 'SIGKILL');
    await page.waitForFunction(
      (gone) => {
        const trs = [...document.querySelectorAll<HTMLElement>('[data-testid="member"]')];
        const leading = trs.filter((t) => t.dataset.role === 'leading');
        return leading.length === 1 && leading[0]!.dataset.id !== gone;
      },
      old,
      { timeout: 10_000 },
    );
    const took = Date.now() - killedAt;
    expect(took).toBeLessThan(10_000);
    expect(await page.evaluate(() => (window as unknown as { mark?: number }).mark)).toBe(42);
    const after = await rows(page);
    const leader = after.find((r) => r.role === 'leading')!;
    expect(leader.id).not.toBe(old);
    // The old leader is still listed, as gone, once its announcements stop.
    await page.waitForFunction((gone) => document.querySelector<HTMLElement>(`[data-testid="member"][data-id="${gone}"]`)?.dataset.role === 'gone', old, { timeout: 10_000 });
    // The election happened on the page: the members' ELECTED events reach the log (they travel apart from the roles shown above).
    await page.waitForFunction((n) => document.querySelectorAll('#log .entry[data-type="ELECTED"]').length > n, electedBefore, { timeout: 10_000 });
  });

  it("shows a client's znode in the tree view, with its data and Stat", async () => {
    const client = await new NzkClient(`127.0.0.1:${port}`, { sessionTimeout: 6000 }).connect(20_000);
    try {
      await client.create('/inspector-demo', Buffer.from('hello from the browser test'));
      await client.create('/inspector-demo/child', Buffer.from('x'));
    } finally {
      await client.close();
    }
    // The tree refreshes itself: no click needed for the node to appear.
    const node = page.locator('[data-testid="znode"]', { hasText: /^inspector-demo$/ });
    await node.waitFor({ timeout: 10_000 });
    await node.click();
    await page.waitForFunction(() => document.querySelector('[data-testid="znode-data"]')?.textContent?.includes('hello from the browser test'), undefined, { timeout: 10_000 });
    const detail = await page.textContent('[data-testid="node-detail"]');
    expect(detail).toContain('/inspector-demo');
    expect(detail).toContain('numChildren');
    expect(await page.textContent('table.stat')).toMatch(/version\s*0/);
  });

  it('pauses and filters the event log', async () => {
    await page.click('[data-testid="pause"]');
    expect(await page.textContent('[data-testid="pause"]')).toBe('resume');
    await page.selectOption('[data-testid="filter-type"]', 'ELECTED');
    const shown = await page.$$eval('#log .entry', (es) => es.filter((e) => (e as HTMLElement).style.display !== 'none').map((e) => (e as HTMLElement).dataset.type));
    expect(shown.length).toBeGreaterThan(0);
    expect(new Set(shown)).toEqual(new Set(['ELECTED']));
    await page.selectOption('[data-testid="filter-type"]', '');
    await page.click('[data-testid="pause"]');
    expect(await page.textContent('[data-testid="pause"]')).toBe('pause');
  });

  it('logs no console errors, and leaves a screenshot', async () => {
    mkdirSync(outDir, { recursive: true });
    const shot = join(outDir, 'inspector.png');
    // Let the restarted view settle: every live member's charts drawn.
    await waitFor('charts drawn', () => page.evaluate(() => document.querySelectorAll('svg.chart').length >= 5), 10_000);
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    if (process.env.ZOOID_UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(root, 'docs', 'inspector.png'));
    expect(consoleErrors).toEqual([]);
  });
});
