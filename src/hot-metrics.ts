/**
 * Counters and histograms for the paths every request takes, exposed through a prom-client
 * registry (which calls `get()` when scraped). prom-client's own observe builds a label hash
 * string and a closure on every call; these resolve a child once (per route, per status…) and
 * observe into a typed array: a few additions per request, nothing allocated.
 */

type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** One label set's buckets (counts per upper bound, not cumulative), sum and count. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Labels,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  /** Observes the seconds since `startedMs` (a performance.now() reading). */
  observeSince(startedMs: number): void {
    this.observe((performance.now() - startedMs) / 1000);
  }
}

export class HotHistogram {
  private readonly children = new Map<string, HistogramChild>();
  private readonly bounds: readonly number[];
  private unlabeled: HistogramChild | undefined;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    private readonly labelNames: readonly string[] = [],
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b);
    // Without labels the one series is shown (zeros) from the start, as prom-client does.
    if (labelNames.length === 0) this.unlabeled = this.child();
  }

  /** The child for these label values (in labelNames' order); resolve it once and keep it. */
  child(...values: string[]): HistogramChild {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values`);
    const id = values.join('\u0000');
    let child = this.children.get(id);
    if (!child) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, n) => (labels[name] = values[n]!));
      child = new HistogramChild(this.bounds, labels);
      this.children.set(id, child);
    }
    return child;
  }

  observe(value: number): void {
    (this.unlabeled ??= this.child()).observe(value);
  }

  observeSince(startedMs: number): void {
    (this.unlabeled ??= this.child()).observeSince(startedMs);
  }

  get(): Exposed {
    const values: MetricValue[] = [];
    for (const child of this.children.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        values.push({ labels: { ...child.labels, le: String(bound) }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...child.labels, le: '+Inf' }, value: child.count, metricName: `${this.name}_bucket` });
      values.push({ labels: child.labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: child.labels, value: child.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}

/**
 * A counter of up to three labels, whose label sets are found through nested maps of the values
 * as given: no string or array is built per increment.
 */
export class HotCounter {
  private readonly root = new Map<string, unknown>();
  private readonly cells: { labels: Labels; value: number }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[] = [],
    /** Called before each scrape: counts kept elsewhere are added here. */
    private readonly beforeGet?: (counter: HotCounter) => void,
  ) {
    if (labelNames.length > 3) throw new Error(`${name}: at most three labels`);
  }

  inc(a = '', b = '', c = ''): void {
    this.add(1, a, b, c);
  }

  add(by: number, a = '', b = '', c = ''): void {
    let level = this.root;
    const depth = this.labelNames.length;
    if (depth > 1) level = this.level(level, a);
    if (depth > 2) level = this.level(level, b);
    const last = depth === 0 ? '' : depth === 1 ? a : depth === 2 ? b : c;
    let cell = level.get(last) as { labels: Labels; value: number } | undefined;
    if (!cell) {
      const values = [a, b, c];
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, n) => (labels[name] = values[n]!));
      cell = { labels, value: 0 };
      level.set(last, cell);
      this.cells.push(cell);
    }
    cell.value += by;
  }

  private level(from: Map<string, unknown>, value: string): Map<string, unknown> {
    let next = from.get(value) as Map<string, unknown> | undefined;
    if (!next) from.set(value, (next = new Map()));
    return next;
  }

  get(): Exposed {
    this.beforeGet?.(this);
    return { name: this.name, help: this.help, type: 'counter', values: this.cells.map((c) => ({ labels: c.labels, value: c.value })), aggregator: 'sum' };
  }
}
