-- The SQL face as a trust boundary (see docs/security.md, "Roles in the database").
--
-- The public functions a psql user calls (spawn, kill, send, approve, deny) run with the
-- rights of the schema's owner (security definer), with a fixed search_path so a caller's
-- own schemas cannot shadow what they call. Whoever calls them is named in the audit log by
-- the session's login role (session_user), never by a parameter. On a database set up by
-- `aos init` (migrations/roles.sql), clients hold only these functions and the views.
--
-- The two audit writers (audit_append, chain_audit) also run as the owner: there, only the
-- owner may write the audit tables, so the kernel's role cannot rewrite, truncate or
-- disable the triggers of the log. So do the two functions that alone decide an approval
-- and deliver a message: the kernel's role may not update aos.approvals nor insert into
-- aos.mailbox, so every decision and every message passes a function that audits it.

create or replace function aos.spawn(p_agent_name text, p_input text default '') returns bigint
language sql security definer set search_path = pg_catalog, pg_temp as $$
  select aos.spawn_process(p_agent_name, p_input, null, session_user::text, 0, '{}')
$$;

alter function aos.kill(bigint, text) security definer set search_path = pg_catalog, pg_temp;
alter function aos.send(bigint, text) security definer set search_path = pg_catalog, pg_temp;
alter function aos.approve(bigint, bigint, text) security definer set search_path = pg_catalog, pg_temp;
alter function aos.deny(bigint, bigint, text) security definer set search_path = pg_catalog, pg_temp;

alter function aos.audit_append(text, bigint, text, text) security definer set search_path = pg_catalog, pg_temp;
alter function aos.chain_audit(int, boolean) security definer set search_path = pg_catalog, pg_temp;
alter function aos.decide_approval(bigint, bigint, boolean, text, text) security definer set search_path = pg_catalog, pg_temp;
alter function aos.send_message(bigint, text, bigint) security definer set search_path = pg_catalog, pg_temp;
