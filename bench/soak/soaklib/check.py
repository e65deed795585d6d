"""The exactness rules every soak client applies to what it receives, and the publishers'
record they are judged against. Pure Python, no I/O: tests/integration/test_soak.py feeds
it made-up streams to prove that each kind of violation is caught.

What a client may see, per channel (the rules sluice's docs give users):
- events in publish order, each exactly once: the publisher's counter in the payload
  rises by exactly 1 from one event to the next, except over counters whose publish
  failed (never stored);
- positions (`id:`) rising by exactly 1, continuing the resume point;
- an `event: gap` where history could not cover: `{"from": N+1, "to": T}` (then position
  T+1 follows), or `{"from": 1, "to": N, "reset": true}` when positions started over
  (then the channel's history from its oldest held event). N is the resume point.

Anything else is a violation. Holes are judged at the end of the run, when every publish
has its outcome (a client can receive an event before its publisher reads the reply)."""

import bisect
import json

SEQ, PLAIN = "sequenced", "plain"
ACKED, FAILED, UNCERTAIN = "acked", "failed", "uncertain"

# Violation kinds: any one fails the run.
DUPLICATE = "duplicate"            # an event received twice
REORDER = "reorder"                # an event arrived after a later one
SILENT_HOLE = "silent_hole"        # an event (or position) skipped without a gap
BAD_GAP = "bad_gap"                # a gap that does not fit the resume point
GAP_ON_FRESH = "gap_on_fresh"      # a stream without a resume point started with a gap
NEEDLESS_GAP = "needless_gap"      # sequenced: a gap over positions Redis still held
WRONG_POSITION = "wrong_position"  # sequenced: id differs from the position FCALL returned
POSITION_REUSE = "position_reuse"  # a position given to a second, different event
UNKNOWN_EVENT = "unknown_event"    # a payload no publisher sent on this channel
WRONG_NAME = "wrong_event_name"    # `event:` differs from the published event name
MISSING_FINAL = "missing_final"    # the channel's final (terminal) event never arrived
NO_204 = "no_204_after_end"        # resuming at the terminal event was not answered 204
EXIT = "unclean_exit"              # a sluice exit status != 0 or a sanitizer report
RELOAD = "reload_not_applied"      # SIGHUP did not bring the new config into force
RSS_GROWTH = "rss_growth"          # memory left behind after the clients closed
HARNESS = "soak_error"             # the soak itself could not do what it had to

# Holes that are not violations, counted by reason.
LOSS_FAILED = "publish_failed"           # never stored: nothing to deliver
LOSS_UNCERTAIN = "publish_uncertain"     # plain PUBLISH sent, connection lost before the reply
LOSS_GAP = "covered_by_gap"              # announced by a gap event
LOSS_PLAIN_OUTAGE = "plain_outage_loss"  # plain: published while the instance was unsubscribed
LOSS_PLAIN_RESTART = "plain_restart_loss"  # plain: across a restart of the client's instance

# Gap reasons.
GAP_EVICTED = "evicted_history"
GAP_RESET = "reset"
GAP_AFTER_REUSE = "after_position_restart"  # sequenced channel whose positions restarted


class ChannelLog:
    """What the publisher of one channel did: per counter, the outcome of its publish.
    entries[c] = [status, t, position, receivers, expected_receivers]."""

    def __init__(self, name, mode, event_every=5):
        self.name = name
        self.mode = mode
        self.event_every = event_every  # sequenced: every n-th counter is named "tick"
        self.entries = {}
        self.next_counter = 1
        self.final = None         # counter of the terminal event
        self._ack_t = []          # sequenced: ack times, in ack order
        self._ack_pos = []        # ... and the positions acknowledged then
        self.restarts = []        # sequenced: times positions started over (t, old, new)

    def new_counter(self):
        c = self.next_counter
        self.next_counter += 1
        return c

    def event_name(self, counter, kind="soak"):
        if self.mode == SEQ and kind == "soak" and self.event_every and \
                counter % self.event_every == 0:
            return "tick"
        return None

    def record(self, counter, status, t, position=None, receivers=None, expected=None):
        """Returns a description of a position restart when this ack caused one."""
        self.entries[counter] = [status, t, position, receivers, expected]
        restart = None
        if status == ACKED and position is not None:
            if self._ack_pos and position <= self._ack_pos[-1]:
                restart = (t, self._ack_pos[-1], position)
                self.restarts.append(restart)
            self._ack_t.append(t)
            self._ack_pos.append(position)
        return restart

    def entry(self, counter):
        return self.entries.get(counter)

    def position_of(self, counter):
        e = self.entries.get(counter)
        return e[2] if e and e[0] == ACKED else None

    def head_at(self, t):
        """Sequenced: the position of the last acknowledgement by time t: the channel's
        head then (positions rise with every ack, except where they started over)."""
        i = bisect.bisect_right(self._ack_t, t)
        return self._ack_pos[i - 1] if i else 0

    def restarted_before(self, t):
        return any(rt <= t for rt, _, _ in self.restarts)


class Report:
    """Violations (kept in full up to `keep` per kind, all counted), losses and gaps by
    reason, and counters."""

    def __init__(self, keep=25):
        self.keep = keep
        self.violations = {}
        self.violation_counts = {}
        self.losses = {}
        self.gaps = {}
        self.counts = {}
        self.warnings = {}
        self.spread = {}  # kind -> ({clients}, {channels})
        self.by_mode = {}  # kind -> {mode: count}

    def violation(self, kind, **detail):
        self.violation_counts[kind] = self.violation_counts.get(kind, 0) + 1
        clients, channels = self.spread.setdefault(kind, (set(), set()))
        if detail.get("client"):
            clients.add(detail["client"])
        if detail.get("channel"):
            channels.add(detail["channel"])
        modes = self.by_mode.setdefault(kind, {})
        mode = detail.get("mode", "-")
        modes[mode] = modes.get(mode, 0) + 1
        kept = self.violations.setdefault(kind, [])
        if len(kept) < self.keep:
            kept.append(detail)

    def warning(self, kind, n=1, example=None):
        w = self.warnings.setdefault(kind, {"count": 0, "examples": []})
        w["count"] += n
        if example is not None and len(w["examples"]) < 5:
            w["examples"].append(example)

    def loss(self, reason, n=1):
        self.losses[reason] = self.losses.get(reason, 0) + n

    def gap(self, reason, n=1):
        self.gaps[reason] = self.gaps.get(reason, 0) + n

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    def ok(self, strict_plain=False):
        if self.violation_counts:
            return False
        if strict_plain and (self.losses.get(LOSS_PLAIN_OUTAGE) or
                             self.losses.get(LOSS_PLAIN_RESTART)):
            return False
        return True

    def total_violations(self):
        return sum(self.violation_counts.values())


class Ranges:
    """A set of integers kept as sorted, merged [lo, hi] ranges (received counters are
    nearly contiguous, so this stays tiny)."""

    def __init__(self):
        self.r = []

    def add(self, x):
        r = self.r
        if r and r[-1][1] + 1 == x:
            r[-1][1] = x
            return
        if not r or x > r[-1][1]:
            r.append([x, x])
            return
        i = bisect.bisect_left(r, [x + 1]) - 1  # the range starting at or before x
        if i >= 0 and r[i][0] <= x <= r[i][1]:
            return
        r.insert(i + 1, [x, x])
        self._merge(i + 1)

    def _merge(self, i):
        r = self.r
        if i + 1 < len(r) and r[i][1] + 1 >= r[i + 1][0]:
            r[i][1] = max(r[i][1], r[i + 1][1])
            del r[i + 1]
        if i > 0 and r[i - 1][1] + 1 >= r[i][0]:
            r[i - 1][1] = max(r[i - 1][1], r[i][1])
            del r[i]

    def __contains__(self, x):
        i = bisect.bisect_right(self.r, [x, float("inf")]) - 1
        return i >= 0 and self.r[i][0] <= x <= self.r[i][1]


class StreamLedger:
    """One client's view of one channel across all its sessions (SSE streams or polls,
    on either instance). Call start_session() for each connection, then on_gap() and
    on_event() in arrival order; finish() after the run judges the holes."""

    def __init__(self, client, log, report, redis_history_size):
        self.client = client
        self.log = log
        self.report = report
        self.redis_history_size = redis_history_size
        self.last_id = None          # the position the client has (None: has nothing yet)
        self.last_counter = None
        self.received = Ranges()
        self.covering = []           # gaps since the last event: (from, to, reset)
        self.resync = False          # after a bad gap: take the next id as it comes
        self.after_reset = False
        self.instance = None         # (name, generation) of the current session
        self.event_instance = None   # ... of the session that delivered the last event
        self.done_id = None
        self.done_counter = None
        self.holes = []              # (lo, hi, covering gaps, instance changed, instance, t)
        self.unverified = []         # sequenced (counter, id, t) not yet acknowledged
        self.gaps_seen = []          # (from, to, reset, t, ok)
        self.id_holes = []           # (first, last) positions reported skipped by id
        self.events = 0

    def start_session(self, instance):
        self.instance = instance

    def _where(self):
        return {"client": self.client, "channel": self.log.name, "mode": self.log.mode,
                "instance": self.instance[0] if self.instance else None}

    def _violate(self, kind, t, **detail):
        self.report.violation(kind, t=round(t, 3), **self._where(), **detail)

    def on_gap(self, frm, to, reset, t):
        n = self.last_id
        ok = False
        if n is None:
            self._violate(GAP_ON_FRESH, t, got={"from": frm, "to": to, "reset": reset},
                          expected="no gap: a stream without a resume point starts at the "
                                   "oldest event history holds")
        elif reset:
            ok = frm == 1 and to == n
        else:
            ok = frm == n + 1 and to >= frm
        if n is not None and not ok:
            got = {"from": frm, "to": to}
            if reset:
                got["reset"] = True
            self._violate(BAD_GAP, t, resume_point=n, got=got,
                          expected=f'{{"from": {n + 1}, "to": T}} or '
                                   f'{{"from": 1, "to": {n}, "reset": true}}',
                          hint=_bad_gap_hint(n, frm, to, reset))
        self.gaps_seen.append((frm, to, reset, t, ok))
        self.covering.append((frm, to, reset))
        if reset and ok:
            self.last_id = 0
            self.after_reset = True
        else:
            self.last_id = to
            self.resync = self.resync or not ok

    def on_event(self, eid, name, data, t):
        self.events += 1
        try:
            obj = json.loads(data)
            counter, kind, ch = obj["c"], obj["type"], obj["ch"]
        except (ValueError, TypeError, KeyError):
            self._violate(UNKNOWN_EVENT, t, id=eid, got=str(data)[:200],
                          expected="a soak payload of this channel")
            return
        if ch != self.log.name or not isinstance(counter, int):
            self._violate(UNKNOWN_EVENT, t, id=eid, got=str(data)[:200],
                          expected=f"a payload of channel {self.log.name}")
            return
        want_name = self.log.event_name(counter, kind)
        if name != want_name:
            self._violate(WRONG_NAME, t, id=eid, counter=counter, got=name, expected=want_name)
        self._check_id(eid, counter, t)
        self._check_counter(eid, counter, t)
        if self.log.mode == SEQ:
            p = self.log.position_of(counter)
            if p is None:
                self.unverified.append((counter, eid, t))
            elif p != eid:
                self._violate(WRONG_POSITION, t, counter=counter, got=eid, expected=p)
        self.received.add(counter)
        self.last_id = eid
        self.last_counter = counter if self.last_counter is None else max(self.last_counter,
                                                                           counter)
        self.covering = []
        self.resync = False
        self.after_reset = False
        self.event_instance = self.instance
        if kind == "done":
            self.done_id = eid
            self.done_counter = counter

    def _check_id(self, eid, counter, t):
        if self.last_id is None or self.resync or self.after_reset:
            return
        want = self.last_id + 1
        if eid == want:
            return
        if eid > want:
            self.id_holes.append((want, eid - 1))
            self._violate(SILENT_HOLE, t, got=f"id {eid}", expected=f"id {want}",
                          detail=f"positions {want}..{eid - 1} skipped without a gap event")
        elif self.last_counter is not None and counter > self.last_counter:
            self._violate(POSITION_REUSE, t, got=f"id {eid} (counter {counter})",
                          expected=f"id {want}",
                          detail=f"a new event carries position {eid}, which this client "
                                 f"already had")
        # An id at or below the last with an old counter is reported by _check_counter.

    def _check_counter(self, eid, counter, t):
        last = self.last_counter
        if last is None:
            return
        if counter <= last:
            kind = DUPLICATE if counter in self.received else REORDER
            self._violate(kind, t, got=f"counter {counter} (id {eid})",
                          expected=f"counter > {last} (last id {self.last_id})")
            return
        if counter > last + 1:
            changed = self.event_instance is not None and self.instance != self.event_instance
            self.holes.append((last + 1, counter - 1, list(self.covering), changed,
                               self.instance, t, eid))

    def finish(self, outages):
        """Judges the deferred checks; outages are (t0, t1, what) windows in which a
        plain publish may have been missed by an instance's subscriber."""
        log, rep = self.log, self.report
        for counter, eid, t in self.unverified:
            p = log.position_of(counter)
            if p is None:
                e = log.entry(counter)
                self._violate(UNKNOWN_EVENT, t, id=eid, counter=counter,
                              got=f"counter {counter}, publish {e[0] if e else 'never made'}",
                              expected="only events whose FCALL was acknowledged")
            elif p != eid:
                self._violate(WRONG_POSITION, t, counter=counter, got=eid, expected=p)
        for lo, hi, covering, changed, instance, t, eid in self.holes:
            run = []  # unexplained counters in a row: one violation per run
            for c in range(lo, hi + 1):
                why = self._judge_missing(c, covering, changed, outages)
                if why is not None:
                    run.append((c, why))
                if run and (why is None or c == hi):
                    self._report_hole(run, covering, instance, t, eid)
                    run = []
        for frm, to, reset, t, ok in self.gaps_seen:
            if not ok:
                continue
            if reset:
                rep.gap(GAP_RESET)
            elif log.mode == PLAIN:
                rep.gap(GAP_EVICTED)
            elif log.restarted_before(t + 1.0):
                rep.gap(GAP_AFTER_REUSE)
            elif to <= log.head_at(t + 1.0) - self.redis_history_size:
                rep.gap(GAP_EVICTED)
            else:
                head = log.head_at(t + 1.0)
                during = [w for a, b, w in outages if a <= t <= b]
                self._violate(NEEDLESS_GAP, t, got={"from": frm, "to": to},
                              detail=f"Redis keeps the newest {self.redis_history_size} "
                                     f"events and the head was at most {head}: positions "
                                     f"from {max(head - self.redis_history_size + 1, 1)} on "
                                     f"were still held" +
                                     (f" (sent during: {', '.join(during)})" if during else ""))

    def _judge_missing(self, c, covering, changed, outages):
        """None when the missing counter c is explained (counted as a loss by reason),
        else (position, publish time, what the publish reported)."""
        log, rep = self.log, self.report
        e = log.entry(c)
        if e is None:
            rep.violation(HARNESS, client=self.client, channel=log.name,
                          detail=f"counter {c} skipped but never attempted by the publisher")
            return None
        status, pt, position, receivers, expected = e
        if status == FAILED:
            rep.loss(LOSS_FAILED)
            return None
        if status == UNCERTAIN:
            rep.loss(LOSS_UNCERTAIN)
            return None
        if log.mode == SEQ:
            if any(a <= position <= b for a, b in self.id_holes):
                return None  # already reported as skipped positions
            if any(r for _, _, r in covering) or any(f <= position <= to
                                                     for f, to, r in covering if not r):
                rep.loss(LOSS_GAP)
                return None
            return position, pt, None
        if covering:
            rep.loss(LOSS_GAP)
        elif changed:
            rep.loss(LOSS_PLAIN_RESTART)
        elif (receivers is not None and expected is not None and receivers < expected) or \
                any(a <= pt <= b for a, b, _ in outages):
            rep.loss(LOSS_PLAIN_OUTAGE)
        else:
            return None, pt, f"PUBLISH reached {receivers} of {expected} instances"
        return None

    def _report_hole(self, run, covering, instance, t, eid):
        (c0, (p0, t0, note)), (c1, (p1, t1, _)) = run[0], run[-1]
        where = f"counters {c0}..{c1}" if c1 != c0 else f"counter {c0}"
        if p0 is not None:
            where += f" (positions {p0}..{p1})" if p1 != p0 else f" (position {p0})"
        self.report.violation(
            SILENT_HOLE, t=round(t, 3), client=self.client, channel=self.log.name,
            mode=self.log.mode, instance=instance[0] if instance else None,
            got=f"id {eid} (the next event received)", expected=where,
            detail=f"{len(run)} published event(s), t={t0:.3f}..{t1:.3f}, never delivered" +
                   (f"; {note}, no outage then" if note else "") +
                   (f"; gaps received meanwhile: {covering}" if covering else "; no gap event"))


def _bad_gap_hint(n, frm, to, reset):
    if not reset and frm == 1 and to == n:
        return 'positions started over, but the gap lacks "reset": true'
    if not reset and frm <= n:
        return (f"the instance's head was {frm - 1}, below the resume point {n}: either "
                f"positions started over (then new events 1..{frm - 1} are skipped) or the "
                f"instance was behind (then {frm}..{n} come again)")
    if not reset and frm > n + 1:
        return f"positions {n + 1}..{frm - 1} are neither sent nor in the gap"
    return ""
