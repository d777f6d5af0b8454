// The part of autocannon's API the benchmark uses (it ships no types of its own).
declare module "autocannon" {
  interface AutocannonResult {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; max: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  function autocannon(options: object, done: (error: Error | null, result: AutocannonResult) => void): unknown;
  export default autocannon;
}
