/**
 * The inspector page. Everything arrives over one Server-Sent Events stream
 * from the gateway (`/inspect/stream`): machine definitions, the cluster
 * view (coalesced, a few times a second) and batches of lifecycle events.
 * Statecharts are laid out here with elkjs (served by the gateway, loaded as
 * the global ELK) and drawn as SVG.
 */
import { layoutMachine, renderSvg, type Chart, type ElkLike, type StateJson } from '../chart.js';
import { activeIds, flatValue } from '../values.js';
import type { ActorView, ClusterView, LogEntry, ServiceView, TreeNode } from '../view.js';

declare const ELK: new () => ElkLike;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const elk = new ELK();
const defs = new Map<string, StateJson>();
const charts = new Map<string, Promise<Chart | undefined>>();
let view: ClusterView | undefined;

// ---------------------------------------------------------------- stream

function connect(): void {
  const es = new EventSource('/inspect/stream');
  const status = $('status');
  es.onopen = () => {
    status.textContent = 'live';
    status.className = 'status live';
  };
  es.onerror = () => {
    status.textContent = 'reconnecting…';
    status.className = 'status down';
  };
  es.addEventListener('hello', (e) => {
    const h = JSON.parse((e as MessageEvent).data) as { gateway: string; cluster: string };
    $('cluster').textContent = `cluster ${h.cluster} · via gateway ${h.gateway}`;
  });
  es.addEventListener('defs', (e) => {
    const d = JSON.parse((e as MessageEvent).data) as Record<string, StateJson>;
    for (const [id, def] of Object.entries(d)) {
      defs.set(id, def);
      charts.delete(id);
    }
    if (view) renderCharts(view);
  });
  es.addEventListener('view', (e) => {
    view = JSON.parse((e as MessageEvent).data) as ClusterView;
    render(view);
  });
  es.addEventListener('log', (e) => addLog(JSON.parse((e as MessageEvent).data) as LogEntry[]));
}

function render(v: ClusterView): void {
  renderSummary(v);
  renderMembers(v);
  renderGateways(v);
  renderElection(v);
  renderCharts(v);
}

// ---------------------------------------------------------------- ensemble

function renderSummary(v: ClusterView): void {
  const live = v.members.filter((m) => !m.gone);
  const voters = live.filter((m) => m.kind === 'member').length;
  const observers = live.filter((m) => m.kind === 'observer').length;
  const leader = v.members.find((m) => m.id === v.leader);
  const parts = [
    leader ? `leader <b>${esc(leader.id)}</b> · epoch ${leader.epoch}` : '<b class="warn">no leader</b>',
    `${voters} voting`,
    `${observers} observing`,
    `${v.gateways.filter((g) => !g.gone).length} gateway(s)`,
    `${v.totals.sessions} sessions`,
    `${v.totals.connections} connections`,
    `${v.totals.watches} watches`,
    `${v.totals.znodes} znodes`,
  ];
  $('summary').innerHTML = parts.join(' · ');
}

const ago = (t: number) => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 2 ? 'now' : `${s}s ago`;
};

function renderMembers(v: ClusterView): void {
  const rows = v.members.map((m) => {
    const cls = [m.gone ? 'gone' : '', m.id === v.leader ? 'leader' : ''].join(' ');
    const lag = m.lag === undefined ? '—' : String(m.lag);
    const voting = m.voting === undefined ? '' : m.voting ? 'yes' : 'no';
    return `<tr class="${cls}" data-testid="member" data-id="${esc(m.id)}" data-role="${esc(m.role)}" data-config="${esc(m.config ?? '')}" data-voting="${voting}">
      <td>${esc(m.id)} <span class="muted">${m.kind === 'observer' ? 'observer' : ''}</span></td>
      <td><span class="role ${esc(m.role)}">${esc(m.role)}</span></td>
      <td>${esc(m.phase ?? '—')}</td>
      <td>${m.epoch}</td>
      <td class="mono">${esc(m.zxid)}</td>
      <td class="${m.lag ? 'warn' : ''}">${lag}</td>
      <td class="mono">${esc(m.config ?? '—')}</td>
      <td>${voting === 'no' ? '<span class="muted">no</span>' : voting || '—'}</td>
      <td>${m.sessions}</td>
      <td>${m.watches ?? '—'}</td>
      <td>${m.znodes ?? '—'}</td>
      <td class="muted">${esc(m.host)}:${m.pid}${m.gone ? ` · last seen ${ago(m.lastSeen)}` : ''}</td>
    </tr>`;
  });
  $('members').innerHTML = rows.join('') || '<tr><td colspan="12" class="muted">no member has announced itself yet</td></tr>';
}

function renderGateways(v: ClusterView): void {
  const rows = v.gateways.map((g) => {
    const sessions = g.actors.find((a) => a.counts);
    const counts = sessions?.counts ? Object.entries(sessions.counts).map(([s, n]) => `${esc(s)} ${n}`).join(', ') : '';
    const admin = g.adminPort ? `<a href="http://${esc(location.hostname)}:${g.adminPort}/">:${g.adminPort}</a>` : '—';
    return `<tr class="${g.gone ? 'gone' : ''}" data-testid="gateway" data-id="${esc(g.id)}">
      <td>${esc(g.id)}</td><td>${g.clientPort ?? '—'}</td><td>${admin}</td><td>${g.sessions}</td>
      <td>${counts || '<span class="muted">none</span>'}</td><td class="muted">${esc(g.host)}:${g.pid}</td></tr>`;
  });
  $('gateways').innerHTML = rows.join('') || '<tr><td colspan="6" class="muted">none</td></tr>';
}

function renderElection(v: ClusterView): void {
  const { looking, votes } = v.election;
  const box = $('election');
  box.classList.toggle('active', looking.length > 0);
  if (votes.length === 0 && looking.length === 0) {
    const leader = v.members.find((m) => m.id === v.leader);
    $('election-body').innerHTML = leader ? `settled: member <b>${esc(leader.id)}</b> leads epoch ${leader.epoch}` : 'no votes heard yet';
    return;
  }
  const tally = new Map<string, number>();
  for (const vt of votes) if (vt.state === 'looking') tally.set(vt.leader, (tally.get(vt.leader) ?? 0) + 1);
  const head = looking.length
    ? `<p><b class="looking-text">looking:</b> ${looking.map(esc).join(', ')}${tally.size ? ' · proposals: ' + [...tally].map(([l, n]) => `${esc(l)} ×${n}`).join(', ') : ''}</p>`
    : `<p class="muted">no member is looking${v.leader ? `; member <b>${esc(v.leader)}</b> leads` : ''}. Recent votes:</p>`;
  const rows = votes
    .map(
      (vt) => `<tr class="${vt.state}"><td>${esc(vt.from)}</td><td><span class="role ${vt.state === 'looking' ? 'looking' : vt.state}">${vt.state}</span></td>
      <td>${vt.round}</td><td><b>${esc(vt.leader)}</b></td><td>${vt.epoch}</td><td class="mono">${esc(vt.zxidHex)}</td><td class="muted">${ago(vt.at)}</td></tr>`,
    )
    .join('');
  $('election-body').innerHTML = `${head}<table><thead><tr><th>from</th><th>state</th><th>round</th><th>votes for</th><th>epoch</th><th>zxid</th><th>heard</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ---------------------------------------------------------------- statecharts

function chartFor(machine: string): Promise<Chart | undefined> {
  let c = charts.get(machine);
  if (!c) {
    const def = defs.get(machine);
    if (!def) return Promise.resolve(undefined);
    c = layoutMachine(elk, def).catch((err: unknown) => {
      console.warn('layout failed', machine, err);
      return undefined;
    });
    charts.set(machine, c);
  }
  return c;
}

/** State node ids for group counts: `{connected: 3}` → `{'session.connected': 3}`. */
function countsById(machine: string, counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [state, n] of Object.entries(counts)) out[`${machine}.${state}`] = n;
  return out;
}

const lastSvg = new Map<string, string>();

function renderCharts(v: ClusterView): void {
  const list = $('chart-list');
  const services = [...v.members, ...v.gateways];
  const wanted = new Set<string>();
  for (const s of services) {
    const id = `svc-${s.kind}-${s.id}`;
    wanted.add(id);
    const card = keyedChild(list, id, 'div', 'service');
    card.dataset.testid = 'service-charts';
    card.classList.toggle('gone', s.gone);
    const title = `<h3>${s.kind} ${esc(s.id)} <span class="role ${esc(s.role)}">${esc(s.role)}</span>${s.phase ? ` <span class="muted">phase ${esc(s.phase)}</span>` : ''}</h3>`;
    let head = card.querySelector(':scope > h3');
    if (!head) {
      card.insertAdjacentHTML('afterbegin', title);
      head = card.querySelector(':scope > h3');
    } else if (head.outerHTML !== title) head.outerHTML = title;
    let body = card.querySelector<HTMLElement>(':scope > .machines');
    if (!body) {
      body = document.createElement('div');
      body.className = 'machines';
      card.appendChild(body);
    }
    void drawMachines(s, body);
  }
  for (const el of [...list.children]) if (!wanted.has(el.id)) el.remove();
}

/** The element with this id, created under parent on first use: redraws update in place. */
function keyedChild(parent: HTMLElement, id: string, tag: string, className: string): HTMLElement {
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement(tag);
    el.id = id;
    el.className = className;
    parent.appendChild(el);
  }
  return el;
}

async function drawMachines(s: ServiceView, body: HTMLElement): Promise<void> {
  const actors: ActorView[] = s.actors.length ? s.actors : [];
  if (!actors.length) {
    const note = s.gone ? 'gone: no live state' : 'waiting for its first inspect message…';
    if (body.dataset.note !== note) {
      body.innerHTML = `<p class="muted">${note}</p>`;
      body.dataset.note = note;
      lastSvg.clear();
    }
    return;
  }
  body.dataset.note = '';
  const slots: string[] = [];
  for (const a of actors) {
    const chart = await chartFor(a.machine);
    const slotId = `${body.parentElement!.id}-${a.key.replace(/[^a-z0-9]/gi, '-')}`;
    slots.push(slotId);
    const slot = keyedChild(body, slotId, 'figure', 'machine');
    const caption = `<figcaption>${esc(a.key)} <span class="muted">(${esc(a.machine)})</span> · <b>${esc(a.counts ? 'sessions' : flatValue(a.value) || a.status)}</b>${ctxText(a)}</figcaption>`;
    const svg = chart
      ? renderSvg(chart, a.counts ? { counts: countsById(a.machine, a.counts), idPrefix: slotId } : { active: activeIds(a.machine, a.value), idPrefix: slotId })
      : '<p class="muted">definition not received yet</p>';
    const html = caption + svg;
    if (lastSvg.get(slotId) !== html) {
      slot.innerHTML = html;
      slot.dataset.state = flatValue(a.value);
      lastSvg.set(slotId, html);
    }
  }
  for (const el of [...body.children]) if (!slots.includes(el.id)) el.remove();
}

function ctxText(a: ActorView): string {
  const c = a.context;
  if (!c) return '';
  const shown = Object.entries(c).filter(([, v]) => v !== '' && v !== 0);
  return shown.length ? ` <span class="ctx">${shown.map(([k, v]) => `${esc(k)}=${esc(v)}`).join(' ')}</span>` : '';
}

// ---------------------------------------------------------------- event log

const MAX_ROWS = 1000;
let paused = false;
let held: LogEntry[] = [];
const services = new Set<string>();
const types = new Set<string>();

function addLog(entries: LogEntry[]): void {
  for (const e of entries) {
    const svc = `${e.kind} ${e.service}`;
    if (!services.has(svc)) {
      services.add(svc);
      $('filter-service').insertAdjacentHTML('beforeend', `<option value="${esc(svc)}">${esc(svc)}</option>`);
    }
    if (!types.has(e.type)) {
      types.add(e.type);
      $('filter-type').insertAdjacentHTML('beforeend', `<option value="${esc(e.type)}">${esc(e.type)}</option>`);
    }
  }
  if (paused) {
    held.push(...entries);
    $('paused-count').textContent = `${held.length} new while paused`;
    return;
  }
  appendRows(entries);
}

function appendRows(entries: LogEntry[]): void {
  const log = $('log');
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
  const html = entries
    .map((e) => {
      const t = new Date(e.at).toISOString().slice(11, 23);
      const move = e.to !== undefined ? `${e.from ? esc(e.from) + ' → ' : ''}<b>${esc(e.to)}</b>` : '';
      return `<div class="entry kind-${esc(e.kind)}" data-service="${esc(`${e.kind} ${e.service}`)}" data-type="${esc(e.type)}">
        <span class="t">${t}</span><span class="svc">${esc(e.kind)} ${esc(e.service)}</span><span class="actor">${esc(e.actor)}</span>
        <span class="type">${esc(e.type)}</span><span class="move">${move}</span></div>`;
    })
    .join('');
  log.insertAdjacentHTML('beforeend', html);
  while (log.children.length > MAX_ROWS) log.firstElementChild!.remove();
  applyFilters();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function applyFilters(): void {
  const svc = $<HTMLSelectElement>('filter-service').value;
  const type = $<HTMLSelectElement>('filter-type').value;
  const text = $<HTMLInputElement>('filter-text').value.trim().toLowerCase();
  for (const el of $('log').children as HTMLCollectionOf<HTMLElement>) {
    const show = (!svc || el.dataset.service === svc) && (!type || el.dataset.type === type) && (!text || el.textContent!.toLowerCase().includes(text));
    el.style.display = show ? '' : 'none';
  }
}

function setupLogControls(): void {
  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').textContent = paused ? 'resume' : 'pause';
    $('pause').classList.toggle('on', paused);
    if (!paused) {
      const h = held;
      held = [];
      $('paused-count').textContent = '';
      appendRows(h);
    }
  });
  $('clear').addEventListener('click', () => ($('log').innerHTML = ''));
  for (const id of ['filter-service', 'filter-type', 'filter-text']) $(id).addEventListener('input', applyFilters);
}

// ---------------------------------------------------------------- tree

const expanded = new Set<string>(['/']);
let selected = '/';

async function readNode(path: string): Promise<TreeNode> {
  const r = await fetch(`/inspect/tree?path=${encodeURIComponent(path)}`);
  return (await r.json()) as TreeNode;
}

const childPath = (parent: string, name: string) => (parent === '/' ? `/${name}` : `${parent}/${name}`);

async function renderTreeLevel(path: string, into: HTMLElement): Promise<void> {
  const node = await readNode(path);
  // Unreadable for now (an election, no member serving): keep what is shown.
  if (node.error) return;
  const kids = node.children ?? [];
  const html = kids
    .map((name, i) => {
      const p = childPath(path, name);
      const cls = node.childCounts?.[i] === 0 ? 'leaf' : expanded.has(p) ? 'open' : '';
      return `<li data-path="${esc(p)}" class="${cls}"><span class="twisty"></span><span class="name${p === selected ? ' sel' : ''}" data-testid="znode">${esc(name)}</span><ul></ul></li>`;
    })
    .join('');
  const more = (node.numChildren ?? 0) > kids.length ? `<li class="muted">… ${node.numChildren! - kids.length} more</li>` : '';
  into.innerHTML = html + more;
  await Promise.all([...into.querySelectorAll<HTMLElement>(':scope > li.open')].map((li) => renderTreeLevel(li.dataset.path!, li.querySelector('ul')!)));
}

async function refreshTree(): Promise<void> {
  const root = $('tree-root');
  if (!root.firstElementChild) {
    root.innerHTML = `<li data-path="/" class="open"><span class="twisty"></span><span class="name${selected === '/' ? ' sel' : ''}" data-testid="znode">/</span><ul></ul></li>`;
  }
  try {
    await renderTreeLevel('/', root.querySelector('li ul')!);
  } catch {
    // no member serving yet: try again on the next refresh
  }
}

async function showNode(path: string): Promise<void> {
  selected = path;
  for (const el of document.querySelectorAll('#tree-root .name.sel')) el.classList.remove('sel');
  document.querySelector(`#tree-root li[data-path="${CSS.escape(path)}"] > .name`)?.classList.add('sel');
  const n = await readNode(path);
  const box = $('node-detail');
  box.classList.remove('muted');
  if (n.error) {
    box.innerHTML = `<h3 class="mono">${esc(path)}</h3><p class="warn">${esc(n.error)}</p>`;
    return;
  }
  const st = n.stat ?? {};
  const time = (v: unknown) => `${esc(v)} <span class="muted">${new Date(Number(v)).toISOString()}</span>`;
  const rows = Object.entries(st)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td class="mono">${k === 'ctime' || k === 'mtime' ? time(v) : esc(v)}</td></tr>`)
    .join('');
  const data = n.text !== null && n.text !== undefined ? `<pre data-testid="znode-data">${esc(n.text) || '<span class="muted">(empty)</span>'}</pre>` : `<pre class="mono" data-testid="znode-data">base64 ${esc(n.data)}</pre>`;
  box.innerHTML = `<h3 class="mono" data-testid="znode-path">${esc(path)} <span class="muted">${esc(n.kind)} · read from member ${esc(n.from)}</span></h3>
    <h4>data</h4>${data}<h4>Stat</h4><table class="stat">${rows}</table>`;
}

function setupTree(): void {
  $('tree-root').addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    const li = t.closest<HTMLElement>('li[data-path]');
    if (!li) return;
    const path = li.dataset.path!;
    if (t.classList.contains('twisty') || t.classList.contains('name')) {
      if (expanded.has(path) && t.classList.contains('twisty')) {
        expanded.delete(path);
        li.classList.remove('open');
        li.querySelector('ul')!.innerHTML = '';
      } else {
        expanded.add(path);
        li.classList.add('open');
        void renderTreeLevel(path, li.querySelector('ul')!);
      }
    }
    if (t.classList.contains('name')) void showNode(path);
  });
  $('tree-refresh').addEventListener('click', () => {
    void refreshTree();
    void showNode(selected);
  });
  void refreshTree();
  // Live: new and removed znodes show up without a click.
  setInterval(() => {
    if (document.visibilityState === 'visible') void refreshTree();
  }, 2000);
}

setupLogControls();
setupTree();
connect();
// "last seen" times move on even when nothing else does.
setInterval(() => {
  if (view) renderMembers(view);
}, 1000);
