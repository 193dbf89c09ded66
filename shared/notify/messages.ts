import type { Fingerprint } from '../db/violations.js';

/** The words and Block Kit blocks of every message shadowgate sends. Pure. */
export interface Message {
  subject: string;
  text: string;
  blocks: unknown[];
}

function blocks(title: string, fields: Array<[string, string]>, next: string, dashboardUrl?: string): unknown[] {
  const b: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    { type: 'section', fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })) },
    { type: 'section', text: { type: 'mrkdwn', text: `Next: \`${next}\`` } },
  ];
  if (dashboardUrl) b.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${dashboardUrl}|Dashboard>` }] });
  return b;
}

/** The fields of a fingerprint a message shows. */
export type FingerprintInfo = Pick<Fingerprint, 'project_id' | 'table_name' | 'operation' | 'row_project_id' | 'denied_reason' | 'occurrences' | 'first_seen'> & { id: number };

const violationLine = (f: FingerprintInfo) =>
  `${f.project_id}: would-be denied ${f.operation} on ${f.table_name} (${f.denied_reason}), owner ${f.row_project_id ?? 'NULL'}: ${f.occurrences} row access(es) so far, fingerprint #${f.id}`;

/**
 * A digest names at most this many fingerprints (those with the most row accesses) and counts the
 * rest: ~25,000 characters at most whatever the flood (Slack takes 40,000).
 */
export const DIGEST_TOP = 100;

/** What an announcement batch holds for one project. */
export interface DigestTotal {
  project_id: string;
  fingerprints: number;
  occurrences: number;
}

/**
 * Unreviewed violation fingerprints announced together: one message per producer batch, whatever
 * the flood, bounded in size: the totals per project, the `top` fingerprints (DIGEST_TOP at most,
 * with their running counts) and a pointer to `shadowgate violations` for the rest.
 */
export function violationDigest(top: readonly FingerprintInfo[], totals: readonly DigestTotal[], investigationHours: number, dashboardUrl?: string): Message {
  const count = totals.reduce((n, t) => n + t.fingerprints, 0);
  const rows = totals.reduce((n, t) => n + t.occurrences, 0);
  const projects = totals.map((t) => t.project_id);
  const shown = projects.slice(0, 10).join(', ') + (projects.length > 10 ? ` and ${projects.length - 10} more projects` : '');
  const subject = count === 1 && top[0]
    ? `[shadowgate] ${violationLine(top[0]).split(':').slice(0, 2).join(':')}`
    : `[shadowgate] ${count} violation fingerprints in ${shown}`;
  const next = `shadowgate violations${projects.length === 1 ? ` --project ${projects[0]}` : ''}`;
  const lines = top.slice(0, DIGEST_TOP).map(violationLine);
  if (count > lines.length) {
    lines.push(`... and ${count - lines.length} more: ${count} fingerprints, ${rows} row accesses in all (${totals.slice(0, 10).map((t) => `${t.project_id} ${t.fingerprints}`).join(', ')})`);
  }
  const text = `${lines.join('\n')}\nInvestigate within ${investigationHours} hours. Next: ${next}`;
  const b: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: (count === 1 ? `Would-be denial in ${projects[0]}` : `${count} would-be denials`).slice(0, 150) } },
    ...top.slice(0, 10).map((f) => ({ type: 'section', fields: [
      { type: 'mrkdwn', text: `*${f.project_id}* #${f.id}\n${f.table_name} ${f.operation}` },
      { type: 'mrkdwn', text: `*owner* ${f.row_project_id ?? 'NULL'}, ${f.denied_reason}\n${f.occurrences} row access(es)` },
    ] })),
    ...(count > 10 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${count - Math.min(10, top.length)} more` }] }] : []),
    { type: 'section', text: { type: 'mrkdwn', text: `Next: \`${next}\`` } },
  ];
  if (dashboardUrl) b.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${dashboardUrl}|Dashboard>` }] });
  return { subject, text, blocks: b };
}

export function escalationMessage(f: FingerprintInfo, dueAt: Date, reminder: number, lead: string, investigationHours: number, dashboardUrl?: string): Message {
  const subject = `[shadowgate] ${reminder === 0 ? 'ESCALATION' : `REMINDER ${reminder}`}: fingerprint #${f.id} in ${f.project_id} not root-caused within ${investigationHours} hours`;
  const next = `shadowgate review --fingerprint ${f.id} --resolution code-fix|acl-change|false-positive --ref URL`;
  const text = `${lead}: ${subject}. ${f.operation} on ${f.table_name}, owner ${f.row_project_id ?? 'NULL'}, ${f.denied_reason}, ${f.occurrences} row accesses; due ${dueAt.toISOString()}. Next: ${next}`;
  return { subject, text, blocks: blocks(`Investigation overdue: ${f.project_id} #${f.id}`, [
    ['Lead', lead], ['Due', dueAt.toISOString()], ['Table / operation', `${f.table_name} ${f.operation}`], ['Reason', f.denied_reason],
    ['Row accesses', String(f.occurrences)],
  ], next, dashboardUrl) };
}

/** Fingerprints named one per line in an escalation digest; the rest are counted. */
export const ESCALATION_TOP = 20;

/**
 * Investigations of one project that came due together (a flood's timers are due at the same
 * time): one message to the lead, naming the ones with the most row accesses and counting the rest.
 */
export function escalationDigest(projectId: string, fps: readonly FingerprintInfo[], lead: string, investigationHours: number, dashboardUrl?: string): Message {
  const top = [...fps].sort((a, b) => b.occurrences - a.occurrences || a.id - b.id).slice(0, ESCALATION_TOP);
  const subject = `[shadowgate] ESCALATION: ${fps.length} fingerprints in ${projectId} not root-caused within ${investigationHours} hours`;
  const next = `shadowgate violations --project ${projectId}`;
  const lines = top.map((f) => `#${f.id} ${f.operation} on ${f.table_name}, owner ${f.row_project_id ?? 'NULL'}, ${f.denied_reason}, ${f.occurrences} row accesses`);
  if (fps.length > top.length) lines.push(`... and ${fps.length - top.length} more`);
  const text = `${lead}: ${subject}.\n${lines.join('\n')}\nNext: ${next}`;
  return { subject, text, blocks: blocks(`Investigations overdue: ${fps.length} in ${projectId}`, [
    ['Lead', lead], ['Fingerprints', String(fps.length)], ['Most row accesses', lines.slice(0, 5).join('\n')],
  ], next, dashboardUrl) };
}

export function lingeringMessage(projectId: string, days: number, transactions: number, deadline: Date, alert: number, dashboardUrl?: string): Message {
  const subject = `[shadowgate] ${projectId} lingers in shadow: ${days} days, 0 violations, past its enforcing deadline`;
  const next = `shadowgate migrate --project ${projectId} --phase enforcing`;
  const text = `${subject} (deadline ${deadline.toISOString()}, ${transactions} transactions${alert ? `, reminder ${alert}` : ''}). Move to enforcing now. Next: ${next}`;
  return { subject, text, blocks: blocks(`${projectId} must move to enforcing`, [
    ['Days in shadow', String(days)], ['Transactions', String(transactions)], ['Deadline', deadline.toISOString()],
  ], next, dashboardUrl) };
}

export function eligibilityMessage(projectId: string, eligible: boolean, reasons: string[], dashboardUrl?: string): Message {
  const subject = `[shadowgate] ${projectId} is ${eligible ? 'ELIGIBLE for enforcing' : 'no longer eligible for enforcing'}`;
  const next = eligible ? `shadowgate migrate --project ${projectId} --phase enforcing` : `shadowgate report --project ${projectId}`;
  const text = `${subject}${reasons.length ? `: ${reasons.join('; ')}` : ''}. Next: ${next}`;
  return { subject, text, blocks: blocks(subject.replace('[shadowgate] ', ''), [['Project', projectId], ['Status', eligible ? 'ELIGIBLE' : reasons.join('\n') || 'NOT ELIGIBLE']], next, dashboardUrl) };
}
