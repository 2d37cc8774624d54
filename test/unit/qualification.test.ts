// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../collector/config/load.ts';
import { applyQualificationChange, emptyQualification, judgeQualification, qualificationPolicySchema, replayQualificationChange } from '../../scoring/qualification.ts';

describe('qualification policy and checklist', () => {
  it('names a required box that is not in the framework, with its path in the config file', () => {
    const config = { sites: [{ id: 'acme', origins: ['https://acme.test'], qualification: { framework: 'champ', required: ['budget'] } }] };
    expect(() => parseConfig(config, 'hearth.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(config, 'hearth.config.json')).toThrow(
      'hearth.config.json: sites[0].qualification.required[0]: "budget" is not a CHAMP box; its boxes are challenges, authority, money, prioritization',
    );
  });

  it('keeps the boxes two frameworks share when switching, and needs an owner to make a prospect', () => {
    const policy = qualificationPolicySchema.parse({});
    let state = applyQualificationChange(emptyQualification(policy), { boxes: { budget: true, authority: true, need: true, timing: true } });
    expect(judgeQualification(state, policy)).toMatchObject({ prospect: false, missing: [] });
    state = applyQualificationChange(state, { owner: 'sam' });
    expect(judgeQualification(state, policy).prospect).toBe(true);
    state = applyQualificationChange(state, { framework: 'champ' });
    expect(state.boxes).toEqual({ authority: true });
    expect(judgeQualification(state, policy)).toMatchObject({ prospect: false, missing: ['challenges', 'money', 'prioritization'] });
  });

  it('clears the reason when a disqualified lead is requalified', () => {
    const policy = qualificationPolicySchema.parse({ framework: 'bant', required: ['need'] });
    const out = applyQualificationChange(emptyQualification(policy), { disqualified: true, reason: 'student' });
    const back = applyQualificationChange(out, { disqualified: false, boxes: { need: true }, owner: 'kim' });
    expect(back).toMatchObject({ disqualified: false, reason: '' });
    expect(judgeQualification(back, policy).prospect).toBe(true);
  });

  it('replays a stored change onto a state whose framework another collector switched meanwhile, dropping the boxes it lacks', () => {
    const policy = qualificationPolicySchema.parse({});
    const switched = applyQualificationChange(emptyQualification(policy), { framework: 'champ', boxes: { authority: true } });
    // Made for BANT: "budget" is no CHAMP box, "authority" is one.
    const replayed = replayQualificationChange(switched, { boxes: { budget: true, authority: false }, owner: 'sam' });
    expect(replayed).toMatchObject({ framework: 'champ', boxes: { authority: false }, owner: 'sam' });
    expect(() => applyQualificationChange(switched, { boxes: { budget: true } })).toThrow('not CHAMP boxes: budget');
  });
});
