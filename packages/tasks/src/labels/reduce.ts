/**
 * The reduce of the connected-components stage: union-find over a group's
 * equivalences, as a pure function. A group is a box of blocks (level 0) or
 * of groups of the level below. Its members' components are joined through
 * the nodes the group owns; a class that still links to a node owned
 * outside the group, or owns a node a block outside may link to, stays
 * *open* and goes up a level; every other class is *closed*: complete, and
 * known by its first voxel. Memory is that of one group's members, whatever
 * the size of the dataset.
 */
import { NODE_ID_SPAN, nodeOwner } from "./ccl-block";

const nodeKind = (key: number) => Math.floor(key / NODE_ID_SPAN) % 8;
const nodeId = (key: number) => key % NODE_ID_SPAN;

/** A member of a group: its components and what links them outside it. */
export interface ReduceMember {
  /** Components (a block's local components, or a group's open classes). */
  count: number;
  /** First voxel (x-fastest index into the dataset) of each component. */
  minFirst: Float64Array;
  /** Links of components (0-based) to nodes owned elsewhere. */
  extComp: Uint32Array;
  extNode: Float64Array;
  /** Links between two nodes, neither of them this member's (at level 0: all of a block's links). */
  pairA: Float64Array;
  pairB: Float64Array;
  /** Nodes this member owns that members of other groups may link to, and their components. */
  expNode: Float64Array;
  expComp: Uint32Array;
}

/** What {@link reduceGroup} returns. */
export interface ReduceResult {
  /** Per member, per component: -(open index + 1), or its class's first voxel when closed. */
  maps: Float64Array[];
  /** The group as a member of the level above (its open classes). */
  up: ReduceMember;
  /** First voxels of the classes closed here, ascending. */
  closed: Float64Array;
}

/** Which blocks a group holds, and which of those sit on its low faces. */
export interface GroupGeometry {
  /** Whether block `b` (linear index) is inside the group. */
  contains(b: number): boolean;
  /** Whether block `b` of the group lies on one of its low faces that has a neighbour group. */
  onLowFace(b: number): boolean;
}

function find(parent: Uint32Array, x: number): number {
  let r = x;
  while (parent[r] !== r) r = parent[r];
  while (parent[x] !== r) {
    const n = parent[x];
    parent[x] = r;
    x = n;
  }
  return r;
}

function union(parent: Uint32Array, a: number, b: number): void {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else if (rb < ra) parent[ra] = rb;
}

/**
 * Reduce one group. At level 0 (`blocks` gives each member's block) members
 * are blocks, their links name their components as nodes, and the group's
 * nodes are created as they are named; above, a link to a node inside the
 * group is resolved through the member that exports it.
 */
export function reduceGroup(
  members: ReduceMember[],
  geo: GroupGeometry,
  blocks?: number[],
): ReduceResult {
  const leaf = blocks !== undefined;
  const base: number[] = [];
  let total = 0;
  for (const m of members) {
    base.push(total);
    total += m.count;
  }
  const memberOfBlock = new Map((blocks ?? []).map((b, c) => [b, c]));
  // Nodes get indices after the components, in order of first mention.
  const nodes = new Map<number, number>();
  const nodeIndex = (key: number, create: boolean): number => {
    let t = nodes.get(key);
    if (t === undefined) {
      if (!create)
        throw new Error(
          `reduce: node ${key} is linked to but no member of the group owns it (scratch objects from another run?)`,
        );
      t = total + nodes.size;
      nodes.set(key, t);
    }
    return t;
  };
  /** A node's union-find index, or -1 when it is owned outside the group. */
  const resolve = (key: number): number => {
    const owner = nodeOwner(key);
    if (leaf && nodeKind(key) === 0) {
      const c = memberOfBlock.get(owner);
      if (c !== undefined) return base[c] + nodeId(key) - 1;
    }
    return geo.contains(owner) ? nodeIndex(key, leaf) : -1;
  };
  const pairs: number[] = [];
  if (!leaf)
    members.forEach((m, c) => {
      for (let e = 0; e < m.expNode.length; e++)
        pairs.push(base[c] + m.expComp[e], nodeIndex(m.expNode[e], true));
    });
  const external: number[] = [];
  const carried: number[] = [];
  members.forEach((m, c) => {
    for (let e = 0; e < m.extNode.length; e++) {
      const r = resolve(m.extNode[e]);
      if (r >= 0) pairs.push(base[c] + m.extComp[e], r);
      else external.push(base[c] + m.extComp[e], m.extNode[e]);
    }
    for (let e = 0; e < m.pairA.length; e++) {
      const ra = resolve(m.pairA[e]);
      const rb = resolve(m.pairB[e]);
      if (ra >= 0 && rb >= 0) pairs.push(ra, rb);
      else if (ra >= 0) external.push(ra, m.pairB[e]);
      else if (rb >= 0) external.push(rb, m.pairA[e]);
      else carried.push(m.pairA[e], m.pairB[e]);
    }
  });
  const parent = new Uint32Array(total + nodes.size);
  for (let x = 0; x < parent.length; x++) parent[x] = x;
  for (let e = 0; e < pairs.length; e += 2) union(parent, pairs[e], pairs[e + 1]);

  const exports: number[] = [];
  if (leaf) {
    for (const [key, t] of nodes) if (geo.onLowFace(nodeOwner(key))) exports.push(key, t);
  } else
    for (const m of members)
      for (let e = 0; e < m.expNode.length; e++)
        if (geo.onLowFace(nodeOwner(m.expNode[e])))
          exports.push(m.expNode[e], nodeIndex(m.expNode[e], false));

  // Open classes: those with an external link or an export. Components have
  // smaller indices than nodes, so a class's root is one of its components.
  const isOpen = new Uint8Array(parent.length);
  for (let e = 0; e < external.length; e += 2) isOpen[find(parent, external[e])] = 1;
  for (let e = 0; e < exports.length; e += 2) isOpen[find(parent, exports[e + 1])] = 1;
  const first = new Float64Array(parent.length).fill(Number.POSITIVE_INFINITY);
  members.forEach((m, c) => {
    for (let l = 0; l < m.count; l++) {
      const r = find(parent, base[c] + l);
      if (m.minFirst[l] < first[r]) first[r] = m.minFirst[l];
    }
  });
  const openIndex = new Int32Array(parent.length).fill(-1);
  let open = 0;
  const openFirst: number[] = [];
  const closed: number[] = [];
  for (let x = 0; x < total; x++) {
    const r = find(parent, x);
    if (r !== x) continue;
    if (isOpen[r]) {
      openIndex[r] = open++;
      openFirst.push(first[r]);
    } else closed.push(first[r]);
  }
  const maps = members.map((m, c) => {
    const map = new Float64Array(m.count);
    for (let l = 0; l < m.count; l++) {
      const r = find(parent, base[c] + l);
      map[l] = openIndex[r] >= 0 ? -(openIndex[r] + 1) : first[r];
    }
    return map;
  });
  const ext = sortedPairs(external.map((v, e) => (e % 2 === 0 ? openIndex[find(parent, v)] : v)));
  const exp = sortedPairs(
    exports.flatMap((v, e) => (e % 2 === 0 ? [] : [openIndex[find(parent, v)], exports[e - 1]])),
  );
  const up = sortedPairs(carried);
  return {
    maps,
    up: {
      count: open,
      minFirst: Float64Array.from(openFirst),
      extComp: Uint32Array.from(ext.comp),
      extNode: Float64Array.from(ext.node),
      pairA: Float64Array.from(up.comp),
      pairB: Float64Array.from(up.node),
      expNode: Float64Array.from(exp.node),
      expComp: Uint32Array.from(exp.comp),
    },
    closed: Float64Array.from(closed).sort(),
  };
}

/** (component, node) pairs sorted by node then component, without repeats. */
function sortedPairs(flat: number[]): { comp: number[]; node: number[] } {
  const n = flat.length / 2;
  const order = Array.from({ length: n }, (_, e) => e).sort(
    (a, b) => flat[2 * a + 1] - flat[2 * b + 1] || flat[2 * a] - flat[2 * b],
  );
  const comp: number[] = [];
  const node: number[] = [];
  for (const e of order) {
    const last = node.length - 1;
    if (last >= 0 && node[last] === flat[2 * e + 1] && comp[last] === flat[2 * e]) continue;
    comp.push(flat[2 * e]);
    node.push(flat[2 * e + 1]);
  }
  return { comp, node };
}
