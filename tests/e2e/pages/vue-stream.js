// The browser test's page: a Vue 3 app that reads one analysis session with VueUse
// `useEventSource` and `autoReconnect`, the way sluice's users write it, and shows the
// text. It applies whatever arrives without de-duplicating, so a lost or repeated event
// shows in the text; window.__sse records every message and status for the test.
/* global Vue, VueUse */
'use strict';

const { createApp, ref, watch } = Vue;
const { useEventSource } = VueUse;

const session = new URLSearchParams(location.search).get('session');
const streamPath = `/api/analysis/${encodeURIComponent(session)}/stream`;
const record = (window.__sse = { received: [], statuses: [], done: false, failed: false });

// When VueUse's autoReconnect replaces a closed EventSource, the new one cannot send
// Last-Event-ID, so the URL carries the position reached. A plain variable read by a
// getter: VueUse reads the URL on each (re)connect, and nothing reactive changes it.
let position = 0;
const streamUrl = () => (position ? `${streamPath}?position=${position}` : streamPath);

createApp({
  setup() {
    const text = ref('');
    const done = ref(false);
    const count = ref(0);
    const opens = ref(0);
    const { data, status, lastEventId, close } = useEventSource(streamUrl, [], {
      autoReconnect: {
        retries: 5,
        delay: 300,
        onFailed() { record.failed = true; },
      },
    });

    watch(status, (s) => {
      record.statuses.push(s);
      if (s === 'OPEN') opens.value += 1;
    }, { flush: 'sync', immediate: true });

    watch(data, (raw) => {
      if (raw === null) return;
      const id = Number(lastEventId.value);
      record.received.push({ id, data: raw });
      count.value += 1;
      position = id;
      const msg = JSON.parse(raw);
      if (msg.type === 'chunk') text.value += msg.text;
      if (msg.type === 'done' || msg.type === 'error') {
        close();
        done.value = true;
        record.done = true;
      }
    });

    return { session, text, done, count, opens, status, lastEventId };
  },
  template: `
    <h1>VueUse useEventSource through sluice</h1>
    <p>session <b>{{ session }}</b> &middot; status <b id="status">{{ status }}</b>
      &middot; events <b id="count">{{ count }}</b> &middot; last id <b>{{ lastEventId }}</b>
      &middot; reconnects <b id="reconnects">{{ Math.max(opens - 1, 0) }}</b></p>
    <pre id="text">{{ text }}</pre>
    <p v-if="done" id="done" class="done">done</p>`,
}).mount('#app');
