-- Fair share at the device: a rationed device's next request goes to the process that has
-- consumed least. A process that already made a model call in its slice, asking again while
-- a process of higher priority, or of equal priority and smaller virtual runtime (tokens
-- consumed), is ready for a worker or parked for this device, is told to wait its turn
-- (retry now: it parks, and claims, ordered by priority then vruntime, give the turn to the
-- other); the fairest process parked for the device is woken, since the device has room.
-- The first call of every slice is never deferred this way, so every slice makes progress.

drop function aos.acquire_cpu(text, bigint, int);

-- Asks for a slot on a device: granted, or the time to try again. Serialised per device by its row lock.
-- The window is 61 s rather than 60: a request reaches the provider a little after it is granted
-- here, so the provider's own one-minute window ends a little later than ours would.
-- p_may_defer: the caller has made a model call in this slice already, so it may be asked to
-- let a fairer process go first.
create function aos.acquire_cpu(p_device text, p_pid bigint, p_tokens int, p_may_defer boolean default false)
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
