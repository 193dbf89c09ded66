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

/** Up to this many fingerprints are listed in a digest's text (Slack takes 40,000 characters). */
export const DIGEST_MAX_LINES = 500;

/**
 * Unreviewed violation fingerprints announced together: one message per batch, whatever the flood.
 * Each line carries the running count.
 */
export function violationDigest(fps: readonly FingerprintInfo[], dashboardUrl?: string): Message {
  const projects = [...new Set(fps.map((f) => f.project_id))];
  const subject = fps.length === 1
    ? `[shadowgate] ${violationLine(fps[0]).split(':').slice(0, 2).join(':')}`
    : `[shadowgate] ${fps.length} violation fingerprints in ${projects.join(', ')}`;
  const next = `shadowgate violations${projects.length === 1 ? ` --project ${projects[0]}` : ''}`;
  const lines = fps.slice(0, DIGEST_MAX_LINES).map(violationLine);
  if (fps.length > DIGEST_MAX_LINES) lines.push(`... and ${fps.length - DIGEST_MAX_LINES} more`);
  const text = `${lines.join('\n')}\nInvestigate within 48 hours. Next: ${next}`;
  const b: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: (fps.length === 1 ? `Would-be denial in ${projects[0]}` : `${fps.length} would-be denials`).slice(0, 150) } },
    ...fps.slice(0, 10).map((f) => ({ type: 'section', fields: [
      { type: 'mrkdwn', text: `*${f.project_id}* #${f.id}\n${f.table_name} ${f.operation}` },
      { type: 'mrkdwn', text: `*owner* ${f.row_project_id ?? 'NULL'}, ${f.denied_reason}\n${f.occurrences} row access(es)` },
    ] })),
    ...(fps.length > 10 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${fps.length - 10} more` }] }] : []),
    { type: 'section', text: { type: 'mrkdwn', text: `Next: \`${next}\`` } },
  ];
  if (dashboardUrl) b.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${dashboardUrl}|Dashboard>` }] });
  return { subject, text, blocks: b };
}

export function escalationMessage(f: FingerprintInfo, dueAt: Date, reminder: number, lead: string, dashboardUrl?: string): Message {
  const subject = `[shadowgate] ${reminder === 0 ? 'ESCALATION' : `REMINDER ${reminder}`}: fingerprint #${f.id} in ${f.project_id} not root-caused within 48 hours`;
  const next = `shadowgate review --fingerprint ${f.id} --resolution code-fix|acl-change|false-positive --ref URL`;
  const text = `${lead}: ${subject}. ${f.operation} on ${f.table_name}, owner ${f.row_project_id ?? 'NULL'}, ${f.denied_reason}, ${f.occurrences} row accesses; due ${dueAt.toISOString()}. Next: ${next}`;
  return { subject, text, blocks: blocks(`Investigation overdue: ${f.project_id} #${f.id}`, [
    ['Lead', lead], ['Due', dueAt.toISOString()], ['Table / operation', `${f.table_name} ${f.operation}`], ['Reason', f.denied_reason],
    ['Row accesses', String(f.occurrences)],
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
