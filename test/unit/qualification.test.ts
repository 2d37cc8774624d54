// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../collector/config/load.ts';
import {
  applyQualificationChange,
  FRAMEWORKS,
  emptyQualification,
  judgeQualification,
  qualificationChangeSchema,
  qualificationPolicySchema,
  QualificationError,
  replayQualificationChange,
} from '../../scoring/qualification.ts';

describe('qualification policy and checklist', () => {
  it('names a required box that is not in the framework, with its path in the config file', () => {
    const config = { sites: [{ id: 'acme', origins: ['https://acme.test'], qualification: { framework: 'champ', required: ['budget'] } }] };
    expect(() => parseConfig(config, 'hearth.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(config, 'hearth.config.json')).toThrow(
      'hearth.config.json: sites[0].qualification.required[0]: "budget" is not a CHAMP box; its boxes are challenges, authority, money, prioritization',
    );
  });

  it('refuses a required list with no box, which would make any lead with an owner a prospect, or with a box twice', () => {
    const problems = (required: string[]) => {
      try {
        parseConfig({ sites: [{ id: 'acme', origins: ['https://acme.test'], qualification: { framework: 'champ', required } }] }, 'hearth.config.json');
        return [];
      } catch (error) {
        return (error as ConfigError).message.split('\n').map((line) => line.trim());
      }
    };
    expect(problems([])).toContain("hearth.config.json: sites[0].qualification.required: list at least one box, or leave required out to require all of the framework's");
    expect(problems(['money', 'money'])).toContain('hearth.config.json: sites[0].qualification.required[1]: "money" is listed twice');
    expect(problems(['money', 'authority'])).toEqual([]);
  });

  it('carries the boxes two frameworks share when switching, loses none on a switch back, and needs an owner to make a prospect', () => {
    const policy = qualificationPolicySchema.parse({});
    let state = applyQualificationChange(emptyQualification(policy), { boxes: { budget: true, authority: true, need: true, timing: true }, notes: { budget: '200k approved' } });
    expect(judgeQualification(state, policy)).toMatchObject({ prospect: false, missing: [] });
    state = applyQualificationChange(state, { owner: 'sam' });
    expect(judgeQualification(state, policy).prospect).toBe(true);
    // The site moves to CHAMP: the lead's checklist switches with its next change, authority carried over.
    state = applyQualificationChange(state, { framework: 'champ' });
    const champ = qualificationPolicySchema.parse({ framework: 'champ' });
    expect(judgeQualification(state, champ)).toMatchObject({ boxes: { authority: true }, notes: {}, prospect: false, missing: ['challenges', 'money', 'prioritization'] });
    // And back: the BANT boxes and notes are all there.
    state = applyQualificationChange(state, { framework: 'bant' });
    expect(judgeQualification(state, policy)).toMatchObject({ boxes: { budget: true, authority: true, need: true, timing: true }, notes: { budget: '200k approved' }, prospect: true });
  });

  it("judges a checklist under the site's framework, whichever it was kept under: the config says which boxes make a prospect", () => {
    const bant = qualificationPolicySchema.parse({});
    const state = applyQualificationChange(emptyQualification(bant), { boxes: { budget: true, authority: true, need: true, timing: true }, owner: 'sam' });
    expect(judgeQualification(state, bant)).toMatchObject({ framework: 'bant', prospect: true, missing: [] });
    // Four BANT boxes make no prospect of a MEDDICC site: they are kept aside, its seven boxes are missing.
    const meddicc = qualificationPolicySchema.parse({ framework: 'meddicc' });
    expect(judgeQualification(state, meddicc)).toMatchObject({ framework: 'meddicc', boxes: {}, keptAside: { boxes: { budget: true } }, prospect: false, missing: [...FRAMEWORKS.meddicc] });
    // The boxes two frameworks share count in the site's: authority is CHAMP's too.
    const champ = qualificationPolicySchema.parse({ framework: 'champ', required: ['authority'] });
    expect(judgeQualification(state, champ)).toMatchObject({ framework: 'champ', boxes: { authority: true }, prospect: true, missing: [] });
  });

  it('clears the reason when a disqualified lead is requalified', () => {
    const policy = qualificationPolicySchema.parse({ framework: 'bant', required: ['need'] });
    const out = applyQualificationChange(emptyQualification(policy), { disqualified: true, reason: 'student' });
    const back = applyQualificationChange(out, { disqualified: false, boxes: { need: true }, owner: 'kim' });
    expect(back).toMatchObject({ disqualified: false, reason: '' });
    expect(judgeQualification(back, policy).prospect).toBe(true);
  });

  it('refuses a reason for a lead that is not disqualified, and drops it when replaying one requalified meanwhile', () => {
    const policy = qualificationPolicySchema.parse({});
    const open = emptyQualification(policy);
    expect(() => applyQualificationChange(open, { reason: 'not disqualified but reason' })).toThrow('a reason says why a lead is disqualified: send "disqualified": true with it');
    expect(() => applyQualificationChange(open, { disqualified: false, reason: 'x' })).toThrow(QualificationError);
    // An empty reason, as a form sends one, is no reason; a disqualified lead's reason may change.
    expect(applyQualificationChange(open, { reason: ' ', owner: 'sam' })).toMatchObject({ disqualified: false, owner: 'sam' });
    const out = applyQualificationChange(open, { disqualified: true, reason: 'student' });
    expect(applyQualificationChange(out, { reason: 'student, no budget' })).toMatchObject({ disqualified: true, reason: 'student, no budget' });
    // Another collector requalified the lead before this reason's change was stored: replayed, it is dropped.
    const requalified = applyQualificationChange(out, { disqualified: false });
    expect(replayQualificationChange(requalified, { reason: 'student, no budget' })).toMatchObject({ disqualified: false, reason: '' });
  });

  it('refuses to disqualify a lead without a reason, or to take its reason away, but replays a disqualification stored without one', () => {
    const policy = qualificationPolicySchema.parse({});
    const open = emptyQualification(policy);
    const needsReason = 'a disqualified lead needs a reason: send "reason" with "disqualified": true, e.g. "no budget this year"';
    expect(() => applyQualificationChange(open, { disqualified: true })).toThrow(needsReason);
    expect(() => applyQualificationChange(open, { disqualified: true, reason: '  ' })).toThrow(needsReason);
    const out = applyQualificationChange(open, { disqualified: true, reason: 'student' });
    expect(() => applyQualificationChange(out, { reason: '' })).toThrow(needsReason);
    // Stored before reasons were required: replayed as it was, and the lead's other changes still apply.
    const reasonless = replayQualificationChange(open, { disqualified: true });
    expect(reasonless).toMatchObject({ disqualified: true, reason: '' });
    expect(applyQualificationChange(reasonless, { owner: 'sam' })).toMatchObject({ disqualified: true, reason: '', owner: 'sam' });
    expect(applyQualificationChange(reasonless, { reason: 'no budget' })).toMatchObject({ disqualified: true, reason: 'no budget' });
  });

  it('replays a stored change onto a state whose framework another collector switched meanwhile, dropping the boxes it lacks', () => {
    const policy = qualificationPolicySchema.parse({});
    const switched = applyQualificationChange(emptyQualification(policy), { framework: 'champ', boxes: { authority: true } });
    // Made for BANT: "budget" is no CHAMP box, "authority" is one.
    const replayed = replayQualificationChange(switched, { boxes: { budget: true, authority: false }, owner: 'sam' });
    expect(replayed).toMatchObject({ framework: 'champ', boxes: { authority: false }, owner: 'sam' });
    expect(() => applyQualificationChange(switched, { boxes: { budget: true } })).toThrow('not CHAMP boxes: budget');
  });

  it('refuses a note on something that is not a box of the framework, rather than losing it at the next change', () => {
    const policy = qualificationPolicySchema.parse({});
    expect(() => applyQualificationChange(emptyQualification(policy), { notes: { general: 'called twice, keen' } })).toThrow(
      'notes on what is not a BANT box: general; its boxes are budget, authority, need, timing',
    );
    const noted = applyQualificationChange(emptyQualification(policy), { notes: { budget: '40k for Q3' } });
    expect(applyQualificationChange(noted, { owner: 'sam' }).notes).toEqual({ budget: '40k for Q3' });
    const parsed = qualificationChangeSchema.safeParse({ framework: 'champ', notes: { budget: 'x' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['notes.budget', 'not a CHAMP box; its boxes are challenges, authority, money, prioritization']]);
    // A row stored before notes were checked replays without its stray note, as it always read back.
    expect(replayQualificationChange(noted, { notes: { general: 'x' }, owner: 'kim' })).toMatchObject({ notes: { budget: '40k for Q3' }, owner: 'kim' });
  });

  it('names every problem of a change at once: boxes, notes and reason, and the schema\'s beside a value of the wrong kind', () => {
    const policy = qualificationPolicySchema.parse({});
    const open = emptyQualification(policy);
    const refused = (change: Parameters<typeof applyQualificationChange>[1]) => {
      try {
        applyQualificationChange(open, change);
      } catch (error) {
        return error as QualificationError;
      }
      throw new Error('not refused');
    };
    const all = refused({ boxes: { money: true, budget: true }, notes: { champion: 'x' }, reason: 'no budget' });
    expect(all.problems.map((problem) => problem.path)).toEqual(['boxes.money', 'notes.champion', 'reason']);
    expect(all.message).toBe(
      'not BANT boxes: money; notes on what is not a BANT box: champion; its boxes are budget, authority, need, timing; a reason says why a lead is disqualified: send "disqualified": true with it',
    );
    expect(refused({ disqualified: true, notes: { general: 'x' } }).problems.map((problem) => problem.path)).toEqual(['notes.general', 'reason']);
    // The schema reads the boxes of the framework named beside another field's wrong kind, not a round later.
    const parsed = qualificationChangeSchema.safeParse({ framework: 'bant', boxes: { money: true }, owner: 42, notes: 'x' });
    expect(parsed.error!.issues.map((issue) => issue.path.join('.'))).toEqual(['notes', 'owner', 'boxes.money']);
  });

  it('takes an owner made of blanks or invisible characters as no owner: every box ticked does not make a prospect without someone', () => {
    const policy = qualificationPolicySchema.parse({});
    const ticked = { boxes: { budget: true, authority: true, need: true, timing: true } };
    // Invisible characters too (a zero-width space, a direction mark, a byte-order mark pasted from a chat).
    for (const owner of [' ', '\t\n', '\u00a0', '\u200b', ' \u200e\ufeff ']) {
      const change = qualificationChangeSchema.parse({ ...ticked, owner });
      expect(judgeQualification(applyQualificationChange(emptyQualification(policy), change), policy), JSON.stringify(owner)).toMatchObject({ owner: '', prospect: false });
    }
    expect(qualificationChangeSchema.parse({ owner: '  sam@vendor.test ' }).owner).toBe('sam@vendor.test');
    expect(qualificationChangeSchema.parse({ owner: '\u200bsam\u200b' }).owner).toBe('sam');
    // Inside a name, a zero-width non-joiner is how some names are written: kept.
    expect(qualificationChangeSchema.parse({ owner: 'می\u200cخواهم' }).owner).toBe('می\u200cخواهم');
    // Rows stored before owners were trimmed, or before invisible characters were: no one's, in the lists too.
    for (const owner of [' ', '\u200b']) {
      const stored = { ...applyQualificationChange(emptyQualification(policy), ticked), owner };
      expect(judgeQualification(stored, policy)).toMatchObject({ owner: '', prospect: false });
    }
  });
});
