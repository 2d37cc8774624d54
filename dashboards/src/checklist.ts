/** A lead's qualification checklist, as the lead page edits it. */

import type { QualificationState } from '../../scoring/qualification.ts';
import { formatList } from './format.ts';

/** A qualification's state as the API sends it: `owner` is `null` for none. */
export type SentQualificationState = Omit<QualificationState, 'owner'> & { owner: string | null };

/** The checklist's fields as the form holds them. */
export interface ChecklistFields {
  framework: string;
  boxes: Record<string, boolean>;
  notes: Record<string, string>;
  owner: string;
}

/**
 * What the user changed in the checklist since the form was filled from the server: only that is sent. The API merges
 * a change onto the lead's current state, so what someone else saved meanwhile (a box, a note, the owner) is kept;
 * sending every field would put back the values this page loaded with. `shown` are the boxes the form shows.
 */
export function checklistChange(loaded: ChecklistFields, now: ChecklistFields, shown: readonly string[]): Record<string, unknown> {
  const boxes = shown.filter((box) => (now.boxes[box] === true) !== (loaded.boxes[box] === true));
  const notes = shown.filter((box) => (now.notes[box] ?? '') !== (loaded.notes[box] ?? ''));
  const owner = now.owner.trim();
  return {
    // The boxes are named in the framework shown, which the API takes only when it is the site's.
    ...(now.framework !== loaded.framework && { framework: now.framework }),
    ...(boxes.length > 0 && { boxes: Object.fromEntries(boxes.map((box) => [box, now.boxes[box] === true])) }),
    ...(notes.length > 0 && { notes: Object.fromEntries(notes.map((box) => [box, now.notes[box] ?? ''])) }),
    ...(owner !== loaded.owner.trim() && { owner }),
  };
}

/**
 * What a change did, in the words of the checklist, from the state before it (none for the first): "now under
 * MEDDICC", "ticked Budget and Need", "unticked Authority", "noted on Budget: “20k set aside”", "cleared the note
 * on Need", "assigned to sam", "owner removed (was sam)", "disqualified: no budget", "requalified". A box kept aside by a
 * change of framework is not said to be unticked: it is kept. `label` names a box.
 */
export function describeQualificationChange(before: SentQualificationState | undefined, after: SentQualificationState, label: (box: string) => string): string[] {
  const was: SentQualificationState = before ?? { framework: after.framework, boxes: {}, notes: {}, owner: null, disqualified: false, reason: '' };
  const said: string[] = [];
  const list = (boxes: string[]) => formatList(boxes.map(label));
  // The config changes a site's framework (sales no longer pick one): the line says where the checklist is now, not who moved it.
  if (after.framework !== was.framework) said.push(`now under ${after.framework.toUpperCase()}`);
  const boxes = [...new Set([...Object.keys(was.boxes), ...Object.keys(after.boxes)])];
  const ticked = boxes.filter((box) => after.boxes[box] === true && was.boxes[box] !== true);
  const unticked = boxes.filter((box) => after.boxes[box] === false && was.boxes[box] === true);
  if (ticked.length > 0) said.push(`ticked ${list(ticked)}`);
  if (unticked.length > 0) said.push(`unticked ${list(unticked)}`);
  for (const box of new Set([...Object.keys(was.notes), ...Object.keys(after.notes)])) {
    const [old, now] = [was.notes[box] ?? '', after.notes[box] ?? ''];
    if (now === old) continue;
    said.push(now === '' ? `cleared the note on ${label(box)}` : `noted on ${label(box)}: “${now}”`);
  }
  if ((after.owner ?? '') !== (was.owner ?? '')) said.push(after.owner ? `assigned to ${after.owner}` : `owner removed (was ${was.owner})`);
  if (after.disqualified && (!was.disqualified || after.reason !== was.reason)) said.push(after.reason ? `disqualified: ${after.reason}` : 'disqualified');
  if (!after.disqualified && was.disqualified) said.push('requalified');
  return said;
}

/**
 * What a checklist kept from a framework the site had before holds (its boxes ticked, its notes), in the words of the
 * checklist: "Budget (ticked): “50k approved”", "Need (ticked)", "Timing: “Q3”". Shown beside the site's checklist,
 * which has no box of theirs: sales wrote them, and they still say something about the lead.
 */
export function describeKeptAside(kept: { boxes: Record<string, boolean>; notes: Record<string, string> } | undefined, label: (box: string) => string): string[] {
  if (!kept) return [];
  const boxes = [...new Set([...Object.keys(kept.boxes).filter((box) => kept.boxes[box] === true), ...Object.keys(kept.notes).filter((box) => kept.notes[box]?.trim())])];
  return boxes.map((box) => `${label(box)}${kept.boxes[box] === true ? ' (ticked)' : ''}${kept.notes[box]?.trim() ? `: “${kept.notes[box]!.trim()}”` : ''}`);
}
