/** What every scenario gets from the runner. */
export interface Context {
  readonly quick: boolean;
  /** Interleaved A/B rounds per comparison. */
  readonly rounds: number;
  /** Seconds per measured load run. */
  readonly seconds: number;
  readonly main: string;
  readonly bareUws: string;
  /** The contract's write path alone (bench/baseline/bare-write-path.ts), compiled. */
  readonly bareWritePath: string;
  /** Extra node flags for driftkv instances (e.g. --cpu-prof). */
  readonly nodeArgs: string[];
  log(message: string): void;
}

/** A scenario's figures: `rows` go to the markdown table, `detail` to the JSON file only. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly rows: Row[];
  readonly detail: unknown;
}

export interface Row {
  readonly what: string;
  readonly driftkv: string;
  readonly baseline: string;
  readonly ratio: number | null;
  readonly target: string;
  readonly met: boolean | null;
}
