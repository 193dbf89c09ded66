import { describe, expect, it } from 'vitest';
import { emailParts, escalationMessage, mention } from '../shared/notify/messages.js';

const HOUR = 3_600_000;
const fp = (openSince: Date) => ({
  id: 7, project_id: 'echo', table_name: 'public.memories', operation: 'UPDATE', row_project_id: 'sm',
  denied_reason: 'write_other', occurrences: 51, first_seen: openSince, open_since: openSince,
});

describe('Slack mentions', () => {
  it('ping a member id or a user-group id; show anything else as it is', () => {
    expect(mention('U024BE7LH')).toBe('<@U024BE7LH>');
    expect(mention('W0123ABC')).toBe('<@W0123ABC>');
    expect(mention('S0614TZR7')).toBe('<!subteam^S0614TZR7>');
    expect(mention('@sm-lead')).toBe('@sm-lead');
    expect(mention('sm@corp.example')).toBe('sm@corp.example');
    expect(mention('Ursula')).toBe('Ursula');
  });
});

describe('escalation', () => {
  const open = new Date('2026-11-02T09:00:00Z');
  it('pings the lead and names the missed deadline, not the time of the reminder', () => {
    const now = new Date(open.getTime() + 72 * HOUR + 5 * 60_000); // the second reminder, 24 h after the deadline
    const m = escalationMessage(fp(open), 48, 2, 'U024BE7LH', now, 'https://sg.example/');
    expect(m.subject).toBe('[shadowgate] REMINDER 2: fingerprint #7 in echo not root-caused within 48 hours (2 days)');
    expect(m.text).toMatch(/^<@U024BE7LH>: /);
    expect(m.text).toContain('deadline 2026-11-04T09:00:00.000Z missed by 24 h');
    expect(JSON.stringify(m.blocks)).toContain('<@U024BE7LH>');
  });

  it('takes the configured hours', () => {
    const m = escalationMessage(fp(open), 12, 0, '@lead', new Date(open.getTime() + 12 * HOUR), undefined);
    expect(m.subject).toContain('within 12 hours');
    expect(m.text).toContain('deadline 2026-11-02T21:00:00.000Z missed.');
  });
});

describe('email', () => {
  const open = new Date('2026-11-02T09:00:00Z');
  const m = escalationMessage(fp(open), 48, 0, 'U024BE7LH', new Date(open.getTime() + 49 * HOUR), 'https://sg.example/dash/');

  it('has a text part with the numbers, the deadline and the links', () => {
    const { text } = emailParts(m, 'https://sg.example/dash/');
    expect(text).toContain('51 row accesses');
    expect(text).toContain('2026-11-04T09:00:00.000Z');
    expect(text).toContain('@U024BE7LH'); // Slack markup is not shown to mail readers
    expect(text).not.toContain('<@');
    expect(text).toContain('Dashboard: https://sg.example/dash/');
    expect(text).toContain('Runbook: https://sg.example/dash/runbook');
  });

  it('has an HTML part with the same facts, escaped, and the links', () => {
    const { html } = emailParts(m, 'https://sg.example/dash/');
    expect(html).toContain('<h2');
    expect(html).toContain('Investigation overdue: echo #7');
    expect(html).toContain('51');
    expect(html).toContain('2026-11-04T09:00:00.000Z');
    expect(html).toContain('<a href="https://sg.example/dash/">Dashboard</a>');
    expect(html).toContain('<a href="https://sg.example/dash/runbook">Runbook</a>');
    expect(html).toContain('<code>shadowgate review --fingerprint 7');
    expect(html).not.toMatch(/<@|<script/);
  });

  it('without DASHBOARD_URL names where the runbook is', () => {
    expect(emailParts(m).text).toContain('docs/runbooks/shadow-monitoring.md');
  });
});
