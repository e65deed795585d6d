// The sluice demo page, plain JavaScript (no build step). "Start analysis" asks the demo
// app (through sluice's proxy route) for a session, then reads its events from sluice:
// by EventSource, which resumes by Last-Event-ID after a dropped connection, or by
// polling /poll?position=N when the stream is unavailable (it fails twice in a row, is
// refused, or sluice answers {"type":"pending"}). Each event is applied once by id.
'use strict';

(() => {
  const FAILURES_BEFORE_POLLING = 2; // connection attempts that fail before we poll
  const POLL_WAIT_S = 10;            // long-poll: sluice holds the request until an event
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

  let run = null; // the current session; callbacks of an older one check and stop

  function newRun() {
    return {
      id: null, es: null, transport: null, lastId: 0, events: 0, reconnects: 0,
      duplicates: 0, polls: 0, opened: false, failures: 0, resumeCheck: false,
      finished: false, abort: new AbortController(),
    };
  }

  function log(text, kind) {
    const li = document.createElement('li');
    li.textContent = `${new Date().toTimeString().slice(0, 8)}  ${text}`;
    if (kind) li.className = kind;
    const list = $('log');
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }

  function setStatus(state) {
    $('status').dataset.state = state;
    $('status').textContent = state;
  }

  function showStats(r) {
    $('session').textContent = r.id ?? '\u2013';
    const polls = `${r.polls} request${r.polls === 1 ? '' : 's'}`;
    $('transport').textContent = r.transport === 'poll' ? `polling (${polls})`
      : r.transport === 'sse' ? 'EventSource' : '\u2013';
    $('position').textContent = r.lastId;
    $('events').textContent = r.events;
    $('reconnects').textContent = r.reconnects;
    $('duplicates').textContent = r.duplicates;
  }

  function appendToken(text) {
    const out = $('output');
    out.querySelector('.fresh')?.classList.remove('fresh');
    const span = document.createElement('span');
    span.className = 'fresh';
    span.textContent = text;
    out.append(span);
  }

  const base = (r) => `/api/analysis/${encodeURIComponent(r.id)}`;

  function stopStream(r) {
    if (r.es) {
      r.es.close();
      r.es = null;
    }
  }

  function finish(r, state, message) {
    if (r.finished) return;
    r.finished = true;
    stopStream(r);
    r.abort.abort();
    setStatus(state);
    $('drop').disabled = true;
    $('output').querySelector('.fresh')?.classList.remove('fresh');
    if (state === 'done') {
      $('output').classList.add('done');
      log(`done: ${r.events} events, ${r.reconnects} reconnects, ${r.duplicates} duplicates`,
        'ok');
    } else {
      log(`error: ${message}`, 'bad');
    }
    showStats(r);
  }

  function logGap(gap) {
    log(`gap: events ${gap.from}\u2013${gap.to} are no longer in sluice's history`, 'bad');
  }

  // Applies one event (from the stream or a poll answer) exactly once, by its id.
  // Heartbeat and pending events carry no id (EventSource repeats the last one seen).
  function handle(r, id, data) {
    if (r !== run || r.finished) return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      msg = null;
    }
    if (msg?.type === 'heartbeat') return;
    if (msg?.type === 'pending') {
      startPolling(r, 'sluice answered {"type":"pending"}');
      return;
    }
    if (id) {
      if (id <= r.lastId) {
        r.duplicates += 1;
        showStats(r);
        return;
      }
      if (r.resumeCheck) {
        r.resumeCheck = false;
        if (id === r.lastId + 1) log(`resumed at id ${id}: nothing lost, nothing repeated`, 'ok');
      }
      r.lastId = id;
      r.events += 1;
    }
    if (msg === null) log(`ignored event ${id}: not JSON`, 'warn');
    else if (msg.type === 'chunk') appendToken(String(msg.text ?? ''));
    else if (msg.type === 'done') finish(r, 'done');
    else if (msg.type === 'error') finish(r, 'error', msg.message ?? 'the analysis failed');
    showStats(r);
  }

  function openStream(r, position) {
    const query = position === undefined ? '' : `?position=${position}`;
    const es = new EventSource(`${base(r)}/stream${query}`);
    r.es = es;
    r.opened = false;
    r.transport = 'sse';
    showStats(r);
    const current = () => r === run && r.es === es && !r.finished;

    es.onopen = () => {
      if (!current()) return;
      r.opened = true;
      r.failures = 0;
      setStatus('streaming');
      $('drop').disabled = false;
      if (r.resumeCheck && position === undefined) {
        log(`reconnected; the browser sent Last-Event-ID: ${r.lastId}`);
      } else if (r.resumeCheck) {
        log(`reconnected with ?position=${position}`);
      } else {
        log('stream open');
      }
    };
    es.onmessage = (ev) => handle(r, Number(ev.lastEventId) || 0, ev.data);
    es.addEventListener('gap', (ev) => logGap(JSON.parse(ev.data)));
    es.onerror = () => {
      if (!current()) return;
      if (es.readyState === EventSource.CLOSED) {
        startPolling(r, 'the stream was refused');
      } else if (r.opened) {
        r.opened = false;
        r.reconnects += 1;
        r.resumeCheck = true;
        setStatus('reconnecting');
        showStats(r);
        if (position === undefined) {
          // EventSource reconnects by itself and sends the last id it saw.
          log(`connection lost at position ${r.lastId}; the browser reconnects` +
            (r.lastId ? ` with Last-Event-ID: ${r.lastId}` : ''), 'warn');
        } else {
          // Its URL still says ?position=<old N>, which sluice would prefer to the
          // Last-Event-ID header: reopen with the position reached instead.
          log(`connection lost at position ${r.lastId}; resuming in 1s`, 'warn');
          resumeLater(r);
        }
      } else if (++r.failures >= FAILURES_BEFORE_POLLING) {
        startPolling(r, `the stream failed ${r.failures} times in a row`);
      } else {
        setStatus('reconnecting');
        log('could not open the stream; the browser retries', 'warn');
      }
    };
  }

  async function startPolling(r, why) {
    if (r !== run || r.finished || r.transport === 'poll') return;
    stopStream(r);
    r.transport = 'poll';
    $('drop').disabled = true;
    setStatus('polling');
    log(`polling /poll?position=${r.lastId} (${why})`, 'warn');
    showStats(r);
    let errors = 0;
    while (r === run && !r.finished) {
      try {
        r.polls += 1;
        const res = await fetch(`${base(r)}/poll?position=${r.lastId}&wait=${POLL_WAIT_S}`,
          { cache: 'no-store', signal: r.abort.signal });
        if (!res.ok) throw new Error(`poll answered ${res.status}`);
        const body = await res.json();
        errors = 0;
        if (body.gap) logGap(body.gap);
        for (const ev of body.events) handle(r, ev.id, ev.data);
        if (body.position > r.lastId) r.lastId = body.position;
        if (body.done) finish(r, 'done');
        showStats(r);
      } catch (err) {
        if (r !== run || r.finished) return;
        if (++errors >= 5) {
          finish(r, 'error', `polling failed: ${err.message}`);
          return;
        }
        log(`poll failed (${err.message}); retrying`, 'warn');
        await sleep(1000);
      }
    }
  }

  // Simulates a dropped connection: close the stream, resume by ?position=N, the way a
  // hand-written client does (EventSource's own reconnects send Last-Event-ID instead).
  function dropConnection() {
    const r = run;
    if (!r || r.finished || !r.es) return;
    stopStream(r);
    r.reconnects += 1;
    r.resumeCheck = true;
    setStatus('reconnecting');
    $('drop').disabled = true;
    log(`dropped the connection at position ${r.lastId}; resuming in 1s`, 'warn');
    showStats(r);
    resumeLater(r);
  }

  function resumeLater(r) {
    stopStream(r);
    setTimeout(() => {
      if (r === run && !r.finished && r.transport === 'sse' && !r.es) openStream(r, r.lastId);
    }, 1000);
  }

  function attach(r, sessionId) {
    r.id = sessionId;
    showStats(r);
    if ($('force-poll').checked) startPolling(r, 'chosen by hand');
    else openStream(r);
  }

  async function start() {
    if (run) {
      run.finished = true; // its callbacks and poll loop stop
      stopStream(run);
      run.abort.abort();
    }
    const r = (run = newRun());
    $('output').replaceChildren();
    $('output').classList.remove('done');
    $('log').replaceChildren();
    setStatus('starting');
    showStats(r);
    $('start').disabled = true;
    try {
      const res = await fetch('/api/analysis/start', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: $('prompt').value.trim() }),
      });
      if (!res.ok) throw new Error(`POST /api/analysis/start answered ${res.status}`);
      const { sessionId } = await res.json();
      if (r !== run) return;
      log(`session ${sessionId} started; the demo app is publishing its answer`);
      attach(r, sessionId);
    } catch (err) {
      if (r === run) finish(r, 'error', `could not start: ${err.message}`);
    } finally {
      $('start').disabled = false;
    }
  }

  $('start').addEventListener('click', start);
  $('drop').addEventListener('click', dropConnection);

  // ?session=ID follows an existing session (e.g. in a second tab); ?transport=poll polls.
  const params = new URLSearchParams(location.search);
  if (params.get('transport') === 'poll') $('force-poll').checked = true;
  const session = params.get('session');
  if (session) {
    run = newRun();
    log(`following session ${session}`);
    attach(run, session);
  }
})();
