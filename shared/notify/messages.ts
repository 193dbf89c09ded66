import type { Fingerprint } from '../db/violations.js';
import { formatLocal, type Calendar } from '../domain/business-days.js';
import { ownerLabel } from '../domain/owner.js';
import { HOUR } from '../clock.js';

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
  `${f.project_id}: would-be denied ${f.operation} on ${f.table_name} (${f.denied_reason}), owner ${ownerLabel(f.row_project_id)}: ${f.occurrences} row access(es) so far, fingerprint #${f.id}`;

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
      { type: 'mrkdwn', text: `*owner* ${ownerLabel(f.row_project_id)}, ${f.denied_reason}\n${f.occurrences} row access(es)` },
    ] })),
    ...(count > 10 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${count - Math.min(10, top.length)} more` }] }] : []),
    { type: 'section', text: { type: 'mrkdwn', text: `Next: \`${next}\`` } },
  ];
  if (dashboardUrl) b.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${dashboardUrl}|Dashboard>` }] });
  return { subject, text, blocks: b };
}

/**
 * A Slack mention that pings: a member id (U…/W…) becomes <@U…>, a user-group id (S…)
 * <!subteam^S…>; anything else (a @handle, an email) is shown as it is: incoming webhooks cannot
 * resolve names.
 */
export function mention(lead: string): string {
  if (/^[UW][A-Z0-9]{2,}$/.test(lead)) return `<@${lead}>`;
  if (/^S[A-Z0-9]{2,}$/.test(lead)) return `<!subteam^${lead}>`;
  return lead;
}

const hoursText = (h: number) => (h % 24 === 0 && h >= 48 ? `${h} hours (${h / 24} days)` : `${h} hours`);

/**
 * An investigation past its deadline (`hours` after the fingerprint's first unreviewed
 * occurrence): the escalation (reminder 0), then the reminders, each naming the missed deadline.
 */
export function escalationMessage(f: FingerprintInfo & { open_since: Date | null }, hours: number, reminder: number, lead: string, now: Date, dashboardUrl?: string): Message {
  const deadline = new Date((f.open_since ?? f.first_seen).getTime() + hours * HOUR);
  const late = Math.max(0, Math.floor((now.getTime() - deadline.getTime()) / HOUR));
  const subject = `[shadowgate] ${reminder === 0 ? 'ESCALATION' : `REMINDER ${reminder}`}: fingerprint #${f.id} in ${f.project_id} not root-caused within ${hoursText(hours)}`;
  const next = `shadowgate review --fingerprint ${f.id} --resolution code-fix|acl-change|false-positive --ref URL`;
  const missed = `deadline ${deadline.toISOString()} missed${late ? ` by ${late} h` : ''}`;
  const text = `${mention(lead)}: ${subject}. ${f.operation} on ${f.table_name}, owner ${ownerLabel(f.row_project_id)}, ${f.denied_reason}, ${f.occurrences} row accesses; ${missed}. Next: ${next}`;
  return { subject, text, blocks: blocks(`Investigation overdue: ${f.project_id} #${f.id}`, [
    ['Lead', mention(lead)], ['Deadline (missed)', `${deadline.toISOString()}${late ? ` (${late} h ago)` : ''}`], ['Table / operation', `${f.table_name} ${f.operation}`],
    ['Reason', f.denied_reason], ['Row accesses', String(f.occurrences)],
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
  const lines = top.map((f) => `#${f.id} ${f.operation} on ${f.table_name}, owner ${ownerLabel(f.row_project_id)}, ${f.denied_reason}, ${f.occurrences} row accesses`);
  if (fps.length > top.length) lines.push(`... and ${fps.length - top.length} more`);
  const text = `${mention(lead)}: ${subject}.\n${lines.join('\n')}\nNext: ${next}`;
  return { subject, text, blocks: blocks(`Investigations overdue: ${fps.length} in ${projectId}`, [
    ['Lead', mention(lead)], ['Fingerprints', String(fps.length)], ['Most row accesses', lines.slice(0, 5).join('\n')],
  ], next, dashboardUrl) };
}

export interface LingeringNews {
  projectId: string;
  days: number;
  transactions: number;
  /** when it started lingering (past the maximum with every criterion met) */
  since: Date;
  deadline: Date;
  /** business days since `since`: 0 the alert, then reminders, from `withinBusinessDays` on overdue */
  day: number;
  withinBusinessDays: number;
  maxShadowDays: number;
  calendar: Calendar;
  lead: string;
  dashboardUrl?: string;
}

/** The 14-day rule: the alert with the deadline, the daily reminders, the sharper alert past the deadline. */
export function lingeringMessage(n: LingeringNews): Message {
  const deadline = formatLocal(n.deadline, n.calendar);
  const late = n.day - n.withinBusinessDays;
  const subject = late >= 0
    ? `[shadowgate] OVERDUE: ${n.projectId} missed its enforcing deadline ${deadline}${late > 0 ? ` (${late} business day${late === 1 ? '' : 's'} ago)` : ''}`
    : n.day === 0
      ? `[shadowgate] ${n.projectId} must move to enforcing by ${deadline}`
      : `[shadowgate] REMINDER ${n.day}: ${n.projectId} must move to enforcing by ${deadline} (${-late} business day${late === -1 ? '' : 's'} left)`;
  const next = `shadowgate migrate --project ${n.projectId} --phase enforcing`;
  const rule = `past ${n.maxShadowDays} days in shadow with every exit criterion met (${n.days} days, ${n.transactions} transactions, 0 violations) since ${formatLocal(n.since, n.calendar)}: enforcing within ${n.withinBusinessDays} business days (weekends and holidays skipped, times in ${n.calendar.timeZone})`;
  const text = `${n.lead}: ${subject}. ${n.projectId} is ${rule}. Next: ${next}`;
  return { subject, text, blocks: blocks(late >= 0 ? `OVERDUE: ${n.projectId} must move to enforcing now` : `${n.projectId} must move to enforcing`, [
    ['Deadline', deadline], ['Days in shadow', String(n.days)], ['Transactions', String(n.transactions)], ['Lead', n.lead],
  ], next, n.dashboardUrl) };
}

/** A phase change that overrode the exit criteria or the rollout order. */
export function forcedMoveMessage(projectId: string, from: string, to: string, actor: string, reason: string, at: Date, unmet: string[], dashboardUrl?: string): Message {
  const subject = `[shadowgate] FORCED: ${projectId} moved ${from} -> ${to} by ${actor}`;
  const next = `shadowgate decisions`;
  const text = `${subject} on ${at.toISOString()}. Reason: ${reason}.${unmet.length ? ` Criteria not met: ${unmet.join('; ')}.` : ''} Next: ${next}`;
  return { subject, text, blocks: blocks(`Forced: ${projectId} ${from} -> ${to}`, [
    ['Actor', actor], ['Reason', reason], ['At', at.toISOString()], ['Criteria not met', unmet.join('\n') || '-'],
  ], next, dashboardUrl) };
}

export function eligibilityMessage(projectId: string, eligible: boolean, reasons: string[], dashboardUrl?: string): Message {
  const subject = `[shadowgate] ${projectId} is ${eligible ? 'ELIGIBLE for enforcing' : 'no longer eligible for enforcing'}`;
  const next = eligible ? `shadowgate migrate --project ${projectId} --phase enforcing` : `shadowgate report --project ${projectId}`;
  const text = `${subject}${reasons.length ? `: ${reasons.join('; ')}` : ''}. Next: ${next}`;
  return { subject, text, blocks: blocks(subject.replace('[shadowgate] ', ''), [['Project', projectId], ['Status', eligible ? 'ELIGIBLE' : reasons.join('\n') || 'NOT ELIGIBLE']], next, dashboardUrl) };
}

const esc = (t: string) => t.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** Slack mrkdwn as HTML: *bold*, `code`, <url|label>, <@U…> and <!subteam^S…> as their ids. */
const mrkdwn = (t: string) => esc(t)
  .replace(/&lt;(https?:\/\/[^|&]+)\|([^&]+)&gt;/g, '<a href="$1">$2</a>')
  .replace(/&lt;@([A-Z0-9]+)&gt;/g, '@$1').replace(/&lt;!subteam\^([A-Z0-9]+)&gt;/g, '@$1')
  .replace(/\*([^*\n]+)\*/g, '<b>$1</b>').replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\n/g, '<br>');

/** Where an email links to: the dashboard and its copy of the runbook (both from DASHBOARD_URL). */
export function links(dashboardUrl?: string): Array<[string, string]> {
  if (!dashboardUrl) return [];
  return [['Dashboard', dashboardUrl], ['Runbook', new URL('runbook', dashboardUrl).toString()]];
}

/**
 * The email of a message: its text with the links below it, and an HTML part made of the same
 * blocks (title, the numbers and the deadline, the next command, the links).
 */
export function emailParts(m: Message, dashboardUrl?: string): { text: string; html: string } {
  const l = links(dashboardUrl);
  const runbookNote = 'Runbook: docs/runbooks/shadow-monitoring.md in the shadowgate package';
  const text = `${m.text.replace(/<@([A-Z0-9]+)>/g, '@$1').replace(/<!subteam\^([A-Z0-9]+)>/g, '@$1')}\n\n${l.length ? l.map(([k, v]) => `${k}: ${v}`).join('\n') : runbookNote}\n`;
  const parts: string[] = [];
  for (const b of m.blocks as Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ text: string }> }>) {
    if (b.type === 'header' && b.text) parts.push(`<h2 style="margin:0 0 12px">${esc(b.text.text)}</h2>`);
    else if (b.type === 'section' && b.fields) {
      parts.push(`<table cellpadding="4" style="border-collapse:collapse">${b.fields.map((f) => {
        const [k, ...v] = f.text.split('\n');
        return `<tr><td style="color:#555;vertical-align:top">${mrkdwn(k!)}</td><td>${mrkdwn(v.join('\n'))}</td></tr>`;
      }).join('')}</table>`);
    } else if (b.type === 'section' && b.text) parts.push(`<p>${mrkdwn(b.text.text)}</p>`);
    else if (b.type === 'context' && b.elements && !b.elements.some((e) => e.text.startsWith('<http'))) {
      parts.push(`<p style="color:#555">${b.elements.map((e) => mrkdwn(e.text)).join(' ')}</p>`);
    }
  }
  parts.push(`<p>${l.length ? l.map(([k, v]) => `<a href="${esc(v)}">${k}</a>`).join(' · ') : esc(runbookNote)}</p>`);
  return { text, html: `<!doctype html><html><body style="font-family:system-ui,sans-serif">${parts.join('\n')}</body></html>` };
}
