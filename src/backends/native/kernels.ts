import { FUSED_ADAM, LEAKY_RELU_GRAD } from '../kernel-names';
import { type Override, setAllocator } from './kernel-util';
import { conv2D, fusedConv2D, conv2DBackpropInput, conv2DBackpropFilter, batchMatMul, fusedMatMul } from './conv-kernels';
import { UNARY, BINARY, COMPARE, unary, binary, reduction } from './elementwise-kernels';
import { transpose, tile, fusedBatchNorm, select, addN } from './layout-kernels';

/**
 * Native overrides for the 'native' backend, by kernel name. The kernels live by kind:
 * conv-kernels (convolutions, matMul), elementwise-kernels (unary, binary, reductions),
 * layout-kernels (transpose, tile, batch norm, select, addN), fused-kernels (Adam, gradients).
 */

export { FUSED_ADAM, LEAKY_RELU_GRAD };
export type { KernelArgs, KernelImpl, Override } from './kernel-util';
export { broadcastPlan, UNARY, BINARY, COMPARE } from './elementwise-kernels';
export { fusedAdam, leakyReluGrad, registerLeakyReluGradient, registerReductionGradients } from './fused-kernels';

/** Kernel name → native override; outputs come from `allocate` (default: fresh zeroed arrays). */
export function nativeOverrides(allocate?: (n: number) => Float32Array): Record<string, Override> {
  if (allocate) setAllocator(allocate);
  const o: Record<string, Override> = {
    Conv2D: conv2D,
    FusedConv2D: fusedConv2D,
    Conv2DBackpropInput: conv2DBackpropInput,
    Conv2DBackpropFilter: conv2DBackpropFilter,
    BatchMatMul: batchMatMul,
    _FusedMatMul: fusedMatMul,
    Sum: reduction(0, false),
    Mean: reduction(0, true),
    Max: reduction(1, false),
    Min: reduction(2, false),
    Prod: reduction(3, false),
    Transpose: transpose,
    Tile: tile,
    FusedBatchNorm: fusedBatchNorm,
    Select: select,
    AddN: addN,
  };
  for (const [name, code] of Object.entries(UNARY)) {
    o[name] = name === 'LeakyRelu' ? unary(code, 'alpha', 0.2) : name === 'Step' ? unary(code, 'alpha', 0) : unary(code);
  }
  for (const [name, code] of Object.entries(BINARY)) o[name] = binary(code, false);
  for (const [name, code] of Object.entries(COMPARE)) o[name] = binary(code, true);
  return o;
}
