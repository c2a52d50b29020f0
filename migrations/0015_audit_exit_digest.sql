-- The exit entry of the audit log keeps the error's code and a digest of the whole error,
-- never its text: provider and database messages can hold credentials and user content,
-- and the log cannot be deleted from (issue 12, finding 8). `aos audit verify` recomputes
-- error_sha256 from aos.processes.error.
create or replace function aos.exit_process(p_pid bigint, p_status int, p_result jsonb, p_error jsonb)
returns void language plpgsql as $$
declare
  v_ppid bigint;
begin
  update aos.processes
     set state = 'exited', exit_status = p_status, result = p_result, error = p_error, exited_at = now(),
         updated_at = now(), wait_reason = null, wait_detail = null, wake_at = null, pending_signals = '{}',
         lease_owner = null, lease_expires_at = null
   where pid = p_pid and state <> 'exited'
  returning ppid into v_ppid;
  if not found then
    return;
  end if;
  update aos.steps set status = 'cancelled', finished_at = now() where pid = p_pid and status = 'started';
  perform aos.audit_append('exit', p_pid, 'process:' || p_pid,
    jsonb_build_object('status', p_status,
                       'error', case when p_error is null then null else jsonb_build_object('code', p_error->'code') end,
                       'error_sha256', encode(sha256(convert_to(coalesce(p_error::text, ''), 'UTF8')), 'hex'),
                       'result_sha256', encode(sha256(convert_to(coalesce(p_result::text, ''), 'UTF8')), 'hex'))::text);
  if v_ppid is not null then
    update aos.processes
       set wake_seq = wake_seq + 1,
           state = case when state = 'waiting' and wait_reason in ('child', 'several') then 'ready' else state end,
           wake_at = case when state = 'waiting' and wait_reason in ('child', 'several') then null else wake_at end,
           updated_at = now()
     where pid = v_ppid and state <> 'exited';
  end if;
  perform pg_notify('aos_exit', p_pid::text);
  if v_ppid is not null then
    perform pg_notify('aos_wake', v_ppid::text);
  end if;
end $$;
