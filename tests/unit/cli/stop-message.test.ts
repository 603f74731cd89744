import { describe, expect, it } from 'vitest';
import { parseStopReport } from '../../../cli/src/launch/stop-report.js';
import { commandLine, shellQuote, stopMessage } from '../../../cli/src/stop-message.js';

describe('the stop line (Note [a checkpoint at every stop])', () => {
  it('names the step, the reason, the checkpoint and the resume command, quoted for a POSIX shell where needed', () => {
    expect(stopMessage({ reason: 'SIGINT', step: 41, checkpoint: '/ck/ckpt-0000000041.safetensors' }, ['train', '--config', 'my run.json', '--checkpoint-dir', 'ck', '--resume'], 'unused')).toBe(
      "stopped at step 41 (SIGINT); checkpoint /ck/ckpt-0000000041.safetensors; resume with: gradmesh train --config 'my run.json' --checkpoint-dir ck --resume",
    );
  });

  it('says that nothing is resumable, and why, without a checkpoint or without a command that could resume it', () => {
    expect(stopMessage({ reason: '--max-steps', step: 3, checkpoint: undefined }, ['train', '--resume'], 'no --checkpoint-dir was given')).toBe('stopped at step 3 (--max-steps); nothing is resumable: no --checkpoint-dir was given');
    expect(stopMessage({ reason: 'SIGINT', step: 3, checkpoint: 'nats:b/ckpt-3' }, undefined, 'the bucket ended with the launch')).toBe('stopped at step 3 (SIGINT); nothing is resumable: the bucket ended with the launch');
  });

  it('quotes what a shell would split or expand, and a quote inside', () => {
    expect(shellQuote('dir:/a/b-c_1.json')).toBe('dir:/a/b-c_1.json');
    expect(shellQuote("it's $HOME")).toBe(`'it'\\''s $HOME'`);
    expect(commandLine(['launch', '--run', 'a b'])).toBe("gradmesh launch --run 'a b'");
  });

  it('the launcher reads only a well-formed stop report from the IPC channel', () => {
    const report = { kind: 'gradmesh-stopped', reason: 'SIGINT', step: 7, checkpoint: '/c/ckpt-7', whyNothing: 'x' };
    expect(parseStopReport(report)).toEqual(report);
    expect(parseStopReport({ ...report, checkpoint: undefined })).toEqual({ ...report, checkpoint: undefined });
    for (const bad of [null, 'stop', { ...report, kind: 'other' }, { ...report, step: '7' }, { ...report, checkpoint: 3 }]) expect(parseStopReport(bad)).toBeUndefined();
  });
});
