-- What each role may do in the aos schema (docs/security.md, "Roles in the database").
-- Run as the schema's owner by `aos init` and after every migration on a database whose
-- schema aos_owner owns; idempotent.
--
-- aos_kernel (the CLI and workers): reads every table and writes every table but the
--   audit log, which it appends to only through aos.audit_append (security definer): it
--   cannot change, truncate or un-trigger the log, as it owns none of it. It asks for
--   approvals (insert) but decides them only through aos.decide_approval, and delivers
--   messages only through aos.send_message: both audit what they do.
-- aos_client (psql users): the SQL face's public functions and the views, nothing else.
--   Those functions name the caller from the session (session_user), never a parameter.

revoke all on schema aos from public;
grant usage on schema aos to aos_kernel, aos_client;

revoke all on all tables in schema aos from public;
revoke all on all sequences in schema aos from public;
revoke all on all functions in schema aos from public;
-- Functions a later migration makes are not executable by PUBLIC either, from the start.
alter default privileges for role aos_owner in schema aos revoke execute on functions from public;

grant select, insert, update, delete on all tables in schema aos to aos_kernel;
revoke insert, update, delete on aos.audit, aos.audit_pending, aos.audit_head, aos.migrations, aos.identity
  from aos_kernel;
revoke update, delete on aos.approvals from aos_kernel;
revoke insert, delete on aos.mailbox from aos_kernel;
grant usage, select on all sequences in schema aos to aos_kernel;
grant execute on all functions in schema aos to aos_kernel;

grant execute on function
  aos.spawn(text, text),
  aos.kill(bigint, text),
  aos.send(bigint, text),
  aos.approve(bigint, bigint, text),
  aos.deny(bigint, bigint, text)
  to aos_client;
grant select on aos.ps to aos_client;
