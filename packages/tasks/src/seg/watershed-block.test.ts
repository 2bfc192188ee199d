import { matchFace } from "./watershed-block";

const face = (piece: number[], inner: number[], outer: number[]) => ({
  piece: Uint32Array.from(piece),
  inner: Uint32Array.from(inner),
  outer: Uint32Array.from(outer),
});

describe("matchFace", () => {
  test("a basin one block sees split in two is joined through the other block's piece", () => {
    // The lower block has two basins (10, 11) where the higher block sees one (7).
    const low = face([1, 1, 2, 2], [10, 10, 11, 11], [10, 10, 11, 11]);
    const high = face([5, 5, 5, 5], [7, 7, 7, 7], [7, 7, 7, 7]);
    expect(matchFace(low, high)).toEqual({ a: [1, 2], b: [5, 5] });
  });

  test("pieces are joined only where both blocks put most of their contacts in one basin", () => {
    // Piece 1 touches piece 5 at three positions: the higher block puts the
    // voxels on either side in one basin at only one of them.
    const low = face([1, 1, 1, 0], [10, 10, 10, 0], [10, 10, 10, 0]);
    const high = face([5, 5, 5, 6], [7, 7, 7, 8], [7, 9, 9, 0]);
    expect(matchFace(low, high)).toEqual({ a: [], b: [] });
    // Background (piece 0) on either side joins nothing.
    const both = face([1, 1, 1, 0], [10, 10, 10, 0], [10, 10, 10, 0]);
    const agree = face([5, 5, 5, 6], [7, 7, 7, 8], [7, 7, 9, 0]);
    expect(matchFace(both, agree)).toEqual({ a: [1], b: [5] });
  });
});
