/** For skeleton tests: how many trees a skeleton's edges make. */

/** Number of trees of a forest of `{vertices, edges}`, or -1 when the edges hold a cycle. */
export function treeCount(skel: { vertices: ArrayLike<number>; edges: ArrayLike<number> }): number {
  const n = skel.vertices.length / 3;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  let trees = n;
  for (let e = 0; e < skel.edges.length; e += 2) {
    const a = find(skel.edges[e]);
    const b = find(skel.edges[e + 1]);
    if (a === b) return -1;
    parent[a] = b;
    trees--;
  }
  return trees;
}
