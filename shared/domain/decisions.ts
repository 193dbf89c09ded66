import type { Config, Thresholds } from '../config.js';
import type { Fingerprint } from '../db/violations.js';
import { evaluateEligibility, type Eligibility, type ProjectStats } from './eligibility.js';
import { type CoverageReport, coverageLines, coverageReport, unobservedLine } from './report.js';
import { ownerLabel } from './owner.js';

/**
 * What a phase decision saw, stored with it (rls_phase_history.evidence) and never recomputed:
 * the criteria and their values, evaluated by changePhase(); set_phase() adds the clock resets
 * since the project entered shadow and its fingerprints at that moment.
 */
export interface DecisionEvidence {
  evaluated_at: string;
  eligible: boolean;
  days_in_shadow: number;
  min_shadow_days: number;
  transactions: number;
  min_transactions: number;
  /** transactions in sessions without a recorder (absent from decisions taken before it was counted) */
  unobserved?: number;
  violations: number;
  unresolved: number;
  unreviewed_fingerprints: number;
  criteria: Array<{ name: string; met: boolean; line: string; value: number; threshold: number }>;
  /** what the shadow window had exercised (absent from decisions taken before coverage existed) */
  coverage?: CoverageReport;
  // added by set_phase()
  shadow_started_at?: string | null;
  resets?: Array<{ at: string; actor: string; reason: string }>;
  fingerprints?: Array<Pick<Fingerprint, 'id' | 'table_name' | 'operation' | 'row_project_id' | 'denied_reason' | 'occurrences'
    | 'window_occurrences' | 'resolution' | 'ref' | 'rationale' | 'reviewed_by'> & { first_seen: string; last_seen: string; open_since: string | null; reviewed_at: string | null }>;
  fingerprints_total?: number;
}

/** The evidence of a decision taken at `at` on a project with these stats. Pure. */
export function decisionEvidence(s: ProjectStats, e: Eligibility, t: Thresholds, at: Date): DecisionEvidence {
  return {
    evaluated_at: at.toISOString(),
    eligible: e.eligible,
    days_in_shadow: e.daysInShadow,
    min_shadow_days: e.minShadowDays,
    transactions: s.transactions,
    min_transactions: t.minTransactions,
    unobserved: s.unobserved,
    violations: s.violations,
    unresolved: s.unresolved,
    unreviewed_fingerprints: s.unreviewedFingerprints,
    criteria: e.criteria.map((c) => ({ name: c.name, met: c.met, line: c.line, value: c.value, threshold: c.threshold })),
    coverage: coverageReport(s.coverage),
  };
}

/** A phase decision as recorded (rls_phase_history, kind 'phase'). */
export interface DecisionRecord {
  id: number;
  project_id: string;
  from_phase: string | null;
  to_phase: string;
  forced: boolean;
  actor: string;
  reason: string | null;
  at: Date;
  evidence: DecisionEvidence | null;
}

/** The coverage as Markdown: its title in bold, a bullet per table and for what is required. */
function coverageMarkdownLines(c: CoverageReport, when: string): string[] {
  const [title, ...rest] = coverageLines(c);
  return [`**${title!.replace(/^Coverage/, `Coverage ${when}`)}**`, ...rest.map((l) => `- ${l.trim()}`)];
}

const d = (x: Date | string | null | undefined) => (x ? new Date(x).toISOString().slice(0, 10) : '-');

function fingerprintLine(f: NonNullable<DecisionEvidence['fingerprints']>[number] | Fingerprint): string {
  const state = f.open_since
    ? `OPEN since ${d(f.open_since)}`
    : `${f.resolution} (${f.ref})${f.rationale ? `: ${f.rationale}` : ''}, by ${f.reviewed_by} on ${d(f.reviewed_at)}`;
  return `- #${f.id} ${f.operation} on ${f.table_name}, owner ${ownerLabel(f.row_project_id)}, ${f.denied_reason}: ${f.occurrences} rows, first ${d(f.first_seen)}, last ${d(f.last_seen)}: ${state}`;
}

/** One recorded decision, rendered from its evidence alone. */
function decisionSection(h: DecisionRecord): string[] {
  const out = [`### ${h.at.toISOString()}: ${h.from_phase ?? '-'} -> ${h.to_phase}${h.forced ? ' (FORCED)' : ''}`, ''];
  out.push(`**Approved By:** ${h.actor}`);
  if (h.reason) out.push(`**Reason:** ${h.reason}`);
  if (h.forced) out.push(`**Forced:** yes, overriding the exit criteria or the rollout order`);
  const ev = h.evidence;
  if (ev && h.from_phase === 'shadow') {
    out.push(`**Shadow Started:** ${d(ev.shadow_started_at)}`, '');
    out.push(`**Metrics at the decision** (${ev.eligible ? 'ELIGIBLE' : 'NOT ELIGIBLE'}):`);
    out.push(`- Shadow Duration: ${ev.days_in_shadow} days (minimum: ${ev.min_shadow_days})`);
    out.push(`- Transaction Count: ${ev.transactions} (minimum: ${ev.min_transactions})`);
    if (ev.unobserved !== undefined) out.push(`- ${unobservedLine(ev.unobserved)}`);
    out.push(`- Violation Count: ${ev.violations} (unresolved: ${ev.unresolved})`);
    out.push('', '**Exit Criteria at the decision:**');
    // set_phase() called directly (a DBA in psql) stores no criteria
    for (const c of ev.criteria ?? []) out.push(`- ${c.line}`);
    if (ev.coverage) out.push('', ...coverageMarkdownLines(ev.coverage, 'at the decision'));
    out.push('', '**Shadow Resets:**');
    if (!ev.resets?.length) out.push('- None');
    for (const r of ev.resets ?? []) out.push(`- ${r.at.slice(0, 10)} by ${r.actor}: ${r.reason}`);
    out.push('', '**Violations Analysis:**');
    if (!ev.fingerprints?.length) out.push('- None');
    for (const f of ev.fingerprints ?? []) out.push(fingerprintLine(f));
    if ((ev.fingerprints_total ?? 0) > (ev.fingerprints?.length ?? 0)) out.push(`- ... ${ev.fingerprints_total! - ev.fingerprints!.length} older fingerprints`);
  }
  if (h.to_phase === 'enforcing') out.push(`**Enforcing Date:** ${d(h.at)}`);
  out.push('');
  return out;
}

/**
 * docs/migration_decisions.md (the seed's template): per project, where it stands now (for a
 * project in shadow, evaluated at `now`) and every phase decision from its stored evidence. Pure.
 */
export function decisionsMarkdown(stats: readonly ProjectStats[], fps: readonly Fingerprint[], history: readonly DecisionRecord[], cfg: Config, now: Date): string {
  const out = ['# RLS Migration Decisions', '', `Generated by \`shadowgate decisions\` on ${now.toISOString()}.`, ''];
  for (const s of stats) {
    out.push(`## ${s.projectId} (${s.accessLevel.toUpperCase()}${s.legacyOwner ? ', legacy owner' : ''})`, '');
    out.push(`**Phase:** ${s.phase}${s.phase !== 'shadow' ? ` since ${d(s.updatedAt)}` : ''}`);
    if (s.phase === 'shadow') {
      const e = evaluateEligibility(s, cfg.thresholds, now, cfg.calendar);
      const mine = fps.filter((f) => f.project_id === s.projectId);
      const decision = mine.some((f) => f.open_since) ? 'INVESTIGATING' : e.eligible ? 'ELIGIBLE' : 'NOT ELIGIBLE';
      out.push(`**Shadow Started:** ${d(s.shadowStartedAt)}`);
      out.push(`**Eligibility Date:** ${e.earliestEligibleAt ? d(e.earliestEligibleAt) : 'reached'} (${e.minShadowDays} days)`, '');
      out.push('**Metrics:**');
      out.push(`- Shadow Duration: ${e.daysInShadow} days`);
      out.push(`- Transaction Count: ${s.transactions}`);
      out.push(`- ${unobservedLine(s.unobserved)}`);
      out.push(`- Violation Count: ${s.violations} (unresolved: ${s.unresolved})`, '');
      out.push(...coverageMarkdownLines(coverageReport(s.coverage), 'now'), '');
      out.push('**Violations Analysis:**');
      if (mine.length === 0) out.push('- None');
      for (const f of mine) out.push(fingerprintLine(f));
      out.push('', `**Decision:** ${decision}`);
      out.push(`**Reason:** ${e.eligible ? 'All exit criteria met' : e.reasons.join('; ')}`);
      out.push(`**Recommendation:** ${e.recommendation}`);
      if (e.enforceDeadline) out.push(`**Enforcing Deadline:** ${e.enforceDeadline.toISOString()}${e.overdue ? ' (OVERDUE)' : ''}`);
    } else {
      out.push(`**Decision:** ${s.phase.toUpperCase()}`);
    }
    out.push('');
    const mine = history.filter((h) => h.project_id === s.projectId);
    if (mine.length) {
      out.push('**Decisions:**', '');
      for (const h of mine) out.push(...decisionSection(h));
    }
  }
  return out.join('\n');
}
