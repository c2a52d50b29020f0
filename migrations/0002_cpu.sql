-- The CPU: model endpoints as devices with limits and prices, a sliding-window log of
-- grants shared by all workers, cost and cached-token counters, and owner budgets.

create table aos.devices (
  -- A model string ('openai:gpt-4o-mini') or a prefix ending in '*' ('openai:*'); the longest match wins.
  name text primary key,
  max_concurrent int check (max_concurrent > 0),
  requests_per_minute int check (requests_per_minute > 0),
  tokens_per_minute int check (tokens_per_minute > 0),
  -- Prices in USD per million tokens.
  input_price numeric not null default 0,
  cached_input_price numeric not null default 0,
  cache_write_price numeric not null default 0,
  output_price numeric not null default 0,
  updated_at timestamptz not null default now()
);

-- One row per model request let through: the sliding one-minute window and the requests in flight.
create table aos.cpu_grants (
  id bigint generated always as identity primary key,
  device text not null references aos.devices (name) on delete cascade,
  pid bigint not null,
  tokens int not null,
  granted_at timestamptz not null default now(),
  finished_at timestamptz
);

create index cpu_grants_window on aos.cpu_grants (device, granted_at);

create table aos.owner_budgets (
  owner text primary key,
  max_tokens bigint check (max_tokens > 0),
  max_cost numeric check (max_cost > 0)
);

alter table aos.processes
  -- A model string that overrides the agent's own for this process (aos run --model).
  add column model text,
  -- The device a process is parked on while it waits for a rate-limit slot.
  add column device text,
  add column cached_tokens bigint not null default 0,
  add column cost_nanos bigint not null default 0;

create index processes_owner on aos.processes (owner);

-- The device whose limits and prices apply to a model string: an exact name, else the longest prefix.
create function aos.device_for(p_model text) returns aos.devices language sql stable as $$
  select * from aos.devices
   where name = p_model or (right(name, 1) = '*' and starts_with(p_model, left(name, -1)))
   order by (name = p_model) desc, length(name) desc
   limit 1
$$;

-- Asks for a slot on a device: granted, or the time to try again. Serialised per device by its row lock.
create function aos.acquire_cpu(p_device text, p_pid bigint, p_tokens int)
returns table (grant_id bigint, retry_at timestamptz) language plpgsql as $$
declare
  v_device aos.devices;
  v_requests int;
  v_tokens bigint;
  v_in_flight int;
  v_oldest timestamptz;
  v_retry timestamptz;
  v_id bigint;
begin
  select * into v_device from aos.devices where name = p_device for update;
  if not found then
    return query select null::bigint, null::timestamptz;
    return;
  end if;
  delete from aos.cpu_grants where device = p_device and granted_at < now() - interval '2 minutes'
     and finished_at is not null;
  select count(*), coalesce(sum(tokens), 0), min(granted_at)
    into v_requests, v_tokens, v_oldest
    from aos.cpu_grants where device = p_device and granted_at > now() - interval '60 seconds';
  select count(*) into v_in_flight from aos.cpu_grants
   where device = p_device and finished_at is null and granted_at > now() - interval '10 minutes';
  if v_device.max_concurrent is not null and v_in_flight >= v_device.max_concurrent then
    v_retry := now() + interval '200 milliseconds';
  elsif v_device.requests_per_minute is not null and v_requests >= v_device.requests_per_minute then
    v_retry := v_oldest + interval '60 seconds';
  elsif v_device.tokens_per_minute is not null and v_requests > 0
        and v_tokens + least(p_tokens, v_device.tokens_per_minute) > v_device.tokens_per_minute then
    v_retry := v_oldest + interval '60 seconds';
  end if;
  if v_retry is not null then
    return query select null::bigint, greatest(v_retry, now() + interval '20 milliseconds');
    return;
  end if;
  insert into aos.cpu_grants (device, pid, tokens) values (p_device, p_pid, p_tokens) returning id into v_id;
  return query select v_id, null::timestamptz;
end $$;

-- Ends a grant with the tokens the provider actually counted, and wakes the first process parked
-- on the device (by priority, then fair share), since a concurrent slot is now free.
create function aos.release_cpu(p_grant bigint, p_tokens int) returns void language plpgsql as $$
declare
  v_device text;
  v_pid bigint;
begin
  update aos.cpu_grants set finished_at = now(), tokens = coalesce(p_tokens, tokens)
   where id = p_grant returning device into v_device;
  if v_device is null then
    return;
  end if;
  select pid into v_pid from aos.processes
   where state = 'waiting' and wait_reason = 'rate-limit' and device = v_device
   order by priority desc, vruntime, pid limit 1
     for update skip locked;
  if v_pid is not null then
    update aos.processes set wake_at = now() where pid = v_pid;
    perform pg_notify('aos_wake', v_pid::text);
  end if;
end $$;

-- Spawning takes an optional model that overrides the agent's.
drop function aos.spawn_process(text, text, bigint, text, int, jsonb, int);
-- Creates a process in state ready with its input as the first journal step.
create function aos.spawn_process(
  p_agent_name text, p_input text, p_ppid bigint, p_owner text, p_priority int, p_limits jsonb,
  p_agent_version int default null, p_model text default null
) returns bigint language plpgsql as $$
declare
  v_version int := p_agent_version;
  v_pid bigint;
begin
  if v_version is null then
    select max(version) into v_version from aos.agents where name = p_agent_name;
    if v_version is null then
      raise exception 'no agent named "%"', p_agent_name
        using errcode = 'AOSNF', hint = 'register it first: aos run FILE.md, or aos.register_agent(...)';
    end if;
  end if;
  if p_ppid is not null and not exists (select 1 from aos.processes where pid = p_ppid) then
    raise exception 'no process with pid %', p_ppid using errcode = 'AOSNF', hint = 'list processes with: aos ps';
  end if;
  insert into aos.processes (ppid, owner, agent_name, agent_version, input, priority, limits, next_seq, model)
  values (p_ppid, coalesce(p_owner, 'local'), p_agent_name, v_version, coalesce(p_input, ''),
          coalesce(p_priority, 0), coalesce(p_limits, '{}'), 2, p_model)
  returning pid into v_pid;
  insert into aos.steps (pid, seq, kind, status, input, messages, generation, finished_at)
  values (v_pid, 1, 'spawn', 'done', jsonb_build_object('input', coalesce(p_input, '')),
          jsonb_build_array(jsonb_build_object('role', 'user', 'content', coalesce(p_input, ''))), 0, now());
  perform pg_notify('aos_wake', v_pid::text);
  return v_pid;
end $$;


-- Step writes now also count cached tokens and cost.
drop function aos.append_step(bigint, bigint, int, text, text, text, text, jsonb, jsonb, jsonb, jsonb, int, bigint, text[]);
drop function aos.finish_step(bigint, bigint, int, int, text, jsonb, jsonb, jsonb, int, bigint);

create function aos.append_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_kind text, p_name text, p_call_id text,
  p_status text, p_input jsonb, p_output jsonb, p_messages jsonb, p_usage jsonb,
  p_steps int, p_tokens bigint, p_handled_signals text[], p_cached_tokens bigint default 0, p_cost_nanos bigint default 0
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_seq int;
  v_pending text[];
  v_state text;
  v_signal text;
begin
  update aos.processes p
     set next_seq = p.next_seq + 1,
         steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         cached_tokens = p.cached_tokens + p_cached_tokens,
         cost_nanos = p.cost_nanos + p_cost_nanos,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.next_seq - 1, p.pending_signals, p.state into v_seq, v_pending, v_state;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  if p_handled_signals is not null and cardinality(p_handled_signals) > 0 then
    foreach v_signal in array p_handled_signals loop
      v_pending := array_remove(v_pending, v_signal);
    end loop;
    update aos.processes p set pending_signals = v_pending where p.pid = p_pid;
  end if;
  insert into aos.steps (pid, seq, kind, name, call_id, status, input, output, messages, usage, generation,
                         finished_at)
  values (p_pid, v_seq, p_kind, p_name, p_call_id, p_status, p_input, p_output, coalesce(p_messages, '[]'),
          p_usage, p_generation, case when p_status = 'started' then null else now() end);
  return query select v_seq, v_pending, v_state;
end $$;

create function aos.finish_step(
  p_pid bigint, p_generation bigint, p_lease_ms int, p_seq int, p_status text, p_output jsonb,
  p_messages jsonb, p_usage jsonb, p_steps int, p_tokens bigint
) returns table (seq int, pending_signals text[], state text) language plpgsql as $$
declare
  v_pending text[];
  v_state text;
begin
  update aos.processes p
     set steps_used = p.steps_used + p_steps,
         tokens_used = p.tokens_used + p_tokens,
         vruntime = p.vruntime + p_tokens,
         lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
         updated_at = now()
   where p.pid = p_pid and p.lease_generation = p_generation and p.state = 'running'
     and p.lease_expires_at > now()
  returning p.pending_signals, p.state into v_pending, v_state;
  if not found then
    raise exception 'lease on process % (generation %) is lost', p_pid, p_generation using errcode = 'AOSLL';
  end if;
  update aos.steps s
     set status = p_status, output = p_output, messages = coalesce(p_messages, '[]'), usage = p_usage,
         finished_at = now(), generation = p_generation
   where s.pid = p_pid and s.seq = p_seq;
  return query select p_seq, v_pending, v_state;
end $$;

create or replace view aos.ps as
select pid, ppid, owner, agent_name as agent, state, wait_reason, priority, steps_used as steps,
       tokens_used as tokens, exit_status, created_at, exited_at, cost_nanos / 1e9 as cost_usd
  from aos.processes
 where reaped_at is null
 order by pid;
