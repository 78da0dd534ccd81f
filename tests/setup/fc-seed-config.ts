// The fast-check seed of a test run, shared by the vitest configs (which set it) and the setup file (which uses
// it). FC_SEED, when set, must be an integer in the int32 range (fast-check's seed space); when absent the config
// draws one, puts it into the environment the test workers inherit, and prints it.

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The seed FC_SEED names; throws on a value that is not an int32 (a typo must not silently pick another seed). */
export function fcSeedFromEnv(env: Record<string, string | undefined>): number {
  const text = env.FC_SEED?.trim();
  if (text === undefined || text === '') throw new Error('FC_SEED is not set: the vitest config sets it (tests/setup/fc-seed-config.ts)');
  const seed = Number(text);
  if (!/^-?\d+$/.test(text) || seed < INT32_MIN || seed > INT32_MAX) throw new Error(`FC_SEED='${text}' is not an integer in ${INT32_MIN}..${INT32_MAX}`);
  return seed;
}

/** Called by each vitest config: keeps a given FC_SEED (checked), else draws one; returns it for `test.env`. */
export function runSeed(env: Record<string, string | undefined> = process.env): string {
  if (env.FC_SEED === undefined || env.FC_SEED.trim() === '') {
    env.FC_SEED = String((Math.random() * 2 ** 31) | 0);
    console.log(`fast-check seed for this run: FC_SEED=${env.FC_SEED}`);
  }
  return String(fcSeedFromEnv(env));
}
