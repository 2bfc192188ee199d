/** The error of the image-analysis kernels (histograms, contrast stretch). */

/**
 * Bad input to an image-analysis kernel: a data type other than uint8 or
 * uint16, a shape that does not match the array, clip fractions out of
 * range, or limits of the wrong length. The message names the argument.
 */
export class ImageKernelError extends Error {
  override readonly name = "ImageKernelError";
}
