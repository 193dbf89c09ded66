import type { Config } from '../config.js';
import { type Coverage, type CoverageRequirement, describePair, describeRequirement, missingCoverage, OPERATIONS, type Operation, type TableOperation, untouchedTables } from './coverage.js';
import { evaluateEligibility, type Eligibility, type ProjectStats } from './eligibility.js';

/** One operation on one table in the current shadow window. */
export interface CoverageCell {
  /** transactions that ran at least one such statement on the table (0: not exercised) */
  transactions: number;
  /** required by `project set --require-coverage` */
  required: boolean;
  first_seen: string | null;
  last_seen: string | null;
}

/** What a project exercised in its current shadow window, every protected table by operation. */
export interface CoverageReport {
  tables: Array<{ table: string; touched: boolean; operations: Record<Operation, CoverageCell> }>;
  never_touched: string[];
  /** what is required (table null: every protected table); empty: shown, not required */
  required: CoverageRequirement[];
  /** required pairs not exercised: the coverage criterion holds when this is empty */
  missing: TableOperation[];
}

export function coverageReport(c: Coverage): CoverageReport {
  const missing = missingCoverage(c);
  const isRequired = (table: string, op: Operation) => c.required.some((r) => r.operation === op && (r.table === null || r.table === table));
  return {
    tables: c.tables.map((table) => {
      const operations = Object.fromEntries(OPERATIONS.map((op) => {
        const o = c.observed.find((x) => x.table === table && x.operation === op);
        return [op, {
          transactions: o?.transactions ?? 0, required: isRequired(table, op),
          first_seen: o?.firstSeen.toISOString() ?? null, last_seen: o?.lastSeen.toISOString() ?? null,
        }];
      })) as Record<Operation, CoverageCell>;
      return { table, touched: c.observed.some((x) => x.table === table), operations };
    }),
    never_touched: untouchedTables(c),
    required: c.required,
    missing,
  };
}

/** The unobserved transactions of a shadow window, one line (the text and Markdown reports, decisions). */
export function unobservedLine(n: number): string {
  return n === 0
    ? 'Unobserved: 0 transactions'
    : `Unobserved: ${n} transaction${n === 1 ? '' : 's'} in sessions without a recorder (not counted in Transactions; their would-be denials were not recorded)`;
}

/** A cell as the report and the dashboard write it: the count, MISSING (required, not exercised) or –. */
export const coverageCellText = (c: CoverageCell): string => (c.transactions > 0 ? String(c.transactions) : c.required ? 'MISSING' : '–');

export interface ProjectReport {
  access_level: string;
  legacy_owner: boolean;
  phase: string;
  shadow_started_at: string | null;
  days_in_shadow: number;
  min_shadow_days: number;
  transaction_count: number;
  /** transactions in sessions without a recorder since the shadow clock started: not in transaction_count */
  unobserved_count: number;
  violation_count: number;
  unresolved_count: number;
  unreviewed_count: number;
  eligible: boolean;
  reasons: string[];
  criteria: Array<{ name: string; met: boolean; line: string; met_at?: string }>;
  earliest_eligible_at: string | null;
  recommendation: string;
  /** past the maximum shadow duration */
  past_max: boolean;
  enforce_deadline: string | null;
  /** past the enforcing deadline of the maximum-duration rule */
  overdue: boolean;
  coverage: CoverageReport;
}

export interface Report {
  generated_at: string;
  total_projects: number;
  eligible_count: number;
  projects: Record<string, ProjectReport>;
}

/** The report of the projects in shadow (the seed's shape, extended). Pure. */
export function buildReport(stats: readonly ProjectStats[], cfg: Config, now: Date): Report {
  const projects: Record<string, ProjectReport> = {};
  let eligible = 0;
  for (const s of stats.filter((x) => x.phase === 'shadow')) {
    const e: Eligibility = evaluateEligibility(s, cfg.thresholds, now, cfg.calendar);
    if (e.eligible) eligible += 1;
    projects[s.projectId] = {
      access_level: s.accessLevel,
      legacy_owner: s.legacyOwner,
      phase: s.phase,
      shadow_started_at: s.shadowStartedAt?.toISOString() ?? null,
      days_in_shadow: e.daysInShadow,
      min_shadow_days: e.minShadowDays,
      transaction_count: s.transactions,
      unobserved_count: s.unobserved,
      violation_count: s.violations,
      unresolved_count: s.unresolved,
      unreviewed_count: s.unreviewedFingerprints,
      eligible: e.eligible,
      reasons: e.reasons,
      criteria: e.criteria.map((c) => ({ name: c.name, met: c.met, line: c.line, ...(c.metAt ? { met_at: c.metAt.toISOString() } : {}) })),
      earliest_eligible_at: e.earliestEligibleAt?.toISOString() ?? null,
      recommendation: e.recommendation,
      past_max: e.pastMax,
      enforce_deadline: e.enforceDeadline?.toISOString() ?? null,
      overdue: e.overdue,
      coverage: coverageReport(s.coverage),
    };
  }
  return {
    generated_at: now.toISOString(),
    total_projects: Object.keys(projects).length,
    eligible_count: eligible,
    projects,
  };
}

const COVERAGE_TITLE = 'Coverage: transactions per table and operation in this shadow window (rolled-back transactions are not observed)';

/** The required coverage and what is missing of it, one line (null: nothing required). */
function requiredLine(c: CoverageReport): string | null {
  if (!c.required.length) return null;
  return `Required: ${c.required.map(describeRequirement).join(', ')}; ${c.missing.length ? `missing: ${c.missing.map(describePair).join(', ')}` : 'all exercised ✓'}`;
}

function coverageMarkdown(c: CoverageReport): string[] {
  const lines = [`**${COVERAGE_TITLE}:**`, ''];
  if (!c.tables.length) return [...lines, '- no protected table', ''];
  lines.push(`| table | ${OPERATIONS.join(' | ')} |`, `|---|${OPERATIONS.map(() => '---|').join('')}`);
  for (const t of c.tables) lines.push(`| ${t.table}${t.touched ? '' : ' (never touched)'} | ${OPERATIONS.map((op) => coverageCellText(t.operations[op])).join(' | ')} |`);
  lines.push('', `- Never touched: ${c.never_touched.length ? c.never_touched.join(', ') : 'none'}`);
  lines.push(`- ${requiredLine(c) ?? 'Required: nothing (shown, not an exit criterion)'}`, '');
  return lines;
}

/** The coverage of one project as the text report prints it. */
export function coverageLines(c: CoverageReport): string[] {
  const lines = [`${COVERAGE_TITLE}:`];
  for (const t of c.tables) {
    lines.push(`  ${t.table}: ${t.touched ? OPERATIONS.map((op) => `${op} ${coverageCellText(t.operations[op])}`).join(', ') : 'never touched'}`);
  }
  if (!c.tables.length) lines.push('  no protected table');
  const required = requiredLine(c);
  if (required) lines.push(`  ${required}`);
  return lines;
}

export function reportMarkdown(r: Report): string {
  const lines = [`# Shadow phase report`, '', `Generated: ${r.generated_at}`, '',
    `Projects in shadow: ${r.total_projects}, eligible: ${r.eligible_count}`, ''];
  for (const [id, p] of Object.entries(r.projects)) {
    lines.push(`## ${id} (${p.access_level}${p.legacy_owner ? ', legacy owner' : ''}): ${p.eligible ? 'ELIGIBLE' : 'NOT ELIGIBLE'}${p.overdue ? ', OVERDUE' : ''}`, '');
    for (const c of p.criteria) lines.push(`- ${c.line}${c.met_at ? ` (met on ${c.met_at.slice(0, 10)} at the earliest)` : ''}`);
    lines.push(`- ${unobservedLine(p.unobserved_count)}`);
    lines.push(`- Recommendation: ${p.recommendation}`);
    if (p.enforce_deadline) lines.push(`- ${p.overdue ? 'OVERDUE: enforcing deadline passed' : 'Move to enforcing before'} ${p.enforce_deadline}`);
    lines.push('', ...coverageMarkdown(p.coverage));
  }
  return lines.join('\n');
}
