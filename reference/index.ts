// The oracle and the file formats, as one import: `import { forward, loadModel } from 'lfm.ts/reference'`.
export * from './bytes.js';
export * from './config.js';
export * from './errors.js';
export * from './f16.js';
export * from './ggml-type.js';
export * from './gguf.js';
export * from './load.js';
export * from './model.js';
export * from './quant.js';
export * from './safetensors.js';
export * from './tensor-names.js';
export * from './weights.js';
