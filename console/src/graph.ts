/**
 * The states and transitions of an ASL definition, laid out in layers for drawing (pure). Whatever
 * the definition says is drawn: top-level states, their Next / Choice / Default / Catch transitions;
 * a Map or Parallel state is one box (its inner states run in child scopes).
 */
export interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next?: string }[];
  Catch?: { Next?: string; ErrorEquals?: string[] }[];
  Comment?: string;
}

export interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
}

export type EdgeKind = 'next' | 'choice' | 'default' | 'catch';

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** Goes up (to an earlier layer or back to itself): drawn around the side. */
  back: boolean;
}

export interface GraphNode {
  name: string;
  type: string;
  layer: number;
  /** Position within its layer. */
  slot: number;
  x: number;
  y: number;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE = { width: 168, height: 46, gapX: 28, gapY: 46, margin: 24, lane: 36 } as const;

export function transitions(asl: Asl): { from: string; to: string; kind: EdgeKind }[] {
  const list: { from: string; to: string; kind: EdgeKind }[] = [];
  for (const [name, state] of Object.entries(asl.States)) {
    if (state.Next) list.push({ from: name, to: state.Next, kind: 'next' });
    for (const choice of state.Choices ?? []) {
      if (choice.Next) list.push({ from: name, to: choice.Next, kind: 'choice' });
    }
    if (state.Default) list.push({ from: name, to: state.Default, kind: 'default' });
    for (const c of state.Catch ?? []) if (c.Next) list.push({ from: name, to: c.Next, kind: 'catch' });
  }
  // One arrow per pair: a Choice with two rules to the same state is one transition on the drawing.
  const seen = new Set<string>();
  return list.filter((t) => {
    const key = `${t.from}\u0000${t.to}`;
    if (seen.has(key) || !(t.to in asl.States)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Layers by longest path from StartAt over the forward edges (an edge back to a state still on the
 * depth-first path closes a loop and does not push its target down). Unreachable states go last.
 */
export function layout(asl: Asl): Graph {
  const names = Object.keys(asl.States);
  const edges = transitions(asl);
  const out = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const e of edges) out.get(e.from)!.push(e.to);

  const backEdges = new Set<string>();
  const order: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (name: string) => {
    state.set(name, 'open');
    for (const next of out.get(name) ?? []) {
      const seen = state.get(next);
      if (seen === 'open') backEdges.add(`${name}\u0000${next}`);
      else if (!seen) visit(next);
    }
    state.set(name, 'done');
    order.push(name);
  };
  if (asl.States[asl.StartAt]) visit(asl.StartAt);
  for (const name of names) if (!state.has(name)) visit(name);
  order.reverse();

  const layer = new Map<string, number>(names.map((n) => [n, 0]));
  for (const name of order) {
    for (const next of out.get(name) ?? []) {
      if (backEdges.has(`${name}\u0000${next}`)) continue;
      layer.set(next, Math.max(layer.get(next)!, layer.get(name)! + 1));
    }
  }

  const layers: string[][] = [];
  for (const name of order) {
    const index = layer.get(name)!;
    layers[index] = [...(layers[index] ?? []), name];
  }
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const rowWidth = (count: number) => count * NODE.width + (count - 1) * NODE.gapX;
  const width = rowWidth(widest) + 2 * NODE.margin + NODE.lane;
  const nodes: GraphNode[] = [];
  layers.forEach((row, i) => {
    const left = NODE.margin + (rowWidth(widest) - rowWidth(row.length)) / 2;
    row.forEach((name, slot) => {
      nodes.push({
        name,
        type: asl.States[name]!.Type,
        layer: i,
        slot,
        x: left + slot * (NODE.width + NODE.gapX),
        y: NODE.margin + i * (NODE.height + NODE.gapY),
      });
    });
  });
  const height = 2 * NODE.margin + layers.length * NODE.height + (layers.length - 1) * NODE.gapY;
  return {
    nodes,
    edges: edges.map((e) => ({
      ...e,
      back: backEdges.has(`${e.from}\u0000${e.to}`) || layer.get(e.to)! <= layer.get(e.from)!,
    })),
    width,
    height,
  };
}
