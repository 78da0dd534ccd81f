// print-smoke.mjs for Node: the bundle's Node variant (smoke-node.ts: the engine's workers on worker_threads).
import { describeRuntime, logitTrace, smoke } from '../../build/out/runtimes/smoke-node.js';

const result = await smoke();
console.log(JSON.stringify({ runtime: describeRuntime(), smoke: result, trace: await logitTrace(result.tokens) }));
