"""The sluice config each soak instance runs: Redis broker, sse and poll routes on the
same channels, and a marker route whose path and channel change with every reload, so
the soak can see that a SIGHUP took effect (and that sluice re-subscribes under load)."""

STEADY_PREFIX = "soak"   # steady and hot channels: /s/{id}, /p/{id}
BURST_PREFIX = "burst"   # burst channels (short local history ttl): /b/{id}, /pb/{id}


def marker_path(generation):
    return f"/gen{generation}/x?position=0"


def render(port, redis_port, access_log, opts, generation):
    """YAML text. opts: workers, redis_history_size, redis_ttl, local_history_size,
    burst_local_ttl_s, heartbeat_s, client_buffer."""
    return f"""# sluice soak instance (generated; reload generation {generation})
listen: 127.0.0.1:{port}
workers: {opts.workers}
drain_timeout: 3s
access_log: {access_log}
log_level: info
broker:
  type: redis
  url: redis://127.0.0.1:{redis_port}/0
  key_prefix: "soak:"
  history: {{size: {opts.redis_history_size}, ttl: {opts.redis_ttl}s}}
  reconnect: {{min: 100ms, max: 1s}}
limits:
  client_buffer: {opts.client_buffer}
routes:
  - path: /s/{{id}}
    sse:
      channel: "{STEADY_PREFIX}:{{id}}"
      heartbeat: {opts.heartbeat_s}s
      history: {{size: {opts.local_history_size}, ttl: 1h}}
      retry: 1s
  - path: /p/{{id}}
    poll:
      channel: "{STEADY_PREFIX}:{{id}}"
      max_wait: 5s
  - path: /b/{{id}}
    sse:
      channel: "{BURST_PREFIX}:{{id}}"
      heartbeat: {opts.heartbeat_s}s
      history: {{size: {opts.local_history_size}, ttl: {opts.burst_local_ttl_s}s}}
      retry: 1s
  - path: /pb/{{id}}
    poll:
      channel: "{BURST_PREFIX}:{{id}}"
      max_wait: 5s
  - path: /gen{generation}/{{id}}
    poll:
      channel: "gen{generation}:{{id}}"
"""
