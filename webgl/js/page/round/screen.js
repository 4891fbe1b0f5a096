// The round screen: the header over two columns, the story and the bowl being picked.
// Everything comes from the table as it is now, so a table first seen mid-round (a `sync`
// after the game started) shows the same as one followed from its lobby.

import { client, ui } from '../context.js';
import { h } from '../dom.js';
import { roundHead } from './head.js';
import { pickColumn } from './picker.js';
import { storyColumn } from './story.js';

export function roundScreen() {
  const head = roundHead();
  const story = storyColumn();
  const pick = pickColumn(ui.catalog);
  const root = h('div', { class: 'round' }, head.root, h('div', { class: 'round-grid' }, story.root, pick.root));
  return {
    root,
    tick() {
      if (client.state) head.tick(client.state);
    },
    update() {
      const state = client.state;
      if (!state) return;
      pick.update(state);
      head.update(state);
      story.update(state);
      root.classList.toggle('is-tasting', state.phase !== 'picking');
    },
  };
}
