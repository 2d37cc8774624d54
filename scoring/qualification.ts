import { z } from 'zod';
import { formatPath } from './checks.ts';

/**
 * Sales qualification: the checklists that turn a lead into a prospect. Sales tick the boxes of the framework
 * the company uses; a lead is a prospect once the boxes the company requires are ticked and an owner is assigned.
 */
export const FRAMEWORKS = {
  /** Budget, Authority, Need, Timing. */
  bant: ['budget', 'authority', 'need', 'timing'],
  /** Challenges, Authority, Money, Prioritization. */
  champ: ['challenges', 'authority', 'money', 'prioritization'],
  /** Metrics, Economic buyer, Decision criteria, Decision process, Identify pain, Champion, Competition. */
  meddicc: ['metrics', 'economic_buyer', 'decision_criteria', 'decision_process', 'identify_pain', 'champion', 'competition'],
} as const;

export type Framework = keyof typeof FRAMEWORKS;
const frameworkNames = Object.keys(FRAMEWORKS) as [Framework, ...Framework[]];

/** The config's `qualification` section of a site: which framework, and which of its boxes make a prospect. */
export const qualificationPolicySchema = z
  .object({
    framework: z.enum(frameworkNames, { message: `expected one of ${frameworkNames.join(', ')}` }).default('bant'),
    /** The boxes that must be ticked; all of the framework's by default. */
    required: z
      .array(z.string())
      // None would make any lead with an owner a prospect.
      .min(1, { message: "list at least one box, or leave required out to require all of the framework's" })
      .optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const boxes: readonly string[] = FRAMEWORKS[policy.framework];
    policy.required?.forEach((box, i) => {
      if (!boxes.includes(box)) ctx.addIssue({ code: 'custom', path: ['required', i], message: `"${box}" is not a ${policy.framework.toUpperCase()} box; its boxes are ${boxes.join(', ')}` });
      else if (policy.required!.indexOf(box) < i) ctx.addIssue({ code: 'custom', path: ['required', i], message: `"${box}" is listed twice` });
    });
  })
  // The same for editors (`hearth schema`): each framework's own boxes, each once (no framework is BANT's).
  .meta({
    allOf: [
      { properties: { required: { type: 'array', uniqueItems: true } } },
      ...frameworkNames.map((framework) => ({
        if: { properties: { framework: { const: framework } }, ...(framework === 'bant' ? {} : { required: ['framework'] }) },
        then: { properties: { required: { type: 'array', items: { type: 'string', enum: [...FRAMEWORKS[framework]] } } } },
      })),
    ],
  });

export type QualificationPolicy = z.infer<typeof qualificationPolicySchema>;

/**
 * An owner as people mean it: without the blanks, control and invisible characters around it (a zero-width space or a
 * direction mark pasted from a chat), which made a prospect of "\u200b", owned by no one to see; those alone are no
 * one. Inside a name they are kept (a zero-width non-joiner is part of how some names are written).
 */
export const ownerName = (owner: string) => owner.replace(/^[\s\p{Cc}\p{Cf}]+|[\s\p{Cc}\p{Cf}]+$/gu, '');

/** What sales send to change a lead's qualification; every field is optional and merges onto the current state. */
export const qualificationChangeSchema = z
  .object({
    framework: z.enum(frameworkNames, { message: `expected one of ${frameworkNames.join(', ')}` }).optional(),
    /** Ticked (true) or unticked (false) boxes, by name. */
    boxes: z.record(z.string(), z.boolean()).optional(),
    /** A note per box: what sales learned ("budget approved for Q3"). */
    notes: z.record(z.string(), z.string().max(2000, { message: 'at most 2,000 characters' })).optional(),
    /** The salesperson who owns the lead; an empty string or null (as reads give an unassigned lead's) unassigns it.
     * Blanks are no one: trimmed (ownerName), " " unassigns. */
    owner: z.preprocess((owner) => (owner === null ? '' : typeof owner === 'string' ? ownerName(owner) : owner), z.string().max(200)).optional(),
    /** A lead may fall back: no budget, wrong fit. */
    disqualified: z.boolean().optional(),
    /** Why it was disqualified. */
    reason: z.string().max(2000).optional(),
  })
  .strict()
  .superRefine(
    (change, ctx) => {
      if (!isRecord(change) || !isFramework(change.framework)) return;
      for (const field of ['boxes', 'notes'] as const) {
        for (const { box, message } of notItsBoxes(change.framework, field, change)) ctx.addIssue({ code: 'custom', path: [field, box], message });
      }
    },
    // Beside the other fields' problems (an owner sent as a number), not a round later: it reads the framework, and
    // the keys of the boxes and notes only where they are objects.
    { when: (payload) => !payload.issues.some((issue) => issue.path?.[0] === 'framework') },
  );

/** A change as sent, before or without the schema: any field may hold anything. */
type SentChange = Partial<Record<keyof QualificationChange, unknown>>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFramework = (value: unknown): value is Framework => typeof value === 'string' && Object.hasOwn(FRAMEWORKS, value);

/**
 * The boxes or notes a change gives that name no box of `framework`, each with its path and what is wrong: for the
 * schema, when the change names its framework, and for checking it against the lead's state (qualificationProblems).
 * Read from the change as sent: a field that is not an object names no box (the schema says what it should be).
 */
function notItsBoxes(framework: Framework, field: 'boxes' | 'notes', change: SentChange) {
  const known: readonly string[] = FRAMEWORKS[framework];
  const message = `not a ${framework.toUpperCase()} box; its boxes are ${known.join(', ')}`;
  const given = change[field];
  return Object.keys(isRecord(given) ? given : {})
    .filter((box) => !known.includes(box))
    .map((box) => ({ box, path: formatPath([field, box]), message }));
}

export type QualificationChange = z.infer<typeof qualificationChangeSchema>;

export interface QualificationState {
  framework: Framework;
  boxes: Record<string, boolean>;
  notes: Record<string, string>;
  owner: string;
  disqualified: boolean;
  reason: string;
}

export interface QualificationVerdict extends QualificationState {
  /** The boxes and notes of frameworks switched away from, kept for a switch back (boxes and notes are the framework's own). */
  keptAside: { boxes: Record<string, boolean>; notes: Record<string, string> };
  /** Required boxes not ticked yet. */
  missing: string[];
  /** Required boxes ticked and an owner assigned, and not disqualified. */
  prospect: boolean;
}

export function emptyQualification(policy: QualificationPolicy): QualificationState {
  return { framework: policy.framework, boxes: {}, notes: {}, owner: '', disqualified: false, reason: '' };
}

/** A change's reason for a lead it leaves (or makes) not disqualified: it would be stored as if it were, shown nowhere. */
const strayReason = (current: QualificationState, change: SentChange) =>
  typeof change.reason === 'string' && change.reason.trim() !== '' && !(typeof change.disqualified === 'boolean' ? change.disqualified : current.disqualified);

/**
 * Every problem of a change against the lead's current state, in one error, or undefined for none: its boxes and notes
 * of no box of the framework (the one it names, else the state's), a reason for a lead it leaves qualified, and a
 * disqualification it leaves without a reason (unless the lead already was, disqualified before reasons were required,
 * or `replaying` a stored change). It reads the change as sent, so that a 400 names these beside the schema's problems
 * in one answer, whatever else the body gets wrong; a value of the wrong kind is the schema's to name.
 */
export function qualificationProblems(current: QualificationState, change: SentChange, replaying = false): QualificationError | undefined {
  const framework = isFramework(change.framework) ? change.framework : current.framework;
  const said: string[] = [];
  const problems: { path: string; message: string }[] = [];
  const unknown = notItsBoxes(framework, 'boxes', change);
  if (unknown.length) said.push(`not ${framework.toUpperCase()} boxes: ${unknown.map(({ box }) => box).join(', ')}`);
  // Notes are kept per box, and only the framework's boxes' notes carry over to the next change: a stray one would
  // be accepted here and gone at the next change, so it is refused.
  const stray = notItsBoxes(framework, 'notes', change);
  if (stray.length) said.push(`notes on what is not a ${framework.toUpperCase()} box: ${stray.map(({ box }) => box).join(', ')}`);
  if (said.length) said.push(`its boxes are ${FRAMEWORKS[framework].join(', ')}`);
  for (const { path, message } of [...unknown, ...stray]) problems.push({ path, message });
  const reason = (message: string) => {
    said.push(message);
    problems.push({ path: 'reason', message });
  };
  // A reason says why a lead is disqualified: on a lead that is not (or is requalified by the same change) it would be
  // stored as if it were, and shown nowhere.
  if (strayReason(current, change)) reason('a reason says why a lead is disqualified: send "disqualified": true with it');
  // The state the change makes, as applyQualificationChange merges it, as far as disqualification goes.
  const disqualified = typeof change.disqualified === 'boolean' ? change.disqualified : current.disqualified;
  const reasonGiven = change.disqualified === false ? '' : typeof change.reason === 'string' ? change.reason : current.reason;
  const reasonless = disqualified && !reasonGiven.trim() && !(current.disqualified && !current.reason.trim());
  if (!replaying && reasonless) reason('a disqualified lead needs a reason: send "reason" with "disqualified": true, e.g. "no budget this year"');
  return problems.length ? new QualificationError(said.join('; '), problems) : undefined;
}

/**
 * Applies a change to the current state. Boxes of another framework are checked here, against the state's framework,
 * with the other problems qualificationProblems finds, all refused in one QualificationError. A lead is disqualified
 * with a reason (sales and marketing read why; a won-back lead is judged by it): a change that leaves one without a
 * reason is refused, unless it already was (disqualified before reasons were required), and `replaying` a stored change
 * lets it through.
 */
export function applyQualificationChange(current: QualificationState, change: QualificationChange, replaying = false): QualificationState {
  const refused = qualificationProblems(current, change, replaying);
  if (refused) throw refused;
  return mergeQualificationChange(current, change);
}

/** The state a change makes of the current one, for a change qualificationProblems found nothing wrong with. */
export function mergeQualificationChange(current: QualificationState, change: QualificationChange): QualificationState {
  const framework = change.framework ?? current.framework;
  // Switching frameworks loses nothing: the boxes and notes the new framework lacks are kept, out of sight
  // (judgeQualification), for a switch back; those the two share (authority is in BANT and CHAMP) carry over.
  return {
    framework,
    boxes: { ...current.boxes, ...change.boxes } as Record<string, boolean>,
    notes: { ...current.notes, ...change.notes } as Record<string, string>,
    owner: change.owner ?? current.owner,
    disqualified: change.disqualified ?? current.disqualified,
    reason: change.disqualified === false ? '' : (change.reason ?? current.reason),
  };
}

/**
 * The fields of a checklist, as a conflict names them: `owner`, `disqualified` (the verdict and its reason),
 * `boxes.<box>` and `notes.<box>`.
 */
export type QualificationField = string;

/** The fields a change from `before` to `after` changed (a box unticked or never ticked alike, a note empty or none alike). */
export function changedFields(before: QualificationState, after: QualificationState): QualificationField[] {
  const keyed = <T>(kind: 'boxes' | 'notes', value: (v: T | undefined) => unknown) => {
    const [was, now] = [before[kind] as Record<string, T>, after[kind] as Record<string, T>];
    return [...new Set([...Object.keys(was), ...Object.keys(now)])].filter((key) => value(was[key]) !== value(now[key])).map((key) => `${kind}.${key}`);
  };
  return [
    ...(before.owner !== after.owner ? ['owner'] : []),
    ...(before.disqualified !== after.disqualified || before.reason !== after.reason ? ['disqualified'] : []),
    ...keyed<boolean>('boxes', Boolean),
    ...keyed<string>('notes', (note) => note ?? ''),
  ];
}

/** The fields a change sets, as changedFields names them. */
export function fieldsOfChange(change: QualificationChange): QualificationField[] {
  return [
    ...(change.owner !== undefined ? ['owner'] : []),
    ...(change.disqualified !== undefined || change.reason !== undefined ? ['disqualified'] : []),
    ...Object.keys(change.boxes ?? {}).map((box) => `boxes.${box}`),
    ...Object.keys(change.notes ?? {}).map((box) => `notes.${box}`),
  ];
}

/**
 * Whether two states say the same: same framework, owner and verdict, and the same boxes ticked and notes written (a box
 * ticked false or never ticked is unticked; a note empty or never written is none).
 */
export function sameQualification(a: QualificationState, b: QualificationState): boolean {
  return a.framework === b.framework && changedFields(a, b).length === 0;
}

/**
 * A stored change applied again onto the state before it (lead-store folds a lead's history this way). As
 * applyQualificationChange, except that boxes the framework of that moment lacks are dropped, not refused: another
 * collector may have switched the framework between the state its writer saw and the one it now follows; so is the
 * reason of a lead requalified meanwhile. A disqualification stored without a reason (before reasons were required) stands.
 */
export function replayQualificationChange(current: QualificationState, change: QualificationChange): QualificationState {
  const known: readonly string[] = FRAMEWORKS[change.framework ?? current.framework];
  // Notes too: rows stored before stray notes were refused hold some, which the next change always dropped.
  const only = <T>(record: Record<string, T> | undefined) => record && Object.fromEntries(Object.entries(record).filter(([box]) => known.includes(box)));
  const boxes = only(change.boxes);
  const notes = only(change.notes);
  // A reason for a lead another collector requalified meanwhile (or stored before such reasons were refused) says
  // nothing: dropped, as applyQualificationChange would refuse it.
  const reason = strayReason(current, change) ? { reason: undefined } : {};
  return applyQualificationChange(current, { ...change, ...(boxes && { boxes }), ...(notes && { notes }), ...reason }, true);
}

/**
 * Where a lead stands under its site's policy: the config says which framework and which of its boxes make a prospect,
 * so a checklist kept under another framework (filled in before the site's changed) is read under the site's: the
 * boxes the two share carry over, the others are kept aside, as a switch keeps them.
 */
export function judgeQualification(state: QualificationState, policy: QualificationPolicy): QualificationVerdict {
  const framework = policy.framework;
  const required = policy.required ?? FRAMEWORKS[framework];
  const missing = required.filter((box) => !state.boxes[box]);
  // An owner of blanks (stored before owners were trimmed, or of invisible characters before ownerName) is no one,
  // in the lists' owner filters too.
  const owner = ownerName(state.owner);
  // The framework's own boxes and notes: the state keeps those of a framework switched away from.
  const known: readonly string[] = FRAMEWORKS[framework];
  const own = <T>(record: Record<string, T>, mine = true) => Object.fromEntries(Object.entries(record).filter(([box]) => known.includes(box) === mine));
  return {
    ...state,
    framework,
    boxes: own(state.boxes),
    notes: own(state.notes),
    keptAside: { boxes: own(state.boxes, false), notes: own(state.notes, false) },
    missing,
    owner,
    prospect: missing.length === 0 && owner !== '' && !state.disqualified,
  };
}

/** A change the lead's current state refuses, with the paths of the values at fault, as a 400's `problems` name them. */
export class QualificationError extends Error {
  override name = 'QualificationError';
  constructor(
    message: string,
    readonly problems: { path: string; message: string }[],
  ) {
    super(message);
  }
}
