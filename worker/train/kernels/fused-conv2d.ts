import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  FusedConv2D,
  type FusedConv2DAttrs,
  type FusedConv2DInputs,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { conv2dKernel } from './conv2d.ts';

/**
 * FusedConv2D for tfjs-cpu (what `predict` runs for a conv layer): the fast Conv2D, then the
 * registered Add and Relu kernels, which is what the reference does with its built-in conv.
 * Other activations, and per-channel bias or PReLU in NCHW, go to `reference`.
 *
 * @example
 * registerKernel(fusedConv2dKernel(getKernel('FusedConv2D', 'cpu').kernelFunc));
 */
export function fusedConv2dKernel(reference: KernelFunc): KernelConfig {
  return {
    kernelName: FusedConv2D,
    backendName: 'cpu',
    kernelFunc: (args): TensorInfo | TensorInfo[] => {
      const { x, filter, bias } = args.inputs as FusedConv2DInputs;
      const { strides, pad, dataFormat, dilations, dimRoundingMode, activation } =
        args.attrs as unknown as FusedConv2DAttrs;
      const channelBiasNchw =
        dataFormat === 'NCHW' && bias !== undefined && bias.shape.length === 1 && bias.shape[0] !== 1;
      if ((activation !== 'linear' && activation !== 'relu') || channelBiasNchw) return reference(args);
      const backend = args.backend as MathBackendCPU;
      const convAttrs = { strides, pad, dataFormat, dilations, dimRoundingMode };
      let result = conv2dKernel.kernelFunc({
        inputs: { x, filter },
        backend,
        attrs: convAttrs as unknown as NamedAttrMap,
      }) as TensorInfo;
      const then = (kernelName: 'Add' | 'Relu', inputs: Record<string, TensorInfo>) => {
        const previous = result;
        result = getKernel(kernelName, 'cpu').kernelFunc({ inputs, backend }) as TensorInfo;
        backend.disposeIntermediateTensorInfo(previous);
      };
      if (bias !== undefined) then('Add', { a: result, b: bias });
      if (activation === 'relu') then('Relu', { x: result });
      return result;
    },
  };
}
