import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import type { Keyspace } from '../../domain/keyspace.js';
import type { Reply } from '../exchange.js';
import { parseQuery } from '../request.js';

const FIRST_PAGE = 100;
/** Counting keys under a prefix walks them: beyond this many the page says "more than". */
const COUNT_CAP = 1000;

export interface LandingView {
  readonly instance: string;
  readonly keyspace: Keyspace;
  readonly query: string;
  readonly accept: string;
}

export type LandingPage = (view: LandingView) => Reply;

/**
 * GET / (DESIGN §7). Cost is bounded by the first page and COUNT_CAP, never by the number of keys.
 * With `Accept: application/json` it answers only the counts, which the page refreshes when a
 * change's effect on them cannot be known from the change alone (a put beyond the shown page).
 */
export function landingPage(templatePath: string): LandingPage {
  const render = Handlebars.compile(readFileSync(templatePath, 'utf8'), { strict: false });
  // The page's script lives next to the template as plain JS, inlined so the page needs no other request.
  const script = readFileSync(templatePath.replace(/index\.hbs$/, 'landing.js'), 'utf8');
  return ({ instance, keyspace, query, accept }) => {
    const prefix = parseQuery(query).get('prefix') ?? '';
    const page = keyspace.page({ prefix, limit: FIRST_PAGE });
    const counts = { instance, revision: keyspace.revision, keys: keyspace.size, ...countMatching(keyspace, prefix, page) };
    if (accept.includes('application/json')) return { status: 200, body: JSON.stringify(counts), headers: { 'Cache-Control': 'no-store' } };
    const state = { ...counts, prefix, limit: FIRST_PAGE };
    const body = render({
      ...state,
      items: page.items,
      more: counts.matching - page.items.length,
      state: scriptJson(state),
      script,
    });
    return { status: 200, contentType: 'text/html; charset=utf-8', body, headers: { 'Cache-Control': 'no-store' } };
  };
}

function countMatching(keyspace: Keyspace, prefix: string, page: ReturnType<Keyspace['page']>) {
  if (prefix === '') return { matching: keyspace.size, capped: false };
  if (page.next === null) return { matching: page.items.length, capped: false };
  const rest = keyspace.page({ prefix, after: page.next, limit: COUNT_CAP });
  return { matching: page.items.length + rest.items.length, capped: rest.next !== null };
}

/** JSON that cannot end the <script> element or break it as a line terminator, whatever the keys hold. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
