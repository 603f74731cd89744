import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/src/errors.js';
import { NATS_CREDENTIAL_SOURCES } from '../../../transport/src/credentials.js';
import { resolveNatsServer } from '../../../transport/src/nats-server/nats-binary.js';
import { envBoolean, envVariableOf, helpText, inTermsOfTheSource, parseCommandArgs, withoutOptionVariables, workerRange, type Command } from '../../../cli/src/args.js';
import { coordinatorCommand } from '../../../cli/src/coordinator-command.js';
import { workerCommand } from '../../../cli/src/worker-command.js';
import { launchCommand } from '../../../cli/src/launch-command.js';
import { trainCommand } from '../../../cli/src/train-command.js';
import { dashboardCommand } from '../../../cli/src/dashboard-command.js';
import { statusCommand } from '../../../cli/src/status-command.js';

/** Note [options from the environment] in cli/src/args.ts. */
describe('options from the environment', () => {
  it('names each variable GRADMESH_<FLAG> in upper snake case (--nats is GRADMESH_NATS_URL)', () => {
    expect(envVariableOf('health-port')).toBe('GRADMESH_HEALTH_PORT');
    expect(envVariableOf('workers')).toBe('GRADMESH_WORKERS');
    expect(envVariableOf('log-format')).toBe('GRADMESH_LOG_FORMAT');
    expect(envVariableOf('nats')).toBe('GRADMESH_NATS_URL');
  });

  it("names the variables transport reads itself (credentials, launch's nats-server) by the same rule: one naming, not two", () => {
    for (const s of Object.values(NATS_CREDENTIAL_SOURCES)) expect(envVariableOf(s.flag)).toBe(s.env);
    expect(envVariableOf('nats-server')).toBe('GRADMESH_NATS_SERVER');
    expect(resolveNatsServer(undefined, { GRADMESH_NATS_SERVER: process.execPath })).toBe(process.execPath);
  });

  it('fills an option from its variable; the flag wins; an empty variable is unset', () => {
    const env = { GRADMESH_RUN: 'from-env', GRADMESH_WORKERS: '2:4', GRADMESH_NATS_URL: 'nats://n:4222', GRADMESH_EPOCHS: '' };
    const fromEnv = parseCommandArgs(coordinatorCommand, ['--run', 'from-flag'], env);
    expect(fromEnv.values['run']).toBe('from-flag');
    expect(fromEnv.values['workers']).toBe('2:4');
    expect(fromEnv.values['nats']).toBe('nats://n:4222');
    expect(fromEnv.values['epochs']).toBeUndefined();
    expect([...fromEnv.fromEnv]).toEqual([['nats', 'GRADMESH_NATS_URL'], ['workers', 'GRADMESH_WORKERS']]);
  });

  it('reads a boolean variable as true/false/1/0 and refuses anything else, naming the variable and value', () => {
    expect(parseCommandArgs(coordinatorCommand, [], { GRADMESH_RESUME: '1' }).values['resume']).toBe(true);
    expect(parseCommandArgs(coordinatorCommand, [], { GRADMESH_RESUME: 'TRUE' }).values['resume']).toBe(true);
    expect(parseCommandArgs(coordinatorCommand, [], { GRADMESH_RESUME: 'false' }).values['resume']).toBe(false);
    expect(parseCommandArgs(coordinatorCommand, [], { GRADMESH_RESUME: '0' }).values['resume']).toBe(false);
    expect(() => envBoolean('yes', 'GRADMESH_RESUME')).toThrow('GRADMESH_RESUME: must be true, false, 1 or 0 (got "yes")');
    const error = (() => {
      try {
        parseCommandArgs(coordinatorCommand, [], { GRADMESH_RESUME: 'on' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('GRADMESH_RESUME');
  });

  it('validates a value from a variable with the flag\'s own check, and the error names the variable', () => {
    const { values, fromEnv } = parseCommandArgs(coordinatorCommand, [], { GRADMESH_WORKERS: '5:2' });
    let error: unknown;
    try {
      workerRange(values['workers'], '--workers');
    } catch (e) {
      error = inTermsOfTheSource(e, coordinatorCommand, fromEnv);
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('GRADMESH_WORKERS: MIN (5) is larger than MAX (2) (got "5:2")');
    // The same error about a flag stays about the flag.
    expect(inTermsOfTheSource(new ConfigError('--workers', 'bad'), coordinatorCommand, new Map())).toMatchObject({ message: '--workers: bad' });
    // A missing required option offers its variable.
    expect((inTermsOfTheSource(new ConfigError('--nats', 'is required'), coordinatorCommand, new Map()) as Error).message).toBe('--nats: is required; or set GRADMESH_NATS_URL');
  });

  it('leaves the credentials and nats-server to transport (which names their variables and never shows a secret)', () => {
    const { values, fromEnv } = parseCommandArgs(workerCommand, [], { GRADMESH_NATS_PASS: 'pw-SECRET', GRADMESH_NATS_USER: 'u' });
    expect(values['nats-pass']).toBeUndefined();
    expect(fromEnv.size).toBe(0);
    expect(parseCommandArgs(launchCommand, [], { GRADMESH_NATS_SERVER: '/x/nats-server' }).values['nats-server']).toBeUndefined();
  });

  it('gives every command its options from the environment, and --help lists each option with its variable', () => {
    for (const command of [coordinatorCommand, workerCommand, launchCommand, trainCommand, dashboardCommand, statusCommand] as Command[]) {
      const help = helpText(command);
      for (const flag of Object.keys(command.options)) expect(help, `${command.name} --${flag}`).toMatch(new RegExp(`^  ${envVariableOf(flag)} +--${flag}$`, 'm'));
    }
    expect(parseCommandArgs(dashboardCommand, ['r.json'], { GRADMESH_LISTEN: '9090' }).values['listen']).toBe('9090');
    expect(parseCommandArgs(trainCommand, [], { GRADMESH_THREADS: '3' }).values['threads']).toBe('3');
  });

  it("strips a parent's option variables from its children's environment, keeping the rest", () => {
    const env = withoutOptionVariables({ GRADMESH_ID: 'w', GRADMESH_RUN: 'r', GRADMESH_NATS_URL: 'n', GRADMESH_NATS_PASS: 'p', GRADMESH_NATS_SERVER: 's', PATH: '/bin' }, [coordinatorCommand, workerCommand]);
    expect(env).toEqual({ GRADMESH_NATS_PASS: 'p', GRADMESH_NATS_SERVER: 's', PATH: '/bin' });
  });
});
