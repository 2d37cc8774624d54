/** A lead's qualification checklist, as the lead page edits it. */

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
    // The boxes are named in the framework shown: a switch is sent with them, so the API reads them in it.
    ...(now.framework !== loaded.framework && { framework: now.framework }),
    ...(boxes.length > 0 && { boxes: Object.fromEntries(boxes.map((box) => [box, now.boxes[box] === true])) }),
    ...(notes.length > 0 && { notes: Object.fromEntries(notes.map((box) => [box, now.notes[box] ?? ''])) }),
    ...(owner !== loaded.owner.trim() && { owner }),
  };
}
