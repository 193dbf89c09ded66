// The dashboard's HTML from its state: the server renders the first paint with it, and the page
// imports the same module (served as /render.js) to redraw on every pushed update. Pure, and
// without imports, so that it runs unchanged in the browser.
import type { DashboardState } from './state.js';

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Every time on the page: UTC, said so (the server and every reader see the same moment). */
export const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

const span = (ms: number) => {
  const h = Math.floor(ms / 3_600_000);
  return h >= 24 ? `${Math.floor(h / 24)}d ${h % 24}h` : `${h}h ${Math.floor((ms % 3_600_000) / 60_000)}m`;
};
const OVERDUE = (ms: number) => `<span class="bad overdue">OVERDUE</span> by ${span(-ms)}`;

const bar = (v: number, max: number) => {
  const f = max > 0 ? Math.min(1, v / max) : 1;
  return `<span class="bar ${f >= 1 ? 'done' : ''}"><i style="width:${(f * 100).toFixed(0)}%"></i></span>`;
};

export function renderProjects(s: DashboardState): string {
  const now = Date.parse(s.generated_at);
  return s.projects.map((p) => {
    const shadow = p.phase === 'shadow';
    const reviewed = p.fingerprints - p.unreviewed;
    const deadline = p.enforce_deadline
      ? `<br><span class="deadline ${Date.parse(p.enforce_deadline) <= now ? 'bad' : 'warn'}">enforce by ${when(p.enforce_deadline)}`
        + `${Date.parse(p.enforce_deadline) <= now ? ` · ${OVERDUE(Date.parse(p.enforce_deadline) - now)}` : ''}</span>`
      : '';
    return `<tr data-project="${esc(p.project_id)}">
      <td><b>${esc(p.project_id)}</b></td><td>${esc(p.access_level)}</td>
      <td><span class="phase ${esc(p.phase)}">${esc(p.phase)}</span></td>
      <td>${shadow ? `${bar(p.days_in_shadow, p.min_shadow_days)} ${p.days_in_shadow}/${p.min_shadow_days} d` : '–'}</td>
      <td>${shadow ? `${bar(p.transactions, p.min_transactions)} ${p.transactions}/${p.min_transactions}` : '–'}${p.unobserved ? `<br><span class="warn unobserved">${p.unobserved} unobserved (no recorder)</span>` : ''}</td>
      <td class="violations ${p.unresolved > 0 ? 'bad' : ''}">${p.violations}${p.unresolved !== p.violations ? ` (${p.unresolved} unresolved)` : ''}</td>
      <td>${p.fingerprints ? `${bar(reviewed, p.fingerprints)} ${reviewed}/${p.fingerprints}` : '–'}</td>
      <td class="status">${shadow ? (p.eligible ? '<span class="ok">ELIGIBLE</span>' : esc(p.recommendation ?? '')) : ''}${deadline}${p.coverage?.missing.length ? `<br><span class="bad coverage-missing">coverage missing: ${esc(p.coverage.missing.join(', '))}</span>` : ''}</td>
    </tr>`;
  }).join('');
}

/** Per project in shadow, every protected table: transactions per operation in the shadow window. */
export function renderCoverage(s: DashboardState): string {
  const rows = s.projects.flatMap((p) => (p.coverage?.tables ?? []).map((t) => `<tr data-coverage="${esc(p.project_id)}:${esc(t.table)}">
      <td>${esc(p.project_id)}</td><td>${esc(t.table)}${t.touched ? '' : ' <span class="muted">never touched</span>'}</td>
      ${t.cells.map((c) => `<td class="${c === 'MISSING' ? 'bad' : c === '–' ? 'muted' : ''}">${esc(c)}</td>`).join('')}</tr>`));
  return rows.length ? rows.join('') : '<tr><td colspan="6" class="muted">no project in shadow</td></tr>';
}

export function renderTimers(s: DashboardState): string {
  if (!s.timers.length) return '<tr><td colspan="6" class="muted">none</td></tr>';
  return s.timers.map((t) => `<tr data-timer="${esc(t.kind)}:${esc(t.project_id)}">
      <td>${t.kind === 'investigation' ? 'investigation' : 'enforcing deadline'}</td><td>${esc(t.project_id)}</td><td>${esc(t.about)}</td>
      <td class="deadline">${when(t.deadline)}</td>
      <td class="left">${t.overdue ? OVERDUE(t.ms_left) : `${span(t.ms_left)} left`}</td>
      <td class="muted">${when(t.next_alert)}${t.fired ? ` (${t.fired} sent)` : ''}</td></tr>`).join('');
}

/** Would-be denials per day, 30 days to the state's date, with room for every label. */
export function renderChart(s: DashboardState): string {
  const perDay: Record<string, number> = {};
  for (const d of s.daily) perDay[d.day] = (perDay[d.day] ?? 0) + d.occurrences;
  const end = Date.parse(s.generated_at);
  const days = Array.from({ length: 30 }, (_, i) => new Date(end - (29 - i) * 86_400_000).toISOString().slice(0, 10));
  const max = Math.max(1, ...days.map((d) => perDay[d] ?? 0));
  const left = 48;
  const bars = days.map((d, i) => {
    const v = perDay[d] ?? 0;
    const h = (v / max) * 120;
    const x = left + i * 28;
    return `<rect x="${x}" y="${(130 - h).toFixed(1)}" width="22" height="${h.toFixed(1)}"><title>${d}: ${v}</title></rect>`
      + (i % 5 === 0 || i === 29 ? `<text x="${x + 11}" y="148" text-anchor="middle">${d.slice(5)}</text>` : '');
  }).join('');
  const axis = `<text x="${left - 6}" y="14" text-anchor="end">${max}</text><text x="${left - 6}" y="130" text-anchor="end">0</text>`
    + `<line x1="${left - 2}" y1="130" x2="${left + 30 * 28}" y2="130" stroke="#999"/>`;
  return `${axis}${bars}`;
}

export const renderUpdated = (s: DashboardState) => `updated ${when(s.generated_at)}`;

/** The inner HTML of each live element of the page, by id. */
export function renderAll(s: DashboardState): Record<string, string> {
  return { updated: esc(renderUpdated(s)), doctor: esc(s.doctor_warning ?? ''), deliveries: esc(s.delivery_warning ?? ''), quarantine: esc(s.quarantine_warning ?? ''), 'projects-body': renderProjects(s), 'coverage-body': renderCoverage(s), 'timers-body': renderTimers(s), chart: renderChart(s) };
}
