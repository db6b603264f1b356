// web-seat-map: bench/web-seat-map.ts in a child process (the web app's seat map in chromium); it
// checks itself, and its table comes after the report's own.
import type { ChildScenarioSection } from '../report.ts';
import type { WebSeatMapRun } from '../web-seat-map.ts';

export type WebSeatMapSection = ChildScenarioSection & { run: WebSeatMapRun | null };

export const webSeatMapAnomalies = (name: string, section: WebSeatMapSection): string[] =>
  section.ok ? [] : [`${name}: failed: ${section.error ?? 'no result'}`];

export const webSeatMapAppendix = (name: string, section: WebSeatMapSection): string =>
  section.run ? `\n## Web app seat map (${name}, chromium)\n\n${section.run.table}\n` : '';
