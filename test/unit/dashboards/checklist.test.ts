import { describe, expect, it } from 'vitest';
import { checklistChange, type ChecklistFields } from '../../../dashboards/src/checklist.ts';

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
