// The narration panel: the story so far at reading pace (./pace.js), a cursor while it is being
// told, "…" while the narrator stalls, who told it once it is all shown.

import { h, setText } from './dom.js';
import { t } from './i18n.js';
import { pacer, watchPace } from './pace.js';

export function narrationPanel() {
  const kind = h('span', { class: 'kind' });
  const source = h('span', { class: 'source', testid: 'narration-source' });
  const text = h('span', { testid: 'narration' });
  const cursor = h('span', { class: 'cursor', 'aria-hidden': 'true' });
  const stall = h('span', { class: 'stall', testid: 'narration-stall', text: t('narrationStalled') });
  const body = h('p', { class: 'narration-text' }, text, cursor, stall);
  const root = h(
    'section',
    { class: 'card narration', testid: 'narration-panel' },
    h('header', {}, h('span', { class: 'title', text: t('narrator') }), kind, source),
    body,
  );

  function draw() {
    const told = pacer.nid !== null;
    const streaming = told && !pacer.complete;
    setText(text, pacer.shown);
    cursor.hidden = !streaming || pacer.stalled;
    stall.hidden = !pacer.stalled;
    root.classList.toggle('streaming', streaming);
    root.classList.toggle('stalled', pacer.stalled);
    root.setAttribute('aria-busy', String(streaming));
    root.dataset.kind = pacer.kind || '';
    root.dataset.state = !told ? 'none' : streaming ? 'streaming' : 'ended';
    setText(kind, pacer.kind ? t(`kinds.${pacer.kind}`) : '');
    source.hidden = !pacer.source;
    setText(source, pacer.source ? t(`sources.${pacer.source}`) : '');
    source.dataset.source = pacer.source || '';
    body.scrollTop = body.scrollHeight;
  }

  const panel = { root, draw };
  watchPace(panel);
  return {
    root,
    /** The table's narration is followed by the pacer; the panel shows what the pacer shows. */
    update() {
      draw();
    },
  };
}
