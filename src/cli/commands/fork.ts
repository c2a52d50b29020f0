/** fork: the fork syscall's CLI face, which reads --prompt from a host file. */
import { z } from 'zod';
import { AosError } from '../../errors.js';
import { forkSyscall } from '../../syscalls/replay.js';
import { defineCommand } from '../command.js';
import { readHostText } from '../host-text.js';
import { textFaces } from '../text-formats.js';

/** The largest prompt file fork reads. */
const maxPromptBytes = 10 << 20;

export const forkCommand = defineCommand({
  name: forkSyscall.name,
  summary: forkSyscall.summary,
  input: forkSyscall.input.extend({
    prompt: z.string().min(1).optional().describe('a file whose text becomes the fork’s system prompt'),
  }),
  positional: ['pid'],
  output: forkSyscall.output,
  errors: forkSyscall.errors,
  examples: [
    'aos fork 12 --at 9',
    'aos fork 12 --at 9 --model openai:gpt-4o-mini',
    'aos fork 12 --at 9 --prompt better.txt --json',
  ],
  async run(context, input) {
    const { prompt: file, ...rest } = input;
    // The host file is read here, by the CLI face; the syscall takes the prompt's text.
    const prompt =
      file === undefined
        ? undefined
        : await readHostText(
            file,
            maxPromptBytes,
            (reason) =>
              new AosError('not_found', `cannot read the prompt file ${file}: ${reason}`, {
                hint: 'give a readable text file',
              }),
          );
    const kernel = await context.kernel();
    return kernel.call('fork', { ...rest, ...(prompt === undefined ? {} : { prompt }) });
  },
  format: (process) => textFaces.fork!.format(process),
});
