import { describe, expect, it } from 'vitest';
import { checklistChange, describeKeptAside, describeQualificationChange, type ChecklistFields, type SentQualificationState } from '../../../dashboards/src/checklist.ts';
import { humanize } from '../../../scoring/labels.ts';

const BANT = ['budget', 'authority', 'need', 'timing'];
const CHAMP = ['challenges', 'authority', 'money', 'prioritization'];
const loaded: ChecklistFields = { framework: 'bant', boxes: { budget: true, authority: true }, notes: { budget: '20k set aside' }, owner: 'sam' };

describe('what the lead page sends when a checklist is saved', () => {
  it('sends only the boxes, notes and owner changed since the page loaded, so a colleague\'s change saved meanwhile stands', () => {
    const now = { ...loaded, boxes: { ...loaded.boxes, need: true }, notes: { ...loaded.notes, need: 'replacing spreadsheets' } };
    expect(checklistChange(loaded, now, BANT)).toEqual({ boxes: { need: true }, notes: { need: 'replacing spreadsheets' } });
  });

  it('sends an unticked box, a cleared note and an owner taken off', () => {
    const now = { ...loaded, boxes: { ...loaded.boxes, budget: false }, notes: { budget: '' }, owner: '' };
    expect(checklistChange(loaded, now, BANT)).toEqual({ boxes: { budget: false }, notes: { budget: '' }, owner: '' });
  });

  it('sends nothing for what was changed and changed back, or for blanks around the owner', () => {
    const now = { ...loaded, boxes: { ...loaded.boxes, need: false }, notes: { ...loaded.notes, need: '' }, owner: ' sam ' };
    expect(checklistChange(loaded, now, BANT)).toEqual({});
  });

  it('sends a switch of framework with the boxes ticked in the new one, the one they share left as it was', () => {
    const now = { ...loaded, framework: 'champ', boxes: { ...loaded.boxes, money: true } };
    expect(checklistChange(loaded, now, CHAMP)).toEqual({ framework: 'champ', boxes: { money: true } });
  });
});

describe('what the lead page says each change in the qualification history did', () => {
  // As the API sends them: no owner is `null`.
  const empty: SentQualificationState = { framework: 'bant', boxes: {}, notes: {}, owner: null, disqualified: false, reason: '' };
  const said = (before: SentQualificationState | undefined, after: Partial<SentQualificationState>) => describeQualificationChange(before, { ...(before ?? empty), ...after }, humanize);

  it('names the boxes ticked and unticked, the notes written and cleared, and the owner', () => {
    expect(said(undefined, { boxes: { budget: true, need: true }, notes: { budget: '20k set aside' }, owner: 'sam' })).toEqual([
      'ticked Budget and Need',
      'noted on Budget: “20k set aside”',
      'assigned to sam',
    ]);
    const before = { ...empty, boxes: { budget: true, need: true }, notes: { budget: '20k set aside', need: 'spreadsheets' }, owner: 'sam' };
    expect(said(before, { boxes: { budget: false, need: true, timing: true }, notes: { budget: '', need: 'spreadsheets' }, owner: 'lee' })).toEqual([
      'ticked Timing',
      'unticked Budget',
      'cleared the note on Budget',
      'assigned to lee',
    ]);
    expect(said(before, { owner: null })).toEqual(['owner removed (was sam)']);
  });

  it('says a switch of framework, and not that the boxes it keeps aside were unticked', () => {
    const bant = { ...empty, boxes: { budget: true, authority: true } };
    expect(said(bant, { framework: 'meddicc', boxes: { ...bant.boxes, economic_buyer: true } })).toEqual(['now under MEDDICC', 'ticked Economic buyer']);
    // A history written before boxes were kept aside: the switch dropped them.
    expect(said(bant, { framework: 'champ', boxes: { authority: true } })).toEqual(['now under CHAMP']);
  });

  it('says a disqualification with its reason, a new reason, and a requalification', () => {
    const out = said(empty, { disqualified: true, reason: 'no budget this year' });
    expect(out).toEqual(['disqualified: no budget this year']);
    const disqualified = { ...empty, disqualified: true, reason: 'no budget this year' };
    expect(said(disqualified, { reason: 'went with a competitor' })).toEqual(['disqualified: went with a competitor']);
    expect(said(disqualified, { disqualified: false, reason: '' })).toEqual(['requalified']);
    expect(said(empty, { disqualified: true })).toEqual(['disqualified']);
  });

  it('says nothing of a change that changed nothing', () => {
    expect(said(empty, {})).toEqual([]);
  });
});

describe('what the lead page shows of a checklist kept from the site\'s earlier framework', () => {
  it('names its ticked boxes and its notes, and leaves out a box unticked without a note', () => {
    const kept = { boxes: { budget: true, need: true, metrics: false, timing: false }, notes: { budget: ' 50k approved ', timing: 'Q3', need: '  ' } };
    expect(describeKeptAside(kept, humanize)).toEqual(['Budget (ticked): “50k approved”', 'Need (ticked)', 'Timing: “Q3”']);
    expect(describeKeptAside({ boxes: {}, notes: {} }, humanize)).toEqual([]);
    expect(describeKeptAside(undefined, humanize)).toEqual([]);
  });
});
