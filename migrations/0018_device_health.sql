-- Devices that fail: one circuit breaker per device, shared by every worker through this
-- table. A device (a configured device's name, or the model string when none is configured)
-- is up unless a row here says it is down. The first failed call marks it down and makes its
-- process the prober: that process alone retries, at growing intervals (1 s doubling to 30 s,
-- or later if the provider said so), and every other process that asks parks (waiting,
-- reason device) until the next probe. A call that succeeds marks the device up and wakes
-- every process parked on it. And the per-minute limits a provider announces in its headers
-- are kept on the device, which rations to the lower of them and its configured limits.

create table aos.device_health (
  device text primary key,
  state text not null check (state in ('up', 'down')),
  down_since timestamptz,
  -- Failed probes in a row since the device went down (the interval doubles with each).
  failures int not null default 0,
  -- The last failure: {code, message, status?}.
  last_error jsonb,
  last_failure_at timestamptz,
  -- When a process may probe next, and which process probes (null: the next to ask).
  next_probe_at timestamptz,
  prober bigint,
  up_since timestamptz,
  updated_at timestamptz not null default now()
);

alter table aos.devices
  add column announced_requests_per_minute int check (announced_requests_per_minute > 0),
  add column announced_tokens_per_minute int check (announced_tokens_per_minute > 0);

-- How long a down device stays closed after its n-th failure in a row: 0.5 s, doubling, at most
-- 30 s (the driver's own backoff before: a call's four retries take 7.5 s, as they did).
create function aos.device_backoff(p_failures int) returns interval language sql immutable as $$
  select make_interval(secs => least(30, 0.5 * power(2, greatest(0, least(p_failures, 10) - 1))))
$$;

-- Whether process p_pid may call device p_device now: go (the device is up), go as its probe
-- (it is down and a probe is due: the caller probes, the others wait an interval more), or
-- wait until retry_at. A prober that does not report back within an interval loses its turn.
create function aos.device_gate(p_device text, p_pid bigint)
returns table (go boolean, probe boolean, retry_at timestamptz, down_since timestamptz, last_error jsonb)
language plpgsql as $$
declare
  v_health aos.device_health;
begin
  select * into v_health from aos.device_health h where h.device = p_device;
  if not found or v_health.state = 'up' then
    return query select true, false, null::timestamptz, null::timestamptz, null::jsonb;
    return;
  end if;
  select * into v_health from aos.device_health h where h.device = p_device for update;
  if v_health.state = 'up' then
    return query select true, false, null::timestamptz, null::timestamptz, null::jsonb;
    return;
  end if;
  if v_health.next_probe_at <= now()
     and (v_health.prober is null or v_health.prober = p_pid
          or v_health.next_probe_at + aos.device_backoff(v_health.failures) <= now()) then
    update aos.device_health h
       set prober = p_pid, next_probe_at = now() + aos.device_backoff(h.failures), updated_at = now()
     where h.device = p_device;
    return query select true, true, null::timestamptz, v_health.down_since, v_health.last_error;
    return;
  end if;
  return query select false, false,
    greatest(v_health.next_probe_at, now()) + aos.device_backoff(v_health.failures),
    v_health.down_since, v_health.last_error;
end $$;

-- A call of process p_pid to p_device failed with p_error; the provider asked to wait until
-- p_retry_at (null: no word). The first failure marks the device down and makes the caller its
-- prober. The prober's failure counts (the interval grows) and it may retry at next_try unless
-- p_final (its retries are over: it parks, and the next process to ask after next_try probes).
-- Anyone else's failure only records the error: it parks until after the next probe.
create function aos.device_failed(p_device text, p_pid bigint, p_error jsonb, p_retry_at timestamptz, p_final boolean)
returns table (retry boolean, next_try timestamptz, down_since timestamptz) language plpgsql as $$
declare
  v_health aos.device_health;
  v_next timestamptz;
begin
  insert into aos.device_health as h (device, state) values (p_device, 'up') on conflict (device) do nothing;
  select * into v_health from aos.device_health h where h.device = p_device for update;
  if v_health.state = 'up' or v_health.prober = p_pid or v_health.prober is null then
    v_health.failures := case when v_health.state = 'up' then 1 else v_health.failures + 1 end;
    v_next := greatest(coalesce(p_retry_at, now()), now() + aos.device_backoff(v_health.failures));
    update aos.device_health h
       set state = 'down', down_since = case when h.state = 'up' then now() else h.down_since end,
           failures = v_health.failures, last_error = p_error, last_failure_at = now(),
           next_probe_at = v_next, prober = case when p_final then null else p_pid end, updated_at = now()
     where h.device = p_device
     returning h.down_since into v_health.down_since;
    return query select not p_final, v_next, v_health.down_since;
    return;
  end if;
  update aos.device_health h
     set last_error = p_error, last_failure_at = now(),
         next_probe_at = greatest(h.next_probe_at, coalesce(p_retry_at, h.next_probe_at)), updated_at = now()
   where h.device = p_device;
  return query select false,
    greatest(v_health.next_probe_at, coalesce(p_retry_at, v_health.next_probe_at), now())
      + aos.device_backoff(v_health.failures),
    v_health.down_since;
end $$;

-- A call to p_device succeeded: if the device was down it is up, and every process parked on it wakes.
create function aos.device_up(p_device text) returns boolean language plpgsql as $$
begin
  update aos.device_health h
     set state = 'up', failures = 0, prober = null, next_probe_at = null, up_since = now(), updated_at = now()
   where h.device = p_device and h.state = 'down';
  if not found then
    return false;
  end if;
  update aos.processes p set wake_at = now()
   where p.state = 'waiting' and p.device = p_device and p.wait_reason in ('device', 'several')
     and (p.wake_at is null or p.wake_at > now());
  perform pg_notify('aos_wake', p_device);
  return true;
end $$;

-- Keeps the per-minute limits a provider announced for a configured device (a changed value only).
create function aos.device_announced(p_device text, p_requests int, p_tokens int) returns void language sql as $$
  update aos.devices d
     set announced_requests_per_minute = coalesce(p_requests, d.announced_requests_per_minute),
         announced_tokens_per_minute = coalesce(p_tokens, d.announced_tokens_per_minute)
   where d.name = p_device
     and (d.announced_requests_per_minute is distinct from coalesce(p_requests, d.announced_requests_per_minute)
          or d.announced_tokens_per_minute is distinct from coalesce(p_tokens, d.announced_tokens_per_minute))
$$;

-- The limits a device rations to: the lower of the configured and the announced ones.
create function aos.effective_limit(p_configured int, p_announced int) returns int language sql immutable as $$
  select case when p_configured is null then p_announced
              when p_announced is null then p_configured
              else least(p_configured, p_announced) end
$$;

-- Asks for a slot on a device (see 0011), rationing to the effective limits: the lower of the
-- configured and the announced ones.
create or replace function aos.acquire_cpu(p_device text, p_pid bigint, p_tokens int, p_may_defer boolean default false)
returns table (grant_id bigint, retry_at timestamptz) language plpgsql as $$
declare
  v_device aos.devices;
  v_requests int;
  v_tokens bigint;
  v_in_flight int;
  v_oldest timestamptz;
  v_retry timestamptz;
  v_id bigint;
  v_priority int;
  v_vruntime bigint;
  v_fairer bigint;
  v_fairer_state text;
  v_rpm int;
  v_tpm int;
begin
  select * into v_device from aos.devices where name = p_device for update;
  if not found then
    return query select null::bigint, null::timestamptz;
    return;
  end if;
  v_rpm := aos.effective_limit(v_device.requests_per_minute, v_device.announced_requests_per_minute);
  v_tpm := aos.effective_limit(v_device.tokens_per_minute, v_device.announced_tokens_per_minute);
  delete from aos.cpu_grants where device = p_device and granted_at < now() - interval '2 minutes'
     and finished_at is not null;
  select count(*), coalesce(sum(tokens), 0), min(granted_at)
    into v_requests, v_tokens, v_oldest
    from aos.cpu_grants where device = p_device and granted_at > now() - interval '61 seconds';
  select count(*) into v_in_flight from aos.cpu_grants
   where device = p_device and finished_at is null and granted_at > now() - interval '10 minutes';
  if v_device.max_concurrent is not null and v_in_flight >= v_device.max_concurrent then
    v_retry := now() + interval '200 milliseconds';
  elsif v_rpm is not null and v_requests >= v_rpm then
    v_retry := v_oldest + interval '61 seconds';
  elsif v_tpm is not null and v_requests > 0
        and v_tokens + least(p_tokens, v_tpm) > v_tpm then
    v_retry := v_oldest + interval '61 seconds';
  end if;
  if v_retry is not null then
    return query select null::bigint, greatest(v_retry, now() + interval '20 milliseconds');
    return;
  end if;
  if p_may_defer then
    select priority, vruntime into v_priority, v_vruntime from aos.processes where pid = p_pid;
    if found then
      select pid, state into v_fairer, v_fairer_state from aos.processes
       where pid <> p_pid
         and (state = 'ready' or (state = 'waiting' and wait_reason = 'rate-limit' and device = p_device))
         and (priority > v_priority or (priority = v_priority and vruntime < v_vruntime))
       order by priority desc, vruntime, pid
       limit 1;
      if v_fairer is not null then
        if v_fairer_state = 'waiting' then
          update aos.processes set wake_at = now() where pid = v_fairer and wake_at > now();
          perform pg_notify('aos_wake', v_fairer::text);
        end if;
        return query select null::bigint, now();
        return;
      end if;
    end if;
  end if;
  insert into aos.cpu_grants (device, pid, tokens) values (p_device, p_pid, p_tokens) returning id into v_id;
  return query select v_id, null::timestamptz;
end $$;
