// Runs the smoke bundle and prints one JSON line: { runtime, smoke, trace }. Node, Deno and Bun run this file as
// is (after `npx tsx build/bundle-smoke.ts`); it uses nothing but ECMAScript and console.log.
import { describeRuntime, logitTrace, smoke } from '../../build/out/runtimes/smoke.js';

const result = await smoke();
console.log(JSON.stringify({ runtime: describeRuntime(), smoke: result, trace: await logitTrace(result.tokens) }));
