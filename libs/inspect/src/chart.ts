/**
 * Statecharts from xstate machine definitions: the definition (as
 * `machine.toJSON()` gives it, and as services publish it on the bus) becomes
 * an ELK graph, ELK lays it out, and the layout becomes an SVG string with the
 * active states marked. Runs unchanged in Node (tests) and in the browser
 * (the inspector page): no imports, no DOM; the ELK instance is handed in.
 */

/** The parts of xstate's state node JSON the chart uses. */
export interface StateJson {
  id: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial?: { target?: string[] };
  states?: Record<string, StateJson>;
  transitions?: TransitionJson[];
  invoke?: { src?: unknown; id?: string }[];
  order?: number;
}

export interface TransitionJson {
  eventType: string;
  target?: string[];
  source?: string;
  guard?: unknown;
  delay?: unknown;
}

/** The ELK JSON graph, as much of it as is used here. */
export interface ElkGraph {
  id: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  layoutOptions?: Record<string, string>;
  labels?: { text: string; width?: number; height?: number; x?: number; y?: number }[];
  children?: ElkGraph[];
  edges?: ElkEdgeJson[];
}

export interface ElkEdgeJson {
  id: string;
  sources: string[];
  targets: string[];
  labels?: { text: string; width?: number; height?: number; x?: number; y?: number }[];
  sections?: { startPoint: Point; endPoint: Point; bendPoints?: Point[] }[];
}

interface Point {
  x: number;
  y: number;
}

export interface ElkLike {
  layout(graph: ElkGraph): Promise<ElkGraph>;
}

/** A laid-out machine, ready to be drawn with any set of active states. */
export interface Chart {
  machine: string;
  width: number;
  height: number;
  nodes: ChartNode[];
  edges: ChartEdge[];
  /** Transitions defined on the root: they apply in every state. */
  global: string[];
}

export interface ChartNode {
  id: string;
  label: string;
  kind: 'state' | 'compound' | 'final' | 'initial';
  invokes: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ChartEdge {
  id: string;
  label: string;
  source: string;
  target: string;
  points: Point[];
  labelAt?: Point & { width: number };
}

const CHAR_W = 6.6;
const LABEL_H = 14;
const PAD = 12;
const INITIAL = 10;

const textWidth = (s: string) => Math.ceil(s.length * CHAR_W);

/** A readable name for an event type: `done: role` for `xstate.done.actor.role`. */
export function eventLabel(t: TransitionJson): string {
  let e = t.eventType;
  if (e.startsWith('xstate.done.actor.')) e = 'done: ' + e.slice('xstate.done.actor.'.length);
  else if (e.startsWith('xstate.error.actor.')) e = 'error: ' + e.slice('xstate.error.actor.'.length);
  else if (e.startsWith('xstate.done.state.')) e = 'done';
  else if (e.startsWith('xstate.after.')) e = 'after ' + (typeof t.delay === 'string' ? t.delay : e.split('.')[2]);
  const g = guardName(t.guard);
  return g ? `${e} [${g}]` : e;
}

function guardName(g: unknown): string | undefined {
  if (!g) return undefined;
  if (typeof g === 'string') return g;
  if (typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return (g as { type: string }).type;
  return 'guard';
}

function invokeNames(s: StateJson): string[] {
  return (s.invoke ?? []).map((i) => (typeof i.src === 'string' ? i.src : (i.id ?? 'actor')));
}

const targetId = (t: string) => (t.startsWith('#') ? t.slice(1) : t);

/** The ELK graph of a machine definition: states as nodes (nested), transitions as labelled edges. */
export function toElkGraph(def: StateJson): { graph: ElkGraph; global: string[]; kinds: Map<string, ChartNode['kind']>; invokes: Map<string, string[]> } {
  const edges: ElkEdgeJson[] = [];
  const kinds = new Map<string, ChartNode['kind']>();
  const invokes = new Map<string, string[]>();
  const ids = new Set<string>();
  const global: string[] = [];
  let n = 0;

  const collect = (s: StateJson) => {
    ids.add(s.id);
    for (const c of Object.values(s.states ?? {})) collect(c);
  };
  collect(def);

  const addTransitions = (s: StateJson) => {
    for (const t of s.transitions ?? []) {
      const targets = (t.target ?? []).map(targetId).filter((id) => ids.has(id));
      if (targets.length === 0) continue; // targetless: actions only, no change of state
      const label = eventLabel(t);
      if (s.id === def.id) {
        global.push(`${label} → ${targets.map((id) => id.split('.').pop()).join(', ')}`);
        continue;
      }
      for (const target of targets) {
        edges.push({
          id: `e${n++}`,
          sources: [s.id],
          targets: [target],
          labels: [{ text: label, width: textWidth(label), height: LABEL_H }],
        });
      }
    }
  };

  const children = (s: StateJson): ElkGraph[] => {
    const states = Object.values(s.states ?? {}).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    const out: ElkGraph[] = [];
    const init = s.initial?.target?.map(targetId).find((id) => ids.has(id));
    if (init) {
      const id = `${s.id}::initial`;
      kinds.set(id, 'initial');
      out.push({ id, width: INITIAL, height: INITIAL });
      edges.push({ id: `e${n++}`, sources: [id], targets: [init] });
    }
    for (const c of states) out.push(node(c));
    return out;
  };

  const node = (s: StateJson): ElkGraph => {
    addTransitions(s);
    const inv = invokeNames(s);
    invokes.set(s.id, inv);
    const label = s.key;
    const hasChildren = Object.keys(s.states ?? {}).length > 0;
    if (hasChildren) {
      kinds.set(s.id, 'compound');
      return {
        id: s.id,
        labels: [{ text: label, width: textWidth(label), height: LABEL_H }],
        layoutOptions: { 'elk.padding': `[top=${LABEL_H + PAD + (inv.length ? LABEL_H : 0)},left=${PAD},bottom=${PAD},right=${PAD}]` },
        children: children(s),
      };
    }
    kinds.set(s.id, s.type === 'final' ? 'final' : 'state');
    const lines = [label, ...inv.map((i) => `⟳ ${i}`)];
    const width = Math.max(70, ...lines.map(textWidth)) + 2 * PAD;
    const height = LABEL_H * lines.length + 2 * PAD - 4;
    return { id: s.id, width, height, labels: [{ text: label }] };
  };

  addTransitions(def);
  const graph: ElkGraph = {
    id: def.id,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'POLYLINE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '30',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
    },
    children: children(def),
    edges,
  };
  return { graph, global, kinds, invokes };
}

/** Lays out a machine definition. */
export async function layoutMachine(elk: ElkLike, def: StateJson): Promise<Chart> {
  const { graph, global, kinds, invokes } = toElkGraph(def);
  const out = await elk.layout(graph);
  const nodes: ChartNode[] = [];
  const visit = (g: ElkGraph) => {
    for (const c of g.children ?? []) {
      const kind = kinds.get(c.id) ?? 'state';
      nodes.push({
        id: c.id,
        label: kind === 'initial' ? '' : c.id.split('.').pop()!,
        kind,
        invokes: invokes.get(c.id) ?? [],
        x: c.x ?? 0,
        y: c.y ?? 0,
        width: c.width ?? 0,
        height: c.height ?? 0,
      });
      visit(c);
    }
  };
  visit(out);
  const edges: ChartEdge[] = [];
  const gather = (g: ElkGraph) => {
    for (const e of g.edges ?? []) {
      const points: Point[] = [];
      for (const s of e.sections ?? []) points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
      const l = e.labels?.[0];
      edges.push({
        id: e.id,
        label: l?.text ?? '',
        source: e.sources[0]!,
        target: e.targets[0]!,
        points,
        labelAt: l && l.x !== undefined && l.y !== undefined ? { x: l.x, y: l.y, width: l.width ?? 0 } : undefined,
      });
    }
    for (const c of g.children ?? []) gather(c);
  };
  gather(out);
  return { machine: def.id, width: out.width ?? 0, height: out.height ?? 0, nodes, edges, global };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export interface DrawOptions {
  /** State node ids to highlight (see activeIds). */
  active?: Set<string>;
  /** Badges: how many actors are in each state (by state node id). */
  counts?: Record<string, number>;
  /** Prefix for element ids, so several charts can share a page. */
  idPrefix?: string;
}

/** The chart as an SVG document fragment. */
export function renderSvg(chart: Chart, opts: DrawOptions = {}): string {
  const active = opts.active ?? new Set<string>();
  const counts = opts.counts ?? {};
  const marker = `${opts.idPrefix ?? ''}arrow-${chart.machine}`;
  const extra = chart.global.length ? chart.global.length * (LABEL_H + 2) + 8 : 0;
  const w = Math.ceil(chart.width);
  const h = Math.ceil(chart.height + extra);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-machine="${esc(chart.machine)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">`,
    `<defs><marker id="${esc(marker)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  // Compound states first, so their children draw on top.
  const ordered = [...chart.nodes].sort((a, b) => (a.kind === 'compound' ? 0 : 1) - (b.kind === 'compound' ? 0 : 1));
  for (const n of ordered) {
    const on = active.has(n.id);
    const cls = `state ${n.kind}${on ? ' active' : ''}`;
    if (n.kind === 'initial') {
      parts.push(`<circle class="initial" cx="${n.x + n.width / 2}" cy="${n.y + n.height / 2}" r="${n.width / 2}"/>`);
      continue;
    }
    parts.push(`<g class="${cls}" data-state="${esc(n.id)}">`);
    parts.push(`<rect x="${n.x}" y="${n.y}" width="${n.width}" height="${n.height}" rx="8" ry="8"/>`);
    if (n.kind === 'final') parts.push(`<rect class="inner" x="${n.x + 3}" y="${n.y + 3}" width="${n.width - 6}" height="${n.height - 6}" rx="6" ry="6"/>`);
    const tx = n.kind === 'compound' ? n.x + PAD : n.x + n.width / 2;
    const anchor = n.kind === 'compound' ? 'start' : 'middle';
    let ty = n.y + PAD + LABEL_H - 3;
    parts.push(`<text class="label" x="${tx}" y="${ty}" text-anchor="${anchor}">${esc(n.label)}</text>`);
    for (const i of n.invokes) {
      ty += LABEL_H;
      parts.push(`<text class="invoke" x="${tx}" y="${ty}" text-anchor="${anchor}">⟳ ${esc(i)}</text>`);
    }
    const count = counts[n.id];
    if (count !== undefined && count > 0) {
      const bx = n.x + n.width - 4;
      parts.push(`<g class="badge"><rect x="${bx - 26}" y="${n.y - 8}" width="30" height="16" rx="8"/><text x="${bx - 11}" y="${n.y + 4}" text-anchor="middle">${count}</text></g>`);
    }
    parts.push('</g>');
  }
  for (const e of chart.edges) {
    if (e.points.length < 2) continue;
    const on = active.has(e.source);
    const d = e.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(`<path class="edge${on ? ' live' : ''}" d="${d}" marker-end="url(#${esc(marker)})"/>`);
    if (e.label && e.labelAt) parts.push(`<text class="edge-label" x="${e.labelAt.x.toFixed(1)}" y="${(e.labelAt.y + LABEL_H - 3).toFixed(1)}">${esc(e.label)}</text>`);
  }
  chart.global.forEach((g, i) => {
    parts.push(`<text class="global" x="12" y="${(chart.height + 4 + (i + 1) * (LABEL_H + 2)).toFixed(1)}">in any state: ${esc(g)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
