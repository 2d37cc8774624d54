import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** Keys that change a closed select's value where they are pressed: arrows, Home, End, pages, and typing an option's name. */
const movesTheChoice = (event: KeyboardEvent) =>
  !event.altKey && !event.ctrlKey && !event.metaKey && (/^(Arrow(Up|Down|Left|Right)|Home|End|Page(Up|Down))$/.test(event.key) || (event.key.length === 1 && event.key !== ' '));

/**
 * A select whose choice takes the page elsewhere (another site, period, filter). Chromium on Linux and Windows changes
 * a closed select at each arrow key and fires `change`: taken at once, one arrow on the Site picker left a lead's page
 * and the notes typed on it. A choice made with those keys is taken on Enter or when the select loses focus; one
 * picked with the mouse or from the open list (opened by Alt+Down, F4 or Space) at once.
 */
export function NavigatingSelect({ value, onPick, children }: { value: string; onPick(value: string): void; children: ComponentChildren }) {
  const [held, setHeld] = useState<string>();
  const byKey = useRef(false);
  const select = useRef<HTMLSelectElement>(null);
  // A new value from the page (the choice taken, back and forward) drops the one held.
  useEffect(() => setHeld(undefined), [value]);
  const take = (choice: string) => {
    setHeld(undefined);
    if (choice !== value) onPick(choice);
    // A choice the page did not take (the user stayed on a page with changes not saved) is not drawn again: the select
    // shows the value in force. One taken draws the page, and the select with its new value.
    if (select.current) select.current.value = value;
  };
  return (
    <select
      ref={select}
      value={held ?? value}
      onMouseDown={() => (byKey.current = false)}
      onKeyDown={(event) => {
        byKey.current = movesTheChoice(event);
        if (event.key === 'Enter' && held !== undefined) {
          event.preventDefault();
          take(held);
        }
      }}
      onChange={(event) => {
        const choice = (event.target as HTMLSelectElement).value;
        const keyed = byKey.current;
        byKey.current = false;
        if (keyed) setHeld(choice);
        else take(choice);
      }}
      onBlur={() => held !== undefined && take(held)}
    >
      {children}
    </select>
  );
}
