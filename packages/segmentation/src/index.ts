/**
 * @ngpipe/segmentation: pure label kernels over typed arrays, x fastest.
 * Nothing here does IO or depends on another ngpipe package.
 */
export {};
