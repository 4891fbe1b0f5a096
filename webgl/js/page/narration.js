// The narration panel: the story so far, a cursor while it streams, who told it once ended.

import { h, setText } from './dom.js';
import { t } from './i18n.js';

export function narrationPanel() {
  const kind = h('span', { class: 'kind' });
  const source = h('span', { class: 'source', testid: 'narration-source' });
  const text = h('span', { testid: 'narration' });
  const cursor = h('span', { class: 'cursor', 'aria-hidden': 'true' });
  const body = h('p', { class: 'narration-text' }, text, cursor);
  const root = h(
    'section',
    { class: 'card narration', testid: 'narration-panel' },
    h('header', {}, h('span', { class: 'title', text: t('narrator') }), kind, source),
    body,
  );
  let last;
  return {
    root,
    update(narration) {
      if (narration === last) return;
      last = narration;
      const streaming = Boolean(narration && !narration.source);
      setText(text, narration ? narration.text || '' : '');
      cursor.hidden = !streaming;
      root.classList.toggle('streaming', streaming);
      root.setAttribute('aria-busy', String(streaming));
      root.dataset.kind = narration && narration.kind ? narration.kind : '';
      root.dataset.state = !narration ? 'none' : streaming ? 'streaming' : 'ended';
      setText(kind, narration && narration.kind ? t(`kinds.${narration.kind}`) : '');
      source.hidden = !(narration && narration.source);
      setText(source, narration && narration.source ? t(`sources.${narration.source}`) : '');
      source.dataset.source = narration && narration.source ? narration.source : '';
      body.scrollTop = body.scrollHeight;
    },
  };
}
