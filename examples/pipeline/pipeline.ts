/**
 * A pipeline with a human approval in the middle: draft release notes, check them, ask
 * a person, and publish only when approved. The process waits durably for the decision
 * (state waiting/approval): stop every worker, restart them a day later, it still waits.
 *
 *   npx aos run examples/pipeline/pipeline.ts "v2.3.0" --detach
 *   npx aos approvals                  # the question, with its id
 *   npx aos approve PID ID             # or: aos deny PID ID --reason "..."
 *   npx aos wait PID
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineProgram } from '../../src/index.js';

export default defineProgram(
  'pipeline',
  async (ctx, version) => {
    const release = version || 'next';
    const draft = await ctx.step('draft', () =>
      [`# Release ${release}`, '', '- faster start-up', '- durable programs', '- approvals'].join('\n'),
    );
    const check = await ctx.step('check', () => ({
      lines: draft.split('\n').length,
      hasTitle: draft.startsWith('# '),
    }));
    if (!check.hasTitle) throw new Error('the draft has no title');
    const decision = await ctx.approval(`Publish the release notes for ${release} (${check.lines} lines)?`);
    if (!decision.approved) return { published: false, reason: decision.reason, by: decision.by };
    // The one step with an effect outside aos; it runs once, after the approval.
    const path = await ctx.step('publish', () => {
      const folder = join(process.env.AOS_HOME ?? '.aos', 'published');
      mkdirSync(folder, { recursive: true });
      const file = join(folder, `release-${release}.md`);
      writeFileSync(file, `${draft}\n`);
      return file;
    });
    return { published: true, path, approvedBy: decision.by, at: (await ctx.now()).toISOString() };
  },
  { description: 'Drafts release notes and publishes them once a person approves' },
);
