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

-- The device whose limits and prices apply to a model string: an exact name, else the longest prefix.
create function aos.device_for(p_model text) returns aos.devices language sql stable as $$
  select * from aos.devices
   where name = p_model or (right(name, 1) = '*' and starts_with(p_model, left(name, -1)))
   order by (name = p_model) desc, length(name) desc
   limit 1
$$;

-- Asks for a slot on a device: granted, or the time to try again. Serialised per device by its row lock.
-- The window is 61 s rather than 60: a request reaches the provider a little after it is granted
-- here, so the provider's own one-minute window ends a little later than ours would.
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
    from aos.cpu_grants where device = p_device and granted_at > now() - interval '61 seconds';
  select count(*) into v_in_flight from aos.cpu_grants
   where device = p_device and finished_at is null and granted_at > now() - interval '10 minutes';
  if v_device.max_concurrent is not null and v_in_flight >= v_device.max_concurrent then
    v_retry := now() + interval '200 milliseconds';
  elsif v_device.requests_per_minute is not null and v_requests >= v_device.requests_per_minute then
    v_retry := v_oldest + interval '61 seconds';
  elsif v_device.tokens_per_minute is not null and v_requests > 0
        and v_tokens + least(p_tokens, v_device.tokens_per_minute) > v_device.tokens_per_minute then
    v_retry := v_oldest + interval '61 seconds';
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
