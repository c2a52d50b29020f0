/** send: put a message in a process's mailbox. */
import { z } from 'zod';
import { pidSchema } from './schemas.js';
import { contentDigest, defineSyscall } from './syscall.js';

export const sendSyscall = defineSyscall({
  name: 'send',
  summary: "Put a message in a process's mailbox (it reads it with recv)",
  input: z
    .object({ pid: pidSchema.describe('the receiving process'), message: z.string().describe('the text') })
    .strict(),
  output: z.object({ pid: z.number().int(), messageId: z.number().int() }),
  cli: { positional: ['pid', 'message'], examples: ['aos send 12 "the build is green"'] },
  tool: {
    description: "Put a message in process pid's mailbox (it takes it with recv).",
    fields: ['pid', 'message'],
    annotations: {},
    transactional: true,
    touches: (input) => [Number(input.pid)],
  },
  sql: 'aos.send',
  capability: 'process.send',
  errors: ['invalid_input', 'not_found', 'conflict'],
  // The audit log keeps the message's size and digest, not its text.
  auditInput: ({ message, ...rest }) => ({ ...rest, message: contentDigest(message) }),
  async handler(context, input, caller) {
    const result = await context.db.query<{ id: number }>('select aos.send_message($1, $2, $3) as id', [
      input.pid,
      input.message,
      caller.pid ?? null,
    ]);
    context.poke();
    return { pid: input.pid, messageId: result.rows[0]!.id };
  },
});
