import type { ScenarioResult } from './context.js';

export interface RunInfo {
  readonly at: string;
  readonly quick: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly commit: string;
  readonly node: string;
}

const cell = (s: string) => s.replaceAll('|', '\\|');

export function markdown(info: RunInfo, results: ScenarioResult[]): string {
  const lines = [
    `Run of ${info.at} (commit ${info.commit}, Node ${info.node}${info.quick ? ', --quick' : ''}): ` +
      `${info.rounds} interleaved A/B rounds of ${info.seconds} s, medians quoted; service pinned to core 0, load to core 1; ` +
      `load average ${info.loadBefore} before, ${info.loadAfter} after.`,
    '',
    '| scenario | driftkv | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const result of results) {
    for (const row of result.rows) {
      const met = row.met === null ? '' : row.met ? 'yes' : '**no**';
      lines.push(`| ${cell(row.what)} | ${cell(row.driftkv)} | ${cell(row.baseline)} | ${row.ratio === null ? '' : `${row.ratio}x`} | ${cell(row.target)} | ${met} |`);
    }
  }
  return lines.join('\n') + '\n';
}
