/** The parts of UTIF.js (CommonJS, no bundled types) the TIFF reader uses. */
declare module "utif" {
  /** One image file directory: TIFF tags as `t<number>` arrays, plus decoded fields. */
  export interface IFD {
    [tag: `t${number}`]: number[] | string[] | undefined;
    width?: number;
    height?: number;
    isLE?: boolean;
    data?: Uint8Array;
  }
  const UTIF: {
    decode(buffer: ArrayBuffer | Uint8Array): IFD[];
    decodeImage(buffer: ArrayBuffer | Uint8Array, ifd: IFD, ifds?: IFD[]): void;
    encode(ifds: Record<string, unknown>[]): ArrayBuffer;
    encodeImage(
      rgba: ArrayBuffer | Uint8Array,
      w: number,
      h: number,
      meta?: Record<string, unknown>,
    ): ArrayBuffer;
  };
  export default UTIF;
}
